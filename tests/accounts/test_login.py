import pytest
from django.test import Client

from stocktrace.tenancy.roles import Role
from tests.conftest import api
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _lockout_after_three(settings):
    settings.AXES_FAILURE_LIMIT = 3


def login(client, email, password):
    return api(client, "POST", "/auth/login", {"email": email, "password": password})


def test_api_login_starts_a_session_and_records_last_login(world):
    client = Client()
    user = world.alpha.user(Role.COUNTER)
    assert user.last_login is None
    assert login(client, user.email.upper(), PASSWORD).status_code == 200
    assert api(client, "GET", "/me").json()["email"] == user.email
    user.refresh_from_db()
    assert user.last_login is not None
    assert api(client, "POST", "/auth/logout").status_code == 204
    assert api(client, "GET", "/me").status_code == 401


def test_wrong_password_is_401(world):
    response = login(Client(), world.alpha.user(Role.COUNTER).email, "wrong")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_inactive_user_cannot_log_in(world):
    user = world.alpha.user(Role.COUNTER)
    user.is_active = False
    user.save()
    assert login(Client(), user.email, PASSWORD).status_code == 401


def test_repeated_failures_lock_the_account_even_for_the_right_password(world):
    email = world.alpha.user(Role.COUNTER).email
    client = Client()
    for _ in range(2):
        assert login(client, email, "wrong").status_code == 401
    response = login(client, email, "wrong")
    assert response.status_code == 429
    response = login(client, email, PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    # Another person at the same address is not locked out.
    assert login(client, world.alpha.user(Role.BILLER).email, PASSWORD).status_code == 200


def test_web_login_locks_out_too(world):
    email = world.alpha.user(Role.COUNTER).email
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": email, "password": "wrong"})
    response = client.post("/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_web_login_and_logout(world):
    client = Client()
    response = client.post("/login/", {"username": world.alpha.user(Role.ADMIN).email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302
