"""A case report as CSV (RFC 4180, header row, one row per department and service): the
columns of :class:`~case_service.worklists.schemas.ServiceReport`, the open cases as one
``open_<status>`` column per status (the default process's open states always, others as
they occur)."""

from __future__ import annotations

import csv
import io
from typing import Final

from case_service.process.default import DEFAULT_PROCESS
from case_service.worklists.finals import DEFAULT_FINALS
from case_service.worklists.schemas import CaseReport

__all__ = ["CSV_MEDIA_TYPE", "report_csv"]

CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
_DEFAULT_OPEN: Final = [s for s in DEFAULT_PROCESS.states if s not in DEFAULT_FINALS]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def report_csv(report: CaseReport) -> str:
    """The report's rows as CSV text (the period is in the file name, not in the rows)."""
    seen = {status for r in report.services for status in r.open}
    statuses = _DEFAULT_OPEN + sorted(seen.difference(_DEFAULT_OPEN))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["department", "service_id", *(f"open_{s}" for s in statuses),
                     "open_total", "open_overdue", "decided", "processing_days_median",
                     "processing_days_p90", "decided_late", "deadline_breaches"])
    for r in report.services:
        writer.writerow([r.department, str(r.service_id), *(r.open.get(s, 0) for s in statuses),
                         r.open_total, r.open_overdue, r.decided,
                         _number(r.processing_days_median), _number(r.processing_days_p90),
                         r.decided_late, r.deadline_breaches])
    return out.getvalue()
