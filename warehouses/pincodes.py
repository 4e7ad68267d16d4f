"""Indian pincodes to places: a 6-digit pincode is placed by its first three digits, else two.

The table is fixtures/pincode_prefixes.csv (429 three-digit prefixes with coordinates, city
and state), read once per process.
"""

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from warehouses.routing import Location

PREFIXES_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "pincode_prefixes.csv"
_PINCODE = re.compile(r"[1-9][0-9]{5}")


@dataclass(frozen=True)
class Place:
    """Where a pincode is: its city, state and the prefix's coordinates."""

    pincode: str
    city: str
    state: str
    location: Location


@functools.cache
def _prefixes() -> dict[str, tuple[str, str, Location]]:
    with PREFIXES_FILE.open(newline="", encoding="utf-8") as handle:
        return {
            row["prefix"]: (
                row["city"],
                row["state"],
                Location(float(row["lat"]), float(row["lng"])),
            )
            for row in csv.DictReader(handle)
        }


def is_pincode(text: str) -> bool:
    """Tell whether `text` is shaped like an Indian pincode: six digits, not starting with 0."""
    return _PINCODE.fullmatch(text) is not None


def place_for_pincode(pincode: str) -> Place | None:
    """Return the place of a pincode, or None if it is malformed or no prefix covers it.

    The first three digits pick the place; when no place has them, the nearest three-digit
    prefix with the same first two digits does (the lower one on a tie).
    """
    pincode = pincode.strip()
    if not is_pincode(pincode):
        return None
    prefixes = _prefixes()
    prefix = pincode[:3]
    if prefix not in prefixes:
        same_region = [p for p in prefixes if p[:2] == pincode[:2]]
        if not same_region:
            return None
        prefix = min(same_region, key=lambda p: (abs(int(p) - int(pincode[:3])), p))
    city, state, location = prefixes[prefix]
    return Place(pincode=pincode, city=city, state=state, location=location)
