"""The public catalogue without a token: what each tenant offers today, search by text and
LeiKa key, one service with its form, fee in words and documents in de/en, and the fee preview
(the same library service, different amounts per tenant)."""

from __future__ import annotations

from typing import Any

import pytest

from case_service.catalogue.demo_library import DEMO_SERVICES, LIBRARY, parameters_id

BIRTH = DEMO_SERVICES["geburtsurkunde"]
DOG_TAX = DEMO_SERVICES["hundesteuer-anmeldung"]
PARKING = DEMO_SERVICES["bewohnerparkausweis"]
MS = "/public/musterstadt/services"
BH = "/public/beispielhausen/services"


async def test_list_is_paginated_and_needs_no_token(case: Any) -> None:
    first = await case.client.get(MS, params={"limit": 4})
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 4
    assert page["next_cursor"]
    rest = (await case.client.get(MS, params={"limit": 4, "cursor": page["next_cursor"]})).json()
    slugs = [i["slug"] for i in page["items"] + rest["items"]]
    assert sorted(slugs) == sorted(s.slug for s in LIBRARY)
    assert rest["next_cursor"] is None
    item = next(i for i in page["items"] + rest["items"] if i["id"] == str(BIRTH))
    assert item["leika_key"] == "urn:de:fim:leika:leistung:99027002012000"
    assert item["trust_level"] == "substantial"
    assert item["fee"] == ["Geburtsurkunde: 12,00 € je Einheit (Anzahl der Ausfertigungen)."]
    bad = await case.client.get(MS, params={"cursor": "not-a-cursor"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


@pytest.mark.parametrize(("query", "expected"), [
    ({"q": "HUND"}, {"hundesteuer-anmeldung", "hundesteuer-befreiung"}),
    ({"q": "pothole"}, {"strassenschaden"}),
    ({"q": "certificate"}, {"geburtsurkunde"}),
    ({"q": "100%_"}, set()),
    ({"leika_key": "urn:de:fim:leika:leistung:99050012104000"}, {"gewerbeanmeldung"}),
    ({"leika_key": "urn:de:fim:leika:leistung:99050012104001"}, set()),
])
async def test_search_by_text_and_leika_key(case: Any, query: dict[str, str],
                                            expected: set[str]) -> None:
    items = (await case.client.get(MS, params=query)).json()["items"]
    assert {i["slug"] for i in items} == expected


async def test_only_services_offered_today_are_listed(case: Any) -> None:
    await case.execute("UPDATE service_parameters SET offered = false WHERE id = :id",
                       id=parameters_id("beispielhausen", "geburtsurkunde"))
    await case.execute("UPDATE service_parameters SET valid_from = '2099-01-01' WHERE id = :id",
                       id=parameters_id("beispielhausen", "gewerbeanmeldung"))
    slugs = {i["slug"] for i in (await case.client.get(BH)).json()["items"]}
    assert slugs == {s.slug for s in LIBRARY} - {"geburtsurkunde", "gewerbeanmeldung"}
    not_offered = await case.client.get(f"{BH}/{BIRTH}")
    later = await case.client.get(f"{BH}/{DEMO_SERVICES['gewerbeanmeldung']}")
    assert (not_offered.status_code, not_offered.json()["code"]) == (404, "service_not_offered")
    assert (later.status_code, later.json()["code"]) == (404, "no_parameters_on")
    assert (await case.client.get("/public/nowhere/services")).json()["items"] == []
    unknown = await case.client.get(f"/public/nowhere/services/{BIRTH}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_not_found")


async def test_detail_in_german_and_english(case: Any) -> None:
    german = await case.client.get(f"{MS}/{PARKING}")
    assert german.status_code == 200
    assert german.headers["Content-Language"] == "de"
    detail = german.json()
    assert detail["names"] == {"de": "Bewohnerparkausweis", "en": "Resident parking permit"}
    assert detail["fee"] == ["Bewohnerparkausweis: 30,70 € pro Jahr."]
    assert (detail["period"], detail["collect"]) == ("year", "on_submission")
    assert detail["attachments"] == [{
        "kind": "proof_of_residence", "label": "Nachweis des Wohnsitzes", "required": True,
        "media_types": ["application/pdf", "image/jpeg", "image/png"], "max_bytes": 5242880}, {
        "kind": "vehicle_registration", "label": "Zulassungsbescheinigung Teil I",
        "required": False, "media_types": ["application/pdf", "image/jpeg", "image/png"],
        "max_bytes": 5242880}]
    assert detail["form"]["schema"]["properties"]["vehicle_registration"]["pattern"]
    fields = {f["name"]: f for f in detail["form"]["fields"]}
    assert fields["given_name"] == {"name": "given_name", "label": "Vorname", "help": None,
                                    "required": True, "prefill": "given_name"}
    assert detail["texts"]["office_address"].startswith("Bürgerbüro, Rathausplatz 1")
    assert (detail["department"], detail["definition_version"], detail["trust_level"]) == (
        "citizens-office", 1, "basic")
    assert "cost_centre" not in detail
    assert "revenue_shares" not in detail
    english = (await case.client.get(f"{MS}/{PARKING}",
                                     headers={"Accept-Language": "en-GB,de;q=0.5"})).json()
    assert english["fee"] == ["Resident parking permit: €30.70 per year."]
    assert english["attachments"][0]["label"] == "Proof of residence"
    assert english["form"]["fields"][0]["label"] == "Given name"
    by_query = (await case.client.get(f"{MS}/{PARKING}", params={"lang": "en"},
                                      headers={"Accept-Language": "de"})).json()
    assert by_query["locale"] == "en"
    beispielhausen = (await case.client.get(f"{BH}/{PARKING}")).json()
    assert beispielhausen["fee"] == ["Bewohnerparkausweis: 120,00 € pro Jahr."]


async def test_fee_preview_differs_between_tenants(case: Any) -> None:
    data = {"data": {"copies": 2}}
    ms = (await case.client.post(f"{MS}/{BIRTH}/fee-preview", json=data)).json()
    bh = (await case.client.post(f"{BH}/{BIRTH}/fee-preview", json=data)).json()
    assert (ms["amount"], ms["due_now"], ms["currency"]) == (2400, 2400, "EUR")
    assert ms["breakdown"] == [{"label": "Geburtsurkunde", "quantity": 2, "unit_amount": 1200,
                                "amount": 2400}]
    assert bh["amount"] == 3000
    one = (await case.client.post(f"{BH}/{BIRTH}/fee-preview", json={"data": {"copies": 1}},
                                  params={"lang": "en"})).json()
    assert (one["amount"], one["breakdown"][0]["label"]) == (1500, "Birth certificate")


async def test_dog_tax_tiers_differ_between_tenants(case: Any) -> None:
    dogs = {"data": {"dogs": [{"name": "Bello", "breed": "Dackel"},
                              {"name": "Rex", "breed": "Bullterrier"},
                              {"name": "Luna", "breed": "Pudel"}]}}
    ms = (await case.client.post(f"{MS}/{DOG_TAX}/fee-preview", json=dogs)).json()
    bh = (await case.client.post(f"{BH}/{DOG_TAX}/fee-preview", json=dogs)).json()
    assert [(line["label"], line["amount"]) for line in ms["breakdown"]] == [
        ("Erster Hund", 10800), ("Listenhund", 60000), ("Weiterer Hund", 18000)]
    assert (ms["amount"], ms["due_now"], ms["collect"], ms["period"]) == (
        88800, 0, "by_assessment", "year")
    assert [line["amount"] for line in bh["breakdown"]] == [9000, 50000, 15000]
    assert bh["amount"] == 74000


async def test_free_services_preview_zero(case: Any) -> None:
    road = DEMO_SERVICES["strassenschaden"]
    preview = (await case.client.post(f"{MS}/{road}/fee-preview", json={"data": {}})).json()
    assert (preview["amount"], preview["breakdown"], preview["exempt"]) == (0, [], None)


@pytest.mark.parametrize("data", [
    {},
    {"copies": "zwei"},
    {"copies": 10**30},
    {"copies": None},
    {"copies": [1, 2]},
])
async def test_preview_without_what_the_fee_needs_is_a_422(case: Any,
                                                           data: dict[str, Any]) -> None:
    response = await case.client.post(f"{MS}/{BIRTH}/fee-preview", json={"data": data})
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"fee_not_computable", "validation_error"}


@pytest.mark.parametrize("content", [
    b"[" * 50_000 + b"]" * 50_000,
    b'{"data": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"}",
    b'{"data": {"copies": "\\u0000"}}',
    b'{"data": [1, 2]}',
    b"not json",
    b'{"data": {"dogs": [' + b'{"breed": "x"},' * 20_000 + b'{"breed": "y"}]}}',
])
async def test_hostile_previews_are_never_a_500(case: Any, content: bytes) -> None:
    response = await case.client.post(f"{MS}/{DOG_TAX}/fee-preview", content=content,
                                      headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")


async def test_a_dog_declared_as_listed_breed_pays_the_listed_rate(case: Any) -> None:
    dogs = {"data": {"dogs": [{"name": "Bello", "breed": "Mischling", "listed_breed": True}]}}
    preview = (await case.client.post(f"{BH}/{DOG_TAX}/fee-preview", json=dogs)).json()
    assert [(line["label"], line["amount"]) for line in preview["breakdown"]] == [
        ("Listenhund", 50000)]


@pytest.mark.parametrize("params", [{"q": "Hund\x00"}, {"leika_key": "\x00"}, {"q": "%" * 100},
                                    {"lang": "fr"}, {"limit": 0}])
async def test_hostile_queries_are_never_a_500(case: Any, params: dict[str, Any]) -> None:
    response = await case.client.get(MS, params=params)
    assert response.status_code in {200, 422}, response.text
