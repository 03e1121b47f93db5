"""The OpenAPI document builds and documents request examples."""

from __future__ import annotations

from typing import Any


async def test_openapi_has_the_routes_and_request_examples(notify: Any) -> None:
    response = await notify.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    for path in ("/templates", "/templates/{template_id}/preview", "/rules", "/notifications",
                 "/notifications/{notification_id}", "/inbox", "/inbox/{message_id}/read",
                 "/preferences", "/sandbox/sms"):
        assert path in document["paths"], path
    schemas = document["components"]["schemas"]
    for name in ("TemplateCreate", "TemplateUpdate", "PreviewRequest", "RuleCreate",
                 "RuleUpdate", "NotificationCreate", "PreferencesUpdate"):
        assert schemas[name].get("examples"), name
