"""People in a field value: `<@USER_ID>` mention tokens, `@name`, or bare names."""

from __future__ import annotations

import re
from typing import Final

from bot.commands.model import PersonRef
from bot.core.mentions import MENTION_TOKEN, USER_ID

_PERSON: Final = re.compile(rf"<@(?P<id>{USER_ID})>|@?(?P<name>[^\s,;:、。@<>/|]+)")
# Words joining names ("@张三 和 @李四") rather than naming anyone.
_CONNECTORS: Final = frozenset({"和", "与", "及", "以及", "跟", "还有", "and", "&", "+", "给", "to"})

MENTION: Final = MENTION_TOKEN


def parse_people(text: str) -> tuple[PersonRef, ...]:
    """Every person named in `text` (already width-folded), in order, without duplicates."""
    people: list[PersonRef] = []
    for match in _PERSON.finditer(text):
        if match["id"] is not None:
            person = PersonRef(user_id=match["id"])
        elif match["name"].lower() in _CONNECTORS:
            continue
        else:
            person = PersonRef(name=match["name"])
        if person not in people:
            people.append(person)
    return tuple(people)
