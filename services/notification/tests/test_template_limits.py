"""A department's template cannot stall the service (issue 11, hole 5).

Rendering is bounded (ranges, sizes of built strings and lists, output, work and time) and
runs off the event loop. A template that is hostile whatever its params is refused when
saved (422 ``template_too_expensive``); one that becomes hostile with some params fails fast
at preview (422) and at send time (the message fails with reason ``template_too_expensive``),
and the service keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from notification_service.templates import rendering

ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")

# Hostile whatever the params: each is refused when saved.
HOSTILE = {
    "nested-range": "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}"
                    "{% endfor %}",
    "string-multiplication": "{{ 'x' * 10**9 }}",
    "huge-list": "{{ range(10**8)|list|length }}",
    "recursive-macro": "{% macro f(k) %}{{ f(k) }}{% endmacro %}{{ f(1) }}",
}

# Hostile only with some params (``n``): saved, then fail at preview and send.
BY_PARAMS = {
    "nested-range": "{% for a in range(n) %}{% for b in range(n) %}x{% endfor %}{% endfor %}",
    "string-multiplication": "{{ 'x' * n }}",
    "doubling-macro": "{% macro f(k) %}{% if k > 0 %}{{ f(k - 1) }}{{ f(k - 1) }}{% endif %}"
                      "{% endmacro %}{{ f(n) }}",
    "silent-loops": "{% for a in range(n) %}{% for b in range(n) %}{% for c in range(n) %}"
                    "{% endfor %}{% endfor %}{% endfor %}done",
}
PARAMS = {"nested-range": 2000, "string-multiplication": 10**7, "doubling-macro": 18,
          "silent-loops": 300}


def template(key: str, text: str, variables: list[str] | None = None,
             department: str | None = None) -> dict[str, Any]:
    return {"key": key, "department": department, "variables": variables or [],
            "content": {"de": {"email": {"subject": "Hallo", "text": text},
                               "inbox": {"title": "Hallo", "body": "Hallo"}}}}


async def create(notify: Any, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = await notify.client.post("/templates", json=body,
                                        headers=notify.admin_headers())
    assert response.status_code == expect, response.text[:500]
    result: dict[str, Any] = response.json()
    return result


# -- the renderer, without I/O ----------------------------------------------------------------


@pytest.mark.parametrize("source", [
    *HOSTILE.values(),
    "{{ 'x'|center(10**9) }}",
    "{{ 'ab'|replace('', 'x' * 1000)|replace('', 'y' * 1000) }}",
    "{{ 'x' * 1000 ~ 'x' * 1000 }}{{ ('x' * 50000 ~ 'x' * 60000)|length }}",
    "{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "{{ [1]|batch(10**9, 0)|list|length }}",
    "{{ ('{:>' ~ 10**9 ~ '}').format(1) }}",
    "{{ '%*d' % (10**9, 1) }}",
    "{{ 10 ** (10 ** 10) }}",
    "{{ 5|round(-10**9) }}",
    "{{ lipsum(10**6) }}",
    "{% macro m() %}{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}"
    "{% for i in range(1000) %}{{ m()|length }}{% endfor %}",
    # Shared parts: small to build, enormous to print, compare or hash.
    "{% set l = range(1000)|list %}{{ [[[l] * 100] * 100] * 100 }}",
    "{% set ns = namespace(x=[1], y=[1]|list) %}{% for i in range(40) %}"
    "{% set ns.x = [ns.x, ns.x] %}{% set ns.y = [ns.y, ns.y] %}{% endfor %}{{ ns.x == ns.y }}",
    "{% set ns = namespace(t=(1, 2)) %}{% for i in range(60) %}{% set ns.t = (ns.t, ns.t) %}"
    "{% endfor %}{{ {ns.t: 1} }}",
    "{% set ns = namespace(d=dict(a=1)) %}{% for i in range(60) %}"
    "{% set ns.d = dict(a=ns.d, b=ns.d) %}{% endfor %}{{ ns }}",
])
def test_hostile_texts_stop_with_template_too_expensive(source: str) -> None:
    with pytest.raises(rendering.TooExpensive):
        rendering.render_text(source, rendering.RenderContext({}, "de"))


def test_ordinary_texts_still_render() -> None:
    source = ("{% for t in tickets %}{{ loop.index }}. {{ t.code }} "
              "{{ ('-' * 3) ~ t.code|lower }}\n{% endfor %}{{ total|money('EUR') }}")
    tickets = [{"code": f"MUS-{i}"} for i in range(300)]
    text = rendering.render_text(source, rendering.RenderContext(
        {"tickets": tickets, "total": 1300}, "de"))
    assert text.startswith("1. MUS-0 ---mus-0\n")
    assert text.endswith("13,00 €")


# -- through the API --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_a_template_hostile_whatever_its_params_is_refused_when_saved(
    notify: Any, name: str,
) -> None:
    problem = await create(notify, template(f"hostile-{name}", HOSTILE[name]), expect=422)
    assert problem["code"] == "template_too_expensive"
    assert ["content", "de", "email", "text"] in [e["loc"] for e in problem["errors"]]
    listed = await notify.client.get(f"/templates?key=hostile-{name}",
                                     headers=notify.admin_headers())
    assert listed.json() == []


@pytest.mark.parametrize("name", sorted(BY_PARAMS))
async def test_a_template_hostile_with_its_params_fails_fast_at_preview(
    notify: Any, name: str,
) -> None:
    created = await create(notify, template(f"by-params-{name}", BY_PARAMS[name], ["n"]))
    response = await notify.client.post(f"/templates/{created['template_id']}/preview",
                                        json={"params": {"n": PARAMS[name]}},
                                        headers=notify.admin_headers())
    assert response.status_code == 422, response.text[:500]
    assert response.json()["code"] == "template_too_expensive"
    harmless = await notify.client.post(f"/templates/{created['template_id']}/preview",
                                        json={"params": {"n": 2}},
                                        headers=notify.admin_headers())
    assert harmless.status_code == 200, harmless.text[:500]


async def test_the_service_answers_while_a_hostile_preview_runs(notify: Any) -> None:
    created = await create(notify, template("slow", BY_PARAMS["nested-range"], ["n"]))

    async def preview() -> Any:
        return await notify.client.post(f"/templates/{created['template_id']}/preview",
                                        json={"params": {"n": PARAMS["nested-range"]}},
                                        headers=notify.admin_headers())

    previewed, health = await asyncio.gather(preview(), notify.client.get("/healthz"))
    assert health.status_code == 200
    assert (previewed.status_code, previewed.json()["code"]) == (
        422, "template_too_expensive")


async def test_a_message_whose_template_is_too_expensive_fails_only_itself(
    notify: Any,
) -> None:
    """The pools' template loops over the order total (1300 x 1300): its message fails with a
    reason, the museum's order confirmation still goes out."""
    await create(notify, template("pools-confirmed", BY_PARAMS["nested-range"].replace(
        "range(n)", "range(total)"), ["total"], department="pools"))
    rule = await notify.client.post("/rules", headers=notify.admin_headers(), json={
        "event_type": notify.CONFIRMED, "department": "pools",
        "template_key": "pools-confirmed", "channels": ["email", "inbox"]})
    assert rule.status_code == 201, rule.text
    pools_address, museum_address = notify.new_address("pools"), notify.new_address("museum")
    pools = notify.order_event(account_id=ERIKA, email=pools_address, department="pools")
    museum = notify.order_event(account_id=ERIKA, email=museum_address, department="museum")
    for event in (pools, museum):
        await notify.handle(event)
    assert {(d.channel, d.status, d.reason) for d in await notify.deliveries(pools.id)} == {
        ("email", "permanent_failure", "template_too_expensive"),
        ("inbox", "permanent_failure", "template_too_expensive")}
    await notify.deliver()
    assert notify.mails_to(pools_address) == []
    assert len(notify.mails_to(museum_address)) == 1
