"""Fixtures for the storage contract: two tenants on the engine under test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from storage.db import Database
from storage.repositories import TenantRepository


@dataclass(frozen=True)
class TwoTenants:
    a: int
    b: int


@pytest.fixture
async def tenants(any_db: Database) -> TwoTenants:
    async with any_db.transaction() as session:
        repo = TenantRepository(session)
        a = await repo.ensure("feishu", "tenant-a", name="甲公司")
        b = await repo.ensure("feishu", "tenant-b", name="乙公司")
    assert a.id is not None and b.id is not None
    return TwoTenants(a.id, b.id)
