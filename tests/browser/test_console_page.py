"""The console page, driven in Debian's chromium against the real app (SQLite, in-process).

Run with: .venv/bin/pytest tests/browser -q
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path("/tmp/console.png")
WAIT = 20_000  # ms: the bot answers asynchronously, through the outbox worker

ZHANGMIN, LIUYANG, ZHAOLEI = "u_zhangmin", "u_liuyang", "u_zhaolei"
Q4_CHAT = "oc_q4promo"
BOT_ID = "tuijin_bot"
NEW_TASK = "新建任务 海报设计 负责人 @赵磊 截止 明天 优先级 高 交付标准 3张海报"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"browser tests need Debian's chromium at {CHROMIUM}"),
]

playwright_api = pytest.importorskip("playwright.async_api", reason="browser tests need the playwright package")
expect = playwright_api.expect


@dataclass
class Server:
    base: str
    services: Any


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    from bot.app import build_services, create_app
    from bot.config import Settings

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.sqlite3", redis_url="", _env_file=None)
    services = build_services(settings)
    app = create_app(services)  # migrations run at startup for SQLite
    # a short shutdown timeout: the page's event stream stays open until the server cancels it
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Server(f"http://127.0.0.1:{port}", services)
    finally:
        await runner.cleanup()


@pytest.fixture
async def page(server: Server) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page
        finally:
            await context.close()
            await browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


async def open_console(page: Any, server: Server, *, user: str = "张敏", chat: str = "Q4新品宣传项目群") -> None:
    await page.goto(f"{server.base}/console")
    await expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=WAIT)
    identity = page.get_by_test_id("identity-select")
    value = await identity.locator("option", has_text=user).get_attribute("value")
    await identity.select_option(value)
    await expect(page.get_by_test_id("identity-name")).to_have_text(user)
    await page.get_by_test_id("chat-item").filter(has_text=chat).click()
    await expect(page.get_by_test_id("chat-title")).to_have_text(chat)
    messages = page.get_by_test_id("messages")
    await expect(messages).to_have_attribute("data-loaded", "true", timeout=WAIT)
    await expect(messages).to_have_attribute("data-stream", "open", timeout=WAIT)


async def send(page: Any, text: str) -> None:
    box = page.get_by_test_id("message-input")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("", timeout=WAIT)


def bot_card_titled(page: Any, words: str) -> Any:
    """The (latest) bot message whose card title contains `words`."""
    return (
        page.locator(f'[data-testid=message][data-sender-id="{BOT_ID}"]')
        .filter(has=page.get_by_test_id("card-title").filter(has_text=words))
        .last
    )


def field(card_message: Any, label: str) -> Any:
    return card_message.locator(f'[data-testid=card-field][data-label="{label}"] [data-testid=card-field-value]')


async def create_poster_task(page: Any) -> Any:
    await send(page, NEW_TASK)
    # the sender's own message shows at once, on the right
    mine = page.locator(f'[data-testid=message][data-sender-id="{ZHANGMIN}"]').filter(has_text="海报设计")
    await expect(mine).to_be_visible(timeout=WAIT)
    await expect(mine).to_have_class("msg mine")
    card = bot_card_titled(page, "海报设计")
    await expect(card).to_be_visible(timeout=WAIT)
    await expect(field(card, "状态")).to_have_text("待启动", timeout=WAIT)
    return card


async def test_create_task_then_complete_it(page: Any, server: Server) -> None:
    await open_console(page, server)
    card = await create_poster_task(page)
    await expect(field(card, "负责人")).to_contain_text("赵磊")
    await expect(field(card, "优先级")).to_contain_text("高")
    await page.screenshot(path=str(SCREENSHOT), full_page=False)

    message_id = await card.get_attribute("data-message-id")
    await card.get_by_test_id("card-button").filter(has_text="完成").click()
    toast = page.get_by_test_id("toast")
    await expect(toast).to_be_visible(timeout=WAIT)
    await expect(toast).not_to_be_empty()
    # replaced in place: the same message, now done
    same = page.locator(f'[data-testid=message][data-message-id="{message_id}"]')
    await expect(field(same, "状态")).to_have_text("已完成", timeout=WAIT)
    await expect(page.locator(f'[data-testid=message][data-message-id="{message_id}"]')).to_have_count(1)
    await expect(page.get_by_test_id("error-banner")).to_be_hidden()
    await page.screenshot(path=str(SCREENSHOT.with_name("console-done.png")), full_page=False)


async def test_detail_button_shows_timeline(page: Any, server: Server) -> None:
    await open_console(page, server)
    card = await create_poster_task(page)
    message_id = await card.get_attribute("data-message-id")
    await card.get_by_test_id("card-button").filter(has_text="详情").click()
    same = page.locator(f'[data-testid=message][data-message-id="{message_id}"]')
    await expect(same.get_by_test_id("card")).to_contain_text("时间线", timeout=WAIT)
    await expect(page.get_by_test_id("toast")).to_be_visible(timeout=WAIT)


async def test_group_task_list(page: Any, server: Server) -> None:
    await open_console(page, server)
    await create_poster_task(page)
    await page.get_by_test_id("quick-chip").filter(has_text="本群任务").click()
    listing = bot_card_titled(page, "本群任务")
    await expect(listing).to_be_visible(timeout=WAIT)
    await expect(listing.get_by_test_id("card")).to_contain_text("海报设计")
    await expect(listing.get_by_test_id("card")).to_contain_text("共 1 项")


async def test_messages_pushed_later_appear_without_reload(page: Any, server: Server) -> None:
    await open_console(page, server)
    await page.evaluate("window.__marker = 'same page'")
    async with aiohttp.ClientSession(base_url=server.base) as http:
        async with http.post("/console/api/messages", json={
            "chat_id": Q4_CHAT, "user_id": LIUYANG, "text": NEW_TASK,
        }) as resp:
            assert resp.status == 202, await resp.text()

        theirs = page.locator(f'[data-testid=message][data-sender-id="{LIUYANG}"]').filter(has_text="海报设计")
        await expect(theirs).to_be_visible(timeout=WAIT)
        await expect(theirs).to_have_class("msg other")
        card = bot_card_titled(page, "海报设计")
        await expect(field(card, "状态")).to_have_text("待启动", timeout=WAIT)

        # someone else presses 完成 elsewhere: the page's copy of the card updates in place
        message_id = await card.get_attribute("data-message-id")
        async with http.get("/console/api/messages", params={"chat_id": Q4_CHAT}) as resp:
            listed = (await resp.json())["messages"]
        posted = next(m for m in listed if m["id"] == message_id)
        done = next(
            b for el in posted["card"]["elements"] if el["type"] == "buttons" for b in el["buttons"]
            if b["label"] == "完成"
        )
        async with http.post("/console/api/actions", json={
            "chat_id": Q4_CHAT, "user_id": ZHAOLEI, "message_id": message_id, "value": done["value"],
            "click_id": "browser-test-click",
        }) as resp:
            assert resp.status == 200, await resp.text()
        same = page.locator(f'[data-testid=message][data-message-id="{message_id}"]')
        await expect(field(same, "状态")).to_have_text("已完成", timeout=WAIT)
    assert await page.evaluate("window.__marker") == "same page"


async def test_failed_request_shows_error_banner(page: Any, server: Server) -> None:
    await open_console(page, server)

    async def fail(route: Any) -> None:
        if route.request.method == "POST":
            await route.fulfill(status=500, content_type="application/json", body='{"error": "数据库不可用"}')
        else:
            await route.continue_()

    await page.route("**/console/api/messages", fail)
    box = page.get_by_test_id("message-input")
    await box.fill("帮助")
    await page.get_by_test_id("send-button").click()
    banner = page.get_by_test_id("error-banner")
    await expect(banner).to_be_visible(timeout=WAIT)
    await expect(banner).to_contain_text("数据库不可用")
    await expect(box).to_have_value("帮助")  # nothing typed is lost


async def test_text_is_escaped_and_shift_enter_makes_a_newline(page: Any, server: Server) -> None:
    await open_console(page, server)
    box = page.get_by_test_id("message-input")
    await box.fill("<img src=x onerror=window.__pwned=1> **粗体**")
    await box.press("Shift+Enter")
    await box.type("第二行")
    await expect(box).to_have_value("<img src=x onerror=window.__pwned=1> **粗体**\n第二行")
    await box.press("Enter")
    mine = page.locator(f'[data-testid=message][data-sender-id="{ZHANGMIN}"]').last
    bubble = mine.get_by_test_id("message-text")
    await expect(bubble).to_contain_text("<img src=x onerror=window.__pwned=1>")
    await expect(bubble.locator("b")).to_have_text("粗体")
    await expect(bubble.locator("br")).to_have_count(1)
    assert await bubble.locator("img").count() == 0
    assert await page.evaluate("window.__pwned") is None


async def test_a_head_refuses_a_request_with_the_reason_typed_into_the_card(page: Any, server: Server) -> None:
    await open_console(page, server)
    await send(page, "设置部门 设计部 负责人 @李娜")
    await expect(bot_card_titled(page, "设计部")).to_be_visible(timeout=WAIT)
    await send(page, "发起协作 Q4海报 部门 设计部 截止 12月31日 背景 新品上市 目标 完成主视觉")
    asked = bot_card_titled(page, "协作请求（设计部）")
    await expect(asked).to_be_visible(timeout=WAIT)

    identity = page.get_by_test_id("identity-select")
    await identity.select_option(await identity.locator("option", has_text="李娜").get_attribute("value"))
    await expect(page.get_by_test_id("identity-name")).to_have_text("李娜")
    await asked.get_by_test_id("card-input").fill("当前人力饱和 可启动 12月20日")
    await asked.get_by_test_id("card-button").filter(has_text="拒绝").click()
    await expect(page.get_by_test_id("toast")).to_contain_text("已拒绝", timeout=WAIT)
    await expect(asked.get_by_test_id("card")).to_contain_text("结果：已拒绝", timeout=WAIT)
    await expect(asked.get_by_test_id("card")).to_contain_text("当前人力饱和")
    await expect(asked.get_by_test_id("card-button")).to_have_count(0)
