"""The neutral mention token, `<@USER_ID>`: adapters write it inbound and render it outbound.

User ids are kept to the characters platform ids use, so text a user typed can never smuggle
markup into a rendered mention.
"""

from __future__ import annotations

import re
from typing import Final

USER_ID: Final = r"[A-Za-z0-9_.@\-]+"
MENTION_TOKEN: Final = re.compile(rf"<@({USER_ID})>")


def mention_token(user_id: str) -> str:
    return f"<@{user_id}>"
