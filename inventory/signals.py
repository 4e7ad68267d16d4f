"""Signals about stock, sent inside the transaction that changes it."""

from django.dispatch import Signal

# Units of a product came back to a warehouse's available stock (a hold was released or
# expired, or stock was added). Arguments: product_id, warehouse_id.
stock_released = Signal()
