"""`{% console_nav %}`: the console's section links, the current section marked."""

from dataclasses import dataclass

from django import template
from django.urls import reverse

register = template.Library()


@dataclass(frozen=True)
class Section:
    url_name: str
    icon: str
    label: str
    pages: tuple[str, ...]  # url names whose pages belong to this section
    tag: str = ""


SECTIONS = (
    Section("console-dashboard", "layers", "Dashboard", ("console-dashboard",)),
    Section("console-stock", "warehouse", "Stock", ("console-stock",)),
    Section(
        "console-inventory",
        "package",
        "Inventory",
        (
            "console-inventory",
            "console-inventory-import",
            "console-inventory-import-job",
            "console-products",
            "console-product-add",
            "console-product-edit",
            "console-warehouses",
            "console-warehouse-add",
            "console-warehouse-edit",
        ),
    ),
    Section(
        "console-transfers",
        "truck",
        "Transfers",
        ("console-transfers", "console-transfer"),
    ),
    Section(
        "console-reservations",
        "timer",
        "Reservations",
        ("console-reservations", "console-reservations-release"),
    ),
    Section("console-events", "list-ordered", "Events", ("console-events",)),
    Section(
        "console-sales",
        "percent",
        "Sales",
        (
            "console-sales",
            "console-sales-product",
            "console-sales-channels",
            "console-sales-channel",
        ),
    ),
    Section("console-race", "zap", "Race demo", ("console-race",), tag="test"),
    Section("console-analytics", "chart-line", "Analytics", ("console-analytics",)),
    Section(
        "console-integrations",
        "key-round",
        "Integrations",
        ("console-integrations", "console-webhooks", "console-webhook-deliveries"),
    ),
)


@register.inclusion_tag("console/_nav.html", takes_context=True)
def console_nav(context) -> dict:
    """List the sections as links, marking the one the current page belongs to."""
    match = context["request"].resolver_match
    current = match.url_name if match else ""
    return {
        "links": [
            {
                "href": reverse(section.url_name),
                "icon": section.icon,
                "label": section.label,
                "tag": section.tag,
                "current": current in section.pages,
            }
            for section in SECTIONS
        ]
    }
