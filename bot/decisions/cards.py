"""The one decision card: what is asked, who must answer by when, and the buttons or the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core import ActionPayload, Button, Buttons, Card, CardElement, Fields, Input, Note, Text
from bot.core.cards import Template
from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from storage.tables import Decision, Task, User

if TYPE_CHECKING:
    from bot.decisions.flow import DecisionFlow

ACTION = "decision"
# The card's text field, where a platform's cards have one: the reason, solution or comments.
ANSWER_FIELD = "answer"


def button_payload(decision: Decision, option_key: str) -> ActionPayload:
    """Names the decision and the answer; the token makes a forged or outdated button useless."""
    return ActionPayload(act=ACTION, ref=str(decision.id), arg=f"{option_key}.{decision.token}")


def reference(decision: Decision, task: Task) -> str:
    """How a message names the decision: the task code, with #n when the task has several."""
    return f"{task.code} #{decision.number}" if decision.number > 1 else task.code


def decision_card(
    flow: DecisionFlow, decision: Decision, task: Task, users: dict[int, User], timezone: str, *,
    prompt: str | None = None,
) -> Card:
    decider = users.get(decision.decider_id)
    live = decision.state in ("open", "acknowledged")
    names = {uid: display_name(u) for uid, u in users.items()}
    elements: list[CardElement] = []
    if live and decider is not None:
        elements.append(Text(f"请 {mention(decider)} 处理"))
    elements.extend(flow.describe(decision, task, names, timezone))
    fields = [("处理人", display_name(decider))]
    if decision.due_at is not None:
        fields.append(("回复时限", short_due(decision.due_at, timezone)))
    elements.append(Fields(tuple(fields)))
    ref = reference(decision, task)
    if live:
        options = [o for o in flow.options if o.closes or decision.state == "open"]
        styles = tuple(Button(o.label, button_payload(decision, o.key), o.style) for o in options)
        # One field serves every option: the reason an answer needs, or the person a 转交 names.
        wants = {o.label: (f"必填{o.needs}", o.needs) if o.needs else ("填写接手人姓名", "接手人")
                 for o in options if o.needs or o.hands_over}
        field = None
        if wants:
            hint = "；".join(f"{label}时{said}" for label, (said, _) in wants.items())
            field = Input(ANSWER_FIELD, f"{'/'.join(dict.fromkeys(w for _, w in wants.values()))}（{hint}）")
        elements.append(Buttons(styles, field))
        if decision.state == "acknowledged":
            elements.append(Note(f"{display_name(decider)} 已知悉，处理中。"))
        typed = "；".join(f"{o.label} {ref}" + (f" {o.needs} ……" if o.needs else "") +
                         (" @某人" if o.hands_over else "") for o in options)
        elements.append(Note(f"也可以发送：{typed}"))
        if prompt:
            elements.append(Text(f"**{prompt}**"))
        template: Template = "orange"
    else:
        option = flow.option(decision.outcome or "")
        by = names.get(decision.decided_by_id or 0, "")
        when = short_due(decision.decided_at, timezone) if decision.decided_at else ""
        if decision.state == "withdrawn":
            elements.append(Text(f"**已撤销**：{decision.answer or ''}"))
        else:
            outcome = option.outcome if option is not None else "已处理"
            line = f"**结果：{outcome}**（{by} · {when}）"
            if decision.answer:
                line += f"\n{option.needs if option and option.needs else '说明'}：{decision.answer}"
            elements.append(Text(line))
        colours: dict[str, Template] = {"primary": "green", "danger": "red"}
        template = colours.get(option.style, "grey") if option is not None else "grey"
    return Card(title=f"{flow.name(decision)} · {task.code} {task.title}", elements=tuple(elements), template=template)
