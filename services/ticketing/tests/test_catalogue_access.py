"""Who may touch which catalogue: managers their own department (403 elsewhere), staff read
their departments, tenant admins and clients by scope everything of their tenant, citizens
nothing, anonymous callers get 401, and another tenant's ids are simply not found."""

from __future__ import annotations

from typing import Any


def _museum_routes(demo: Any, rule_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every staff route that changes the museum's catalogue, with a valid body."""
    return [
        ("POST", "/venues", {"department": "museum", "name": "Depot"}),
        ("PATCH", f"/venues/{demo.museum_venue}", {"name": "Altes Museum"}),
        ("POST", "/offerings", {"department": "museum", "cost_centre": "MUS-4100",
                                "venue_id": str(demo.museum_venue), "kind": "timed",
                                "name": "Führung"}),
        ("PATCH", f"/offerings/{demo.exhibition}", {"name": "Gekapert"}),
        ("POST", f"/offerings/{demo.exhibition}/ticket-types",
         {"code": "free", "name": "Frei", "price": 0}),
        ("PATCH", f"/ticket-types/{demo.museum_adult}", {"price": 1}),
        ("POST", f"/offerings/{demo.exhibition}/quotas", {"name": "Schulen", "capacity": 5}),
        ("PATCH", f"/quotas/{demo.reduced_quota}", {"capacity": 40}),
        ("POST", f"/offerings/{demo.exhibition}/rules", {
            "weekdays": [1], "opens_at": "10:00", "closes_at": "12:00", "slot_minutes": 60,
            "capacity": 5, "valid_from": "2027-01-01"}),
        ("DELETE", f"/rules/{rule_id}", None),
        ("POST", f"/offerings/{demo.exhibition}/slots/generate",
         {"from": "2027-01-04", "to": "2027-01-10"}),
        ("POST", f"/offerings/{demo.exhibition}/slots", {
            "starts_at": "2027-05-14T19:00:00+02:00", "ends_at": "2027-05-14T22:00:00+02:00",
            "capacity": 60}),
        ("PATCH", f"/slots/{demo.exhibition_slot}", {"capacity": 1}),
    ]


def _museum_reads(demo: Any) -> list[str]:
    return [f"/venues/{demo.museum_venue}", f"/offerings/{demo.exhibition}",
            f"/offerings/{demo.exhibition}/rules",
            f"/offerings/{demo.exhibition}/slots?from=2027-01-01&to=2027-01-02"]


async def _snapshot(h: Any) -> list[Any]:
    return [
        await h.rows("SELECT id, name, updated_at FROM venues ORDER BY id"),
        await h.rows("SELECT id, name, version FROM offerings ORDER BY id"),
        await h.rows("SELECT id, price FROM ticket_types ORDER BY id"),
        await h.rows("SELECT id, capacity FROM quotas ORDER BY id"),
        await h.rows("SELECT id FROM slot_rules ORDER BY id"),
        await h.rows("SELECT id, capacity FROM slots ORDER BY id"),
    ]


async def _request(h: Any, method: str, path: str, body: dict[str, Any] | None,
                   headers: dict[str, str]) -> Any:
    return await h.client.request(method, path, json=body, headers=headers)


async def _rule_id(h: Any, demo: Any) -> str:
    return str(await h.scalar("SELECT id FROM slot_rules WHERE offering_id = :o",
                              o=demo.exhibition))


async def test_pool_manager_cannot_touch_the_museum(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    before = await _snapshot(h)
    pools = h.manager_headers("pools")
    for method, path, body in _museum_routes(demo, await _rule_id(h, demo)):
        response = await _request(h, method, path, body, pools)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "forbidden"
    for path in _museum_reads(demo):
        response = await h.client.get(path, headers=pools)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), path
    assert await _snapshot(h) == before
    listed = await h.client.get("/offerings", headers=pools)
    assert {o["department"] for o in listed.json()["items"]} == {"pools"}
    museum_only = await h.client.get("/offerings?department=museum", headers=pools)
    assert museum_only.json()["items"] == []


async def test_a_museum_manager_may_do_all_of_it(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    for method, path, body in _museum_routes(demo, await _rule_id(h, demo)):
        response = await _request(h, method, path, body, h.manager_headers("museum"))
        assert response.status_code < 300, (method, path, response.text)


async def test_another_tenants_ids_are_not_found(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    before = await _snapshot(h)
    stranger = h.staff_headers({"museum": ["manager"]}, tenant=h.OTHER_TENANT)
    admin = h.staff_headers(admin="tenant", tenant=h.OTHER_TENANT)
    for headers in (stranger, admin):
        for method, path, body in _museum_routes(demo, await _rule_id(h, demo)):
            if path in ("/venues", "/offerings"):
                continue
            response = await _request(h, method, path, body, headers)
            assert response.status_code in (404, 422), (method, path, response.text)
            if response.status_code == 422:  # a new offering at the stranger's venue
                assert response.json()["code"] == "invalid_venue"
            else:
                assert response.json()["code"].endswith("not_found")
        for path in _museum_reads(demo):
            response = await h.client.get(path, headers=headers)
            assert response.status_code == 404, path
        assert (await h.client.get("/offerings", headers=headers)).json()["items"] == []
        assert (await h.client.get("/venues", headers=headers)).json()["items"] == []
    foreign_venue = await h.client.post("/offerings", headers=stranger, json={
        "department": "museum", "cost_centre": "MUS-4100", "venue_id": str(demo.museum_venue),
        "kind": "timed", "name": "Führung"})
    assert (foreign_venue.status_code, foreign_venue.json()["code"]) == (422, "invalid_venue")
    assert await _snapshot(h) == before


async def test_citizens_cannot_create_or_read_the_staff_catalogue(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    citizen = h.citizen_headers()
    for method, path, body in _museum_routes(demo, await _rule_id(h, demo)):
        response = await _request(h, method, path, body, citizen)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), path
    for path in [*_museum_reads(demo), "/offerings", "/venues"]:
        response = await h.client.get(path, headers=citizen)
        assert response.status_code == 403, path


async def test_staff_routes_need_a_token(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    before = await _snapshot(h)
    for method, path, body in _museum_routes(demo, await _rule_id(h, demo)):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            response = await _request(h, method, path, body, headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["code"] == "not_authenticated"
    for path in [*_museum_reads(demo), "/offerings", "/venues"]:
        response = await h.client.get(path)
        assert response.status_code == 401, path
    assert await _snapshot(h) == before


async def test_other_staff_read_but_do_not_change(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    for headers in (h.staff_headers({"museum": ["cashier"]}), h.gatekeeper_headers("museum"),
                    h.client_headers("ticketing:read")):
        for path in _museum_reads(demo):
            response = await h.client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)
        changed = await h.client.patch(f"/offerings/{demo.exhibition}", json={"name": "X"},
                                       headers=headers)
        assert (changed.status_code, changed.json()["code"]) == (403, "forbidden")
    no_scope = await h.client.get("/offerings", headers=h.client_headers("payment:read"))
    assert no_scope.status_code == 403
    no_role = await h.client.get("/offerings", headers=h.staff_headers({}))
    assert no_role.status_code == 403


async def test_tenant_admins_and_writing_clients_manage_every_department(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    for headers, name in ((h.staff_headers(admin="tenant"), "Admin-Name"),
                          (h.client_headers("ticketing:write"), "Client-Name")):
        response = await h.client.patch(f"/offerings/{demo.indoor_pool}", json={"name": name},
                                        headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["name"] == name
        listed = await h.client.get("/offerings", headers=headers)
        assert {o["department"] for o in listed.json()["items"]} == {"museum", "pools"}
