"""The template language of documents (no I/O): what renders, what the sandbox and the
allow-list refuse, bounded output, and that a stored template never blocks a decision."""

from __future__ import annotations

from typing import Any

import pytest

from case_service.documents import templates
from case_service.documents.errors import InvalidTemplate

TEXTS: dict[str, Any] = {
    "title": "{% if case.approved %}Bescheid{% else %}Ablehnung{% endif %}",
    "subject": "Ihr Antrag {{ case.number }} vom {{ case.submitted_at }}",
    "body": ["Guten Tag {{ applicant.name }},",
             "{% if case.approved %}Gültig bis {{ case.outcome.valid_until | date }}.{% endif %}",
             "{% for line in applicant.address_lines %}{{ line }}; {% endfor %}"],
    "closing": "{{ tenant.name | upper }}", "legal_remedy": "{{ office.address }}",
}


def codes(error: InvalidTemplate) -> list[tuple[str, str]]:
    errors: Any = error.extra["errors"]
    return [(e["pointer"], e["code"]) for e in errors]


def problems(source: str, field: str = "title") -> list[tuple[str, str]]:
    with pytest.raises(InvalidTemplate) as caught:
        templates.validate({"de": {**TEXTS, field: source}})
    return codes(caught.value)


def test_a_valid_template_renders_the_letter() -> None:
    templates.validate({"de": TEXTS, "en": TEXTS})
    approved = templates.render(TEXTS, templates.sample_context("de", "approved"))
    assert approved.title == "Bescheid"
    assert approved.subject == "Ihr Antrag MS-2026-000123 vom 02.03.2026"
    assert approved.body == ["Guten Tag Erika Mustermann,", "Gültig bis 31.03.2027.",
                             "Heidestraße 17; 51147 Köln;"]
    assert approved.closing == "MUSTERSTADT"
    rejected = templates.render(TEXTS, templates.sample_context("en", "rejected"))
    assert rejected.title == "Ablehnung"
    assert "Gültig" not in " ".join(rejected.body)  # the empty paragraph is left out
    assert len(rejected.body) == 2
    assert "2 March 2026" in rejected.subject


@pytest.mark.parametrize(("source", "code"), [
    ("{{ case.number", "syntax_error"),
    ("{% for %}", "syntax_error"),
    ("{{ nope }}", "unknown_variable"),
    ("{{ case.nope }}", "unknown_variable"),
    ("{{ ''.__class__.__mro__ }}", "not_allowed"),
    ("{{ case['__class__'] }}", "not_allowed"),
    ("{{ cycler.__init__.__globals__ }}", "not_allowed"),
    ("{{ lipsum.__globals__['os'] }}", "not_allowed"),
    ("{{ case.number.upper() }}", "not_allowed"),
    ("{{ '%s' % case.number }}", "not_allowed"),
    ("{{ 9 ** 9 ** 9 }}", "not_allowed"),
    ("{{ 'x' * 10 }}", "not_allowed"),
    ("{{ case.number | center(999999999) }}", "not_allowed"),
    ("{{ case.number | format('x') }}", "not_allowed"),
    ("{{ case.number | replace('M', 'MM') }}", "not_allowed"),
    ("{% set n = 1 %}{{ n }}", "not_allowed"),
    ("{% macro m() %}x{% endmacro %}", "not_allowed"),
    ("{% import 'os' as os %}", "not_allowed"),
    ("{% extends 'base' %}", "not_allowed"),
    ("{% for a in applicant.address_lines %}{% for b in applicant.address_lines %}"
     "{% endfor %}{% endfor %}", "not_allowed"),
    ("{% for a in applicant.address_lines %}" + "x" * 10_001 + "{% endfor %}", "too_long"),
    ("{{ case.outcome.permit_number }}", "unknown_variable"),
])
def test_refused_templates_name_the_text_and_the_reason(source: str, code: str) -> None:
    assert problems(source) == [("/content/de/title", code)]


def test_every_broken_text_is_reported() -> None:
    with pytest.raises(InvalidTemplate) as caught:
        templates.validate({"de": {**TEXTS, "body": ["ok", "{{ x }}", "{% if %}"]},
                            "en": {**TEXTS, "legal_remedy": "{{ _secret }}"}})
    assert codes(caught.value) == [
        ("/content/de/body/1", "unknown_variable"), ("/content/de/body/2", "syntax_error"),
        ("/content/en/legal_remedy", "unknown_variable")]


def test_a_stored_template_never_blocks_a_decision() -> None:
    context = templates.sample_context("de", "approved")
    context["case"]["outcome"] = {}  # this approval grants nothing the template names
    texts = templates.render({**TEXTS, "subject": "Nr. {{ case.outcome.permit_number }}"},
                             context)
    assert texts.subject == "Nr."


def test_a_stored_template_that_bypassed_validation_is_refused_not_run() -> None:
    with pytest.raises(InvalidTemplate) as caught:
        templates.render({"title": "{{ case.number.__class__.__mro__ }}"},
                         templates.sample_context("de", "approved"), pointer="/content/de")
    assert caught.value.extra["errors"] == [{
        "pointer": "/content/de/title", "code": "not_allowed",
        "message": "Attributes starting with '_' are not allowed."}]
