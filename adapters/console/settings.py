"""Console simulator settings: TUIJIN_CONSOLE__*."""

from __future__ import annotations

from pydantic import BaseModel


class ConsoleSettings(BaseModel):
    enabled: bool = True
