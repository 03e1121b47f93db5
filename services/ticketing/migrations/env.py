"""Alembic environment of the ticketing service (its own database)."""

from city_shared.migrations import run_migrations
from ticketing_service.db import metadata

run_migrations(metadata)
