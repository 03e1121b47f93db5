"""``CITY_HTTP_WORKERS`` and the pieces of :mod:`city_shared.serve` that need no process (the
processes themselves: ``shared/tests/integration/test_serve_workers.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from city_shared import serve
from city_shared.settings import ServiceSettings


def test_one_worker_unless_configured(environ: pytest.MonkeyPatch) -> None:
    assert ServiceSettings(service_name="svc").http_workers == 1
    environ.setenv("CITY_HTTP_WORKERS", "2")
    assert ServiceSettings(service_name="svc").http_workers == 2


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_worker_count_below_one_is_refused(environ: pytest.MonkeyPatch, value: str) -> None:
    environ.setenv("CITY_HTTP_WORKERS", value)
    with pytest.raises(ValidationError, match="http_workers"):
        ServiceSettings(service_name="svc")


def test_workers_need_a_module_level_factory() -> None:
    def local_factory(settings: Any = None) -> Any:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="not an importable"):
        serve._import_path(local_factory)
    assert serve._import_path(serve.worker_app) == "city_shared.serve:worker_app"  # type: ignore[arg-type]


def test_the_metrics_directory_is_fresh_and_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    left_by_a_killed_supervisor = tmp_path / f"city-metrics-svc-{dead_pid}"
    left_by_a_killed_supervisor.mkdir()
    running = tmp_path / f"city-metrics-svc-{os.getppid()}"  # a supervisor still running
    running.mkdir()
    other_service = tmp_path / f"city-metrics-other-{dead_pid}"
    other_service.mkdir()

    with serve.metrics_dir("svc") as path:
        assert path == tmp_path / f"city-metrics-svc-{os.getpid()}"
        assert list(path.iterdir()) == []
        assert not left_by_a_killed_supervisor.exists()
        (path / "counter_1.db").write_bytes(b"")

    assert not path.exists()
    assert running.exists()
    assert other_service.exists()
