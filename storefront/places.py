"""Where a shopper wants things delivered: a pincode, a city or the browser's coordinates.

Remembered in the session, so the catalogue shows each product's nearest warehouse first.
"""

from dataclasses import asdict, dataclass

from django.http import HttpRequest

from warehouses.pincodes import place_for_pincode
from warehouses.routing import Location, city_location

SESSION_KEY = "stockd_deliver_to"


@dataclass(frozen=True)
class DeliverTo:
    label: str
    lat: float
    lng: float
    pincode: str = ""  # when the shopper gave one: product pages quote delivery to it

    @property
    def location(self) -> Location:
        return Location(self.lat, self.lng)


def resolve(text: str) -> DeliverTo | None:
    """Place a pincode ("560001") or a known city ("Pune"); None if neither is known."""
    text = " ".join(text.split())
    place = place_for_pincode(text)
    if place is not None:
        label = f"{place.city}, {place.state} {place.pincode}"
        return DeliverTo(label, place.location.lat, place.location.lng, place.pincode)
    location = city_location(text)
    if location is not None:
        return DeliverTo(text.title(), location.lat, location.lng)
    return None


def at_coordinates(lat: float, lng: float) -> DeliverTo:
    """The browser's own location."""
    return DeliverTo("your location", lat, lng)


def remember(request: HttpRequest, place: DeliverTo) -> None:
    request.session[SESSION_KEY] = asdict(place)


def current(request: HttpRequest) -> DeliverTo | None:
    """The place the shopper chose in this session, or None."""
    saved = request.session.get(SESSION_KEY)
    return DeliverTo(**saved) if saved else None
