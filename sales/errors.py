"""Refusals of a hold by a sale's rules; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import NotFound, StockdError


class NotOnSale(StockdError):
    code = "NOT_ON_SALE"
    status = HTTPStatus.CONFLICT
    detail = "This product is not on sale now."


class AccountRequired(StockdError):
    code = "ACCOUNT_REQUIRED"
    status = HTTPStatus.UNAUTHORIZED
    detail = "Sign in or create an account to hold this product."


class LimitReached(StockdError):
    code = "LIMIT_REACHED"
    status = HTTPStatus.CONFLICT
    detail = "You already hold as many units of this product as one customer may."


class ChannelQuotaReached(StockdError):
    code = "CHANNEL_QUOTA_REACHED"
    status = HTTPStatus.CONFLICT
    detail = "This sales channel has sold its quota of this product."


class ChannelExists(StockdError):
    code = "CHANNEL_EXISTS"
    status = HTTPStatus.CONFLICT
    detail = "A channel with this code exists already."


class ChannelNotFound(NotFound):
    detail = "No such sales channel."


class ProductNotFound(NotFound):
    detail = "No such product."


class WarehouseNotFound(NotFound):
    detail = "No such warehouse."
