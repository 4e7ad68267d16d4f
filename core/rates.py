"""Read a rate limit written as "<count>/<period>": "60/m", "5/5m", "1000/h", "10/30s".

The period is a unit (s, m, h, d, or sec, min, hour, day, with or without a plural s) with an
optional multiplier in front of it, so "5/5m" is five in five minutes. DRF's own syntax
("60/m") is a subset. An empty text means no limit.
"""

import re
from typing import NamedTuple

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(
    r"^\s*(?P<count>\d+)\s*/\s*(?P<multiplier>\d*)\s*"
    r"(?P<unit>s|sec|second|m|min|minute|h|hr|hour|d|day)s?\s*$",
    re.IGNORECASE,
)


class Rate(NamedTuple):
    """At most `count` in any `seconds` (the shape DRF's parse_rate returns)."""

    count: int
    seconds: int


def parse_rate(text: str | None) -> Rate | None:
    """Return the rate `text` names, or None for an empty text (no limit).

    Raise ValueError, naming the text, when it is not "<count>/<period>" with a count and a
    multiplier of at least 1.
    """
    if text is None or not text.strip():
        return None
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a rate: write <count>/<period>, e.g. 60/m or 5/5m.")
    count = int(match["count"])
    multiplier = int(match["multiplier"] or 1)
    if count < 1 or multiplier < 1:
        raise ValueError(f"{text!r}: the count and the period must be at least 1.")
    return Rate(count, multiplier * _UNIT_SECONDS[match["unit"][0].lower()])
