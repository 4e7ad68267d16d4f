"""The cart planner decides every line against locked stock, without a database."""

from reservations.planning import CartLine, PlannedHold, ShortLine, merge_lines, plan_cart
from warehouses.routing import Location, StockOption

MUMBAI, HYDERABAD, DELHI = (
    Location(19.076, 72.8777),
    Location(17.385, 78.4867),
    Location(28.6139, 77.209),
)
NEAR_MUMBAI = Location(19.0, 72.9)


def stock(**available: int) -> list[StockOption]:
    places = {"bom": (1, MUMBAI), "hyd": (2, HYDERABAD), "del": (3, DELHI)}
    return [
        StockOption(places[code][0], places[code][1], units) for code, units in available.items()
    ]


def test_duplicate_lines_are_merged_in_first_order():
    lines = [CartLine(7, 1, 2), CartLine(8, None, 1), CartLine(7, 1, 3), CartLine(8, None, 4)]
    assert merge_lines(lines) == [CartLine(7, 1, 5), CartLine(8, None, 5)]


def test_a_line_for_a_named_warehouse_is_held_there():
    plan = plan_cart(
        [CartLine(7, 2, 3)], {7: stock(bom=9, hyd=3)}, origin=NEAR_MUMBAI, allow_split=False
    )
    assert plan == [PlannedHold(7, 2, 3, None)]


def test_a_short_named_line_is_reported_with_its_available_units():
    plan = plan_cart([CartLine(7, 2, 4)], {7: stock(bom=9, hyd=3)}, origin=None, allow_split=False)
    assert plan == ShortLine(7, 2, 3)


def test_a_split_named_line_takes_its_warehouse_then_the_nearest_others():
    plan = plan_cart(
        [CartLine(7, 2, 8)],
        {7: stock(**{"del": 9, "hyd": 3, "bom": 9})},
        origin=None,
        allow_split=True,
    )
    # Hyderabad gives its 3; the rest comes from the nearest to Hyderabad, Mumbai.
    assert plan == [PlannedHold(7, 2, 3, None), PlannedHold(7, 1, 5, None)]


def test_a_split_named_line_is_short_with_every_warehouses_units():
    plan = plan_cart([CartLine(7, 2, 20)], {7: stock(bom=9, hyd=3)}, origin=None, allow_split=True)
    assert plan == ShortLine(7, 2, 12)


def test_a_routed_line_goes_to_the_nearest_that_covers_it():
    (hold,) = plan_cart(
        [CartLine(7, None, 5)],
        {7: stock(bom=4, hyd=5, **{"del": 9})},
        origin=NEAR_MUMBAI,
        allow_split=False,
    )
    assert (hold.warehouse_id, hold.quantity) == (2, 5)
    assert 600 < hold.distance_km < 630


def test_earlier_lines_count_against_later_ones():
    lines = [CartLine(7, 1, 3), CartLine(7, None, 2)]
    plan = plan_cart(lines, {7: stock(bom=4, hyd=5)}, origin=NEAR_MUMBAI, allow_split=False)
    assert [(h.warehouse_id, h.quantity) for h in plan] == [(1, 3), (2, 2)]


def test_a_split_line_takes_the_nearest_warehouses_first():
    plan = plan_cart(
        [CartLine(7, None, 12)],
        {7: stock(bom=5, hyd=4, **{"del": 10})},
        origin=NEAR_MUMBAI,
        allow_split=True,
    )
    assert [(h.warehouse_id, h.quantity) for h in plan] == [(1, 5), (3, 7)]


def test_without_split_a_line_no_single_warehouse_covers_is_short_with_the_total():
    plan = plan_cart(
        [CartLine(7, None, 12)],
        {7: stock(bom=5, hyd=4, **{"del": 10})},
        origin=NEAR_MUMBAI,
        allow_split=False,
    )
    assert plan == ShortLine(7, None, 19)


def test_a_split_line_is_short_when_all_warehouses_together_fall_short():
    plan = plan_cart(
        [CartLine(7, None, 20)],
        {7: stock(bom=5, hyd=4, **{"del": 10})},
        origin=NEAR_MUMBAI,
        allow_split=True,
    )
    assert plan == ShortLine(7, None, 19)


def test_the_first_short_line_is_named():
    lines = [CartLine(7, None, 1), CartLine(8, 1, 2), CartLine(9, 1, 9)]
    plan = plan_cart(
        lines, {7: stock(bom=1), 8: stock(bom=1), 9: stock(bom=1)}, origin=None, allow_split=False
    )
    assert plan == ShortLine(8, 1, 1)
