"""Automatic transitions: the process moves a case by itself on a trigger
(``payment.succeeded``, ``parts.answered``, ``deadline.expired``).

``payment.succeeded`` stays with :meth:`Case.paid` (the payment handler, synchronous and
idempotent): it moves ``awaiting_payment`` to ``submitted`` exactly as the default process's
automatic transition does, and a definition's process must start its paid cases in
``submitted`` too (its ``initial``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.process.spec import Trigger
from case_service.settings import CaseSettings
from case_service.workflow.audit import SYSTEM
from case_service.workflow.process_of import process_of
from case_service.workflow.states import Step, enter_state
from city_shared.envelope import Event

__all__ = ["take_automatic"]


async def take_automatic(session: AsyncSession, case: Case, trigger: Trigger | str, *,
                         now: datetime, caused_by: Event | None = None,
                         settings: CaseSettings | None = None) -> bool:
    """The (already row-locked) ``case`` takes the automatic transition of its current state
    for ``trigger`` if its process has one: the event (``status_changed``, or ``decided`` /
    ``withdrawn`` into such a state), history and audit (actor ``system``, action the
    trigger), and the new state's parts and deadline. ``settings`` gives events their case
    URL and a decision its document. False (nothing changed) when no transition applies."""
    process = await process_of(session, case)
    for automatic in process.automatic:
        if automatic.on == trigger and automatic.from_ == case.status:
            await enter_state(session, case, process,
                              Step(to=automatic.to, action=str(trigger), actor=SYSTEM,
                                   actor_kind="system", caused_by=caused_by),
                              now=now, settings=settings)
            return True
    return False
