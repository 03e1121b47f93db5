"""HTTP models of the templates API: ``TemplateCreate`` / ``TemplateUpdate`` (a new version) /
``TemplateRead``, and the preview."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator
from pydantic.config import JsonDict

from city_shared.slugs import Slug
from notification_service.templates.models import Template, TemplateVersion
from notification_service.types import MAX_TEMPLATE_VERSION, Flag, Locale, TemplateKey

__all__ = [
    "EmailContent",
    "InboxContent",
    "LocaleContent",
    "PreviewRead",
    "PreviewRequest",
    "Rendered",
    "RenderedEmail",
    "RenderedInbox",
    "RenderedSms",
    "SmsContent",
    "TemplateContent",
    "TemplateCreate",
    "TemplateRead",
    "TemplateUpdate",
    "TemplateVersionRead",
    "Variable",
]

VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
_Short = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_Long = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]

_EXAMPLE_CONTENT: JsonDict = {
    "de": {
        "email": {"subject": "Ihre Tickets",
                  "text": "Guten Tag,\n{% for t in tickets %}- {{ t.offering_name }}: "
                          "{{ t.code }}\n{% endfor %}Gesamt: {{ total | money(currency) }}\n"},
        "inbox": {"title": "Ihre Tickets", "body": "{{ tickets | length }} Ticket(s)."},
    },
    "en": {
        "email": {"subject": "Your tickets",
                  "text": "Hello,\n{% for t in tickets %}- {{ t.offering_name }}: "
                          "{{ t.code }}\n{% endfor %}Total: {{ total | money(currency) }}\n"},
        "inbox": {"title": "Your tickets", "body": "{{ tickets | length }} ticket(s)."},
    },
}
_EXAMPLE_VARIABLES: list[JsonValue] = ["tickets", "total", "currency",
                                       {"name": "given_name", "required": False}]


class Variable(BaseModel):
    """A declared variable; a missing ``required`` one is 422 ``missing_personalisation``, a
    missing optional one is null in the template."""

    model_config = ConfigDict(extra="forbid")

    name: VariableName
    required: Flag = True


class EmailContent(BaseModel):
    """An e-mail: subject, plain text and optional HTML (autoescaped)."""

    model_config = ConfigDict(extra="forbid")

    subject: _Short
    text: _Long
    html: _Long | None = None


class SmsContent(BaseModel):
    """A short text (at most six SMS segments)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=918)]


class InboxContent(BaseModel):
    """A message in the citizen's inbox (Postfach)."""

    model_config = ConfigDict(extra="forbid")

    title: _Short
    body: _Long


class LocaleContent(BaseModel):
    """The texts of one language, per channel; a channel without text is not offered."""

    model_config = ConfigDict(extra="forbid")

    email: EmailContent | None = None
    sms: SmsContent | None = None
    inbox: InboxContent | None = None

    @model_validator(mode="after")
    def _some_channel(self) -> LocaleContent:
        if self.email is None and self.sms is None and self.inbox is None:
            raise ValueError("give the text of at least one channel")
        return self


class TemplateContent(BaseModel):
    """German and/or English texts."""

    model_config = ConfigDict(extra="forbid")

    de: LocaleContent | None = None
    en: LocaleContent | None = None

    @model_validator(mode="after")
    def _some_locale(self) -> TemplateContent:
        if self.de is None and self.en is None:
            raise ValueError("give the texts of at least one language (de, en)")
        return self

    def texts(self) -> list[tuple[list[str | int], str, bool]]:
        """Every text with its location and whether it is HTML."""
        found: list[tuple[list[str | int], str, bool]] = []
        for locale in ("de", "en"):
            part: LocaleContent | None = getattr(self, locale)
            if part is None:
                continue
            if part.email is not None:
                found.append(([locale, "email", "subject"], part.email.subject, False))
                found.append(([locale, "email", "text"], part.email.text, False))
                if part.email.html is not None:
                    found.append(([locale, "email", "html"], part.email.html, True))
            if part.sms is not None:
                found.append(([locale, "sms", "text"], part.sms.text, False))
            if part.inbox is not None:
                found.append(([locale, "inbox", "title"], part.inbox.title, False))
                found.append(([locale, "inbox", "body"], part.inbox.body, False))
        return found


