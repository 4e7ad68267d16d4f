"""Transfer services: create, ship, receive, cancel, read (docs/transfers.md).

Each step is one transaction: the transfer row is locked first, then the stock rows it moves
(in primary-key order, inventory.locks), then what a receipt serves (the destination's
preorders, then its waitlist). Stock changes go through inventory.locks.apply, so each writes
ledger entries (and, through the ledger, the outbound `transfer.*` and `stock.*` events).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from core.serving.requestid import current_request_id
from idempotency.context import current_idempotency_key
from inventory import locks as stock_locks
from inventory.errors import ProductNotFound, StockNotFound
from inventory.models import Inventory, LedgerEntry, Product
from reservations.errors import InsufficientStock
from reservations.services import preorders, waitlist
from reservations.services.stock_states import MAX_UNITS
from transfers.errors import (
    InvalidTransferTransition,
    ReceiptExceedsShipment,
    TransferNotFound,
    WarehouseNotFound,
)
from transfers.models import Transfer, TransferLine, TransferStep
from warehouses.models import Warehouse

State, Action, Reason = Transfer.State, TransferStep.Action, LedgerEntry.Reason
MAX_LINES = 1000


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Receipt:
    """What arrived of one line: good units and broken ones."""

    product_id: int
    received: int
    damaged: int


def reference_of(transfer: Transfer) -> str:
    """What a transfer's ledger entries name as their reference."""
    return f"transfer:{transfer.pk}"


def _step(transfer: Transfer, action: str, actor: str, lines: list[dict], at) -> None:
    TransferStep.objects.create(
        transfer=transfer,
        action=action,
        state=transfer.state,
        actor=actor,
        lines=lines,
        idempotency_key=current_idempotency_key() or "",
        request_id=current_request_id() or "",
        created_at=at,
    )


def _unique_products(product_ids: Sequence[int]) -> None:
    seen = set()
    for index, product_id in enumerate(product_ids):
        if product_id in seen:
            raise InvalidInput(f"Line {index}: product {product_id} is listed twice.", index=index)
        seen.add(product_id)


