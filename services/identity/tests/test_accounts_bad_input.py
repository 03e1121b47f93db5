"""Bad input on every accounts and admin endpoint is a problem+json 4xx, never a 500, and the
error never echoes what was sent."""

from __future__ import annotations

import uuid

import pytest

HUGE = "x" * 100_000
SECRET_MARKER = "Geheimnis-Marker-8412"

# Raw request bodies: not JSON, JSON of the wrong shape, wrong types, huge, NUL, lone
# surrogates, nesting bombs.
BAD_BODIES: list[bytes] = [
    b"",
    b"{not json",
    b"\xff\xfe\x00",
    b"[]",
    b'"a string"',
    b"42",
    b"null",
    b'{"email": 42, "password": [], "given_name": {}, "locale": true, "token": 1, "roles": 3,'
    b' "name": 5, "slug": false, "cost_centre": [], "current_password": 1}',
    ('{"email": "' + HUGE + '@example.org", "password": "' + HUGE + '", "given_name": "'
     + HUGE + '", "token": "' + HUGE + '", "name": "' + HUGE + '", "slug": "' + HUGE
     + '", "roles": {"' + HUGE + '": ["cashier"]}}').encode(),
    b'{"email": "a\\u0000b@example.org", "password": "Passwort-mit-\\u0000-NUL",'
    b' "given_name": "Nu\\u0000ll", "family_name": "x\\u0007y", "name": "a\\u0000",'
    b' "slug": "lib", "cost_centre": "X-1", "new_password": "x\\u0000yyyyyyyyyyyy",'
    b' "current_password": "z", "roles": {"museum": ["cashier\\u0000"]}}',
    b'{"email": "\\ud800@example.org", "password": "Passwort-\\ud800-lang-genug",'
    b' "given_name": "\\udfff", "name": "\\ud800", "slug": "lib", "cost_centre": "X-1",'
    b' "current_password": "\\ud800", "new_password": "Neues-\\ud800-Passwort-lang"}',
    b'{"email": "x@example.org", "password": "Passwort-ist-lang-genug", "locale": "xx",'
    b' "unexpected": 1, "status": "erased", "admin": "platform", "tenant": "beispielhausen"}',
    b"[" * 5000 + b"]" * 5000,
    ('{"password": "' + SECRET_MARKER + '", "new_password": "' + SECRET_MARKER
     + '", "email": "' + SECRET_MARKER + '"}').encode(),
    b'{"roles": {"museum": "cashier"}}',
    b'{"roles": {"Not A Slug": ["cashier"]}}',
    b'{"email": null, "locale": null}',
]


def _assert_problem(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/problem+json", what
    assert "code" in response.json(), what
    assert SECRET_MARKER not in response.text, what
    assert HUGE not in response.text, what


async def _hammer(identity, method: str, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for body in BAD_BODIES:
        for content_type in ("application/json", "text/plain"):
            response = await identity.client.request(
                method, path, content=body, headers={**headers, "Content-Type": content_type}
            )
            _assert_problem(response, f"{method} {path} {body[:60]!r} {content_type}")


async def test_anonymous_endpoints_reject_bad_bodies(identity) -> None:  # type: ignore[no-untyped-def]
    await _hammer(identity, "POST", "/tenants/musterstadt/registrations", {})
    await _hammer(identity, "POST", "/email-verifications", {})
    assert await identity.outbox() == []


async def test_self_service_endpoints_reject_bad_bodies(identity) -> None:  # type: ignore[no-untyped-def]
    citizen = await identity.add_account("erika@example.org")
    headers = identity.bearer(citizen)

    await _hammer(identity, "PATCH", "/me", headers)
    await _hammer(identity, "POST", "/me/password", headers)

    me = await identity.client.get("/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == "erika@example.org"
    assert me.json()["status"] == "active"


async def test_admin_endpoints_reject_bad_bodies(identity) -> None:  # type: ignore[no-untyped-def]
    admin_id = await identity.add_account("admin@example.org", kind="staff", admin="tenant")
    staff = await identity.add_account("kasse@example.org", kind="staff")
    admin = identity.bearer(admin_id, kind="staff", admin="tenant")

    await _hammer(identity, "POST", "/admin/departments", admin)
    await _hammer(identity, "PATCH", "/admin/departments/museum", admin)
    await _hammer(identity, "POST", "/admin/staff", admin)
    await _hammer(identity, "PUT", f"/admin/staff/{staff}/roles", admin)


@pytest.mark.parametrize("path", [
    "/tenants/NOT%20A%20SLUG/registrations",
    "/tenants/" + "a" * 5000 + "/registrations",
])
async def test_bad_tenant_paths(identity, path: str) -> None:  # type: ignore[no-untyped-def]
    response = await identity.client.post(
        path, json={"email": "x@example.org", "password": "Passwort-ist-lang-genug"}
    )
    _assert_problem(response, path)


async def test_bad_paths_queries_and_headers(identity) -> None:  # type: ignore[no-untyped-def]
    admin_id = await identity.add_account("admin@example.org", kind="staff", admin="tenant")
    admin = identity.bearer(admin_id, kind="staff", admin="tenant")
    roles = {"roles": {"museum": ["cashier"]}}
    requests: list[tuple[str, str, dict[str, str], object]] = [
        ("GET", "/admin/staff/not-a-uuid", admin, None),
        ("GET", "/admin/staff/" + "1" * 5000, admin, None),
        ("PUT", "/admin/staff/not-a-uuid/roles", admin, roles),
        ("PUT", f"/admin/staff/{uuid.uuid4()}/roles", admin, roles),
        ("GET", "/admin/staff?limit=-1", admin, None),
        ("GET", "/admin/staff?limit=abc", admin, None),
        ("GET", "/admin/staff?limit=100000", admin, None),
        ("GET", "/admin/staff?offset=99999999999999999999999", admin, None),
        ("GET", "/admin/departments/UPPER", admin, None),
        ("PATCH", "/admin/departments/" + "a" * 5000, admin, {"name": "x"}),
        ("GET", "/me", {"Authorization": "Bearer not-a-jwt"}, None),
        ("GET", "/me", {"Authorization": "Basic dXNlcjpwdw=="}, None),
        ("GET", "/me", {"Authorization": "Bearer " + "a" * 20_000}, None),
        ("GET", "/me/export", {"Authorization": "Bearer"}, None),
        ("DELETE", "/me", {"Authorization": "Bearer x.y.z"}, None),
        ("POST", "/me/email-verifications", {}, None),
        ("POST", "/email-verifications", {"Idempotency-Key": "has space"}, {"token": "x"}),
        ("POST", "/tenants/musterstadt/registrations", {"Idempotency-Key": "k" * 300},
         {"email": "x@example.org", "password": "Passwort-ist-lang-genug"}),
        ("DELETE", "/admin/staff", admin, None),
        ("PUT", "/me", admin, {}),
    ]
    for method, path, headers, body in requests:
        response = await identity.client.request(method, path, headers=headers, json=body)
        _assert_problem(response, f"{method} {path[:80]}")
