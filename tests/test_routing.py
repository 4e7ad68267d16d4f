"""The pure routing planners: distances, city lookup, ranking, choosing and splitting.

No database: these run in milliseconds and pin the rules the reserve services rely on.
"""

import csv
import itertools
import random
from pathlib import Path

import pytest

from warehouses.routing import (
    KNOWN_CITIES,
    Allocation,
    Location,
    StockOption,
    choose_warehouse,
    city_location,
    distance_km,
    plan_split,
    rank_warehouses,
    total_available,
)

WAREHOUSES_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "warehouses.csv"

# Warehouse ids in fixture order.
CHN, BLR, BOM, DEL, HYD = 1, 2, 3, 4, 5
WAREHOUSE_CITY = {CHN: "Chennai", BLR: "Bangalore", BOM: "Mumbai", DEL: "Delhi", HYD: "Hyderabad"}
NEAR_MUMBAI = Location(19.0, 72.9)


def options(**available: int) -> list[StockOption]:
    """Build one option per named warehouse code (chn, blr, bom, del_, hyd) with its stock."""
    ids = {"chn": CHN, "blr": BLR, "bom": BOM, "del_": DEL, "hyd": HYD}
    return [
        StockOption(
            warehouse_id=ids[code],
            location=KNOWN_CITIES[WAREHOUSE_CITY[ids[code]]],
            available=stock,
        )
        for code, stock in available.items()
    ]


def ids_of(ranked: list[StockOption]) -> list[int]:
    return [option.warehouse_id for option in ranked]


# Distances


def test_mumbai_to_delhi_is_about_1150_km():
    assert distance_km(KNOWN_CITIES["Mumbai"], KNOWN_CITIES["Delhi"]) == pytest.approx(
        1150, rel=0.01
    )


def test_distance_from_a_point_to_itself_is_zero():
    point = KNOWN_CITIES["Hyderabad"]
    assert distance_km(point, point) == 0


def test_distance_is_symmetric():
    chennai, delhi = KNOWN_CITIES["Chennai"], KNOWN_CITIES["Delhi"]
    assert distance_km(chennai, delhi) == pytest.approx(distance_km(delhi, chennai))


def test_distance_between_antipodes_is_half_the_circumference():
    assert distance_km(Location(0, 0), Location(0, 180)) == pytest.approx(20015.1, abs=0.1)


# City lookup


def test_city_lookup_ignores_case_and_surrounding_whitespace():
    mumbai = KNOWN_CITIES["Mumbai"]
    assert city_location("mumbai") == mumbai
    assert city_location("MUMBAI") == mumbai
    assert city_location("  Mumbai \n") == mumbai


@pytest.mark.parametrize(
    ("alias", "city"),
    [
        ("Bengaluru", "Bangalore"),
        ("new delhi", "Delhi"),
        ("  New   Delhi ", "Delhi"),
        ("Bombay", "Mumbai"),
        ("MADRAS", "Chennai"),
        ("Calcutta", "Kolkata"),
    ],
)
def test_city_lookup_accepts_common_alternative_names(alias, city):
    assert city_location(alias) == KNOWN_CITIES[city]


@pytest.mark.parametrize("name", ["Atlantis", "", "   ", "Mumbai Delhi"])
def test_unknown_city_has_no_location(name):
    assert city_location(name) is None


def test_at_least_fifteen_cities_are_known_and_all_lie_in_india():
    assert len(KNOWN_CITIES) >= 15
    for name, location in KNOWN_CITIES.items():
        assert 6 <= location.lat <= 36, name
        assert 68 <= location.lng <= 98, name


def test_warehouse_cities_have_exactly_the_warehouse_coordinates():
    with WAREHOUSES_CSV.open(newline="") as csv_file:
        rows = list(csv.DictReader(csv_file))
    assert len(rows) == 5
    for row in rows:
        assert KNOWN_CITIES[row["city"]] == Location(float(row["lat"]), float(row["lng"]))


