"""How a sweep says it did only part of its work."""


class SweepIncomplete(Exception):
    """Some tenants or chats failed (each was logged); the rest of the sweep went through."""

    def __init__(self, message: str, *, done: int) -> None:
        super().__init__(message)
        self.done = done
