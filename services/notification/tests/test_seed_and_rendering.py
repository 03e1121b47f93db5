"""The demo seed (idempotent, every template renders in both languages with the ticketing
events' data) and the rendering filters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from notification_service.seed import seed_tenant
from notification_service.seed_texts import TEMPLATES
from notification_service.templates.errors import MissingPersonalisation
from notification_service.templates.rendering import (
    RenderContext,
    RenderFailed,
    TooExpensive,
    render_text,
)
from notification_service.templates.schemas import TemplateCreate
from notification_service.templates.service import render, validate


async def test_seeding_again_changes_nothing(notify: Any) -> None:
    before = await notify.scalar("SELECT count(*) FROM template_versions")
    async with notify.sessions() as session:
        results = await seed_tenant(session, notify.TENANT)
        await session.commit()
    assert set(results.values()) == {"unchanged"}
    assert await notify.scalar("SELECT count(*) FROM template_versions") == before
    assert await notify.scalar("SELECT count(*) FROM rules WHERE tenant = 'beispielhausen'") == 11


class _Version:
    def __init__(self, data: TemplateCreate) -> None:
        self.variables = [v.model_dump() for v in data.variables]
        self.content = data.content.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("raw", TEMPLATES, ids=[t["key"] for t in TEMPLATES])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_every_demo_template_renders_with_ticketings_data(raw: dict[str, Any],
                                                          locale: str) -> None:
    data = TemplateCreate.model_validate(raw)
    validate(data)
    params: dict[str, Any] = {
        "order_id": str(uuid.uuid4()), "tenant": "musterstadt", "status": "cancelled",
        "total": 1250, "currency": "EUR", "reason": "payment_expired", "refunded_amount": 450,
        "verification_url": "https://id.example/v", "extra_field": {"ignored": True},
        "tickets": [{"code": "MUS-1", "offering_name": "Hallenbad", "ticket_type_name": "Kind",
                     "starts_at": None, "qr_payload": "x"}],
    }
    rendered = render(_Version(data), locale, params)  # type: ignore[arg-type]
    assert rendered.locale == locale
    assert rendered.email is not None
    assert "{{" not in rendered.email.text
    assert rendered.email.subject


@pytest.mark.parametrize(("locale", "cents", "expected"), [
    ("de", 800, "8,00 €"), ("en", 800, "€8.00"), ("de", 123456, "1.234,56 €"),
    ("en", 123456, "€1,234.56"), ("de", 0, "0,00 €"), ("en", -50, "-€0.50"),
])
def test_money(locale: str, cents: int, expected: str) -> None:
    assert render_text("{{ x | money('EUR') }}", RenderContext({"x": cents}, locale)) == expected


def test_unsafe_and_undefined_access_fail_as_render_errors() -> None:
    context = RenderContext({"x": "a", "d": {}}, "de")
    for source in ("{{ x.__class__ }}", "{{ x.__class__.__mro__ }}", "{{ d.missing.deeper }}",
                   "{{ x | money }}"):
        with pytest.raises(RenderFailed):
            render_text(source, context)
    with pytest.raises(TooExpensive):
        render_text("{{ range(10**9) | list | length }}", context)


def test_html_is_escaped_and_text_is_not() -> None:
    context = RenderContext({"name": "<b>Tom & Jerry</b>"}, "de")
    assert render_text("{{ name }}", context) == "<b>Tom & Jerry</b>"
    assert render_text("{{ name }}", context, html=True) == (
        "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;")


def test_render_reports_missing_required_but_not_optional_params() -> None:
    data = TemplateCreate.model_validate(next(
        t for t in TEMPLATES if t["key"] == "account-email-verification"))
    with pytest.raises(MissingPersonalisation) as info:
        render(_Version(data), "de", {})  # type: ignore[arg-type]
    assert info.value.missing == ["verification_url"]
    email = render(_Version(data), "de", {"verification_url": "u"}).email  # type: ignore[arg-type]
    assert email is not None
    assert email.text.startswith("Guten Tag,")