def test_known_cities_are_at_their_usual_distances():
    assert distance_km(KNOWN_CITIES["Kolkata"], KNOWN_CITIES["Chennai"]) == pytest.approx(
        1366, rel=0.01
    )
    assert distance_km(KNOWN_CITIES["Pune"], KNOWN_CITIES["Mumbai"]) == pytest.approx(120, rel=0.03)


# Ranking


def test_ranking_from_near_mumbai_orders_warehouses_by_distance():
    everywhere = options(chn=1, blr=1, bom=1, del_=1, hyd=1)
    distances = {
        option.warehouse_id: distance_km(NEAR_MUMBAI, option.location) for option in everywhere
    }

    ranked = ids_of(rank_warehouses(everywhere, NEAR_MUMBAI))

    assert ranked == [BOM, HYD, BLR, CHN, DEL]
    assert ranked == sorted(distances, key=distances.__getitem__)


def test_ranking_by_distance_ignores_stock():
    ranked = rank_warehouses(options(del_=500, bom=1), NEAR_MUMBAI)
    assert ids_of(ranked) == [BOM, DEL]


def test_equally_distant_warehouses_rank_by_id():
    here = Location(20.0, 75.0)
    twins = [
        StockOption(warehouse_id=9, location=here, available=1),
        StockOption(warehouse_id=4, location=here, available=1),
    ]
    assert ids_of(rank_warehouses(twins, Location(21.0, 76.0))) == [4, 9]


def test_ranking_without_origin_puts_most_available_first_ties_by_id():
    ranked = rank_warehouses(options(chn=5, blr=20, bom=5, del_=0, hyd=7), None)
    assert ids_of(ranked) == [BLR, HYD, CHN, BOM, DEL]


def test_ranking_returns_a_new_list_and_keeps_every_option():
    given = options(chn=0, bom=3)
    ranked = rank_warehouses(given, NEAR_MUMBAI)
    assert ranked is not given
    assert sorted(ids_of(ranked)) == sorted(ids_of(given))


# Choosing one warehouse


def test_choose_picks_the_nearest_warehouse_that_covers_the_quantity():
    stock = options(bom=2, hyd=1, blr=5, chn=50)
    assert choose_warehouse(stock, 2, NEAR_MUMBAI).warehouse_id == BOM
    assert choose_warehouse(stock, 3, NEAR_MUMBAI).warehouse_id == BLR
    assert choose_warehouse(stock, 6, NEAR_MUMBAI).warehouse_id == CHN


def test_choose_without_origin_picks_the_most_available():
    stock = options(bom=2, blr=5, chn=9)
    assert choose_warehouse(stock, 1, None).warehouse_id == CHN


def test_choose_returns_none_when_no_single_warehouse_covers_the_quantity():
    stock = options(bom=4, hyd=4, blr=4)
    assert choose_warehouse(stock, 5, NEAR_MUMBAI) is None
    assert choose_warehouse([], 1, NEAR_MUMBAI) is None


@pytest.mark.parametrize("quantity", [0, -3])
def test_planners_refuse_a_quantity_below_one(quantity):
    stock = options(bom=4)
    with pytest.raises(ValueError):
        choose_warehouse(stock, quantity, NEAR_MUMBAI)
    with pytest.raises(ValueError):
        plan_split(stock, quantity, NEAR_MUMBAI)


# Splitting a line


def test_split_uses_one_warehouse_when_one_covers_it_even_a_far_one():
    stock = options(bom=2, hyd=3, blr=3, chn=10, del_=10)
    assert plan_split(stock, 10, NEAR_MUMBAI) == [Allocation(CHN, 10)]


def test_split_uses_the_fewest_warehouses_nearest_first():
    # Nearest-first greedy would need Mumbai, Hyderabad and Bangalore; two suffice.
    stock = options(bom=4, hyd=4, blr=4, chn=7, del_=0)
    assert plan_split(stock, 11, NEAR_MUMBAI) == [Allocation(BOM, 4), Allocation(CHN, 7)]


