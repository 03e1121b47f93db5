"""Templates: save (versioned), refuse undeclared variables and syntax errors, preview, the
sandbox, and who may do what."""

from __future__ import annotations

import uuid
from typing import Any


def body(key: str = "permit-decided", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "description": "Decision",
        "variables": ["case_name", "fee", {"name": "given_name", "required": False}],
        "content": {
            "de": {"email": {"subject": "Bescheid: {{ case_name }}",
                             "text": "{% if given_name %}Hallo {{ given_name }}{% endif %}\n"
                                     "Gebühr: {{ fee | money('EUR') }}"},
                   "inbox": {"title": "Bescheid", "body": "{{ case_name }}"}},
            "en": {"email": {"subject": "Decision: {{ case_name }}",
                             "text": "Fee: {{ fee | money('EUR') }}"}},
        },
    }
    data.update(overrides)
    return data


def version_body(**overrides: Any) -> dict[str, Any]:
    """A ``PUT /templates/{id}`` body (no key, no department)."""
    data = body(**overrides)
    data.pop("key")
    return data


async def create(notify: Any, data: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, expect: int = 201) -> dict[str, Any]:
    response = await notify.client.post("/templates", json=data or body(),
                                        headers=headers or notify.admin_headers())
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_saved_template_is_version_1_and_each_save_adds_a_version(
    notify: Any,
) -> None:
    created = await create(notify)
    assert created["current_version"] == 1
    changed = version_body()
    changed["content"]["de"]["email"]["subject"] = "Ihr Bescheid zu {{ case_name }}"
    response = await notify.client.put(f"/templates/{created['template_id']}", json=changed,
                                       headers=notify.admin_headers())
    assert response.status_code == 200, response.text
    assert response.json()["current_version"] == 2
    first = await notify.client.get(f"/templates/{created['template_id']}/versions/1",
                                    headers=notify.admin_headers())
    assert first.json()["current"]["content"]["de"]["email"]["subject"] == (
        "Bescheid: {{ case_name }}")
    current = await notify.client.get(f"/templates/{created['template_id']}",
                                      headers=notify.admin_headers())
    assert current.json()["current"]["version"] == 2
    missing = await notify.client.get(f"/templates/{created['template_id']}/versions/9",
                                      headers=notify.admin_headers())
    assert missing.status_code == 404


async def test_a_text_using_an_undeclared_variable_is_refused_naming_it(
    notify: Any,
) -> None:
    data = body(variables=["case_name"])  # fee used, not declared; given_name too
    problem = await create(notify, data, expect=422)
    assert problem["code"] == "template_invalid"
    assert problem["variables"] == ["fee", "given_name"]
    assert ["content", "de", "email", "text"] in [e["loc"] for e in problem["errors"]]
    listed = await notify.client.get("/templates?key=permit-decided",
                                     headers=notify.admin_headers())
    assert listed.json() == []


async def test_a_syntax_error_is_refused_with_its_line(notify: Any) -> None:
    data = body()
    data["content"]["de"]["inbox"]["body"] = "ok\n{% for x in %}"
    problem = await create(notify, data, expect=422)
    assert problem["code"] == "template_invalid"
    assert "line 2" in problem["errors"][0]["msg"]


async def test_preview_renders_and_names_missing_params(notify: Any) -> None:
    created = await create(notify)
    url = f"/templates/{created['template_id']}/preview"
    ok = await notify.client.post(url, json={"locale": "de", "params": {
        "case_name": "Bewohnerparkausweis", "fee": 3050}}, headers=notify.admin_headers())
    assert ok.status_code == 200, ok.text
    assert ok.json()["email"]["subject"] == "Bescheid: Bewohnerparkausweis"
    assert "Gebühr: 30,50 €" in ok.json()["email"]["text"]
    assert ok.json()["inbox"]["title"] == "Bescheid"
    english = await notify.client.post(url, json={"locale": "en", "params": {
        "case_name": "Parking", "fee": 3050}}, headers=notify.admin_headers())
    assert english.json()["email"]["text"] == "Fee: €30.50"
    assert english.json()["inbox"] is None
    missing = await notify.client.post(url, json={"params": {"case_name": "x"}},
                                       headers=notify.admin_headers())
    assert missing.status_code == 422
    assert missing.json()["code"] == "missing_personalisation"
    assert missing.json()["missing"] == ["fee"]


