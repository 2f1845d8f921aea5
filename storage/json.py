"""JSON for the database's JSON columns: orjson where a value allows it, the standard library otherwise.

orjson serialises several times faster than `json`, and JSON is written on every event (the
inbox payload, the outbox message). It refuses a few values `json` accepts (integers beyond 64
bits, non-string keys, a lone surrogate in a string): those fall back to `json` with its ASCII
escapes, so nothing that was storable before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson refuses what `json` reads (a lone surrogate escape, NaN): read it as before.
        return json.loads(raw)
