"""OpenAPI pieces shared by every app's API: the error body and its responses."""

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
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


def documented(
    operation_id: str,
    *,
    ok: Any,
    errors: dict[int, str],
    status: int = 200,
    summary: str | None = None,
    request: Any = None,
    parameters: list | None = None,
):
    """Document an operation: its success body (`ok` at `status`) and its error answers."""
    responses = {status: ok, **{code: error_response(text) for code, text in errors.items()}}
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        parameters=parameters or [],
        responses=responses,
    )
