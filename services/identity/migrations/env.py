"""Alembic environment of the identity service (its own database)."""

from city_shared.migrations import run_migrations
from identity_service.db import metadata

run_migrations(metadata)
