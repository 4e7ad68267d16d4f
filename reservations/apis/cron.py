"""The cron sweep: release every due hold, for hosts that call a URL instead of running beat."""

import hmac

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import error_response
from reservations.apis.bodies import PromotionOutputSerializer, promotion_body
from reservations.errors import CronSecretInvalid
from reservations.services import sweeps
from reservations.services.waitlist import Promotion


def _given_secret(request: Request) -> str:
    """The secret from x-cron-secret, else from Authorization: Bearer (never the query string:
    it would end up in access logs)."""
    given = request.headers.get("x-cron-secret")
    if given is not None:
        return given
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class CronExpireApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="cron_expire",
        parameters=[
            OpenApiParameter(
                "x-cron-secret",
                str,
                OpenApiParameter.HEADER,
                description="CRON_SECRET; or send it as Authorization: Bearer <CRON_SECRET>.",
            )
        ],
        responses={
            200: inline_serializer(
                "CronExpireResult",
                {
                    "message": serializers.CharField(),
                    "released": serializers.IntegerField(),
                    "waitlistPromotions": PromotionOutputSerializer(many=True),
                },
            ),
            401: error_response("Missing or wrong secret"),
        },
    )
    def get(self, request: Request) -> Response:
        """Release every due hold, for hosts that call a URL on a schedule instead of Celery."""
        expected = settings.CRON_SECRET.encode()
        given = _given_secret(request).encode()
        if not expected or not hmac.compare_digest(given, expected):
            raise CronSecretInvalid()
        promotions: list[Promotion] = []
        released = sweeps.expire_due_reservations(actor="system:cron", promotions=promotions)
        return Response(
            {
                "message": f"Released {released} expired reservation(s).",
                "released": released,
                "waitlistPromotions": [promotion_body(p) for p in promotions],
            }
        )
