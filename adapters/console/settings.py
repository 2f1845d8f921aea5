"""Console simulator settings: TUIJIN_CONSOLE__*."""

from __future__ import annotations

from pydantic import BaseModel


class ConsoleSettings(BaseModel):
    # None: served only while no platform is configured and the server listens on loopback.
    # Anyone who reaches the console can post as any of its users, so it is never on by accident.
    enabled: bool | None = None