def _variables(value: Any) -> Any:
    """Accept ``"name"`` as shorthand for ``{"name": "name"}``."""
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


Variables = Annotated[list[Variable], Field(max_length=100)]


class TemplateUpdate(BaseModel):
    """A new version of a template: its complete variables and texts. Every text may use only
    the declared variables (and ``locale``); else 422 ``template_invalid`` naming them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"description": "Order confirmation with tickets", "variables": _EXAMPLE_VARIABLES,
         "content": _EXAMPLE_CONTENT}]})

    description: Annotated[str, StringConstraints(max_length=255)] = ""
    variables: Variables = Field(default_factory=list)
    content: TemplateContent

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "variables" in data:
            return {**data, "variables": _variables(data["variables"])}
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> TemplateUpdate:
        names = [v.name for v in self.variables]
        if len(names) != len(set(names)):
            raise ValueError("each variable is declared once")
        return self


class TemplateCreate(TemplateUpdate):
    """A new template (version 1). ``department`` null: tenant-wide. 409 ``template_exists``
    when the key is taken in that scope."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"key": "ticketing-order-confirmed", "department": None,
         "description": "Order confirmation with tickets", "variables": _EXAMPLE_VARIABLES,
         "content": _EXAMPLE_CONTENT}]})

    key: TemplateKey
    department: Slug | None = None


class TemplateVersionRead(BaseModel):
    """One immutable version."""

    version: int
    variables: list[Variable]
    content: TemplateContent
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, version: TemplateVersion) -> TemplateVersionRead:
        return cls(version=version.version,
                   variables=[Variable.model_validate(v) for v in version.variables],
                   content=TemplateContent.model_validate(version.content),
                   created_by=version.created_by, created_at=version.created_at)


class TemplateRead(BaseModel):
    """A template with its current version."""

    template_id: uuid.UUID
    tenant: str
    department: str | None
    key: str
    description: str
    current_version: int
    current: TemplateVersionRead
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: Template, current: TemplateVersion) -> TemplateRead:
        return cls(template_id=template.id, tenant=template.tenant,
                   department=template.department, key=template.key,
                   description=template.description, current_version=template.current_version,
                   current=TemplateVersionRead.of(current), created_at=template.created_at,
                   updated_at=template.updated_at)


class PreviewRequest(BaseModel):
    """Render a version (default: the current one) with these params. 422
    ``missing_personalisation`` names the required variables not given."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"locale": "de", "params": {"total": 1300, "currency": "EUR", "tickets": [
            {"offering_name": "Dauerausstellung", "code": "MUS-7K2Q"}]}}]})

    version: Annotated[int, Field(strict=True, ge=1, le=MAX_TEMPLATE_VERSION)] | None = None
    locale: Locale = "de"
    params: Annotated[dict[VariableName, JsonValue], Field(max_length=200)] = Field(
        default_factory=dict)


class RenderedEmail(BaseModel):
    """A rendered e-mail."""

    subject: str
    text: str
    html: str | None = None


class RenderedSms(BaseModel):
    """A rendered SMS."""

    text: str


class RenderedInbox(BaseModel):
    """A rendered inbox message."""

    title: str
    body: str


class Rendered(BaseModel):
    """The rendered texts of one version in one locale, per channel it has."""

    locale: Locale
    email: RenderedEmail | None = None
    sms: RenderedSms | None = None
    inbox: RenderedInbox | None = None


class PreviewRead(Rendered):
    """The rendered texts of every channel the version has in that locale."""

    template_id: uuid.UUID
    key: str
    version: int
