"""A service's process as data: the shape of ``ServiceDefinition.process`` (versioned with the
definition; None means :data:`~case_service.process.default.DEFAULT_PROCESS`).

A process is a set of **states** (each with a citizen-facing label, a ``kind`` that says whose
turn it is, optional parts for other departments and an optional deadline), the **transitions**
people take between them (each names the roles that may take it: ``clerk``, ``manager`` of the
responsible department, or the ``applicant``), and **automatic** transitions the service takes on
a trigger (``payment.succeeded``, ``parts.answered``, ``deadline.expired``).

Shapes only; whether a process is sound (reachable states, reachable end, roles on every
transition) is checked by :func:`case_service.process.validation.check_process`.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "Actor",
    "AutomaticTransition",
    "DeadlineSpec",
    "PartSpec",
    "ProcessSpec",
    "StateKind",
    "StateSpec",
    "Text",
    "Transition",
    "Trigger",
]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
"""A state or action name: ``in_review``, ``request_information`` (fits ``cases.status``)."""
PartKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Actor: TypeAlias = Literal["clerk", "manager", "applicant"]
"""Who takes a transition: staff with that role in the case's responsible department, or the
applicant (the citizen the case is for, or the city system that submitted it)."""
Trigger: TypeAlias = Literal["payment.succeeded", "parts.answered", "deadline.expired"]
StateKind: TypeAlias = Literal["payment", "work", "applicant", "decision", "withdrawn"]
"""Whose turn it is: ``payment`` the applicant's fee, ``work`` staff's, ``applicant`` the
applicant's answer; ``decision`` and ``withdrawn`` are final states."""
FINAL_KINDS: frozenset[str] = frozenset({"decision", "withdrawn"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A label in German and English."""

    de: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PartSpec(_Model):
    """A contribution another department makes while the case is in the state that names it
    (e.g. the traffic department's check of a parking permit). The tenant's parameters say
    which department answers (``ServiceParameters.part_departments[key]``; missing: the
    responsible department itself)."""

    key: PartKey
    label: Text
    due_days: Annotated[int, Field(ge=1, le=365)] = 10
    """Calendar days the asked department has to answer."""


class DeadlineSpec(_Model):
    """The deadline of a state (e.g. the applicant's answer to a request for information):
    ``days`` after entering it unless the transition that entered it sets another; a reminder
    ``remind_days_before`` the end (0: none); on expiry the ``deadline.expired`` automatic
    transition of the state is taken."""

    days: Annotated[int, Field(ge=1, le=365)] = 14
    remind_days_before: Annotated[int, Field(ge=0, le=60)] = 3


class StateSpec(_Model):
    label: Text
    kind: StateKind = "work"
    decision: Literal["approved", "rejected"] | None = None
    """For ``kind == "decision"``: what the decision is."""
    parts: Annotated[list[PartSpec], Field(max_length=10)] = Field(default_factory=list)
    """Opened once per case when it first enters this state."""
    parts_mode: Literal["parallel", "sequence"] = "parallel"
    """``sequence``: a part opens when the one before it is answered."""
    deadline: DeadlineSpec | None = None


class Transition(_Model):
    """A step people take. ``action`` names it in the API (``POST /cases/{id}/actions/
    {action}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    action: Name
    label: Text
    from_: Annotated[list[Name], Field(alias="from", min_length=1, max_length=20)]
    to: Name
    roles: Annotated[list[Actor], Field(max_length=3)]
    """Who may take it; the check refuses an empty list."""
    public_note: bool = False
    """A note for the applicant is required (e.g. what is missing, why it was rejected)."""
    requires_parts_answered: bool = False
    """Refused (409 ``parts_open``) while a part of the case is not answered."""
    information_request: bool = False
    """Taking it asks the applicant for information (fields, attachment kinds, deadline); the
    target state should be of kind ``applicant``."""
    refund: bool = False
    """Taking it pays a paid fee back (a withdrawal before processing started)."""


class AutomaticTransition(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    on: Trigger
    from_: Annotated[Name, Field(alias="from")]
    to: Name


class ProcessSpec(_Model):
    initial: Name = "submitted"
    """Where a case without a fee due starts (with a fee due it starts in the state of kind
    ``payment`` and moves here on ``payment.succeeded``)."""
    states: Annotated[dict[Name, StateSpec], Field(min_length=2, max_length=40)]
    transitions: Annotated[list[Transition], Field(min_length=1, max_length=100)]
    automatic: Annotated[list[AutomaticTransition], Field(max_length=40)] = Field(
        default_factory=list)
