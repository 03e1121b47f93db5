"""The orchestrator behind `make up/down/status`: the whole stack really starts and really stops.

The end-to-end test moves every port to a free one and the state to a temporary directory, so
it never touches a developer's `.local/stack` or ports 8001-8005; whatever happens, its
teardown runs `devstack down` and then kills any process still naming that directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.config import (
    ENV_KAFKA_BOOTSTRAP,
    SERVICES,
    ConfigError,
    StackConfig,
    api_port_var,
    metrics_port_var,
)
from devstack.paths import repo_root
from devstack.ports import free_ports
from devstack.runner import port_problems
from devstack.state import StackState, process_alive, read_state, stack_alive, write_state

# -- configuration and state (no servers) -------------------------------------------------------


def test_every_port_is_overridable_and_a_bad_value_names_its_variable(tmp_path: Path) -> None:
    env = {api_port_var("payment"): "18003", "CITY_STACK_DIR": str(tmp_path / "s")}
    config = StackConfig.from_env(env, repo_root())
    assert {s.name: s.api_port for s in config.services}["payment"] == 18003
    assert config.state_file == tmp_path / "s" / "stack.json"
    with pytest.raises(ConfigError, match="CITY_STACK_POSTGRES_PORT"):
        StackConfig.from_env({"CITY_STACK_POSTGRES_PORT": "5432x"}, repo_root())


def test_a_busy_port_is_reported_with_the_variable_that_moves_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"CITY_STACK_DIR": str(tmp_path), api_port_var("case"): str(port)}
        problems = port_problems(StackConfig.from_env(env, repo_root()))
    assert any(str(port) in p and api_port_var("case") in p for p in problems), problems


def test_two_services_on_one_port_is_a_configuration_error(tmp_path: Path) -> None:
    env = {"CITY_STACK_DIR": str(tmp_path), "CITY_STACK_SMTP_PORT": "8001"}
    problems = StackConfig.from_env(env, repo_root()).duplicate_ports()
    assert problems == [
        "port 8001 is configured for both SMTP (CITY_STACK_SMTP_PORT) "
        "and identity-api (CITY_STACK_IDENTITY_PORT)"
    ]


def test_a_state_file_of_a_dead_or_foreign_process_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "stack.json"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        write_state(path, StackState(pid=sleeper.pid, status="ready"))
        state = read_state(path)
        assert state is not None
        assert state.status == "ready"
        assert not stack_alive(state)  # alive, but not devstack: a reused pid
    finally:
        sleeper.kill()
        sleeper.wait()
    path.write_text("{not json")
    assert read_state(path) is None


# -- the whole stack -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalStack:
    dir: Path
    env: dict[str, str]
    config: StackConfig

    def devstack(self, *args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "devstack", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=repo_root(),
        )


def _processes_naming(text: str) -> list[int]:
    """Pids whose command line mentions `text` (our servers name their data directory)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _kill_everything_of(stack: LocalStack) -> None:
    """Last resort after a failed test: nothing started from the temporary directory survives."""
    state = read_state(stack.config.state_file)
    pids = [c.pid for c in state.children] + [state.pid] if state else []
    for pid in pids + _processes_naming(str(stack.dir)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def local_stack() -> Iterator[LocalStack]:
    root = Path(tempfile.mkdtemp(prefix="citystack-"))
    root.chmod(0o711)  # the postgres user must reach the cluster inside
    names = ["POSTGRES", "KAFKA", "KAFKA_CONTROLLER", "SMTP"]
    variables = [f"CITY_STACK_{n}_PORT" for n in names]
    variables += [api_port_var(s) for s in SERVICES] + [metrics_port_var(s) for s in SERVICES]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (ENV_KAFKA_BOOTSTRAP, "CITY_STACK_DATABASE_ADMIN_URL")
    }
    env.update(zip(variables, map(str, free_ports(len(variables))), strict=True))
    env.update(
        {
            "CITY_STACK_DIR": str(root / "stack"),
            "CITY_STACK_DEMO_FILE": str(root / "demo.json"),
            "CITY_STACK_READY_TIMEOUT": "90",
        }
    )
    stack = LocalStack(root, env, StackConfig.from_env(env, repo_root()))
    try:
        yield stack
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            stack.devstack("down", timeout=120)
        _kill_everything_of(stack)
        shutil.rmtree(root, ignore_errors=True)


def _port_is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_up_serves_every_api_and_down_stops_every_process(local_stack: LocalStack) -> None:
    config = local_stack.config
    started = time.monotonic()
    up = local_stack.devstack("up")
    startup = time.monotonic() - started
    assert up.returncode == 0, up.stdout + up.stderr
    assert "[8/8]" in up.stdout
    assert "Stack ready" in up.stdout

    for service in config.services:
        assert httpx.get(f"{service.base_url}/readyz", timeout=5).status_code == 200
    demo = json.loads(config.demo_file.read_text())
    assert {t["slug"] for t in demo["tenants"]} >= {"musterstadt"}
    ticketing = demo["ticketing"]["tenants"]["musterstadt"]["offerings"]
    assert ticketing["hallenbad"]["first_slot_today"]["id"]

    state = read_state(config.state_file)
    assert state is not None
    assert state.status == "ready"
    assert stack_alive(state)
    names = {c.name for c in state.children}
    assert names >= {f"{s}-api" for s in SERVICES} | {f"{s}-worker" for s in SERVICES}
    assert {"smtp", "kafka"} <= names

    again = local_stack.devstack("up", timeout=30)
    assert again.returncode == 0
    assert "already running" in again.stdout, again.stdout

    down = local_stack.devstack("down", timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not config.state_file.exists()
    assert _processes_naming(str(local_stack.dir)) == []  # broker, PostgreSQL, the run itself
    survivors = [c.name for c in state.children if process_alive(c.pid, c.marker)]
    assert survivors == [], f"survived `devstack down`: {survivors}"
    listening = [c.port for c in config.bound_ports() if _port_is_listening(c.port)]
    assert listening == []
    print(f"devstack up took {startup:.1f}s")  # shown with -s, for the record

    nothing = local_stack.devstack("down", timeout=30)
    assert nothing.returncode == 0
    assert "No stack is running" in nothing.stdout
