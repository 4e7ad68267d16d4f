"""Why a console sign-in is refused: rendered by the API's one handler, shown on the form."""

from http import HTTPStatus

from core.errors import StockdError


class InvalidCredentials(StockdError):
    code = "INVALID_CREDENTIALS"
    status = HTTPStatus.UNAUTHORIZED
    detail = "Invalid credentials"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Session realm="stockd console"'}


class SignInRateLimited(StockdError):
    code = "RATE_LIMITED"
    status = HTTPStatus.TOO_MANY_REQUESTS
    detail = "Too many failed sign-ins. Try again later."

    def __init__(self, *, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            f"Too many failed sign-ins from here or for this account. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retryAfter=retry_after,
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotStaff(StockdError):
    code = "FORBIDDEN"
    status = HTTPStatus.FORBIDDEN
    detail = "The console is for staff. This account is a shopper's: sign in at the shop instead."
