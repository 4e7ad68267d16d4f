"""Cross-app reactions: units coming back to stock promote the waitlist, after commit."""

from functools import partial

from django.db import transaction

from reservations import waitlist


def promote_waitlist_after_commit(sender, *, product_id: int, warehouse_id: int, **kwargs) -> None:
    """Once the change that freed units commits, offer them to the waitlist, oldest first.

    Deferred so a rolled-back release promotes nobody, and so promotion never runs inside
    (and never lengthens) the transaction that holds the freed row's lock.
    """
    transaction.on_commit(
        partial(waitlist.promote_waiting, product_id=product_id, warehouse_id=warehouse_id)
    )
