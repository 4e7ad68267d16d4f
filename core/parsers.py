"""The API's JSON parser: DRF's, refusing repeated keys and bodies nested too deeply."""

import codecs
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object from `pairs`; raise ValueError naming a key that appears twice."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


class StrictJSONParser(JSONParser):
    """Parse JSON as DRF does; a repeated key or a body nested too deeply is a 400, not a 500.

    Python's json keeps the last of repeated keys, so `{"quantity": true, "quantity": 1}`
    would pass validation on a value the client may not have meant; refuse it instead.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        parse_constant = json.strict_constant if self.strict else None
        try:
            return json.load(
                codecs.getreader(encoding)(stream),
                parse_constant=parse_constant,
                object_pairs_hook=refuse_duplicate_keys,
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
