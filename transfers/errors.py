"""Refusals of transfer requests; the API's exception handler renders each one."""

from http import HTTPStatus

from core.errors import NotFound, StockdError


class TransferNotFound(NotFound):
    detail = "No such transfer."


class WarehouseNotFound(NotFound):
    detail = "No such warehouse."


class InvalidTransferTransition(StockdError):
    code = "INVALID_TRANSITION"
    status = HTTPStatus.CONFLICT
    detail = "The transfer cannot take that step from its current state."


class ReceiptExceedsShipment(StockdError):
    code = "RECEIPT_EXCEEDS_SHIPMENT"
    status = HTTPStatus.CONFLICT
    detail = "A line would receive more units than were shipped; nothing was changed."
