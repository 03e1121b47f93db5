"""The process a case follows: its definition version's ``process`` (parsed once per
definition; definitions are immutable) or the default process."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.catalogue.models import ServiceDefinition
from case_service.process.default import DEFAULT_PROCESS
from case_service.process.spec import ProcessSpec, StateSpec, Transition

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = ["process_of", "remember", "service_name", "state_of", "status_label",
           "transitions_named"]

_CACHE_SIZE: Final = 1024
_cache: dict[uuid.UUID, ProcessSpec] = {}
_names: dict[uuid.UUID, dict[str, str]] = {}


def _parse(stored: object) -> ProcessSpec:
    if stored is None:
        return DEFAULT_PROCESS
    try:
        return ProcessSpec.model_validate(stored)
    except ValueError:
        return DEFAULT_PROCESS


def remember(definition: ServiceDefinition) -> ProcessSpec:
    """Parse and cache the process of ``definition`` (at hand already, e.g. when a case of it
    is opened), so reading its cases' process costs no statement."""
    spec = _cache.get(definition.id)
    if spec is None:
        spec = _parse(definition.process)
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[definition.id] = spec
    return spec


async def process_of(session: AsyncSession, case: Case) -> ProcessSpec:
    """The process of ``case``: its definition's stored
    ``process`` or :data:`DEFAULT_PROCESS` when it has none. A stored process that no longer
    parses (it was validated when saved) counts as none rather than failing the case."""
    definition_id = case.definition_id
    cached = _cache.get(definition_id)
    if cached is not None:
        return cached
    definition = await session.get(ServiceDefinition, definition_id)
    if definition is None:
        return DEFAULT_PROCESS
    return remember(definition)


def state_of(process: ProcessSpec, status: str) -> StateSpec | None:
    """The spec of state ``status``, None for a status the process does not name."""
    return process.states.get(status)


def transitions_named(process: ProcessSpec, action: str) -> list[Transition]:
    """The transitions of ``action`` (several, with disjoint ``from`` sets, e.g. withdraw)."""
    return [t for t in process.transitions if t.action == action]


async def service_name(session: AsyncSession, case: Case) -> str | None:
    """The name of the case's service in the case's locale (German if missing)."""
    names = _names.get(case.definition_id)
    if names is None:
        definition = await session.get(ServiceDefinition, case.definition_id)
        stored = {} if definition is None else definition.names
        names = {str(k): str(v) for k, v in stored.items()}
        if len(_names) >= _CACHE_SIZE:
            _names.clear()
        _names[case.definition_id] = names
    return names.get(case.locale) or names.get("de")


def status_label(process: ProcessSpec, case: Case) -> str | None:
    """The label of the case's status in its locale."""
    state = process.states.get(case.status)
    if state is None:
        return None
    return state.label.en if case.locale == "en" else state.label.de
