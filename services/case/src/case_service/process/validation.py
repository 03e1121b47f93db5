"""Whether a process definition is sound: :func:`check_process` names every problem with a JSON
pointer into the definition (``/process/transitions/3/roles``), so a library admin fixes all of
them at once. Pure; the shapes themselves are :mod:`case_service.process.spec`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import ValidationError

from case_service.catalogue.errors import InvalidProcess
from case_service.process.spec import FINAL_KINDS, ProcessSpec
from city_shared.errors import JsonValue

__all__ = ["AWAITING_PAYMENT", "SUBMITTED", "check_process", "steps"]

SUBMITTED: Final = "submitted"
"""The status submission gives a case without a fee due (``cases.service.open_case``): every
process starts there."""
AWAITING_PAYMENT: Final = "awaiting_payment"
"""The status submission gives a case with a fee due: every process has this state, of kind
``payment``, leading to :data:`SUBMITTED` on ``payment.succeeded``."""

_Error = dict[str, JsonValue]


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class _Findings:
    def __init__(self, root: str) -> None:
        self.root = root
        self.errors: list[_Error] = []

    def add(self, path: Iterable[str | int], code: str, message: str) -> None:
        pointer = self.root + "".join(f"/{_escape(str(p))}" for p in path)
        self.errors.append({"pointer": pointer, "code": code, "message": message})


def check_process(data: Mapping[str, Any] | ProcessSpec, *,
                  pointer: str = "/process") -> ProcessSpec:
    """The process ``data`` describes, if it is sound.

    Checked: the shape (:class:`ProcessSpec`); ``initial`` is ``submitted`` and the state
    ``awaiting_payment`` (kind ``payment``, the only one) leads to it on ``payment.succeeded``;
    every state a transition, automatic transition or ``initial`` names exists; every
    transition names a role; ``(action, from)`` pairs are unique; final states (kind
    ``decision``/``withdrawn``) have no way out; states of kind ``decision`` (at least one) say
    which decision, others do not; a transition with ``information_request`` leads to a state
    of kind ``applicant``; automatic transitions fit their state (``deadline.expired`` only
    from a state with a deadline, ``parts.answered`` only from one with parts,
    ``payment.succeeded`` only from the payment state; one per trigger and state); part keys
    are unique across the process; every state is reachable from ``initial`` or the payment
    state, and from every state that is not final a final state is reachable.

    :raises InvalidProcess: (422 ``invalid_process``) one error per finding, each with a
        ``pointer`` below ``pointer`` (the process's place in the request body).
    """
    if isinstance(data, ProcessSpec):
        spec = data
    else:
        try:
            spec = ProcessSpec.model_validate(data)
        except ValidationError as exc:
            shape = _Findings(pointer)
            for error in exc.errors(include_input=False, include_url=False):
                shape.add(error["loc"], "invalid", error["msg"])
            raise InvalidProcess("The process does not have the expected shape; see "
                                 "'errors'.", shape.errors) from None
    found = _Findings(pointer)
    _check_names(spec, found)
    _check_states(spec, found)
    _check_transitions(spec, found)
    _check_automatic(spec, found)
    _check_graph(spec, found)
    if found.errors:
        raise InvalidProcess("The process is not sound; see 'errors'.", found.errors)
    return spec


def steps(spec: ProcessSpec) -> list[str]:
    """The states in the order a case meets them: breadth first from the payment state and
    ``initial`` (transitions before automatic ones, in their order), then the decisions
    (approvals first), then the withdrawal."""
    order = _reachable(spec, [s for s, state in spec.states.items() if state.kind == "payment"]
                       + [spec.initial])
    order += [s for s in spec.states if s not in order]
    rank = {"approved": 1, "rejected": 2}
    return sorted(order, key=lambda s: (
        {"decision": 1, "withdrawn": 2}.get(spec.states[s].kind, 0),
        rank.get(spec.states[s].decision or "", 0)))


def _check_names(spec: ProcessSpec, found: _Findings) -> None:
    states = spec.states
    if spec.initial not in states:
        found.add(["initial"], "unknown_state", "No state of this name.")
    elif spec.initial != SUBMITTED:
        found.add(["initial"], "fixed_initial",
                  f"Cases start in '{SUBMITTED}' (the status submission gives them).")
    for i, transition in enumerate(spec.transitions):
        for j, name in enumerate(transition.from_):
            if name not in states:
                found.add(["transitions", i, "from", j], "unknown_state", "No state of this name.")
        if transition.to not in states:
            found.add(["transitions", i, "to"], "unknown_state", "No state of this name.")
    for k, automatic in enumerate(spec.automatic):
        if automatic.from_ not in states:
            found.add(["automatic", k, "from"], "unknown_state", "No state of this name.")
        if automatic.to not in states:
            found.add(["automatic", k, "to"], "unknown_state", "No state of this name.")


def _check_states(spec: ProcessSpec, found: _Findings) -> None:
    payment = spec.states.get(AWAITING_PAYMENT)
    if payment is None or payment.kind != "payment":
        found.add(["states"] if payment is None else ["states", AWAITING_PAYMENT, "kind"],
                  "payment_state_required",
                  f"A state '{AWAITING_PAYMENT}' of kind 'payment' is required (the status of "
                  "a case with a fee due).")
    keys: set[str] = set()
    for name, state in spec.states.items():
        if state.kind == "payment" and name != AWAITING_PAYMENT:
            found.add(["states", name, "kind"], "payment_state_name",
                      f"Only '{AWAITING_PAYMENT}' is of kind 'payment'.")
        if state.kind == "decision" and state.decision is None:
            found.add(["states", name, "decision"], "required",
                      "A decision state says which decision it is.")
        elif state.kind != "decision" and state.decision is not None:
            found.add(["states", name, "decision"], "decision_state_only",
                      "Only states of kind 'decision' carry a decision.")
        for i, part in enumerate(state.parts):
            if part.key in keys:
                found.add(["states", name, "parts", i, "key"], "duplicate",
                          "Part keys are unique across the process.")
            keys.add(part.key)
    if not any(state.kind == "decision" for state in spec.states.values()):
        found.add(["states"], "decision_state_required",
                  "At least one state of kind 'decision' is required.")


def _final(spec: ProcessSpec, name: str) -> bool:
    state = spec.states.get(name)
    return state is not None and state.kind in FINAL_KINDS


def _check_transitions(spec: ProcessSpec, found: _Findings) -> None:
    taken: set[tuple[str, str]] = set()
    for i, transition in enumerate(spec.transitions):
        if not transition.roles:
            found.add(["transitions", i, "roles"], "required",
                      "At least one role (clerk, manager, applicant) takes a transition.")
        for j, name in enumerate(transition.from_):
            if (transition.action, name) in taken:
                found.add(["transitions", i, "from", j], "duplicate",
                          "An action is defined once per state it starts from.")
            taken.add((transition.action, name))
            if _final(spec, name):
                found.add(["transitions", i, "from", j], "from_final_state",
                          "A final state (decision, withdrawn) has no way out.")
        target = spec.states.get(transition.to)
        if transition.information_request and target is not None and target.kind != "applicant":
            found.add(["transitions", i, "to"], "applicant_state_required",
                      "A request for information leads to a state of kind 'applicant'.")


def _check_automatic(spec: ProcessSpec, found: _Findings) -> None:
    taken: set[tuple[str, str]] = set()
    for k, automatic in enumerate(spec.automatic):
        source = spec.states.get(automatic.from_)
        if source is None:
            continue
        if (automatic.on, automatic.from_) in taken:
            found.add(["automatic", k, "from"], "duplicate",
                      "One automatic transition per trigger and state.")
        taken.add((automatic.on, automatic.from_))
        if source.kind in FINAL_KINDS:
            found.add(["automatic", k, "from"], "from_final_state",
                      "A final state (decision, withdrawn) has no way out.")
        elif automatic.on == "deadline.expired" and source.deadline is None:
            found.add(["automatic", k, "from"], "no_deadline",
                      "'deadline.expired' is taken only from a state with a deadline.")
        elif automatic.on == "parts.answered" and not source.parts:
            found.add(["automatic", k, "from"], "no_parts",
                      "'parts.answered' is taken only from a state with parts.")
        elif automatic.on == "payment.succeeded" and source.kind != "payment":
            found.add(["automatic", k, "from"], "not_payment_state",
                      "'payment.succeeded' is taken only from the payment state.")


def _edges(spec: ProcessSpec) -> list[tuple[str, str]]:
    edges = [(source, t.to) for t in spec.transitions for source in t.from_]
    edges += [(a.from_, a.to) for a in spec.automatic]
    return [(a, b) for a, b in edges if a in spec.states and b in spec.states]


def _reachable(spec: ProcessSpec, start: list[str]) -> list[str]:
    """States reachable from ``start``, breadth first, in edge order."""
    edges = _edges(spec)
    seen = [s for s in dict.fromkeys(start) if s in spec.states]
    queue = deque(seen)
    while queue:
        current = queue.popleft()
        for source, target in edges:
            if source == current and target not in seen:
                seen.append(target)
                queue.append(target)
    return seen


def _check_graph(spec: ProcessSpec, found: _Findings) -> None:
    payment_states = [s for s, state in spec.states.items() if state.kind == "payment"]
    for name in payment_states:
        if not any(a.on == "payment.succeeded" and a.from_ == name and a.to == spec.initial
                   for a in spec.automatic):
            found.add(["states", name], "payment_leads_to_initial",
                      "The payment state moves to 'initial' on 'payment.succeeded'.")
    reachable = set(_reachable(spec, [spec.initial, *payment_states]))
    # Backwards from the final states: which states can still end.
    ending = {s for s in spec.states if _final(spec, s)}
    edges = _edges(spec)
    grew = True
    while grew:
        grew = False
        for source, target in edges:
            if target in ending and source not in ending:
                ending.add(source)
                grew = True
    for name in spec.states:
        if spec.initial in spec.states and name not in reachable:
            found.add(["states", name], "unreachable",
                      "No case reaches this state from 'initial' or the payment state.")
        if name not in ending:
            found.add(["states", name], "no_way_to_end",
                      "No final state (decision, withdrawn) is reachable from here.")
