"""The reserve rate limit on the storefront's forms that hold stock.

A shopper's product-page reserve, cart hold and "hold again" count in the same
RESERVE_RATE_LIMIT budget as the API's reserve and batch (reservations.throttling): a script
posting the forms gets no more holds than one calling the API. Over the limit the form
answers the 429 page with Retry-After, and nothing is held or released.
"""

from django.http import HttpRequest, HttpResponse

from core.exceptions import rate_limited_page
from reservations import throttling


def refused_over_rate(request: HttpRequest) -> HttpResponse | None:
    """Count this holding form in the client's budget; over it, return the 429 page."""
    wait = throttling.seconds_to_wait(request)
    if wait is None:
        return None
    return rate_limited_page(
        request,
        message="You have tried to hold stock too many times in a short while. "
        "Nothing was held: wait a moment, then try again.",
        retry_after=wait,
    )
