"""Schemathesis fuzzes every operation of the OpenAPI document: whatever it sends, no 5xx."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application  # noqa: E402  (pytest-django has configured Django by now)
from stocktrace.accounts.services import token_create
from stocktrace.tenancy.roles import Role
from tests.factories import make_world

# The default suite replays the same 25 examples per operation (no flaky CI); STOCKTRACE_FUZZ_EXAMPLES=500
# runs a longer, random search.
DEEP_EXAMPLES = int(os.environ.get("STOCKTRACE_FUZZ_EXAMPLES", "0"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


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
@settings(max_examples=DEEP_EXAMPLES or 25, derandomize=not DEEP_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_with_a_server_error(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"},
                           excluded_checks=[
                               schemathesis.checks.ignored_auth,
                               # Schema-valid but refused by a service rule (a blank name, an unknown
                               # site id, a malformed e-mail) is a correct 4xx, not a defect.
                               schemathesis.checks.positive_data_acceptance,
                           ])
