"""Domain errors of the reservation state machine; the API handler renders each one."""

from rest_framework import status

from stockd.errors import NotFound, StockdError


class InsufficientStock(StockdError):
    code = "INSUFFICIENT_STOCK"
    status = status.HTTP_409_CONFLICT
    detail = "Not enough units are available."


class ReservationExpired(StockdError):
    code = "RESERVATION_EXPIRED"
    status = status.HTTP_410_GONE
    detail = "The reservation expired and its units went back to stock."


class InvalidTransition(StockdError):
    code = "INVALID_TRANSITION"
    status = status.HTTP_409_CONFLICT
    detail = "The reservation cannot make that change from its current status."


class ExtensionLimit(StockdError):
    code = "EXTENSION_LIMIT"
    status = status.HTTP_409_CONFLICT
    detail = "A reservation can be extended only once."


class ReservationNotFound(NotFound):
    detail = "No such reservation."


class StockNotFound(NotFound):
    detail = "No such product in that warehouse."
