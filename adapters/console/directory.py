"""The simulated platform's own directory: people, their departments and leaders, and chats."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import UserRef
from bot.core.mentions import mention_token, neutralize_typed_tokens

TENANT_KEY = "console"
BOT_ID = "tuijin_bot"
BOT_NAME = "推进"


@dataclass(frozen=True)
class ConsolePerson:
    id: str
    name: str
    department: str
    leader_id: str | None = None


@dataclass(frozen=True)
class ConsoleChat:
    id: str
    name: str


PEOPLE: tuple[ConsolePerson, ...] = (
    ConsolePerson("u_zhoujie", "周杰", "总经办"),
    ConsolePerson("u_zhangmin", "张敏", "市场部", "u_zhoujie"),
    ConsolePerson("u_liuyang", "刘洋", "市场部", "u_zhangmin"),
    ConsolePerson("u_lina", "李娜", "设计部", "u_zhoujie"),
    ConsolePerson("u_zhaolei", "赵磊", "设计部", "u_lina"),
    ConsolePerson("u_wangqiang", "王强", "品牌部", "u_zhoujie"),
    ConsolePerson("u_chenjing", "陈静", "品牌部", "u_wangqiang"),
)

CHATS: tuple[ConsoleChat, ...] = (
    ConsoleChat("oc_q4promo", "Q4新品宣传项目群"),
    ConsoleChat("oc_market", "市场部工作群"),
)

_MENTION = re.compile(r"@(\S+)")


class ConsoleDirectory:
    def __init__(self, people: tuple[ConsolePerson, ...] = PEOPLE, chats: tuple[ConsoleChat, ...] = CHATS) -> None:
        self.people = {p.id: p for p in people}
        self.chats = {c.id: c for c in chats}

    def person(self, user_id: str) -> ConsolePerson | None:
        return self.people.get(user_id)

    def chat(self, chat_id: str) -> ConsoleChat | None:
        """A group chat, or the bot's direct chat with a person (its id is the person's id)."""
        if chat_id in self.chats:
            return self.chats[chat_id]
        person = self.people.get(chat_id)
        return ConsoleChat(person.id, f"私聊 · {person.name}") if person is not None else None

    def is_direct(self, chat_id: str) -> bool:
        return chat_id not in self.chats and chat_id in self.people

    def name_of(self, user_id: str) -> str:
        if user_id == BOT_ID:
            return BOT_NAME
        person = self.people.get(user_id)
        return person.name if person else user_id

    def resolve_mentions(self, text: str) -> tuple[str, tuple[UserRef, ...]]:
        """`@张敏` becomes `<@u_zhangmin>` as a platform would send it; `@推进` (the bot) is dropped."""
        by_name = sorted(self.people.values(), key=lambda p: -len(p.name))
        mentions: list[UserRef] = []

        def replace(match: re.Match[str]) -> str:
            word = match.group(1)
            if word.startswith(BOT_NAME):
                return word[len(BOT_NAME):]
            for person in by_name:
                if word.startswith(person.name):
                    if all(m.user_id != person.id for m in mentions):
                        mentions.append(UserRef(person.id, person.name))
                    return mention_token(person.id) + word[len(person.name):]
            return match.group(0)

        return _MENTION.sub(replace, neutralize_typed_tokens(text)).strip(), tuple(mentions)
