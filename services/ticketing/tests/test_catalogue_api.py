"""A museum manager sets up the demo museum through the API from nothing (venue, offering,
quota, ticket types, opening rule, slots) and publishes it; offerings change under optimistic
concurrency; ticket types, quotas and rules follow their rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


async def _museum(h: Any) -> dict[str, Any]:
    venue = await h.post("/venues", {"department": "museum", "name": "Stadtmuseum",
                                       "address": "Marktplatz 1", "timezone": "Europe/Berlin"})
    offering = await h.post("/offerings", {
        "department": "museum", "cost_centre": "MUS-4100", "venue_id": venue["venue_id"],
        "kind": "timed", "name": "Dauerausstellung", "cancellable_until_hours": 24})
    oid = offering["offering_id"]
    quota = await h.post(f"/offerings/{oid}/quotas", {"name": "Ermäßigt", "capacity": 10})
    types = {}
    for position, (code, name, price, quota_id) in enumerate([
            ("adult", "Erwachsene", 800, None), ("reduced", "Ermäßigt", 500, quota["quota_id"]),
            ("child", "Kinder", 0, quota["quota_id"])]):
        types[code] = await h.post(f"/offerings/{oid}/ticket-types", {
            "code": code, "name": name, "price": price, "quota_id": quota_id,
            "position": position})
    rule = await h.post(f"/offerings/{oid}/rules", {
        "weekdays": [2, 3, 4, 5, 6, 7], "opens_at": "10:00", "closes_at": "18:00",
        "slot_minutes": 30, "capacity": 40, "valid_from": "2026-01-01"})
    return {"venue": venue, "offering_id": oid, "quota": quota, "types": types, "rule": rule}


async def test_museum_set_up_end_to_end_and_published(ticketing: Any) -> None:
    h = ticketing
    museum = await _museum(h)
    oid = museum["offering_id"]
    assert museum["venue"]["timezone"] == "Europe/Berlin"
    assert [t["price"] for t in museum["types"].values()] == [800, 500, 0]

    generated = await h.post(f"/offerings/{oid}/slots/generate",
                            {"from": "2027-03-22", "to": "2027-04-04"}, expect=200)
    assert generated == {"created": 12 * 16, "skipped": 0}

    current = await h.client.get(f"/offerings/{oid}", headers=h.manager_headers())
    assert current.json()["status"] == "draft"
    etag = current.headers["ETag"]
    published = await h.client.patch(f"/offerings/{oid}", json={"status": "published"},
                                     headers={**h.manager_headers(), "If-Match": etag})
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.headers["ETag"] != etag

    shop = await h.client.get(f"/public/{h.TENANT}/offerings")
    assert shop.status_code == 200
    [item] = shop.json()["items"]
    assert item["name"] == "Dauerausstellung"
    assert item["venue_name"] == "Stadtmuseum"
    assert [(t["code"], t["price"]) for t in item["ticket_types"]] == [
        ("adult", 800), ("reduced", 500), ("child", 0)]


async def test_publishing_needs_an_active_ticket_type_and_slots_or_a_rule(ticketing: Any) -> None:
    h = ticketing
    venue = await h.post("/venues", {"department": "museum", "name": "Stadtmuseum"})
    offering = await h.post("/offerings", {
        "department": "museum", "cost_centre": "MUS-4100", "venue_id": venue["venue_id"],
        "kind": "timed", "name": "Sonderausstellung"})
    oid = offering["offering_id"]
    refused = await h.client.patch(f"/offerings/{oid}", json={"status": "published"},
                                   headers=h.manager_headers())
    assert refused.status_code == 409
    assert refused.json()["code"] == "offering_not_publishable"
    assert refused.json()["missing"] == ["active_ticket_type", "slots_or_rule"]

    await h.post(f"/offerings/{oid}/ticket-types",
                {"code": "adult", "name": "Erwachsene", "price": 1200, "active": False})
    await h.post(f"/offerings/{oid}/slots", {
        "starts_at": "2027-05-14T19:00:00+02:00", "ends_at": "2027-05-14T22:00:00+02:00",
        "capacity": 60})
    refused = await h.client.patch(f"/offerings/{oid}", json={"status": "published"},
                                   headers=h.manager_headers())
    assert refused.json()["missing"] == ["active_ticket_type"]

    [adult] = (await h.client.get(f"/offerings/{oid}",
                                  headers=h.manager_headers())).json()["ticket_types"]
    activated = await h.client.patch(f"/ticket-types/{adult['ticket_type_id']}",
                                     json={"active": True}, headers=h.manager_headers())
    assert activated.status_code == 200
    published = await h.client.patch(f"/offerings/{oid}", json={"status": "published"},
                                      headers=h.manager_headers())
    assert published.status_code == 200
    back = await h.client.patch(f"/offerings/{oid}", json={"status": "draft"},
                                headers=h.manager_headers())
    assert back.status_code == 409
    assert back.json()["code"] == "invalid_transition"
    archived = await h.client.patch(f"/offerings/{oid}", json={"status": "archived"},
                                    headers=h.manager_headers())
    assert archived.json()["status"] == "archived"
    shop = await h.client.get(f"/public/{h.TENANT}/offerings")
    assert shop.json()["items"] == []


async def test_if_match_with_a_stale_etag_is_refused_and_changes_nothing(ticketing: Any) -> None:
    h = ticketing
    museum = await _museum(h)
    oid = museum["offering_id"]
    read = await h.client.get(f"/offerings/{oid}", headers=h.manager_headers())
    stale = read.headers["ETag"]
    first = await h.client.patch(f"/offerings/{oid}", json={"name": "Stadtgeschichte"},
                                 headers={**h.manager_headers(), "If-Match": stale})
    assert first.status_code == 200
    assert first.json()["version"] == read.json()["version"] + 1
    second = await h.client.patch(f"/offerings/{oid}", json={"name": "Überschrieben"},
                                  headers={**h.manager_headers(), "If-Match": stale})
    assert second.status_code == 412
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["code"] == "precondition_failed"
    for weird in ('W/"1"', "garbage", '"x"'):
        refused = await h.client.patch(f"/offerings/{oid}", json={"name": "X"},
                                       headers={**h.manager_headers(), "If-Match": weird})
        assert refused.status_code == 412, weird
    now = await h.client.get(f"/offerings/{oid}", headers=h.manager_headers())
    assert now.json()["name"] == "Stadtgeschichte"
    anything = await h.client.patch(f"/offerings/{oid}", json={"description": "Neu"},
                                    headers={**h.manager_headers(), "If-Match": "*"})
    assert anything.status_code == 200


async def test_offering_rules_sales_window_venue_and_valid_days(ticketing: Any) -> None:
    h = ticketing
    venue = await h.post("/venues", {"department": "museum", "name": "Stadtmuseum"})
    pools_venue = await h.post("/venues", {"department": "pools", "name": "Hallenbad"},
                              headers=h.manager_headers("pools"))
    base = {"department": "museum", "cost_centre": "MUS-4100", "venue_id": venue["venue_id"],
            "kind": "timed", "name": "Führung"}
    window = await h.client.post("/offerings", headers=h.manager_headers(), json={
        **base, "sales_start_at": "2027-02-01T00:00:00Z", "sales_end_at": "2027-01-01T00:00:00Z"})
    assert (window.status_code, window.json()["code"]) == (422, "invalid_sales_window")
    foreign = await h.client.post("/offerings", headers=h.manager_headers(),
                                  json={**base, "venue_id": pools_venue["venue_id"]})
    assert (foreign.status_code, foreign.json()["code"]) == (422, "invalid_venue")
    unknown = await h.client.post("/offerings", headers=h.manager_headers(),
                                  json={**base, "venue_id": str(uuid.uuid4())})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_venue")
    card = await h.client.post("/offerings", headers=h.manager_headers(),
                               json={**base, "kind": "pass"})
    assert (card.status_code, card.json()["code"]) == (422, "not_applicable")
    assert card.json()["field"] == "valid_days"
    created = await h.post("/offerings", {**base, "kind": "pass", "valid_days": 365,
                                            "sales_start_at": "2027-02-01T00:00:00Z"})
    assert created["status"] == "draft"
    oid = created["offering_id"]
    late = await h.client.patch(f"/offerings/{oid}", headers=h.manager_headers(),
                                json={"sales_end_at": "2027-01-01T00:00:00Z"})
    assert (late.status_code, late.json()["code"]) == (422, "invalid_sales_window")
    cleared = await h.client.patch(f"/offerings/{oid}", headers=h.manager_headers(),
                                   json={"valid_days": None})
    assert cleared.status_code == 422
    stored = await h.scalar("SELECT valid_days FROM offerings WHERE id = :id",
                            id=uuid.UUID(oid))
    assert stored == 365


async def test_ticket_type_rules(ticketing: Any) -> None:
    h = ticketing
    museum = await _museum(h)
    oid = museum["offering_id"]
    taken = await h.client.post(f"/offerings/{oid}/ticket-types", headers=h.manager_headers(),
                                json={"code": "adult", "name": "Nochmal", "price": 1})
    assert (taken.status_code, taken.json()["code"]) == (409, "name_taken")
    visits = await h.client.post(f"/offerings/{oid}/ticket-types", headers=h.manager_headers(),
                                 json={"code": "multi", "name": "Mehrfach", "price": 1,
                                       "visits": 5})
    assert (visits.status_code, visits.json()["code"]) == (422, "not_applicable")
    other_quota = await h.client.post(f"/offerings/{oid}/ticket-types",
                                      headers=h.manager_headers(),
                                      json={"code": "x", "name": "X", "price": 1,
                                            "quota_id": str(uuid.uuid4())})
    assert (other_quota.status_code, other_quota.json()["code"]) == (422, "unknown_quota")
    components = await h.client.post(f"/offerings/{oid}/ticket-types",
                                     headers=h.manager_headers(),
                                     json={"code": "x", "name": "X", "price": 1, "components": [
                                         {"offering_id": oid, "share": 1}]})
    assert (components.status_code, components.json()["code"]) == (422, "not_applicable")
    reduced = museum["types"]["reduced"]["ticket_type_id"]
    unquota = await h.client.patch(f"/ticket-types/{reduced}", json={"quota_id": None},
                                   headers=h.manager_headers())
    assert unquota.status_code == 200
    assert unquota.json()["quota_id"] is None
    renamed = await h.client.patch(f"/ticket-types/{reduced}", json={"code": "adult"},
                                   headers=h.manager_headers())
    assert (renamed.status_code, renamed.json()["code"]) == (409, "name_taken")
    missing = await h.client.patch(f"/ticket-types/{uuid.uuid4()}", json={"price": 1},
                                   headers=h.manager_headers())
    assert (missing.status_code, missing.json()["code"]) == (404, "ticket_type_not_found")


async def _pass_offering(h: Any, venue_id: str, department: str = "pools") -> str:
    card = await h.post("/offerings", {
        "department": department, "cost_centre": "BAD-5700", "venue_id": venue_id,
        "kind": "pass", "name": "10er-Karte", "valid_days": 365},
        headers=h.manager_headers(department))
    await h.post(f"/offerings/{card['offering_id']}/ticket-types",
                {"code": "ten", "name": "10er-Karte", "price": 4000, "visits": 10},
                headers=h.manager_headers(department))
    return str(card["offering_id"])


async def test_combo_components_copy_department_and_shares_must_add_up(ticketing: Any) -> None:
    h = ticketing
    museum = await _museum(h)
    pools_venue = await h.post("/venues", {"department": "pools", "name": "Hallenbad"},
                              headers=h.manager_headers("pools"))
    swim = await h.post("/offerings", {
        "department": "pools", "cost_centre": "BAD-5700", "venue_id": pools_venue["venue_id"],
        "kind": "timed", "name": "Hallenbad"}, headers=h.manager_headers("pools"))
    combo = await h.post("/offerings", {
        "department": "museum", "cost_centre": "MUS-4100",
        "venue_id": museum["venue"]["venue_id"], "kind": "combo", "name": "Kulturpass",
        "valid_days": 365})
    cid = combo["offering_id"]
    # A pools component needs pools' consent too (see test_combo_consent.py).
    both_departments = h.staff_headers({"museum": ["manager"], "pools": ["manager"]})
    body = {"code": "kulturpass", "name": "Kulturpass", "price": 1000, "components": [
        {"offering_id": museum["offering_id"], "share": 600},
        {"offering_id": swim["offering_id"], "share": 300}]}
    mismatch = await h.client.post(f"/offerings/{cid}/ticket-types", json=body,
                                   headers=both_departments)
    assert mismatch.status_code == 422
    assert mismatch.headers["content-type"] == "application/problem+json"
    assert mismatch.json()["code"] == "combo_shares_mismatch"
    assert (mismatch.json()["price"], mismatch.json()["shares_total"]) == (1000, 900)
    none = await h.client.post(f"/offerings/{cid}/ticket-types", headers=h.manager_headers(),
                               json={**body, "components": None})
    assert (none.status_code, none.json()["code"]) == (422, "not_applicable")
    body["components"][1]["share"] = 400
    created = await h.post(f"/offerings/{cid}/ticket-types", body, headers=both_departments)
    assert [(c["department"], c["cost_centre"], c["share"]) for c in created["components"]] == [
        ("museum", "MUS-4100", 600), ("pools", "BAD-5700", 400)]

    tid = created["ticket_type_id"]
    price_only = await h.client.patch(f"/ticket-types/{tid}", json={"price": 1100},
                                      headers=h.manager_headers())
    assert price_only.json()["code"] == "combo_shares_mismatch"
    both = await h.client.patch(f"/ticket-types/{tid}", headers=h.manager_headers(), json={
        "price": 1100, "components": [{"offering_id": museum["offering_id"], "share": 700},
                                      {"offering_id": swim["offering_id"], "share": 400}]})
    assert both.status_code == 200, both.text
    assert [c["share"] for c in both.json()["components"]] == [700, 400]
    rows = await h.rows("SELECT position, share FROM combo_components WHERE ticket_type_id = :t "
                        "ORDER BY position", t=uuid.UUID(tid))
    assert [tuple(r) for r in rows] == [(0, 700), (1, 400)]

    other_tenant = await h.demo(tenant=h.OTHER_TENANT)
    foreign = await h.client.post(f"/offerings/{cid}/ticket-types", headers=h.manager_headers(),
                                  json={"code": "foreign", "name": "F", "price": 1, "components": [
                                      {"offering_id": str(other_tenant.exhibition), "share": 1}]})
    assert (foreign.status_code, foreign.json()["code"]) == (422, "invalid_component")
    nested = await h.client.post(f"/offerings/{cid}/ticket-types", headers=h.manager_headers(),
                                 json={"code": "nested", "name": "N", "price": 1, "components": [
                                     {"offering_id": cid, "share": 1}]})
    assert (nested.status_code, nested.json()["code"]) == (422, "invalid_component")


async def test_pass_ticket_types_may_give_several_visits(ticketing: Any) -> None:
    h = ticketing
    venue = await h.post("/venues", {"department": "pools", "name": "Hallenbad"},
                        headers=h.manager_headers("pools"))
    oid = await _pass_offering(h, venue["venue_id"])
    read = await h.client.get(f"/offerings/{oid}", headers=h.manager_headers("pools"))
    assert [(t["code"], t["visits"]) for t in read.json()["ticket_types"]] == [("ten", 10)]
    quota = await h.client.post(f"/offerings/{oid}/quotas", json={"name": "Q", "capacity": 1},
                                headers=h.manager_headers("pools"))
    assert (quota.status_code, quota.json()["code"]) == (422, "not_applicable")
    generate = await h.client.post(f"/offerings/{oid}/slots/generate",
                                   json={"from": "2027-01-01", "to": "2027-01-02"},
                                   headers=h.manager_headers("pools"))
    assert (generate.status_code, generate.json()["code"]) == (422, "not_applicable")


async def test_venues_are_listed_per_department_and_names_are_unique(ticketing: Any) -> None:
    h = ticketing
    museum = await h.post("/venues", {"department": "museum", "name": "Stadtmuseum"})
    await h.post("/venues", {"department": "pools", "name": "Hallenbad"},
                headers=h.manager_headers("pools"))
    twin = await h.client.post("/venues", json={"department": "museum", "name": "Stadtmuseum"},
                               headers=h.manager_headers())
    assert (twin.status_code, twin.json()["code"]) == (409, "name_taken")
    cashier = h.staff_headers({"museum": ["cashier"]})
    listed = await h.client.get("/venues", headers=cashier)
    assert [v["name"] for v in listed.json()["items"]] == ["Stadtmuseum"]
    admin = await h.client.get("/venues", headers=h.staff_headers(admin="tenant"))
    assert sorted(v["name"] for v in admin.json()["items"]) == ["Hallenbad", "Stadtmuseum"]
    changed = await h.client.patch(f"/venues/{museum['venue_id']}", headers=h.manager_headers(),
                                   json={"timezone": "Europe/Vienna", "max_occupancy": 200})
    assert changed.status_code == 200
    assert (changed.json()["timezone"], changed.json()["max_occupancy"]) == ("Europe/Vienna", 200)
    assert datetime.fromisoformat(changed.json()["updated_at"]) <= datetime.now(UTC)


async def test_rules_are_listed_and_deleted_without_touching_slots(ticketing: Any) -> None:
    h = ticketing
    museum = await _museum(h)
    oid = museum["offering_id"]
    await h.post(f"/offerings/{oid}/slots/generate", {"from": "2027-01-05", "to": "2027-01-05"},
                expect=200)
    rules = await h.client.get(f"/offerings/{oid}/rules", headers=h.manager_headers())
    [rule] = rules.json()["items"]
    assert rule["weekdays"] == [2, 3, 4, 5, 6, 7]
    deleted = await h.client.delete(f"/rules/{rule['rule_id']}", headers=h.manager_headers())
    assert deleted.status_code == 204
    again = await h.client.delete(f"/rules/{rule['rule_id']}", headers=h.manager_headers())
    assert (again.status_code, again.json()["code"]) == (404, "rule_not_found")
    assert (await h.client.get(f"/offerings/{oid}/rules",
                               headers=h.manager_headers())).json()["items"] == []
    assert await h.scalar("SELECT count(*) FROM slots WHERE offering_id = :o",
                          o=uuid.UUID(oid)) == 16


async def test_quota_cannot_shrink_below_what_a_slot_uses(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    await h.execute("INSERT INTO slot_quota_usage (slot_id, quota_id, held, sold) "
                      "VALUES (:s, :q, 2, 5)", s=demo.exhibition_slot, q=demo.reduced_quota)
    refused = await h.client.patch(f"/quotas/{demo.reduced_quota}", json={"capacity": 6},
                                   headers=h.manager_headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "capacity_below_reserved")
    assert refused.json()["reserved"] == 7
    fine = await h.client.patch(f"/quotas/{demo.reduced_quota}", json={"capacity": 7},
                                headers=h.manager_headers())
    assert fine.status_code == 200
    assert fine.json()["capacity"] == 7


async def test_a_retried_create_with_the_same_idempotency_key_creates_once(ticketing: Any) -> None:
    h = ticketing
    headers = {**h.manager_headers(), "Idempotency-Key": "venue-1"}
    body = {"department": "museum", "name": "Stadtmuseum"}
    first = await h.client.post("/venues", json=body, headers=headers)
    again = await h.client.post("/venues", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["venue_id"] == first.json()["venue_id"]
    assert await h.scalar("SELECT count(*) FROM venues") == 1
    other = await h.client.post("/venues", json={**body, "name": "Depot"}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_mismatch")


async def test_pool_sessions_every_two_hours_every_day(ticketing: Any) -> None:
    h = ticketing
    pools = h.manager_headers("pools")
    venue = await h.post("/venues", {"department": "pools", "name": "Hallenbad Mitte",
                                       "max_occupancy": 300}, headers=pools)
    offering = await h.post("/offerings", {
        "department": "pools", "cost_centre": "BAD-5700", "venue_id": venue["venue_id"],
        "kind": "timed", "name": "Hallenbad"}, headers=pools)
    oid = offering["offering_id"]
    await h.post(f"/offerings/{oid}/rules", {
        "weekdays": [1, 2, 3, 4, 5, 6, 7], "opens_at": "07:00", "closes_at": "21:00",
        "slot_minutes": 120, "capacity": 120, "valid_from": "2027-01-01"}, headers=pools)
    result = await h.post(f"/offerings/{oid}/slots/generate",
                         {"from": "2027-01-04", "to": "2027-01-10"}, headers=pools, expect=200)
    assert result == {"created": 7 * 7, "skipped": 0}
    before_rule = await h.post(f"/offerings/{oid}/slots/generate",
                              {"from": "2026-12-25", "to": "2026-12-31"}, headers=pools,
                              expect=200)
    assert before_rule == {"created": 0, "skipped": 0}