def test_split_prefers_nearer_warehouses_among_equally_few():
    stock = options(bom=5, hyd=5, blr=5, chn=5, del_=5)
    assert plan_split(stock, 8, NEAR_MUMBAI) == [Allocation(BOM, 5), Allocation(HYD, 3)]


def test_split_prefers_a_set_with_a_nearer_first_warehouse():
    # {Mumbai, Delhi} beats {Hyderabad, Bangalore}: its nearest member is nearer.
    stock = options(bom=3, hyd=5, blr=5, chn=1, del_=7)
    assert plan_split(stock, 10, NEAR_MUMBAI) == [Allocation(BOM, 3), Allocation(DEL, 7)]


def test_split_takes_all_of_the_nearer_warehouses_stock_first():
    stock = options(bom=6, hyd=6, blr=20)
    # Bangalore alone covers it, so check with a quantity that needs two.
    assert plan_split(stock, 21, NEAR_MUMBAI) == [Allocation(BOM, 6), Allocation(BLR, 15)]
    assert plan_split(options(bom=6, hyd=6), 9, NEAR_MUMBAI) == [
        Allocation(BOM, 6),
        Allocation(HYD, 3),
    ]


def test_split_without_origin_prefers_the_most_available():
    stock = options(bom=3, hyd=4, blr=6, chn=5)
    assert plan_split(stock, 10, None) == [Allocation(BLR, 6), Allocation(CHN, 4)]


def test_split_returns_none_when_all_warehouses_together_fall_short():
    stock = options(bom=3, hyd=4, blr=2)
    assert total_available(stock) == 9
    assert plan_split(stock, 10, NEAR_MUMBAI) is None
    assert plan_split([], 1, NEAR_MUMBAI) is None


def test_split_ignores_warehouses_with_nothing_available():
    stock = options(bom=0, hyd=6, blr=6, chn=-2)
    assert plan_split(stock, 10, NEAR_MUMBAI) == [Allocation(HYD, 6), Allocation(BLR, 4)]
    assert plan_split(options(bom=0, chn=0), 1, NEAR_MUMBAI) is None


def test_total_available_sums_stock_and_counts_negative_as_zero():
    assert total_available(options(bom=3, hyd=4, chn=-2)) == 7
    assert total_available([]) == 0


def test_every_split_covers_the_quantity_exactly_within_each_warehouses_stock():
    rng = random.Random(20250101)
    for _ in range(500):
        stock = [
            StockOption(
                warehouse_id=warehouse_id,
                location=Location(rng.uniform(8, 32), rng.uniform(69, 92)),
                available=rng.randint(-1, 12),
            )
            for warehouse_id in rng.sample(range(1, 50), rng.randint(0, 7))
        ]
        quantity = rng.randint(1, 40)
        origin = rng.choice([None, Location(rng.uniform(8, 32), rng.uniform(69, 92))])

        plan = plan_split(stock, quantity, origin)

        if total_available(stock) < quantity:
            assert plan is None
            continue
        assert plan is not None
        by_id = {option.warehouse_id: option for option in stock}
        assert sum(allocation.quantity for allocation in plan) == quantity
        assert len({allocation.warehouse_id for allocation in plan}) == len(plan)
        for allocation in plan:
            assert 0 < allocation.quantity <= by_id[allocation.warehouse_id].available
        fewest = min(
            size
            for size in range(1, len(stock) + 1)
            for chosen in itertools.combinations(stock, size)
            if total_available(list(chosen)) >= quantity
        )
        assert len(plan) == fewest
        ranked_ids = ids_of(rank_warehouses(stock, origin))
        positions = [ranked_ids.index(allocation.warehouse_id) for allocation in plan]
        assert positions == sorted(positions)
