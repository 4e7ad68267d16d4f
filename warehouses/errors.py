"""Domain errors about places and warehouses; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import StockdError


class PincodeNotServiceable(StockdError):
    code = "PINCODE_NOT_SERVICEABLE"
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    detail = "Sorry, we don't deliver to that pincode yet. Check the 6 digits, or try another."

    def body(self) -> dict:
        # The original's clients show `message`; `error` carries the same sentence.
        return {**super().body(), "message": self.detail}
