"""Schemathesis against the OpenAPI document, with every check: no 5xx, every status, content type, header and
body as documented, data the document refuses is refused (negative), data it allows is taken (positive),
and sequences of calls following the document's links (stateful).

The default suite replays a fixed set of examples (derandomized, no flaky CI); STOCKTRACE_FUZZ_EXAMPLES=500
runs a longer, random search (`bench/fuzz_api.sh`)."""

import os

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from config.wsgi import application  # noqa: E402  (pytest-django has configured Django by now)
from stocktrace.accounts.services import token_create
from stocktrace.tenancy.roles import Role
from tests.factories import make_world

DEEP_EXAMPLES = int(os.environ.get("STOCKTRACE_FUZZ_EXAMPLES", "0"))

# Refusals the document cannot state, because they depend on stored data, the clock or another field: a
# schema-valid request may get a 422 naming one of these fields, and nothing else. docs/api.md lists them.
STATE_RULES: dict[str, set[str]] = {
    "POST /api/v1/imports": {"file", "kind"},  # what the file holds
    "POST /api/v1/imports/text": {"content"},  # the CSV's columns
    "POST /api/v1/tokens": {"expires_at"},  # in the future
    "POST /api/v1/items": {"min_level", "barcodes", "barcode"},  # minimum ≤ maximum; GTIN check digits
    "PATCH /api/v1/items/{item_id}": {"min_level", "max_level"},  # against the stored level
    "POST /api/v1/items/{item_id}/barcodes": {"barcode"},  # the kind's length, the check digit
    "POST /api/v1/locations": {"parent_id", "barcode"},  # parent of the same site; <SITE>-<CODE> fits
    "POST /api/v1/locations/{location_id}/move": {"parent_id"},  # not under itself, same site
    "POST /api/v1/stock/receipts": {"lot", "expires_on"},  # as the item tracks lots and expiry
    "POST /api/v1/stock/issues": {"lot"},
    "POST /api/v1/stock/adjustments": {"lot", "expires_on"},
    "POST /api/v1/stock/transfers": {"lot", "to_location_id"},  # another location of a site you may use
    "POST /api/v1/members": {"site_ids"},  # sites of the organization
    "PUT /api/v1/members/{member_id}/sites": {"site_ids"},
}


# Any JSON is a payload here, and "no text inside it holds NUL" (refused in every request) would take a schema
# referring to itself, which neither openapi-spec-validator nor openapi-python-client can follow.
ANY_JSON_BODIES = {"POST /api/v1/webhooks/sources/{source_id}/dry-run"}
NUL_REFUSED = "Text may not contain NUL"


@schemathesis.check
def positive_data_acceptance_but_state_rules(ctx, response, case):
    """positive_data_acceptance, except for a 422 whose every error is one of the operation's STATE_RULES."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if response.status_code == 422:
            problem = response.json()
            if case.operation.label in ANY_JSON_BODIES and problem.get("detail", "").startswith(NUL_REFUSED):
                return None
            errors = problem.get("errors") or []
            allowed = STATE_RULES.get(case.operation.label, set())
            if errors and all(error["path"] in allowed for error in errors):
                return None
        raise


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
FUZZ_SETTINGS = settings(max_examples=DEEP_EXAMPLES or 20, derandomize=not DEEP_EXAMPLES, deadline=None,
                         suppress_health_check=list(HealthCheck))
EXCLUDED = [positive_data_acceptance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Called straight through WSGI (not Django's test client), each request would end by closing the
    test's database connection; the test client avoids that the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db):
    world = make_world()
    _, plaintext = token_create(actor=world.alpha.actor(Role.ADMIN), name="fuzz")
    return plaintext


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_keeps_to_the_document(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, excluded_checks=EXCLUDED,
                           additional_checks=[positive_data_acceptance_but_state_rules])


@pytest.mark.slow
def test_sequences_of_calls_keep_to_the_document(admin_token):
    """Create objects and follow the document's links to read, change and archive them."""
    headers = {"Authorization": f"Bearer {admin_token}"}

    # The machine sends the token through get_call_kwargs, where the ignored-auth check does not see it and
    # takes the session cookie it generates for the credentials: each operation's test above runs that check.
    class Machine(schema.as_state_machine()):
        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, excluded_checks=[*EXCLUDED, ignored_auth],
                                   additional_checks=[positive_data_acceptance_but_state_rules])

        def get_call_kwargs(self, case):
            return {"headers": headers}

        # Each sequence starts from the same data (hypothesis replays sequences and needs them to behave alike).
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

    Machine.run(settings=settings(max_examples=DEEP_EXAMPLES or 30, derandomize=not DEEP_EXAMPLES,
                                  deadline=None, stateful_step_count=6, suppress_health_check=list(HealthCheck)))
