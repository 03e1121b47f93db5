"""Alembic environment of the payment service (its own database)."""

from city_shared.migrations import run_migrations
from payment_service.db import metadata

run_migrations(metadata)
