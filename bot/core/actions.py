"""Typed, versioned payloads carried by card buttons.

A payload names what the button does and what it points at; it never says who may press it.
The server re-checks the presser against the database on every click.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PACKED_PREFIX = "tj"


class ActionPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    VERSION: ClassVar[int] = 1

    v: int = Field(default=1, ge=1, le=1)
    act: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z_.]*$")
    ref: str = Field(default="", max_length=64)
    arg: str = Field(default="", max_length=64)

    def to_value(self) -> dict[str, str]:
        """The object form, for platforms whose buttons carry JSON (Feishu `value`)."""
        return {"tj": str(self.v), "act": self.act, "ref": self.ref, "arg": self.arg}

    @classmethod
    def from_value(cls, value: Any) -> ActionPayload | None:
        """Parse the object form back; anything that is not ours gives None."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return cls.unpack(value)
        if not isinstance(value, dict) or "tj" not in value:
            return None
        try:
            return cls(v=int(value["tj"]), act=value.get("act", ""), ref=value.get("ref", ""),
                       arg=value.get("arg", ""))
        except (ValidationError, ValueError, TypeError):
            return None

    def pack(self) -> str:
        """The string form, for platforms whose buttons carry a short key (WeCom, DingTalk)."""
        return f"{PACKED_PREFIX}{self.v}|{self.act}|{self.ref}|{self.arg}"

    @classmethod
    def unpack(cls, packed: str) -> ActionPayload | None:
        parts = packed.split("|")
        if len(parts) != 4 or not parts[0].startswith(PACKED_PREFIX):
            return None
        try:
            return cls(v=int(parts[0][len(PACKED_PREFIX):]), act=parts[1], ref=parts[2], arg=parts[3])
        except (ValidationError, ValueError):
            return None
