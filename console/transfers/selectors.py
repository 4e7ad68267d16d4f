"""Read paths of the console's transfers pages: the list with each transfer's units added up,
the count per state, and one transfer with its lines and its history in words. They never
lock and never write."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet, Sum

from transfers.models import Transfer, TransferLine


def transfer_list(state: str = "") -> QuerySet[Transfer]:
    """Return the transfers of `state` (all when blank), newest first, with both warehouses
    joined and their lines' units summed (not yet fetched: the caller slices a page)."""
    transfers = Transfer.objects.select_related("source", "destination")
    if state:
        transfers = transfers.filter(state=state)
    return transfers.annotate(
        line_count=Count("lines"),
        units=Sum("lines__quantity", default=0),
        received_units=Sum("lines__received", default=0),
        damaged_units=Sum("lines__damaged", default=0),
    ).order_by("-created_at", "-id")


def state_counts() -> dict[str, int]:
    """Count the transfers in each state (every state present, 0 when none), in one query."""
    counted = dict(
        Transfer.objects.order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state: counted.get(state, 0) for state in Transfer.State.values}


@dataclass(frozen=True)
class StepLine:
    """What a step did to one product, in words."""

    product: str
    sku: str
    did: str


@dataclass(frozen=True)
class Step:
    """One step of a transfer's history as the page shows it."""

    action: str
    action_label: str
    state: str
    state_label: str
    actor: str
    at: datetime
    lines: list[StepLine]


@dataclass(frozen=True)
class TransferDetail:
    transfer: Transfer
    lines: list[TransferLine]
    history: list[Step]

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def outstanding(self) -> int:
        return sum(line.outstanding for line in self.lines) if self.transfer.shipped else 0


def transfer_detail(transfer_id) -> TransferDetail | None:
    """Read a transfer with its warehouses, its lines' products and its history (actors named
    by email where they are users), in four queries; None if there is no such transfer."""
    transfer = (
        Transfer.objects.select_related("source", "destination").filter(pk=transfer_id).first()
    )
    if transfer is None:
        return None
    lines = list(transfer.lines.select_related("product").order_by("pk"))
    steps = list(transfer.steps.order_by("pk"))
    products = {str(line.product_id): line.product for line in lines}
    actors = _actor_names([step.actor for step in steps])
    history = [
        Step(
            action=step.action,
            action_label=step.get_action_display(),
            state=step.state,
            state_label=step.get_state_display(),
            actor=actors.get(step.actor, step.actor),
            at=step.created_at,
            lines=[_step_line(entry, products) for entry in step.lines],
        )
        for step in steps
    ]
    return TransferDetail(transfer=transfer, lines=lines, history=history)


def _actor_names(actors: list[str]) -> dict[str, str]:
    """Name "user:<id>" actors by their email (or username); others stay as they are."""
    ids = {actor.removeprefix("user:") for actor in actors if actor.startswith("user:")}
    ids = {user_id for user_id in ids if user_id.isdigit()}
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).values_list("pk", "email", "username")
    return {f"user:{pk}": email or username for pk, email, username in users}


def _step_line(entry: dict, products: dict) -> StepLine:
    product = products.get(str(entry.get("productId")))
    name = product.name if product else f"Product {entry.get('productId')}"
    return StepLine(product=name, sku=product.sku if product else "", did=_what_it_did(entry))


def _what_it_did(entry: dict) -> str:
    """A history line in words, from the keys transfers.services writes for each action."""
    if "quantity" in entry:
        return f"{entry['quantity']} to move"
    if "shipped" in entry:
        return f"{entry['shipped']} shipped"
    if "returned" in entry:
        return f"{entry['returned']} back to the source"
    if "received" in entry:
        parts = [f"{entry['received']} good", f"{entry.get('damaged', 0)} damaged"]
        if served := entry.get("preordersServed"):
            parts.append(f"{entry.get('preorderUnits', 0)} to {_count(served, 'preorder')}")
        if promoted := entry.get("waitlistPromoted"):
            parts.append(f"{_count(promoted, 'waitlist entry', 'waitlist entries')} served")
        return ", ".join(parts)
    return ", ".join(f"{key} {value}" for key, value in entry.items() if key != "productId")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
