"""The worker process knows every table of the migrated schema before it handles an event: a
payment answer writes a case, whose foreign keys name the catalogue's tables, and the worker
imports no router that would have pulled those models in (it dead-lettered every payment answer
once). Checked in a fresh interpreter, as the worker starts."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

IMPORTED_TABLES = (
    "import json, case_service.worker\n"
    "from case_service.db import metadata\n"
    "print(json.dumps(sorted(metadata.tables)))\n"
)


async def test_the_worker_imports_every_table_of_the_schema(case_db: Any) -> None:
    migrated = {r.tablename for r in await case_db.rows(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'")}
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", IMPORTED_TABLES], capture_output=True, text=True,
        check=True, timeout=60)
    known = set(json.loads(result.stdout.strip().splitlines()[-1]))

    assert migrated - known == set()
