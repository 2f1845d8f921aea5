"""People learnt from the platform's directory: name, department and leader, looked up once."""

from __future__ import annotations

from storage.repositories import DirectoryRepository, TenantRepository
from tests.support import settle, start_app


async def test_sender_and_mentioned_people_get_department_and_leader(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    console = services.adapters["console"]
    calls: list[str] = []
    original = console.lookup_user

    async def counting_lookup(tenant_key: str, user_id: str):
        calls.append(user_id)
        return await original(tenant_key, user_id)

    console.lookup_user = counting_lookup  # type: ignore[method-assign]
    for _ in range(2):
        await client.post("/console/api/messages", json={
            "chat_id": "oc_q4promo", "user_id": "u_zhaolei", "text": "指派 XZB20261101 @陈静"})
    await settle(services)
    assert sorted(calls) == ["u_chenjing", "u_zhaolei"]  # once each, though two messages came

    async with sqlite_db.session() as session:
        tenant = await TenantRepository(session).get("console", "console")
        directory = DirectoryRepository(session, tenant.id)
        zhaolei = await directory.user_by_platform_id("u_zhaolei")
        chenjing = await directory.user_by_platform_id("u_chenjing")
        lina = await directory.user_by_platform_id("u_lina")
        assert zhaolei.name == "赵磊" and lina is not None
        assert zhaolei.leader_user_id == lina.id
        assert (await directory.department(zhaolei.department_id)).name == "设计部"
        assert (await directory.department(chenjing.department_id)).name == "品牌部"
