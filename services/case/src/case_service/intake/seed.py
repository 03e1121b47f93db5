"""The demo's intake destinations: one per tenant for the citizens' office, accepting the
library services that office is responsible for, each with fresh key pairs (encryption and
event signing). Idempotent: a
tenant that has its destination keeps it (and its key)."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from case_service.catalogue.models import Service, ServiceParameters
from case_service.intake.keys import cipher_from_settings, new_key
from case_service.intake.models import Destination
from case_service.settings import CaseSettings
from city_shared.db import create_session_factory

__all__ = ["DEMO_DEPARTMENT", "DEMO_TENANTS", "demo_destination_id", "seed_destinations"]

DEMO_TENANTS: Final = ("musterstadt", "beispielhausen")
DEMO_DEPARTMENT: Final = "citizens-office"
_NAMESPACE: Final = uuid.UUID("9a7c3f4e-1b2d-5e6f-8a9b-0c1d2e3f0004")


def demo_destination_id(tenant: str) -> uuid.UUID:
    """The stable id of ``tenant``'s demo destination (for the README's curl examples)."""
    return uuid.uuid5(_NAMESPACE, f"destination:{tenant}:{DEMO_DEPARTMENT}")


async def seed_destinations(engine: AsyncEngine, settings: CaseSettings | None = None,
                            *, key_bits: int = 4096) -> None:
    """Create the missing demo destinations; call after the library is seeded (a destination
    accepts the services whose parameters name the citizens' office)."""
    cipher = cipher_from_settings(settings or CaseSettings())
    sessions = create_session_factory(engine)
    async with sessions() as session, session.begin():
        for tenant in DEMO_TENANTS:
            destination_id = demo_destination_id(tenant)
            if await session.get(Destination, destination_id) is not None:
                continue
            keys = await session.scalars(
                select(Service.leika_key).join(ServiceParameters,
                                               ServiceParameters.service_id == Service.id)
                .where(ServiceParameters.tenant == tenant,
                       ServiceParameters.department == DEMO_DEPARTMENT)
                .distinct().order_by(Service.leika_key))
            key, signing = new_key(key_bits), new_key(key_bits, use="sig")
            session.add(Destination(
                id=destination_id, tenant=tenant, department=DEMO_DEPARTMENT,
                services=list(keys), encryption_kid=key.kid, public_jwk=key.public_jwk,
                private_jwk_encrypted=cipher.encrypt(key.private_jwk),
                signing_kid=signing.kid, signing_public_jwk=signing.public_jwk,
                signing_private_jwk_encrypted=cipher.encrypt(signing.private_jwk),
                status="active"))
