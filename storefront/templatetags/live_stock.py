"""Template tags of live stock: the count a live-updated element starts from."""

from django import template

from inventory import selectors

register = template.Library()


@register.simple_tag
def available_units(product_id: int, warehouse_id: int) -> int:
    """Return the units available now in a stock row (0 if it is not sold there)."""
    return selectors.available_units(product_id=product_id, warehouse_id=warehouse_id) or 0
