"""POST /api/demo/race: race N shoppers on a scratch copy of one stock row's availability."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import StaffApi
from console.race import original_shape, services
from console.race.engine import MAX_SHOPPERS
from console.race.models import Strategy
from core.fields import IdField, StrictBooleanField, StrictIntegerField, StrictSerializer
from core.openapi import documented


class _ShopperSerializer(serializers.Serializer):
    requestId = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["SUCCESS", "CONFLICT", "ERROR"], help_text="The original's name of the outcome."
    )
    outcome = serializers.ChoiceField(
        choices=["RESERVED", "INSUFFICIENT_STOCK", "ERROR"], help_text="stockd's name of it."
    )
    httpStatus = serializers.IntegerField()
    reservationId = serializers.CharField(
        allow_null=True, help_text="A demo id; nothing is written."
    )
    error = serializers.CharField(allow_null=True)
    sqlstate = serializers.CharField(allow_null=True)
    durationMs = serializers.FloatField()


class _SummarySerializer(serializers.Serializer):
    runId = serializers.CharField()
    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    strategy = serializers.ChoiceField(choices=Strategy.values)
    label = serializers.CharField()
    concurrency = serializers.IntegerField()
    quantity = serializers.IntegerField()
    startingAvailable = serializers.IntegerField()
    winners = serializers.IntegerField()
    conflicts = serializers.IntegerField(help_text="Shoppers answered 409.")
    errors = serializers.IntegerField(help_text="Shoppers who got a database error.")
    errorsBySqlstate = serializers.DictField(child=serializers.IntegerField())
    oversoldUnits = serializers.IntegerField()
    unitsHandedOut = serializers.IntegerField()
    finalAvailable = serializers.IntegerField()
    durationMs = serializers.FloatField()
    connections = serializers.IntegerField(help_text="Database connections the shoppers shared.")
    concurrentRequests = serializers.IntegerField(help_text="The original's `concurrency`.")
    availableStockBefore = serializers.IntegerField(help_text="The original's name.")
    availableStockAfter = serializers.IntegerField(help_text="The original's name.")
    losers = serializers.IntegerField(help_text="Shoppers who got no unit (409 or error).")
    totalDurationMs = serializers.FloatField(help_text="The original's `durationMs`.")
    correct = serializers.BooleanField(help_text="Nothing oversold and no database errors.")
    verdict = serializers.CharField(help_text="A sentence saying whether the race was correct.")
    resetAfter = serializers.BooleanField(help_text="As given (nothing to reset).")


@extend_schema_serializer(component_name="RaceOutput")
class RaceOutputSerializer(serializers.Serializer):
    summary = _SummarySerializer()
    results = _ShopperSerializer(many=True)
    explanation = inline_serializer(
        "RaceExplanation",
        {
            "mechanism": serializers.CharField(),
            "guarantee": serializers.CharField(),
            "detail": serializers.CharField(help_text="Why this race ended as it did."),
        },
    )
    comparison = _SummarySerializer(
        many=True, help_text="stockd's: every strategy's summary, raced on the same copy."
    )
    unavailable = serializers.DictField(
        child=serializers.CharField(),
        help_text="Strategies this database cannot race, with why (on SQLite: serializable).",
    )


class RaceDemoApi(StaffApi):
    @extend_schema_serializer(component_name="RaceInput")
    class InputSerializer(StrictSerializer):
        productId = IdField(
            help_text="With warehouseId, the stock row whose availability is copied."
        )
        warehouseId = IdField()
        concurrency = StrictIntegerField(min_value=1, max_value=MAX_SHOPPERS)
        quantity = StrictIntegerField(
            min_value=1,
            max_value=settings.MAX_QUANTITY_PER_RESERVATION,
            required=False,
            default=1,
            help_text="Units each shopper asks for; 1, as the original's shoppers did.",
        )
        strategy = serializers.ChoiceField(
            choices=Strategy.values,
            required=False,
            default=Strategy.STOCKD.value,
            help_text="The strategy `summary`, `results` and `explanation` describe; every "
            "strategy the database can race runs, for `comparison`.",
        )
        resetAfter = StrictBooleanField(
            required=False,
            help_text="The original's: put the stock back after the race. Accepted, and "
            "nothing to do: the race runs on a scratch copy and never changes the row.",
        )

    @documented(
        "demo_race",
        request=InputSerializer,
        ok=RaceOutputSerializer,
        errors={
            400: "Bad input",
            401: "Not signed in",
            403: "Not staff, or a cross-site or non-JSON request",
            404: "No such product in that warehouse",
            409: "RACE_RUNNING: another race is running",
            503: "RACE_NEEDS_POSTGRESQL: the strategy asked for needs PostgreSQL (SQLite "
            "races naive and stockd)",
        },
    )
    def post(self, request: Request) -> Response:
        """Race `concurrency` shoppers for a scratch copy of a stock row's available units.

        The row itself is only read: the race runs on a scratch counter of its own, once per
        strategy the database can race.
        """
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        source = services.race_copy_of(
            product_id=given["productId"], warehouse_id=given["warehouseId"]
        )
        services.ensure_raceable(given["strategy"])
        run = services.run_race(
            concurrency=given["concurrency"],
            quantity=given["quantity"],
            starting_available=max(0, source.available),
            source=source,
            user=request.user,
        )
        return Response(
            original_shape.answer(
                run,
                given["strategy"],
                reset_after=given.get("resetAfter", False),
                unavailable=services.unavailable_strategies(),
            )
        )
