"""Emails to shoppers, sent by a Celery task after commit so no request waits for a mail server.

Workers load this module through CELERY_IMPORTS; in the embedded default Celery runs tasks
eagerly, in the sending process.
"""

import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import dateformat, timezone

from reservations.models import WaitlistEntry

logger = logging.getLogger(__name__)


@shared_task(
    name="reservations.send_promotion_email",
    ignore_result=True,
    autoretry_for=(OSError,),  # smtplib's errors are OSErrors: a mail server down or refusing
    retry_backoff=True,
    max_retries=5,
)
def send_promotion_email(entry_id: str) -> None:
    """Tell a promoted shopper their units are held, with a link to check out."""
    entry = WaitlistEntry.objects.select_related("product", "warehouse", "reservation").get(
        pk=uuid.UUID(entry_id)
    )
    path = reverse("checkout", kwargs={"reservation_id": entry.reservation_id})
    minutes = settings.RESERVATION_TTL_SECONDS // 60
    # In the shop's time zone, named: the mail may be read well after it was sent.
    until = dateformat.format(timezone.localtime(entry.reservation.expires_at), "H:i T")
    send_mail(
        subject=f"{entry.product.name} is held for you",
        message=(
            f"Good news: {entry.quantity} x {entry.product.name} came back in stock at "
            f"{entry.warehouse.name}, and we are holding it for you for {minutes} minutes, "
            f"until {until}.\n\n"
            f"Check out here: {settings.SITE_URL}{path}\n"
        ),
        from_email=None,
        recipient_list=[entry.email],
    )
    logger.info("emailed waitlist entry %s about reservation %s", entry_id, entry.reservation_id)
