"""The API's JSON parser: DRF's, refusing repeated keys and bodies nested too deeply."""

import codecs
from typing import Any, BinaryIO

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.settings import api_settings
from rest_framework.utils import json


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object from `pairs`; raise ValueError naming a key that appears twice."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def parse_json(stream: BinaryIO, encoding: str = "utf-8") -> Any:
    """Parse a JSON body as the API does: DRF's rules (STRICT_JSON: no NaN or Infinity), a
    repeated key or a body nested too deeply refused. Raise DRF's ParseError (400).

    StrictJSONParser parses with it, and so does the lean reserve path
    (reservations/apis/lean_reserve.py): one parser, one set of answers.
    """
    parse_constant = json.strict_constant if api_settings.STRICT_JSON else None
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


class StrictJSONParser(JSONParser):
    """Parse JSON as DRF does; a repeated key or a body nested too deeply is a 400, not a 500.

    Python's json keeps the last of repeated keys, so `{"quantity": true, "quantity": 1}`
    would pass validation on a value the client may not have meant; refuse it instead.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json(stream, get_encoding(parser_context or {}))
