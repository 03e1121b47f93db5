"""Both languages of the timeline are complete: every state of the default process and every
headline the timeline writes has a German and an English text, and they differ."""

from __future__ import annotations

from case_service.process.default import DEFAULT_PROCESS, DEFAULT_PROCESS_DATA
from case_service.timeline.service import LABELS, PAYMENT_STEPS


def test_every_state_of_the_default_process_has_a_label_in_both_languages() -> None:
    assert set(DEFAULT_PROCESS.states) == set(DEFAULT_PROCESS_DATA["states"])
    for name, state in DEFAULT_PROCESS.states.items():
        assert state.label.de.strip(), name
        assert state.label.en.strip(), name
        assert state.label.de != state.label.en, name
    assert len({s.label.de for s in DEFAULT_PROCESS.states.values()}) == len(
        DEFAULT_PROCESS.states)
    assert len({s.label.en for s in DEFAULT_PROCESS.states.values()}) == len(
        DEFAULT_PROCESS.states)


def test_every_headline_of_the_timeline_is_in_german_and_english() -> None:
    for key, texts in LABELS.items():
        assert set(texts) == {"de", "en"}, key
        assert texts["de"].strip(), key
        assert texts["en"].strip(), key
        assert texts["de"] != texts["en"], key
    for step in PAYMENT_STEPS.values():
        assert f"payment.{step}" in LABELS
    for expected in ("pay", "pay_again", "answer", "none", "closed"):
        assert f"expected.{expected}" in LABELS
