"""Hostile and clumsy input through the signed Feishu webhook: a 4xx at the edge or a short reply."""

from __future__ import annotations

import json
from typing import Any

from adapters.feishu.crypto import encrypt
from storage.db import Database
from tests.adapters.feishu.signed import ENCRYPT_KEY, encrypted_body
from tests.e2e.conftest import FeishuE2E
from tests.support import settle, start_app


def reply_texts(app: FeishuE2E) -> list[str]:
    return [r["content"].get("text", "") for r in app.fake.replies if r["msg_type"] == "text"]


async def test_absurd_nesting_is_a_400_not_a_crash(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    deep = b"[" * 100_000 + b"]" * 100_000
    response = await app.client.post("/webhooks/feishu", data=deep, headers={"Content-Type": "application/json"})
    assert response.status == 400
    # The same nesting inside a correctly encrypted and signed envelope.
    body = json.dumps({"encrypt": encrypt("[" * 100_000 + "]" * 100_000, ENCRYPT_KEY)}).encode()
    response = await app.client.post("/webhooks/feishu", data=body, headers=app.headers(body))
    assert response.status == 400
    assert await app.rows("SELECT id FROM inbox_event") == []


async def test_ids_longer_than_any_platform_sends_are_refused(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    message = app.message()
    message["event"]["message"]["chat_id"] = "oc_" + "x" * 300
    response = await app.post(message)
    assert response.status == 400
    assert await app.rows("SELECT id FROM inbox_event") == []


async def test_text_the_database_cannot_hold_gets_a_reply_that_names_the_limit(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    long_title = "海报" * 156  # 312 characters
    texts = [
        f"@_user_1 新建任务 {long_title} 负责人 @_user_2 截止 明天",
        "@_user_1 新建任务 海报\x00设计 负责人 @_user_2 截止 明天",
        "@_user_1 新建任务 海报\ud800设计 负责人 @_user_2 截止 明天",
        "@_user_1 " + "很长的话" * 1200,
    ]
    for text in texts:
        payload: dict[str, Any] = app.message(text)
        # As Feishu sends JSON: non-ASCII escaped, so a lone surrogate travels as "\ud800".
        body = json.dumps({"encrypt": encrypt(json.dumps(payload), ENCRYPT_KEY)}).encode()
        response = await app.client.post("/webhooks/feishu", data=body, headers=app.headers(body))
        assert response.status == 200
    await settle(app.services)
    assert await app.tasks() == []
    replies = reply_texts(app)
    assert len(replies) == 4
    assert any("标题最多 200 个字，现在是 312 个字" in r for r in replies), replies
    assert sum("无法识别的字符" in r for r in replies) == 2, replies
    assert any("最多 4000 个字" in r for r in replies), replies
    assert not any("出错了" in r for r in replies)
    failed = await app.rows("SELECT id FROM inbox_event WHERE status <> 'done'")
    assert failed == []


async def test_the_feishu_webhook_honours_the_body_limit(aiohttp_client: Any, sqlite_db: Database, clock: Any) -> None:
    client, _ = await start_app(aiohttp_client, sqlite_db, clock, max_body_bytes=4096, feishu={
        "app_id": "cli_x", "app_secret": "s", "encrypt_key": ENCRYPT_KEY,
    })
    body = encrypted_body({"padding": "x" * 8000}, ENCRYPT_KEY)
    response = await client.post("/webhooks/feishu", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 413
