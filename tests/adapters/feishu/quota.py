"""Feishu's message-send quota as the fake Open API enforces it: 50 a second per app, 5 per chat.

Strictly: at most `per_app` sends accepted in any one-second span (sliding, not aligned to whole
seconds, so a burst at the end of one second and another at the start of the next is refused),
and at most `per_chat` to one chat or person. Time is the injected clock's.
"""

from __future__ import annotations

from collections import deque

from bot.clock import Clock


class SendQuota:
    def __init__(self, clock: Clock, *, per_app: int = 50, per_chat: int = 5, span: float = 1.0) -> None:
        self.clock = clock
        self.per_app, self.per_chat, self.span = per_app, per_chat, span
        self.accepted = 0
        self.refused = 0
        self._app: deque[float] = deque()
        self._chats: dict[str, deque[float]] = {}

    def admit(self, chat: str) -> bool:
        now = self.clock.now().timestamp()
        app = self._app
        mine = self._chats.setdefault(chat, deque())
        for sends in (app, mine):
            while sends and sends[0] <= now - self.span:
                sends.popleft()
        if len(app) >= self.per_app or len(mine) >= self.per_chat:
            self.refused += 1
            return False
        app.append(now)
        mine.append(now)
        self.accepted += 1
        return True
