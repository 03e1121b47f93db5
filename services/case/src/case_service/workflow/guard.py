"""The checks before a change of a case: the case visible to the caller and row locked, then
its version against ``If-Match`` (so of two clerks deciding at once exactly one wins)."""

from __future__ import annotations

import re
import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import repository
from case_service.cases.errors import CaseNotFound
from case_service.cases.models import Case
from case_service.workflow.errors import CaseVersionMismatch, PreconditionRequired
from city_shared.visibility import Visibility

__all__ = ["etag", "locked_case", "parse_if_match"]

_TAG: Final = re.compile(r'^\s*(?:W/)?"?([0-9]{1,9})"?\s*$')


def etag(case: Case) -> str:
    """The case's entity tag: its version, quoted."""
    return f'"{case.version}"'


def parse_if_match(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (``"3"``, ``W/"3"`` or ``3``); -1 for any other
    value (it matches no version); None when the header is absent or blank."""
    if if_match is None or not if_match.strip():
        return None
    match = _TAG.match(if_match)
    return int(match.group(1)) if match else -1


async def locked_case(session: AsyncSession, v: Visibility, case_id: uuid.UUID,
                      if_match: str | None) -> Case:
    """The case ``v`` sees, row locked (``SELECT ... FOR UPDATE``), at the version
    ``if_match`` names.

    :raises CaseNotFound: (404) not visible. :raises PreconditionRequired: (428) no
        ``If-Match``. :raises CaseVersionMismatch: (412) another version.
    """
    case = await repository.get_visible(session, v, case_id, for_update=True)
    if case is None:
        raise CaseNotFound()
    wanted = parse_if_match(if_match)
    if wanted is None:
        raise PreconditionRequired()
    if wanted != case.version:
        raise CaseVersionMismatch(case.version)
    return case
