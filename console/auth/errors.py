"""Why a console sign-in is refused: rendered by the API's one handler, shown on the form."""

from http import HTTPStatus

from core.errors import StockdError


class InvalidCredentials(StockdError):
    code = "INVALID_CREDENTIALS"
    status = HTTPStatus.UNAUTHORIZED
    detail = "Invalid credentials"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Session realm="stockd console"'}


class NotStaff(StockdError):
    code = "FORBIDDEN"
    status = HTTPStatus.FORBIDDEN
    detail = "The console is for staff. This account is a shopper's: sign in at the shop instead."
