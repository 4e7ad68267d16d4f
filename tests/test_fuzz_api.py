"""No request, however malformed, makes the API answer 5xx or answer off its own schema.

Schemathesis's Python API turns every operation of the OpenAPI document into its own test
item and sends the generated requests through the WSGI application in this process, so a
failure names the operation and the request; nothing depends on the CLI's printed wording.

Every operation is fuzzed twice: with a fixed seed (the same cases on every run, so a
regression shows at once) and with a random one (new cases each run). The random seed is
printed at the end of the run and named in any failure; FUZZ_SEED=<seed> replays it. Each
answer must be no 5xx, a status the document lists for the operation, the content type it
lists, and a body its schema accepts. The run counts the cases it sent and fails if they
were fewer than MINIMUM_CASES.
"""

import os
import random

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CRON_SECRET = "fuzz-secret"
FIXED_SEED = 20261125
RANDOM_SEED = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().randrange(2**32))
EXAMPLES_PER_OPERATION = {FIXED_SEED: 30, RANDOM_SEED: 25}
MINIMUM_CASES = 1_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

_cases = {"sent": 0}


def _schema(seed: int):
    config = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            # No example database: a run replays nothing from an earlier one, so the seed decides.
            "generation": {"max-examples": EXAMPLES_PER_OPERATION[seed], "database": "none"},
            # Every request carries the right secret, so the cron sweep itself runs, not only 401.
            "headers": {"x-cron-secret": CRON_SECRET},
        }
    )
    return schemathesis.openapi.from_wsgi(
        "/api/schema?format=json", get_wsgi_application(), config=config
    )


fixed_schema = _schema(FIXED_SEED)
random_schema = _schema(RANDOM_SEED)


@pytest.fixture(scope="module")
def case_counter(request):
    """Count the cases sent; when every fuzz item of the run ran, require MINIMUM_CASES."""
    operations = sum(1 for _ in fixed_schema.get_all_operations())
    ran = []
    yield ran
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(
            f"\nfuzzing: {_cases['sent']} cases sent over {len(ran)} operation runs; fixed seed "
            f"{FIXED_SEED}, random seed {RANDOM_SEED} (replay it with FUZZ_SEED={RANDOM_SEED})"
        )
    if len(ran) == 2 * operations:  # a run with -k or -x proves nothing about the total
        assert _cases["sent"] >= MINIMUM_CASES, (
            f"only {_cases['sent']} generated cases were sent; CI promises {MINIMUM_CASES}"
        )


def _call(case, seed: int) -> None:
    _cases["sent"] += 1
    with override_settings(CRON_SECRET=CRON_SECRET, RESERVE_RATE_LIMIT=""):
        try:
            case.call_and_validate(checks=CHECKS)
        except Exception as failure:
            failure.add_note(f"schemathesis seed {seed}: replay with FUZZ_SEED={seed}")
            raise


# The catalogue is seeded once per operation, not per example: the holds and waitlist entries
# earlier examples leave behind give later ones more to trip over, which is wanted here.
@fixed_schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fixed_seed_requests_get_documented_answers(case, seeded, case_counter):
    _call(case, FIXED_SEED)
    _mark_ran(case_counter, case, FIXED_SEED)


@random_schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_seed_requests_get_documented_answers(case, seeded, case_counter):
    _call(case, RANDOM_SEED)
    _mark_ran(case_counter, case, RANDOM_SEED)


def _mark_ran(ran: list, case, seed: int) -> None:
    operation = f"{seed} {case.operation.label}"
    if operation not in ran:
        ran.append(operation)


def test_every_documented_operation_is_fuzzed():
    documented = {
        f"{method.upper()} {path}"
        for path, operations in SchemaGenerator().get_schema(public=True)["paths"].items()
        for method in operations
    }
    for schema in (fixed_schema, random_schema):
        loaded = [result.ok().label for result in schema.get_all_operations()]
        assert sorted(loaded) == sorted(documented)
