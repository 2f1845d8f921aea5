"""The seed's decisions, as the demo shows them after `tuijin demo`.

市场部 asked 设计部 and 品牌部 for the Q4 material and both heads accepted (-01 is 设计部's part,
-02 品牌部's); 赵磊's blocker on -01 (video footage rights) went to 王强, who acknowledged and
resolved it; a change added one product video, agreed by both heads; -02 was submitted and 张敏
accepted it. Every step is a decided decision row and a line in the timeline, as the workflows
would have left them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from storage.repositories import DecisionRepository, TaskRepository
from storage.tables import Decision, Task, User


class DemoStory:
    def __init__(self, decisions: DecisionRepository, tasks: TaskRepository, users: dict[str, User],
                 now: datetime) -> None:
        self.decisions, self.tasks, self.users, self.now = decisions, tasks, users, now

    def _id(self, uid: str) -> int:
        return self.users[uid].id or 0

    async def _decided(self, task: Task, kind: str, number: int, decider: str, requester: str, outcome: str,
                       *, ago_hours: int, data: dict[str, object], answer: str | None = None,
                       request: str = "", department_id: int | None = None) -> None:
        asked_at = self.now - timedelta(hours=ago_hours)
        await self.decisions.add(Decision(
            tenant_id=task.tenant_id, task_id=task.id or 0, kind=kind, number=number, request=request,
            decider_id=self._id(decider), requester_id=self._id(requester), department_id=department_id,
            chat_id=task.chat_id, state="decided", outcome=outcome, answer=answer, data=data,
            token=secrets.token_hex(8), due_at=asked_at + timedelta(hours=24),
            responded_at=asked_at + timedelta(hours=1),
            decided_at=asked_at + timedelta(hours=2), decided_by_id=self._id(decider), created_at=asked_at,
        ))

    async def _note(self, task: Task, actor: str, kind: str, detail: str, ago_hours: int) -> None:
        await self.tasks.record(task.id or 0, kind, detail, actor_id=self._id(actor),
                                at=self.now - timedelta(hours=ago_hours))

    async def tell(self, root: Task, design: Task, brand: Task, departments: dict[str, int]) -> None:
        parts = (("设计部", "u_lina", design), ("品牌部", "u_wangqiang", brand))
        for number, (name, head, part) in enumerate(parts, 1):
            await self._decided(root, "collaboration", number, head, "u_zhangmin", "accept", ago_hours=120,
                                data={"department": name, "part": part.code}, request="collab",
                                department_id=departments[name])
            await self._note(root, head, "collaboration_accept",
                             f"协作请求（{name}） 已接受（{self.users[head].name}）", 118)
        await self._decided(design, "blocker", 1, "u_wangqiang", "u_zhaolei", "resolve", ago_hours=48,
                            data={"description": "视频素材版权未确认", "impact": "短视频无法按时交付"},
                            answer="已与版权方签署授权")
        await self._note(design, "u_zhaolei", "blocker_asked", "卡点 #1 请 王强 处理", 48)
        await self._note(design, "u_wangqiang", "blocker_resolve", "卡点 #1 已解决（王强）：已与版权方签署授权", 46)
        change: dict[str, object] = {
            "changes": {"deliverables": "3张海报和3条短视频"}, "reason": "新增一条产品演示视频",
            "lines": ["交付物：3张海报和2条短视频 → 3张海报和3条短视频"],
        }
        for number, head in enumerate(("u_lina", "u_wangqiang"), 1):
            await self._decided(root, "change", number, head, "u_zhangmin", "approve", ago_hours=30, data=change,
                                request="change-1")
        root.deliverables = "3张海报和3条短视频"
        await self._note(root, "u_zhangmin", "change_applied",
                         "变更 #1 全员同意，已生效：交付物改为 3张海报和3条短视频", 28)
        await self._decided(brand, "acceptance", 1, "u_zhangmin", "u_chenjing", "pass", ago_hours=20,
                            data={"deliverable": "短视频脚本终稿.docx", "self_check": "3条脚本均含分镜",
                                  "standard": brand.delivery_standard})
        await self._note(brand, "u_zhangmin", "completed", "验收通过，任务完成并归档", 18)
