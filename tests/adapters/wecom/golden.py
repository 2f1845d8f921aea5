"""Golden payloads: WeCom's documented shapes, as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def golden_text(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")
