"""A whole local stack for a test: every service's API and worker as its own process, with
PostgreSQL, Kafka and the SMTP sink, on free ports in a temporary directory.

:func:`local_stack` never touches a developer's ``.local/stack`` or ports 8001-8005; whatever
happens, leaving it runs ``devstack down`` and then kills any process still naming the
directory. :meth:`LocalStack.devstack` runs the orchestrator's CLI against it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.config import (
    ENV_KAFKA_BOOTSTRAP,
    SERVICES,
    StackConfig,
    api_port_var,
    metrics_port_var,
)
from devstack.paths import repo_root
from devstack.ports import free_ports
from devstack.state import read_state

__all__ = ["LocalStack", "local_stack", "processes_naming"]


@dataclass(frozen=True)
class LocalStack:
    """A stack's directory, the environment its CLI runs with, and its configuration."""

    dir: Path
    env: dict[str, str]
    config: StackConfig

    def devstack(self, *args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
        """Run ``python -m devstack <args>`` for this stack."""
        return subprocess.run(
            [sys.executable, "-m", "devstack", *args], env=self.env, capture_output=True,
            text=True, timeout=timeout, cwd=repo_root(), check=False,
        )

    def base_url(self, service: str) -> str:
        """The API base URL of ``service``."""
        return next(s.base_url for s in self.config.services if s.name == service)


def processes_naming(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (our servers name their data directory)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _kill_everything_of(stack: LocalStack) -> None:
    state = read_state(stack.config.state_file)
    pids = [c.pid for c in state.children] + [state.pid] if state else []
    for pid in pids + processes_naming(str(stack.dir)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def local_stack(**extra_env: str) -> Iterator[LocalStack]:
    """A configured (not yet started) stack; stopped and removed on exit."""
    root = Path(tempfile.mkdtemp(prefix="citystack-"))
    root.chmod(0o711)  # the postgres user must reach the cluster inside
    names = ["POSTGRES", "KAFKA", "KAFKA_CONTROLLER", "SMTP"]
    variables = [f"CITY_STACK_{n}_PORT" for n in names]
    variables += [api_port_var(s) for s in SERVICES] + [metrics_port_var(s) for s in SERVICES]
    env = {k: v for k, v in os.environ.items()
           if k not in (ENV_KAFKA_BOOTSTRAP, "CITY_STACK_DATABASE_ADMIN_URL")}
    env.update(zip(variables, map(str, free_ports(len(variables))), strict=True))
    env.update({
        "CITY_STACK_DIR": str(root / "stack"),
        "CITY_STACK_DEMO_FILE": str(root / "demo.json"),
        "CITY_STACK_READY_TIMEOUT": "90",
        **extra_env,
    })
    stack = LocalStack(root, env, StackConfig.from_env(env, repo_root()))
    try:
        yield stack
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            stack.devstack("down", timeout=120)
        _kill_everything_of(stack)
        shutil.rmtree(root, ignore_errors=True)
