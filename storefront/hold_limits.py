"""The reserve rate limit on the storefront's forms that hold stock.

A shopper's product-page reserve, cart hold and "hold again" count in the same
RESERVE_RATE_LIMIT budget as the API's reserve and batch (reservations.throttling): a script
posting the forms gets no more holds than one calling the API. Over the limit a form answers
429 with Retry-After, and nothing is held or released: the cart page shows it beside "Hold
all" (htmx swaps only that page's partial), the other forms answer the 429 page.
"""

from django.http import HttpRequest, HttpResponse

from core.error_handlers import rate_limited_page
from reservations import throttling

# Why a hold was refused, for the cart page (which says "Nothing was held." before it).
OVER_THE_LIMIT = (
    "You have tried to hold stock too many times in a short while: wait a moment, then try again."
)


def refused_over_rate(request: HttpRequest) -> HttpResponse | None:
    """Count this holding form in the client's budget; over it, return the 429 page."""
    wait = throttling.seconds_to_wait(request)
    if wait is None:
        return None
    return rate_limited_page(
        request, message=f"Nothing was held. {OVER_THE_LIMIT}", retry_after=wait
    )
