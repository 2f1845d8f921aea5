"""A console chat for workflow scenarios: say things, press buttons, read what the bot posted."""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import FrozenClock
from storage.db import Database
from tests.support import settle, start_app

CHAT = "oc_q4promo"


def card_text(message: dict[str, Any]) -> str:
    card = message["card"]
    assert card is not None, message["text"]
    parts = [card["title"]]
    for element in card["elements"]:
        if element["type"] in ("text", "note"):
            parts.append(element["content"])
        elif element["type"] == "fields":
            parts.extend(f"{k}:{v}" for k, v in element["items"])
    return "\n".join(parts)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    card = message["card"] or {"elements": []}
    return {b["label"]: b for e in card["elements"] if e["type"] == "buttons" for b in e["buttons"]}


class Room:
    """One group chat in the console, through its real HTTP API."""

    def __init__(self, client: Any, services: Any) -> None:
        self.client, self.services = client, services
        self.clicks = 0

    async def say(self, user: str, text: str) -> list[dict[str, Any]]:
        """Send a message; the bot's messages posted (or updated) in answer, oldest first."""
        before = max((m["seq"] for m in await self.history()), default=0)
        response = await self.client.post("/console/api/messages",
                                          json={"chat_id": CHAT, "user_id": user, "text": text})
        assert response.status == 202
        await settle(self.services)
        return [m for m in await self.history() if m["seq"] > before and m["sender"]["is_bot"]]

    async def history(self) -> list[dict[str, Any]]:
        response = await self.client.get("/console/api/messages", params={"chat_id": CHAT})
        messages: list[dict[str, Any]] = (await response.json())["messages"]
        return messages

    async def message(self, message_id: str) -> dict[str, Any]:
        return next(m for m in await self.history() if m["id"] == message_id)

    async def press(self, user: str, message: dict[str, Any], label: str, *,
                    value: Any = None, click_id: str | None = None, typed: str | None = None) -> dict[str, Any]:
        """Press a button; `typed` is what the user wrote in the card's text field first."""
        self.clicks += 1
        response = await self.client.post("/console/api/actions", json={
            "chat_id": CHAT, "user_id": user, "message_id": message["id"],
            "value": value if value is not None else buttons(message)[label]["value"],
            "click_id": click_id or f"click-{self.clicks}", "inputs": {"answer": typed} if typed else {},
        })
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        await settle(self.services)
        return result

    async def cards_titled(self, prefix: str) -> list[dict[str, Any]]:
        return [m for m in await self.history() if m["card"] and m["card"]["title"].startswith(prefix)]


@pytest.fixture
async def room(aiohttp_client: Any, any_db: Database, clock: FrozenClock) -> Room:
    # A generous inline budget: on a loaded machine a slow click would otherwise be answered
    # "正在处理" with the card updated later, which these scenarios do not test.
    client, services = await start_app(aiohttp_client, any_db, clock, card_inline_budget=60.0)
    return Room(client, services)


async def organise(room: Room) -> None:
    """The seed's organisation: 张敏 (市场部) administers; 李娜 heads 设计部, 王强 品牌部, 张敏 市场部."""
    for text in ("设置部门 市场部 负责人 @张敏", "设置部门 设计部 负责人 @李娜", "设置部门 品牌部 负责人 @王强"):
        replies = await room.say("u_zhangmin", text)
        assert replies and replies[-1]["card"] is not None, replies
