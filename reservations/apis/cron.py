"""The cron sweep: release every due hold, for hosts that call a URL instead of running beat."""

import hmac

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import error_response
from reservations.errors import CronSecretInvalid
from reservations.services import sweeps
from reservations.services.waitlist import Promotion


class CronExpireApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="cron_expire",
        parameters=[OpenApiParameter("x-cron-secret", str, OpenApiParameter.HEADER, required=True)],
        responses={
            200: inline_serializer(
                "CronExpireResult",
                {
                    "released": serializers.IntegerField(),
                    "waitlistPromotions": serializers.IntegerField(),
                },
            ),
            401: error_response("Missing or wrong x-cron-secret"),
        },
    )
    def get(self, request: Request) -> Response:
        """Release every due hold, for hosts that call a URL on a schedule instead of Celery."""
        expected = settings.CRON_SECRET.encode()
        given = request.headers.get("x-cron-secret", "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            raise CronSecretInvalid()
        promotions: list[Promotion] = []
        released = sweeps.expire_due_reservations(actor="system:cron", promotions=promotions)
        return Response({"released": released, "waitlistPromotions": len(promotions)})
