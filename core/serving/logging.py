"""Log lines for people (text) or for log pipelines (one JSON object a line).

`StockdFormatter` writes the time, level, logger and message, then the request id of the
request being served (core.serving.requestid), the id of the Celery task being run, and every field
the caller passed with `extra={...}`. settings.LOGGING picks the form from LOG_FORMAT.
"""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from core.serving.requestid import current_request_id

try:  # the worker's current task; Celery is a dependency, but core must not need it
    from celery import current_task
except ImportError:  # pragma: no cover
    current_task = None

# What every LogRecord carries: anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _task_id() -> str | None:
    # current_task is Celery's public proxy: false when no task runs in this thread.
    return current_task.request.id if current_task else None


def context_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Return a record's request id, task id and `extra` fields, in that order."""
    fields: dict[str, Any] = {}
    request_id = getattr(record, "request_id", None) or current_request_id()
    if request_id is not None:
        fields["request_id"] = request_id
    task_id = _task_id()
    if task_id is not None:
        fields["task_id"] = task_id
    for key, value in record.__dict__.items():
        if key not in _RECORD_ATTRIBUTES and key not in fields and not key.startswith("_"):
            fields[key] = value
    return fields


class StockdFormatter(logging.Formatter):
    """Format a record as one JSON object (`as_json`) or as one readable line of text."""

    def __init__(self, *, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        at = datetime.fromtimestamp(record.created, tz=UTC)
        fields = context_fields(record)
        error = self.formatException(record.exc_info) if record.exc_info else None
        if self.as_json:
            line = {
                "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "level": record.levelname,
                "logger": record.name,
                "message": message,
                "pid": record.process,
                **fields,
            }
            if error:
                line["exception"] = error
            return json.dumps(line, default=str, separators=(",", ":"))
        text = f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d} {record.levelname} "
        text += f"{record.name}: {message}"
        if fields:
            text += " [" + " ".join(f"{key}={_text(value)}" for key, value in fields.items()) + "]"
        return f"{text}\n{error}" if error else text


_SPACE = re.compile(r"\s")


def _text(value: Any) -> str:
    """Render a field's value for a text line: quoted when empty or when it has spaces."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # as json.dumps writes it, faster (ids and quantities on every line)
    elif value is None or isinstance(value, bool | float | dict | list):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return json.dumps(text) if (not text or _SPACE.search(text)) else text