async def test_preview_of_a_version_number_beyond_any_version_is_refused_not_a_500(
    notify: Any,
) -> None:
    """A version number too large for the database (found by the API fuzzer) is invalid
    input, bounded like the version in ``GET /templates/{id}/versions/{version}``."""
    created = await create(notify)
    url = f"/templates/{created['template_id']}/preview"
    for version in (2**31, 5_708_439_969, 1_000_001):
        response = await notify.client.post(url, json={"version": version, "params": {
            "case_name": "x", "fee": 1}}, headers=notify.admin_headers())
        assert response.status_code == 422, (version, response.text)
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["loc"] == ["body", "version"]
    absent = await notify.client.post(url, json={"version": 1_000_000, "params": {
        "case_name": "x", "fee": 1}}, headers=notify.admin_headers())
    assert absent.status_code == 404, absent.text


async def test_the_sandbox_refuses_unsafe_access_without_a_500(
    notify: Any,
) -> None:
    data = body(key="sneaky", variables=["x"], content={"de": {"inbox": {
        "title": "t", "body": "{{ x.__class__.__mro__[1].__subclasses__() }}"}}})
    created = await create(notify, data)
    response = await notify.client.post(f"/templates/{created['template_id']}/preview",
                                        json={"params": {"x": "a"}},
                                        headers=notify.admin_headers())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "template_render_failed"
    wrong_type = await notify.client.post(
        f"/templates/{(await create(notify, body(key='money-type')))['template_id']}/preview",
        json={"params": {"case_name": "x", "fee": {"not": "a number"}}},
        headers=notify.admin_headers())
    assert wrong_type.status_code == 422
    assert wrong_type.json()["code"] == "template_render_failed"


async def test_who_may_read_and_change_templates(notify: Any) -> None:
    museum_manager = notify.staff_headers({"museum": ["manager"]})
    pools_cashier = notify.staff_headers({"pools": ["cashier"]})
    # A manager creates their department's template, not a tenant-wide or another's one.
    own = await create(notify, body(key="museum-news", department="museum"), museum_manager)
    for denied in (body(key="tenant-wide"), body(key="pool-news", department="pools")):
        problem = await create(notify, denied, museum_manager, expect=403)
        assert problem["code"] == "forbidden"
    # Staff of another department do not see it; a tenant-wide one they do.
    hidden = await notify.client.get(f"/templates/{own['template_id']}", headers=pools_cashier)
    assert hidden.status_code == 404
    keys = {t["key"] for t in (await notify.client.get("/templates",
                                                       headers=pools_cashier)).json()}
    assert "ticketing-order-confirmed" in keys
    assert "museum-news" not in keys
    # A cashier of the museum reads it but cannot change it.
    museum_cashier = notify.staff_headers({"museum": ["cashier"]})
    assert (await notify.client.get(f"/templates/{own['template_id']}",
                                    headers=museum_cashier)).status_code == 200
    change = await notify.client.put(f"/templates/{own['template_id']}",
                                     json=version_body(), headers=museum_cashier)
    assert change.status_code == 403
    # Citizens and machine clients: 403; another tenant's admin: 404.
    citizen = notify.citizen_headers(uuid.uuid4())
    assert (await notify.client.get("/templates", headers=citizen)).status_code == 403
    assert (await notify.client.get("/templates",
                                    headers=notify.client_headers())).status_code == 403
    other = notify.admin_headers(notify.OTHER_TENANT)
    assert (await notify.client.get(f"/templates/{own['template_id']}",
                                    headers=other)).status_code == 404
    assert (await notify.client.put(f"/templates/{own['template_id']}", json=version_body(),
                                    headers=other)).status_code == 404
    assert (await notify.client.get("/templates")).status_code == 401


async def test_the_same_key_twice_in_one_scope_is_a_conflict(notify: Any) -> None:
    await create(notify)
    problem = await create(notify, expect=409)
    assert problem["code"] == "template_exists"
    # The same key for a department is another template (it overrides the tenant-wide one).
    await create(notify, body(department="museum"))
