"""OpenAPI pieces shared by every app's API: the error body and its responses."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(),
        "detail": serializers.CharField(),
        "available": serializers.IntegerField(required=False),
    },
)


def error_response(description: str) -> OpenApiResponse:
    """Document an error answer: the shared error body, described."""
    return OpenApiResponse(ErrorSerializer, description=description)


def uuid_path_parameter(name: str) -> OpenApiParameter:
    """Document a UUID taken from the path."""
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description="UUID")
