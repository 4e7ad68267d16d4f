"""No request, however malformed, makes the API answer 5xx (schemathesis fuzzes the schema).

Schemathesis's Python API turns every operation of the OpenAPI document into its own test
item and sends the generated requests through the WSGI application in this process, so a
failure names the operation and the request; nothing depends on the CLI's printed wording.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CRON_SECRET = "fuzz-secret"
SEED = 20261125
EXAMPLES_PER_OPERATION = 30

_CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        # No example database: a run replays nothing from an earlier one, so the seed decides.
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
        # Every request carries the right secret, so the cron sweep itself runs, not only 401.
        "headers": {"x-cron-secret": CRON_SECRET},
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema?format=json", get_wsgi_application(), config=_CONFIG
)


@schema.parametrize()
# The catalogue is seeded once per operation, not per example: the holds and waitlist entries
# earlier examples leave behind give later ones more to trip over, which is wanted here.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_generated_requests_never_get_a_server_error(case, seeded):
    with override_settings(CRON_SECRET=CRON_SECRET):
        case.call_and_validate(checks=[not_a_server_error])


def test_every_documented_operation_is_fuzzed():
    documented = {
        f"{method.upper()} {path}"
        for path, operations in SchemaGenerator().get_schema(public=True)["paths"].items()
        for method in operations
    }
    loaded = [result.ok().label for result in schema.get_all_operations()]
    assert sorted(loaded) == sorted(documented)
