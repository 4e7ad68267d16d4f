"""Domain errors of the payment webhook; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import StockdError


class BadSignature(StockdError):
    """The Stockd-Signature header is missing, malformed or matches no secret."""

    code = "BAD_SIGNATURE"
    status = HTTPStatus.BAD_REQUEST
    detail = "The Stockd-Signature header does not match the body."


class StaleSignature(StockdError):
    """The signature is right, but its timestamp is more than the tolerance away from now."""

    code = "STALE_SIGNATURE"
    status = HTTPStatus.BAD_REQUEST
    detail = "The Stockd-Signature timestamp is more than 5 minutes away from the server's clock."


class WebhookNotConfigured(StockdError):
    """PAYMENT_WEBHOOK_SECRET is empty, so no call can be verified: every one is refused."""

    code = "WEBHOOK_NOT_CONFIGURED"
    status = HTTPStatus.FORBIDDEN
    detail = "The payment webhook is turned off: PAYMENT_WEBHOOK_SECRET is not set."
