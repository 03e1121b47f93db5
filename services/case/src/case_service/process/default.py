"""The common process most services use (a definition without ``process`` uses it):

``awaiting_payment -> submitted -> in_review -> (information_requested <-> in_review) ->
approved | rejected``, and ``withdrawn`` by the applicant before a decision (the paid fee is
refunded while the case is ``submitted``, i.e. before processing started).
"""

from __future__ import annotations

import copy
from typing import Any, Final

from case_service.process.spec import ProcessSpec

__all__ = ["DEFAULT_PROCESS", "DEFAULT_PROCESS_DATA", "STAFF", "process_data", "with_parts"]

STAFF: Final = ["clerk", "manager"]


def _t(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


DEFAULT_PROCESS_DATA: Final[dict[str, Any]] = {
    "initial": "submitted",
    "states": {
        "awaiting_payment": {"label": _t("Zahlung ausstehend", "Awaiting payment"),
                             "kind": "payment"},
        "submitted": {"label": _t("Eingegangen", "Received")},
        "in_review": {"label": _t("In Bearbeitung", "In review")},
        "information_requested": {
            "label": _t("Angaben nachgefordert", "Information requested"),
            "kind": "applicant", "deadline": {"days": 14, "remind_days_before": 3}},
        "approved": {"label": _t("Bewilligt", "Approved"), "kind": "decision",
                     "decision": "approved"},
        "rejected": {"label": _t("Abgelehnt", "Rejected"), "kind": "decision",
                     "decision": "rejected"},
        "withdrawn": {"label": _t("Zurückgezogen", "Withdrawn"), "kind": "withdrawn"},
    },
    "transitions": [
        {"action": "start_review", "label": _t("Bearbeitung beginnen", "Start review"),
         "from": ["submitted"], "to": "in_review", "roles": STAFF},
        {"action": "request_information",
         "label": _t("Angaben nachfordern", "Request information"),
         "from": ["in_review"], "to": "information_requested", "roles": STAFF,
         "public_note": True, "information_request": True},
        {"action": "provide_information", "label": _t("Angaben nachreichen",
                                                      "Provide information"),
         "from": ["information_requested"], "to": "in_review", "roles": ["applicant"]},
        {"action": "approve", "label": _t("Bewilligen", "Approve"),
         "from": ["in_review"], "to": "approved", "roles": STAFF,
         "requires_parts_answered": True},
        {"action": "reject", "label": _t("Ablehnen", "Reject"),
         "from": ["in_review"], "to": "rejected", "roles": STAFF, "public_note": True},
        {"action": "withdraw", "label": _t("Zurückziehen", "Withdraw"),
         "from": ["awaiting_payment"], "to": "withdrawn", "roles": ["applicant"]},
        {"action": "withdraw", "label": _t("Zurückziehen", "Withdraw"),
         "from": ["submitted"], "to": "withdrawn", "roles": ["applicant"], "refund": True},
        {"action": "withdraw", "label": _t("Zurückziehen", "Withdraw"),
         "from": ["in_review", "information_requested"], "to": "withdrawn",
         "roles": ["applicant"]},
    ],
    "automatic": [
        {"on": "payment.succeeded", "from": "awaiting_payment", "to": "submitted"},
        {"on": "deadline.expired", "from": "information_requested", "to": "in_review"},
    ],
}

DEFAULT_PROCESS: Final = ProcessSpec.model_validate(DEFAULT_PROCESS_DATA)


def with_parts(state: str, parts: list[dict[str, Any]], *,
               mode: str = "parallel") -> dict[str, Any]:
    """The default process whose ``state`` opens ``parts`` (PartSpec data) for other
    departments (e.g. the parking permit's traffic check while ``in_review``)."""
    data = process_data(None)
    data["states"] = {**data["states"], state: {**data["states"][state], "parts": parts,
                                                 "parts_mode": mode}}
    return data


def process_data(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of a definition's stored process, or of the default one."""
    return copy.deepcopy(stored if stored is not None else DEFAULT_PROCESS_DATA)
