"""HTTP models of worklists and reports: ``WorklistItem`` / ``Worklist``, ``WorklistCounts``,
``ServiceReport`` / ``CaseReport``. No form data, no contact data: staff open a case for that."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

__all__ = ["CaseReport", "ServiceReport", "Worklist", "WorklistCounts", "WorklistItem"]


class WorklistItem(BaseModel):
    """One case of a department's worklist."""

    id: uuid.UUID
    number: str
    service_id: uuid.UUID
    status: str
    assignee: str | None = Field(description="The staff member working it (`sub`), or null.")
    applicant_name: str | None
    submitted_at: datetime
    due_at: datetime | None = Field(description="The decision's target date.")
    overdue: bool = Field(description="`due_at` has passed and the case is not final.")
    state_deadline: datetime | None = Field(description="The current state's deadline.")


class Worklist(BaseModel):
    """A page of a worklist, by due date (cases without one last), then id."""

    items: list[WorklistItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on "
                                                "the last page.")


class WorklistCounts(BaseModel):
    """How many cases of the department are in each status, and how many are overdue."""

    department: str
    statuses: dict[str, int] = Field(description="Status -> number of cases (every status the "
                                                 "department has cases in, final ones too).")
    open: int = Field(description="Cases not in a final status.")
    overdue: int = Field(description="Open cases whose `due_at` has passed.")


class ServiceReport(BaseModel):
    """One service of one department: its open cases now, and its decisions in the period."""

    department: str
    service_id: uuid.UUID
    open: dict[str, int] = Field(description="Open cases now, per status.")
    open_total: int
    open_overdue: int = Field(description="Open cases now past their `due_at` (a breach).")
    decided: int = Field(description="Cases decided in the period.")
    processing_days_median: float | None = Field(
        description="Median of submitted -> decided in days, over the period's decisions.")
    processing_days_p90: float | None = Field(description="90th percentile (interpolated).")
    decided_late: int = Field(description="Decisions in the period after the case's `due_at` "
                                          "(a breach).")
    deadline_breaches: int = Field(description="`decided_late` + `open_overdue`.")


class CaseReport(BaseModel):
    """Cases per service of a department (or of the whole tenant)."""

    tenant: str
    department: str | None = Field(description="Null for the whole tenant.")
    period_from: date = Field(description="First day of the period (UTC), inclusive.")
    period_to: date = Field(description="Last day of the period (UTC), inclusive.")
    generated_at: datetime
    services: list[ServiceReport]
