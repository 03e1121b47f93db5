"""Contract: what notification reads of case's events. Every demo template a rule sends for a
``case.cases`` event type renders, in German and English, with the catalogue example of that
type (case's model), and the documents the decision carries are what notification's sender
understands. A field case renames that a template relies on fails here."""

from __future__ import annotations

from typing import Any

import pytest

from case_service.cases import events as case_events
from notification_service.channels.documents import DocumentFetcher
from notification_service.seed_case_texts import CASE_RULES, CASE_TEMPLATES
from notification_service.templates.schemas import TemplateCreate
from notification_service.templates.service import render, validate
from tests.contracts.catalogue import examples, published

RULES = [(type_, key) for type_, key, *_ in CASE_RULES]


class _Version:
    def __init__(self, data: TemplateCreate) -> None:
        self.variables = [v.model_dump() for v in data.variables]
        self.content = data.content.model_dump(mode="json", exclude_none=True)


def _template(key: str) -> TemplateCreate:
    [raw] = [t for t in CASE_TEMPLATES if t["key"] == key]
    data = TemplateCreate.model_validate(raw)
    validate(data)
    return data


def test_every_citizen_facing_case_event_with_a_template_has_a_rule() -> None:
    expected = {case_events.SUBMITTED, case_events.PAYMENT_DUE, case_events.PAYMENT_FAILED,
                case_events.INFORMATION_REQUESTED, case_events.INFORMATION_REMINDER,
                case_events.DECIDED, case_events.WITHDRAWN}
    assert {type_ for type_, _ in RULES} == expected
    assert expected <= case_events.CITIZEN_FACING


@pytest.mark.parametrize(("event_type", "key"), RULES, ids=[k for _, k in RULES])
@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_template_renders_with_the_example_of_its_event(event_type: str, key: str,
                                                            locale: str) -> None:
    entry = published(event_type)
    samples = examples(entry)
    assert samples, f"{event_type} has no example"
    for sample in samples:
        # What the producer sends: the example through its model (defaults filled in).
        params: dict[str, Any] = entry.model.model_validate(sample).model_dump(mode="json")
        rendered = render(_Version(_template(key)), locale, params)  # type: ignore[arg-type]
        assert rendered.locale == locale
        assert rendered.email is not None
        assert rendered.inbox is not None
        texts = [rendered.email.subject, rendered.email.text, rendered.email.html or "",
                 rendered.inbox.title, rendered.inbox.body]
        assert all("{{" not in t and "{%" not in t for t in texts)
        assert params["number"] in rendered.email.text
        assert params["number"] in rendered.inbox.title


def test_the_decisions_documents_are_what_the_sender_reads() -> None:
    entry = published(case_events.DECIDED)
    [sample] = examples(entry)
    params = entry.model.model_validate(sample).model_dump(mode="json")
    [document] = params["documents"]
    prefix = document["download_url"].rsplit("/", 1)[0] + "/"
    fetcher = DocumentFetcher(sources=(prefix,))
    assert fetcher.target(document["download_url"]) == document["download_url"]
    # the fields the sender checks, with the types it accepts
    assert isinstance(document["size"], int)
    assert len(document["sha256"]) == 64
    assert document["media_type"] == "application/pdf"
