"""a risk's level as a code in decision.data: high/medium/low instead of 高/中/低

The words people read (高 …) belong to presentation; risks raised before keep their meaning
(严重 and 紧急 were always stored as 高, but a row holding them is read as high too).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 07:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODES = {"高": "high", "严重": "high", "紧急": "high", "中": "medium", "低": "low"}
WORDS = {"high": "高", "medium": "中", "low": "低"}

# One set-based statement per level: the JSON functions of each database rewrite the one key.
_REWRITE = {
    "postgresql": "UPDATE decision SET data = jsonb_set(CAST(data AS jsonb), '{level}', to_jsonb(CAST(:new AS text)))"
                  "::json WHERE kind = 'risk' AND data->>'level' = :old",
    "sqlite": "UPDATE decision SET data = json_set(data, '$.level', :new)"
              " WHERE kind = 'risk' AND json_extract(data, '$.level') = :old",
}


def _remap(mapping: dict[str, str]) -> None:
    statement = sa.text(_REWRITE[op.get_bind().dialect.name])
    for old, new in mapping.items():
        op.execute(statement.bindparams(old=old, new=new))


def upgrade() -> None:
    _remap(CODES)


def downgrade() -> None:
    _remap(WORDS)
