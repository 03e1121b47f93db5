"""The case worker's periodic jobs, each ``job(sessions, settings, stop)`` running until ``stop``:
one line per job, added by the slice that owns it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from case_service.drafts.expiry import expire_drafts
from case_service.intake.cleanup import run_incomplete_cleanup
from case_service.open311.ratelimit import purge_report_log
from case_service.retention import run_retention
from case_service.settings import CaseSettings
from case_service.workflow.deadlines import run_deadlines

__all__ = ["JOBS", "Job"]

Job = Callable[[async_sessionmaker[AsyncSession], CaseSettings, asyncio.Event],
               Coroutine[Any, Any, None]]

JOBS: tuple[Job, ...] = (
    expire_drafts,
    run_incomplete_cleanup,
    purge_report_log,
    run_retention,
    run_deadlines,
)
