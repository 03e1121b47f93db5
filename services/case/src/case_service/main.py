"""The case service's API: ``create_app(settings)`` and the ``case-api`` entry point."""

from __future__ import annotations

from fastapi import FastAPI

from case_service.attachments.router import body_limits as attachment_body_limits
from case_service.attachments.router import router as attachments_router
from case_service.cases.router import router as cases_router
from case_service.cases.stalls import stalled_cases
from case_service.catalogue.parameters_router import router as parameters_router
from case_service.catalogue.public_router import router as public_catalogue_router
from case_service.catalogue.router import router as library_router
from case_service.documents.router import router as documents_router
from case_service.drafts.router import router as drafts_router
from case_service.intake.router import ATTACHMENT_ROUTE as INTAKE_ATTACHMENT_ROUTE
from case_service.intake.router import router as intake_router
from case_service.intake.router import upload_limit as intake_upload_limit
from case_service.open311.router import body_limits as open311_body_limits
from case_service.open311.router import router as open311_router
from case_service.openapi_examples import document_examples
from case_service.parts.router import router as parts_router
from case_service.settings import CaseSettings
from case_service.timeline.router import router as timeline_router
from case_service.workflow.router import body_limits as workflow_body_limits
from case_service.workflow.router import router as workflow_router
from case_service.worklists.router import router as worklists_router
from city_shared.app import create_service_app
from city_shared.serve import serve


def create_app(settings: CaseSettings | None = None) -> FastAPI:
    """The ASGI app: the library and its parameters, the public catalogue, drafts and their
    attachments, cases, the FIT-Connect-shaped intake and the Open311 view. Uploads (drafts'
    attachments, Open311 photos) may be as large as ``attachment_max_bytes`` (intake: its JWE of
    that size); other bodies keep the platform's limit."""
    settings = settings or CaseSettings()
    app = create_service_app(
        settings,
        title="City platform: case",
        description="Case management: the library of administrative services, each city's "
                    "parameters, applications from a prefilled draft to a submitted case.",
        routers=[library_router, parameters_router, public_catalogue_router, drafts_router,
                 attachments_router, cases_router, workflow_router, parts_router,
                 worklists_router, documents_router, timeline_router, intake_router,
                 open311_router],
        stalled_sagas=stalled_cases(settings),
        body_limits={**attachment_body_limits(settings), **open311_body_limits(settings),
                     **workflow_body_limits(settings),
                     INTAKE_ATTACHMENT_ROUTE: intake_upload_limit(settings)},
    )
    document_examples(app)
    return app


def run() -> None:
    """Serve the API on ``CITY_HTTP_HOST:CITY_HTTP_PORT`` in ``CITY_HTTP_WORKERS`` processes."""
    serve(create_app, CaseSettings())
