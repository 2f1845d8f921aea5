"""Domain refusals: a short message in the user's language, never a traceback."""


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