def create(
    *, source_id: int, destination_id: int, lines: Sequence[Line], reference: str, actor: str
) -> Transfer:
    """Make a DRAFT transfer of `lines` from one warehouse to another; no stock moves yet.

    The destination gets a stock row for a product it never stocked. Raise InvalidInput for
    one warehouse on both ends or a product listed twice, WarehouseNotFound, ProductNotFound
    and StockNotFound (a product the source does not stock), naming the line's `index`.
    """
    if source_id == destination_id:
        raise InvalidInput("A transfer goes between two different warehouses.")
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput(f"A transfer has 1 to {MAX_LINES} lines.")
    _unique_products([line.product_id for line in lines])
    found = set(Warehouse.objects.filter(pk__in=[source_id, destination_id]).values_list("pk"))
    for name, warehouse_id in (("fromWarehouseId", source_id), ("toWarehouseId", destination_id)):
        if (warehouse_id,) not in found:
            raise WarehouseNotFound(f"No warehouse {warehouse_id} ({name}).")
    products = set(Product.objects.filter(pk__in=[x.product_id for x in lines]).values_list("pk"))
    stocked = set(
        Inventory.objects.filter(
            warehouse_id=source_id, product_id__in=[x.product_id for x in lines]
        ).values_list("product_id")
    )
    for index, line in enumerate(lines):
        if (line.product_id,) not in products:
            raise ProductNotFound(f"Line {index}: no product {line.product_id}.", index=index)
        if (line.product_id,) not in stocked:
            raise StockNotFound(
                f"Line {index}: product {line.product_id} is not stocked in warehouse {source_id}.",
                index=index,
            )
    now = timezone.now()
    with transaction.atomic():
        for line in lines:
            Inventory.objects.get_or_create(product_id=line.product_id, warehouse_id=destination_id)
        transfer = Transfer.objects.create(
            source_id=source_id,
            destination_id=destination_id,
            reference=reference,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        TransferLine.objects.bulk_create(
            TransferLine(transfer=transfer, product_id=x.product_id, quantity=x.quantity)
            for x in lines
        )
        steps = [{"productId": str(x.product_id), "quantity": x.quantity} for x in lines]
        _step(transfer, Action.CREATED, actor, steps, now)
    return transfer


def _lock(transfer_id) -> tuple[Transfer, list[TransferLine]]:
    transfer = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise TransferNotFound()
    return transfer, list(transfer.lines.order_by("pk"))


def _refuse(transfer: Transfer, step: str) -> InvalidTransferTransition:
    return InvalidTransferTransition(
        f"A transfer in state {transfer.state} cannot be {step}.", state=transfer.state
    )


def _lock_both_ends(
    transfer: Transfer, lines: list[TransferLine]
) -> dict[stock_locks.StockKey, Inventory]:
    """Lock the stock rows of every line at the source and at the destination, by key."""
    ends = (transfer.source_id, transfer.destination_id)
    return stock_locks.lock_stock_rows_by_key(
        (line.product_id, warehouse_id) for warehouse_id in ends for line in lines
    )


def ship(transfer_id, *, actor: str) -> Transfer:
    """Send a DRAFT transfer: every line's units leave the source's on hand and join the
    destination's incoming, all lines or none. Units held by shoppers, the safety buffer and
    unsellable units never ship: a line needs that many available at the source, else
    InsufficientStock names it and nothing changes."""
    with transaction.atomic():
        transfer, lines = _lock(transfer_id)
        if transfer.state != State.DRAFT:
            raise _refuse(transfer, "shipped")
        source, destination = transfer.source_id, transfer.destination_id
        rows = _lock_both_ends(transfer, lines)
        for index, line in enumerate(lines):
            incoming = rows[(line.product_id, destination)].incoming_stock
            if incoming + line.quantity > MAX_UNITS:
                raise InvalidInput(
                    f"Line {index}: the destination would expect more than {MAX_UNITS:,} units.",
                    index=index,
                )
            available = rows[(line.product_id, source)].available
            if available < line.quantity:
                raise InsufficientStock(
                    f"Line {index} (product {line.product_id}): {available} available at the "
                    f"source, {line.quantity} to ship; nothing was changed.",
                    index=index,
                    productId=str(line.product_id),
                    available=available,
                )
        reference = reference_of(transfer)
        changes = []
        for line in lines:
            changes += [
                stock_locks.Change(
                    (line.product_id, source), Reason.TRANSFER_OUT, actor,
                    on_hand=-line.quantity, reference=reference,
                ),
                stock_locks.Change(
                    (line.product_id, destination), Reason.IN_TRANSIT, actor,
                    incoming=line.quantity, reference=reference,
                ),
            ]  # fmt: skip
        now = timezone.now()
        stock_locks.apply(changes, at=now)
        transfer.state, transfer.shipped_at, transfer.updated_at = State.IN_TRANSIT, now, now
        transfer.save(update_fields=["state", "shipped_at", "updated_at"])
        steps = [{"productId": str(x.product_id), "shipped": x.quantity} for x in lines]
        _step(transfer, Action.SHIPPED, actor, steps, now)
    return transfer


def receive(transfer_id, receipts: Sequence[Receipt], *, actor: str) -> Transfer:
    """Book units of a shipped transfer that arrived: all join the destination's on hand, the
    broken ones as unsellable (so available grows by the good ones), and leave its incoming.
    May be called until every shipped unit is accounted for (RECEIVED; PARTIALLY_RECEIVED
    until then).

    The good units go, in this order and in this transaction: to the destination's confirmed
    preorders, oldest first; then to its waitlist, first come first served; what is left is on
    sale. Raise InvalidInput for a product not on the transfer (or listed twice) and
    ReceiptExceedsShipment when a line would receive more than was shipped (nothing changes).
    """
    if not 1 <= len(receipts) <= MAX_LINES:
        raise InvalidInput(f"A receipt has 1 to {MAX_LINES} lines.")
    _unique_products([r.product_id for r in receipts])
    for index, receipt in enumerate(receipts):
        if receipt.received + receipt.damaged == 0:
            raise InvalidInput(f"Line {index} books no units.", index=index)
    with transaction.atomic():
        transfer, lines = _lock(transfer_id)
        if transfer.state not in (State.IN_TRANSIT, State.PARTIALLY_RECEIVED):
            raise _refuse(transfer, "received")
        by_product = {line.product_id: line for line in lines}
        for index, receipt in enumerate(receipts):
            line = by_product.get(receipt.product_id)
            if line is None:
                raise InvalidInput(
                    f"Line {index}: product {receipt.product_id} is not on this transfer.",
                    index=index,
                )
            if receipt.received + receipt.damaged > line.outstanding:
                raise ReceiptExceedsShipment(
                    f"Line {index} (product {receipt.product_id}): {line.outstanding} unit(s) "
                    f"are still to arrive, {receipt.received + receipt.damaged} were booked; "
                    "nothing was changed.",
                    index=index,
                    productId=str(receipt.product_id),
                    outstanding=line.outstanding,
                )
        destination, reference = transfer.destination_id, reference_of(transfer)
        rows = stock_locks.lock_stock_rows_by_key((r.product_id, destination) for r in receipts)
        now = timezone.now()
        changes = []
        for r in receipts:
            # Staff may have lowered incoming by hand meanwhile: it never goes below 0.
            incoming = rows[(r.product_id, destination)].incoming_stock
            changes.append(
                stock_locks.Change(
                    (r.product_id, destination), Reason.TRANSFER_IN, actor,
                    on_hand=r.received + r.damaged, unsellable=r.damaged, reference=reference,
                    incoming=-min(r.received + r.damaged, incoming),
                )
            )  # fmt: skip
        stock_locks.apply(changes, at=now)
        steps = []
        for receipt in receipts:
            key = (receipt.product_id, destination)
            served = preorders.serve(key, receipt.received, actor=actor)
            promoted = waitlist.promote_waiting(product_id=key[0], warehouse_id=key[1])
            line = by_product[receipt.product_id]
            line.received += receipt.received
            line.damaged += receipt.damaged
            line.save(update_fields=["received", "damaged"])
            steps.append(
                {
                    "productId": str(receipt.product_id),
                    "received": receipt.received,
                    "damaged": receipt.damaged,
                    "preorderUnits": sum(s.units for s in served),
                    "preordersServed": len(served),
                    "waitlistPromoted": len(promoted),
                }
            )
        done = all(line.outstanding == 0 for line in lines)
        transfer.state = State.RECEIVED if done else State.PARTIALLY_RECEIVED
        transfer.received_at = now if done else None
        transfer.updated_at = now
        transfer.save(update_fields=["state", "received_at", "updated_at"])
        _step(transfer, Action.RECEIVED, actor, steps, now)
    return transfer


def cancel(transfer_id, *, actor: str) -> Transfer:
    """Call a transfer off. A DRAFT changes no stock; an IN_TRANSIT one's units go back to the
    source's on hand (offered to its waitlist once this commits) and leave the destination's
    incoming. Cancelling a cancelled transfer changes nothing; one with units received cannot
    be cancelled (InvalidTransferTransition)."""
    with transaction.atomic():
        transfer, lines = _lock(transfer_id)
        if transfer.state == State.CANCELLED:
            return transfer
        if transfer.state not in (State.DRAFT, State.IN_TRANSIT):
            raise _refuse(transfer, "cancelled")
        now = timezone.now()
        steps = []
        if transfer.state == State.IN_TRANSIT:
            source, destination = transfer.source_id, transfer.destination_id
            reference = reference_of(transfer)
            rows = _lock_both_ends(transfer, lines)
            changes = []
            for line in lines:
                incoming = rows[(line.product_id, destination)].incoming_stock
                changes += [
                    stock_locks.Change(
                        (line.product_id, source), Reason.TRANSFER_BACK, actor,
                        on_hand=line.quantity, reference=reference,
                    ),
                    stock_locks.Change(
                        (line.product_id, destination), Reason.CALLED_OFF, actor,
                        incoming=-min(line.quantity, incoming), reference=reference,
                    ),
                ]  # fmt: skip
                steps.append({"productId": str(line.product_id), "returned": line.quantity})
            stock_locks.apply(changes, at=now)
            waitlist.offer_freed_units_on_commit([(x.product_id, source) for x in lines])
        transfer.state, transfer.cancelled_at, transfer.updated_at = State.CANCELLED, now, now
        transfer.save(update_fields=["state", "cancelled_at", "updated_at"])
        _step(transfer, Action.CANCELLED, actor, steps, now)
    return transfer


def get(transfer_id) -> Transfer:
    """A transfer with its lines and history (prefetched); raise TransferNotFound."""
    transfer = Transfer.objects.prefetch_related("lines", "steps").filter(pk=transfer_id).first()
    if transfer is None:
        raise TransferNotFound()
    return transfer


def list_transfers(
    *, state: str | None = None, warehouse_id: int | None = None, limit: int, offset: int
) -> tuple[list[Transfer], int]:
    """A page of transfers, newest first (of a state, from or to a warehouse), and the total."""
    transfers = Transfer.objects.all()
    if state:
        transfers = transfers.filter(state=state)
    if warehouse_id is not None:
        transfers = transfers.filter(source_id=warehouse_id) | transfers.filter(
            destination_id=warehouse_id
        )
    page = transfers.prefetch_related("lines", "steps")[offset : offset + limit]
    return list(page), transfers.count()
