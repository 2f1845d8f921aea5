"""User text bound into SQL never reaches an exception message (which ends up in the logs)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import Database


async def test_a_failing_statement_hides_its_parameters(any_db: Database) -> None:
    secret_title = "机密项目：收购某公司"
    with pytest.raises(DBAPIError) as caught:
        async with any_db.transaction() as session:
            await session.execute(text("INSERT INTO tenant (id, platform, tenant_key, name, task_code_prefix) "
                                       "VALUES (NULL, NULL, :key, :name, 'X')"), {"key": "k", "name": secret_title})
    assert secret_title not in str(caught.value)
    assert "hidden" in str(caught.value)
