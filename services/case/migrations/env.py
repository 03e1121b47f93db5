"""Alembic environment of the case service (its own database)."""

from case_service.db import metadata
from city_shared.migrations import run_migrations

run_migrations(metadata)
