"""Alembic environment of the notification service (its own database)."""

from city_shared.migrations import run_migrations
from notification_service.db import metadata

run_migrations(metadata)
