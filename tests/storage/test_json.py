"""The JSON columns' codec: orjson's output where it can, the standard library's where it refuses."""

from __future__ import annotations

import json

from storage.json import dumps, loads


def test_ordinary_values_round_trip_as_utf8_text() -> None:
    value = {"text": "新建任务 海报", "n": [1, 2.5, None, True], "nested": {"a": "b"}}
    written = dumps(value)
    assert "新建任务" in written and loads(written) == value == json.loads(written)


def test_values_orjson_refuses_are_written_as_before() -> None:
    # A lone surrogate cannot be UTF-8: it stays an ASCII escape, which every database stores.
    surrogate = {"text": "a\ud800b"}
    assert dumps(surrogate) == json.dumps(surrogate) and loads(dumps(surrogate)) == surrogate
    huge = {"n": 2**70}
    assert loads(dumps(huge)) == huge


def test_text_orjson_refuses_to_read_is_read_as_before() -> None:
    assert loads('{"text": "\\ud800"}') == {"text": "\ud800"}
    assert loads(b'{"n": NaN}')["n"] != loads(b'{"n": NaN}')["n"]  # NaN, as json reads it
