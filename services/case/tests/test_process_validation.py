"""The soundness check of process definitions: the default process and the demo processes pass;
each broken process is refused with exactly the pointer of what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from case_service.catalogue.demo_library import LIBRARY
from case_service.catalogue.errors import InvalidProcess
from case_service.process.default import DEFAULT_PROCESS, process_data, with_parts
from case_service.process.validation import check_process, steps

Change = Callable[[dict[str, Any]], None]


def _transition(data: dict[str, Any], action: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in data["transitions"] if t["action"] == action)
    return found


def _index(data: dict[str, Any], action: str) -> int:
    return next(i for i, t in enumerate(data["transitions"]) if t["action"] == action)


def _findings(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidProcess) as caught:
        check_process(data)
    assert caught.value.code == "invalid_process"
    assert caught.value.status == 422
    errors = caught.value.extra["errors"]
    assert isinstance(errors, list)
    return [(e["pointer"], e["code"]) for e in errors]  # type: ignore[index,call-overload]


def test_the_default_process_passes() -> None:
    assert check_process(process_data(None)) == DEFAULT_PROCESS
    assert check_process(DEFAULT_PROCESS) is DEFAULT_PROCESS


def test_the_demo_processes_pass() -> None:
    stored = [s.process for s in LIBRARY if s.process is not None]
    assert len(stored) >= 3
    for data in stored:
        check_process(data)


def test_steps_follow_the_way_of_a_case() -> None:
    assert steps(DEFAULT_PROCESS) == ["awaiting_payment", "submitted", "in_review",
                                      "information_requested", "approved", "rejected",
                                      "withdrawn"]


def _no_roles(d: dict[str, Any]) -> None:
    _transition(d, "approve")["roles"] = []


def _unknown_target(d: dict[str, Any]) -> None:
    d["transitions"].append({"action": "defer", "label": {"de": "Zurückstellen", "en": "Defer"},
                             "from": ["in_review"], "to": "deferred", "roles": ["clerk"]})


def _unknown_source(d: dict[str, Any]) -> None:
    _transition(d, "start_review")["from"] = ["submitted", "paused"]


def _unknown_initial(d: dict[str, Any]) -> None:
    d["initial"] = "received"


def _unknown_automatic(d: dict[str, Any]) -> None:
    d["automatic"][1]["to"] = "review"


def _unreachable(d: dict[str, Any]) -> None:
    d["states"]["archived"] = {"label": {"de": "Archiviert", "en": "Archived"}}
    d["transitions"].append({"action": "close", "label": {"de": "Schließen", "en": "Close"},
                             "from": ["archived"], "to": "rejected", "roles": ["manager"]})


def _dead_end(d: dict[str, Any]) -> None:
    d["states"]["parked"] = {"label": {"de": "Zurückgestellt", "en": "Parked"}}
    d["transitions"].append({"action": "park", "label": {"de": "Zurückstellen", "en": "Park"},
                             "from": ["in_review"], "to": "parked", "roles": ["clerk"]})


def _payment_not_to_initial(d: dict[str, Any]) -> None:
    d["automatic"][0]["to"] = "in_review"


def _out_of_final_state(d: dict[str, Any]) -> None:
    _transition(d, "start_review")["from"] = ["submitted", "rejected"]


def _automatic_out_of_final_state(d: dict[str, Any]) -> None:
    d["automatic"].append({"on": "payment.succeeded", "from": "withdrawn", "to": "submitted"})


def _decision_without_decision(d: dict[str, Any]) -> None:
    del d["states"]["approved"]["decision"]


def _decision_on_work_state(d: dict[str, Any]) -> None:
    d["states"]["in_review"]["decision"] = "approved"


def _duplicate_action(d: dict[str, Any]) -> None:
    d["transitions"].append({**_transition(d, "withdraw"), "from": ["information_requested"],
                             "to": "withdrawn"})


def _information_to_work_state(d: dict[str, Any]) -> None:
    d["states"]["information_requested"]["kind"] = "work"


def _expiry_without_deadline(d: dict[str, Any]) -> None:
    del d["states"]["information_requested"]["deadline"]


def _parts_answered_without_parts(d: dict[str, Any]) -> None:
    d["automatic"].append({"on": "parts.answered", "from": "in_review", "to": "submitted"})


def _duplicate_part_keys(d: dict[str, Any]) -> None:
    part = {"key": "check", "label": {"de": "Prüfung", "en": "Check"}}
    d["states"]["submitted"]["parts"] = [part]
    d["states"]["in_review"]["parts"] = [part]


def _no_decision(d: dict[str, Any]) -> None:
    for name in ("approved", "rejected"):
        d["states"][name] = {"label": d["states"][name]["label"], "kind": "withdrawn"}


def _second_payment_state(d: dict[str, Any]) -> None:
    d["states"]["submitted"]["kind"] = "payment"


def _no_payment_state(d: dict[str, Any]) -> None:
    del d["states"]["awaiting_payment"]
    d["automatic"].pop(0)
    d["transitions"] = [t for t in d["transitions"] if t["from"] != ["awaiting_payment"]]


def _bad_shape(d: dict[str, Any]) -> None:
    _transition(d, "reject")["roles"] = ["mayor"]


@pytest.mark.parametrize(("change", "expected"), [
    (_no_roles, lambda d: [(f"/process/transitions/{_index(d, 'approve')}/roles",
                            "required")]),
    (_unknown_target, lambda d: [(f"/process/transitions/{_index(d, 'defer')}/to",
                                  "unknown_state")]),
    (_unknown_source, lambda d: [(f"/process/transitions/{_index(d, 'start_review')}/from/1",
                                  "unknown_state")]),
    (_unknown_automatic, lambda d: [("/process/automatic/1/to", "unknown_state")]),
    (_unreachable, lambda d: [("/process/states/archived", "unreachable")]),
    (_dead_end, lambda d: [("/process/states/parked", "no_way_to_end")]),
    (_payment_not_to_initial, lambda d: [("/process/states/awaiting_payment",
                                          "payment_leads_to_initial")]),
    (_out_of_final_state, lambda d: [(
        f"/process/transitions/{_index(d, 'start_review')}/from/1", "from_final_state")]),
    (_automatic_out_of_final_state, lambda d: [("/process/automatic/2/from",
                                                "from_final_state")]),
    (_decision_without_decision, lambda d: [("/process/states/approved/decision",
                                             "required")]),
    (_decision_on_work_state, lambda d: [("/process/states/in_review/decision",
                                          "decision_state_only")]),
    (_duplicate_action, lambda d: [(f"/process/transitions/{len(d['transitions']) - 1}/from/0",
                                    "duplicate")]),
    (_information_to_work_state, lambda d: [(
        f"/process/transitions/{_index(d, 'request_information')}/to",
        "applicant_state_required")]),
    (_expiry_without_deadline, lambda d: [("/process/automatic/1/from", "no_deadline")]),
    (_parts_answered_without_parts, lambda d: [("/process/automatic/2/from", "no_parts")]),
    (_duplicate_part_keys, lambda d: [("/process/states/in_review/parts/0/key", "duplicate")]),
    (_no_decision, lambda d: [("/process/states", "decision_state_required")]),
    (_second_payment_state, lambda d: [
        ("/process/states/submitted/kind", "payment_state_name"),
        ("/process/states/submitted", "payment_leads_to_initial")]),
    (_no_payment_state, lambda d: [("/process/states", "payment_state_required")]),
    (_bad_shape, lambda d: [(f"/process/transitions/{_index(d, 'reject')}/roles/0",
                             "invalid")]),
])
def test_a_broken_process_gets_exactly_its_pointer(
        change: Change, expected: Callable[[dict[str, Any]], list[tuple[str, str]]]) -> None:
    data = process_data(None)
    change(data)
    assert _findings(data) == expected(data)


def test_an_unknown_initial_state_is_named_once() -> None:
    data = process_data(None)
    _unknown_initial(data)
    assert _findings(data) == [("/process/initial", "unknown_state"),
                               ("/process/states/awaiting_payment",
                                "payment_leads_to_initial")]


def test_an_initial_state_other_than_submitted_is_refused() -> None:
    data = process_data(None)
    data["states"]["received"] = data["states"].pop("submitted")
    for transition in data["transitions"]:
        transition["from"] = ["received" if s == "submitted" else s for s in transition["from"]]
    data["automatic"][0]["to"] = "received"
    data["initial"] = "received"
    assert _findings(data) == [("/process/initial", "fixed_initial")]


def test_every_problem_is_named_at_once() -> None:
    data = process_data(None)
    _no_roles(data)
    _decision_without_decision(data)
    _expiry_without_deadline(data)
    assert sorted(_findings(data)) == sorted([
        (f"/process/transitions/{_index(data, 'approve')}/roles", "required"),
        ("/process/states/approved/decision", "required"),
        ("/process/automatic/1/from", "no_deadline")])


def test_parts_in_sequence_with_an_automatic_step_pass() -> None:
    data = with_parts("in_review", [
        {"key": "traffic_check", "label": {"de": "Verkehr", "en": "Traffic"}},
        {"key": "public_order_check", "label": {"de": "Ordnung", "en": "Order"}}],
        mode="sequence")
    data["states"]["checks"] = {"label": {"de": "Prüfungen", "en": "Checks"},
                                "parts": data["states"]["in_review"].pop("parts")}
    data["transitions"].append({"action": "ask_checks", "label": {"de": "Prüfen", "en": "Check"},
                                "from": ["submitted"], "to": "checks", "roles": ["clerk"]})
    data["automatic"].append({"on": "parts.answered", "from": "checks", "to": "in_review"})
    spec = check_process(data)
    assert [p.key for p in spec.states["checks"].parts] == ["traffic_check",
                                                           "public_order_check"]
