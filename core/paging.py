"""One way to page a list endpoint: ?limit= and ?offset= in, X-Total-Count out."""

from typing import Any

from rest_framework import serializers
from rest_framework.response import Response

from core.ids import MAX_ID

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50  # for lists that page by default (reservations, waitlist)
TOTAL_COUNT_HEADER = "X-Total-Count"


class PageSerializer(serializers.Serializer):
    """`limit` (1 to 200, else `default_limit`; None means every row) and `offset`.

    Subclass it to add an endpoint's filters or to set its default page size.
    """

    default_limit: int | None = None

    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
    # Up to the largest offset PostgreSQL accepts: a bigger one would answer 500.
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID, default=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.default_limit is not None:
            self.fields["limit"].default = self.default_limit  # also shown in the OpenAPI document

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data.setdefault("limit", self.default_limit)
        return data


def page_response(items: list[Any], *, total: int) -> Response:
    """Answer a page of rendered items, with the number of matching rows in X-Total-Count."""
    return Response(items, headers={TOTAL_COUNT_HEADER: str(total)})
