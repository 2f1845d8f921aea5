"""Tenants are the one lookup that is not itself tenant-scoped: it finds the scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.tables import Tenant
from storage.upsert import insert_for


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, platform: str, tenant_key: str) -> Tenant | None:
        result = await self.session.execute(
            select(Tenant).where(Tenant.platform == platform, Tenant.tenant_key == tenant_key)
        )
        return result.scalar_one_or_none()

    async def ensure(
        self, platform: str, tenant_key: str, *, name: str = "", code_prefix: str = "XZB"
    ) -> Tenant:
        existing = await self.get(platform, tenant_key)
        if existing is not None:
            return existing
        stmt = (
            insert_for(self.session, Tenant)
            .values(platform=platform, tenant_key=tenant_key, name=name, task_code_prefix=code_prefix)
            .on_conflict_do_nothing(index_elements=["platform", "tenant_key"])
        )
        await self.session.execute(stmt)
        tenant = await self.get(platform, tenant_key)
        assert tenant is not None
        return tenant

    async def lock(self, tenant_id: int) -> None:
        """Serialise tenant-wide decisions (who becomes the first admin) until the transaction ends."""
        await self.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Tenant]:
        """The tenants with these ids (those that exist), by id: a sweep reads only the ones it acts for."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        result = await self.session.execute(select(Tenant).where(col(Tenant.id).in_(wanted)))
        return {tenant.id: tenant for tenant in result.scalars() if tenant.id is not None}

    async def all(self) -> list[Tenant]:
        """Every tenant, for sweeps that visit each one in turn."""
        result = await self.session.execute(select(Tenant).order_by(Tenant.id))  # type: ignore[arg-type]
        return list(result.scalars())
