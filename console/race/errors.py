"""The race demo's errors; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import StockdError


class RaceAlreadyRunning(StockdError):
    code = "RACE_RUNNING"
    status = HTTPStatus.CONFLICT
    detail = "Another race is running; try again in a few seconds."


class RaceNeedsPostgres(StockdError):
    code = "RACE_NEEDS_POSTGRESQL"
    status = HTTPStatus.SERVICE_UNAVAILABLE
    detail = "The original's SERIALIZABLE strategy needs PostgreSQL."
