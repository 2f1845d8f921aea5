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


# Ids no person has: a platform's "everyone" is never a task member, whatever the text says.
EVERYONE_IDS: Final = frozenset({"all", "@_all", "@all", "everyone"})


def neutralize_typed_tokens(text: str) -> str:
    """Make `<@…>` that a user typed plain text (‹@…>), before real mentions are written in.

    Only an adapter writes mention tokens, from the mentions its platform's event carried; typed
    ones would otherwise name anyone (or @all) on a task and ping them.
    """
    return text.replace("<@", "\u2039@")
