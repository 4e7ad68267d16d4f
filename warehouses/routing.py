"""Decide which warehouses serve a reservation, without touching the database.

Services lock and load inventory rows, turn them into `StockOption`s, ask these planners which
warehouse (or which split) to use, and then write. Keeping the planning pure lets it be tested
without a database and keeps every lock inside the service's transaction.
"""

import itertools
import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius.


@dataclass(frozen=True)
class Location:
    """A point on Earth in decimal degrees."""

    lat: float
    lng: float


KNOWN_CITIES: dict[str, Location] = {
    # The five warehouse cities, with exactly the coordinates of fixtures/warehouses.csv.
    "Chennai": Location(13.0827, 80.2707),
    "Bangalore": Location(12.9716, 77.5946),
    "Mumbai": Location(19.0760, 72.8777),
    "Delhi": Location(28.6139, 77.2090),
    "Hyderabad": Location(17.3850, 78.4867),
    "Kolkata": Location(22.5726, 88.3639),
    "Pune": Location(18.5204, 73.8567),
    "Ahmedabad": Location(23.0225, 72.5714),
    "Jaipur": Location(26.9124, 75.7873),
    "Lucknow": Location(26.8467, 80.9462),
    "Surat": Location(21.1702, 72.8311),
    "Kochi": Location(9.9312, 76.2673),
    "Chandigarh": Location(30.7333, 76.7794),
    "Bhopal": Location(23.2599, 77.4126),
    "Visakhapatnam": Location(17.6868, 83.2185),
    "Nagpur": Location(21.1458, 79.0882),
    "Indore": Location(22.7196, 75.8577),
    "Patna": Location(25.5941, 85.1376),
    "Coimbatore": Location(11.0168, 76.9558),
    "Guwahati": Location(26.1445, 91.7362),
}

_CITY_ALIASES: dict[str, str] = {
    "bengaluru": "Bangalore",
    "new delhi": "Delhi",
    "bombay": "Mumbai",
    "madras": "Chennai",
    "calcutta": "Kolkata",
    "cochin": "Kochi",
    "vizag": "Visakhapatnam",
    "poona": "Pune",
}

_CITIES_BY_FOLDED_NAME: dict[str, Location] = {
    **{name.casefold(): location for name, location in KNOWN_CITIES.items()},
    **{alias: KNOWN_CITIES[name] for alias, name in _CITY_ALIASES.items()},
}


def city_location(name: str) -> Location | None:
    """Return the coordinates of a known city, ignoring case and surrounding spaces.

    Accept common alternative names (Bengaluru, New Delhi, Bombay, Madras, Calcutta). Return
    None for a city that is not known.
    """
    return _CITIES_BY_FOLDED_NAME.get(" ".join(name.split()).casefold())


def distance_km(a: Location, b: Location) -> float:
    """Return the great-circle distance between two points in kilometres (haversine)."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    delta_lat = lat_b - lat_a
    delta_lng = math.radians(b.lng - a.lng)
    h = (
        math.sin(delta_lat / 2) ** 2
        + math.cos(lat_a) * math.cos(lat_b) * math.sin(delta_lng / 2) ** 2
    )
    # Clamp: rounding can push h a hair above 1 for antipodal points, and asin would fail.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class StockOption:
    """A warehouse that might serve a line, with its position and its available stock."""

    warehouse_id: int
    location: Location
    available: int


@dataclass(frozen=True)
class Allocation:
    """A part of a line to hold in one warehouse."""

    warehouse_id: int
    quantity: int


def rank_warehouses(options: list[StockOption], origin: Location | None) -> list[StockOption]:
    """Order options by preference: nearest to `origin` first, or most available without one.

    Break ties by warehouse id so the order is stable. Return a new list; options that cannot
    cover a given quantity are kept (callers that fall through on a lost race need them all).
    """
    if origin is None:
        return sorted(options, key=lambda option: (-option.available, option.warehouse_id))
    return sorted(
        options,
        key=lambda option: (distance_km(origin, option.location), option.warehouse_id),
    )


def choose_warehouse(
    options: list[StockOption], quantity: int, origin: Location | None
) -> StockOption | None:
    """Return the most preferred option with at least `quantity` available, or None if none has.

    Raise ValueError if `quantity` is not positive.
    """
    _require_positive(quantity)
    for option in rank_warehouses(options, origin):
        if option.available >= quantity:
            return option
    return None


def plan_split(
    options: list[StockOption], quantity: int, origin: Location | None
) -> list[Allocation] | None:
    """Split `quantity` over the fewest warehouses that together hold it, nearest first.

    Among equally small sets, prefer the one whose rank positions are lexicographically
    smallest (nearer warehouses win). Fill the chosen warehouses in rank order, each nearer one
    giving all it has and the last one the remainder. Ignore options with nothing available.
    Return None if all options together fall short; raise ValueError if `quantity` is not
    positive.
    """
    _require_positive(quantity)
    ranked = [option for option in rank_warehouses(options, origin) if option.available > 0]
    if total_available(ranked) < quantity:
        return None
    for size in range(1, len(ranked) + 1):
        # combinations() yields index tuples in lexicographic order, so the first covering set
        # of this size is the one that prefers nearer warehouses.
        for chosen in itertools.combinations(ranked, size):
            if total_available(list(chosen)) >= quantity:
                return _fill_in_order(chosen, quantity)
    return None  # Unreachable: the full set covers `quantity`.


def total_available(options: list[StockOption]) -> int:
    """Return the stock available across all options, counting negative figures as zero."""
    return sum(max(0, option.available) for option in options)


def _fill_in_order(chosen: tuple[StockOption, ...], quantity: int) -> list[Allocation]:
    allocations: list[Allocation] = []
    remaining = quantity
    for option in chosen:
        taken = min(option.available, remaining)
        allocations.append(Allocation(warehouse_id=option.warehouse_id, quantity=taken))
        remaining -= taken
    return allocations


def _require_positive(quantity: int) -> None:
    if quantity < 1:
        raise ValueError(f"quantity must be at least 1, got {quantity}")
