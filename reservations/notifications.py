"""Emails to shoppers, sent by a Celery task after commit so no request waits for a mail server.

One task sends every kind: a waitlist promotion (units are held for the shopper) and a served
preorder (its units ship). Workers load this module through CELERY_IMPORTS; in the embedded
default Celery runs tasks eagerly, in the sending process.
"""

import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import dateformat, timezone

from reservations.models import Reservation, WaitlistEntry

logger = logging.getLogger(__name__)


def _promotion(entry_id: uuid.UUID) -> tuple[str, str, str]:
    """A promoted waitlist entry's email: units are held, with a link to check out."""
    entry = WaitlistEntry.objects.select_related("product", "warehouse", "reservation").get(
        pk=entry_id
    )
    path = reverse("checkout", kwargs={"reservation_id": entry.reservation_id})
    minutes = settings.RESERVATION_TTL_SECONDS // 60
    # In the shop's time zone, named: the mail may be read well after it was sent.
    until = dateformat.format(timezone.localtime(entry.reservation.expires_at), "H:i T")
    return (
        entry.email,
        f"{entry.product.name} is held for you",
        f"Good news: {entry.quantity} x {entry.product.name} came back in stock at "
        f"{entry.warehouse.name}, and we are holding it for you for {minutes} minutes, "
        f"until {until}.\n\n"
        f"Check out here: {settings.SITE_URL}{path}\n",
    )


def _preorder_served(reservation_id: uuid.UUID) -> tuple[str, str, str]:
    """A served preorder's email: its units arrived and ship now."""
    preorder = Reservation.objects.select_related("product", "warehouse", "user").get(
        pk=reservation_id
    )
    done = preorder.served == preorder.quantity
    shipped = (
        f"all {preorder.quantity} units ship now"
        if done
        else f"{preorder.served} of its {preorder.quantity} units ship now; the rest follow "
        "with the next delivery"
    )
    return (
        preorder.user.email if preorder.user else "",
        f"Your preorder of {preorder.product.name} is on its way",
        f"Good news: your preorder of {preorder.quantity} x {preorder.product.name} arrived at "
        f"{preorder.warehouse.name}, and {shipped}.\n\n"
        f"Your orders: {settings.SITE_URL}{reverse('orders')}\n",
    )


MESSAGES = {"waitlist_promotion": _promotion, "preorder_served": _preorder_served}


@shared_task(
    name="reservations.email_shopper",
    ignore_result=True,
    autoretry_for=(OSError,),  # smtplib's errors are OSErrors: a mail server down or refusing
    retry_backoff=True,
    max_retries=5,
)
def email_shopper(kind: str, subject_id: str) -> None:
    """Email the shopper of a waitlist entry or a preorder (`kind`, a key of MESSAGES) about
    what just happened to it."""
    recipient, subject, message = MESSAGES[kind](uuid.UUID(subject_id))
    if not recipient:  # a channel's preorder: its shopper is the channel's, not ours
        logger.info("no email for %s %s: it has no shopper address", kind, subject_id)
        return
    send_mail(subject, message, from_email=None, recipient_list=[recipient])
    logger.info("emailed the shopper of %s %s", kind, subject_id)
