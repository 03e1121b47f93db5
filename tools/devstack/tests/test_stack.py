"""The orchestrator behind `make up/down/status`: the whole stack really starts and really stops.

The end-to-end test moves every port to a free one and the state to a temporary directory, so
it never touches a developer's `.local/stack` or ports 8001-8005; whatever happens, its
teardown runs `devstack down` and then kills any process still naming that directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.config import (
    SERVICES,
    ConfigError,
    StackConfig,
    api_port_var,
    api_workers_var,
)
from devstack.paths import repo_root
from devstack.runner import port_problems
from devstack.state import (
    ChildRecord,
    StackState,
    find_child,
    process_alive,
    read_state,
    stack_alive,
    write_state,
)
from devstack.testing import LocalStack, processes_naming
from devstack.testing import local_stack as running_local_stack

# -- configuration and state (no servers) -------------------------------------------------------


def test_every_port_is_overridable_and_a_bad_value_names_its_variable(tmp_path: Path) -> None:
    env = {api_port_var("payment"): "18003", "CITY_STACK_DIR": str(tmp_path / "s")}
    config = StackConfig.from_env(env, repo_root())
    assert {s.name: s.api_port for s in config.services}["payment"] == 18003
    assert config.state_file == tmp_path / "s" / "stack.json"
    with pytest.raises(ConfigError, match="CITY_STACK_POSTGRES_PORT"):
        StackConfig.from_env({"CITY_STACK_POSTGRES_PORT": "5432x"}, repo_root())


def test_ticketing_serves_its_api_from_two_processes_unless_told(tmp_path: Path) -> None:
    config = StackConfig.from_env({"CITY_STACK_DIR": str(tmp_path)}, repo_root())
    assert {s.name: s.api_workers for s in config.services} == {
        "identity": 1, "case": 1, "payment": 1, "notification": 1, "ticketing": 2}
    env = {"CITY_STACK_DIR": str(tmp_path), api_workers_var("case"): "3"}
    assert {s.name: s.api_workers for s in StackConfig.from_env(env, repo_root()).services}[
        "case"] == 3
    with pytest.raises(ConfigError, match="CITY_STACK_TICKETING_API_WORKERS"):
        StackConfig.from_env({api_workers_var("ticketing"): "0"}, repo_root())


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


@pytest.fixture
def local_stack() -> Iterator[LocalStack]:
    with running_local_stack() as stack:
        yield stack


def _port_is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(600)
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
    assert "nothing to restore" in again.stdout, again.stdout

    _a_killed_worker_comes_back(local_stack)
    _a_killed_supervisor_is_reported_and_up_restores_the_stack(local_stack)
    state = read_state(config.state_file)
    assert state is not None
    # ticketing's API is served by two worker processes under its supervisor (the record).
    api_workers = _worker_processes(_record(local_stack, "ticketing-api").pid)
    assert len(api_workers) == 2, api_workers
    ticketing_status = local_stack.devstack("status", timeout=30).stdout
    row = next(line.split() for line in ticketing_status.splitlines()
               if line.strip().startswith("ticketing ") and "/readyz" in line)
    assert row[-1] == "200", ticketing_status

    down = local_stack.devstack("down", timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not config.state_file.exists()
    assert processes_naming(str(local_stack.dir)) == []  # broker, PostgreSQL, the run itself
    survivors = [c.name for c in state.children if process_alive(c.pid, c.marker)]
    assert survivors == [], f"survived `devstack down`: {survivors}"
    orphans = [pid for pid in api_workers if Path(f"/proc/{pid}").exists()]
    assert orphans == [], f"API worker processes survived `devstack down`: {orphans}"
    listening = [c.port for c in config.bound_ports() if _port_is_listening(c.port)]
    assert listening == []
    print(f"devstack up took {startup:.1f}s")  # shown with -s, for the record

    nothing = local_stack.devstack("down", timeout=30)
    assert nothing.returncode == 0
    assert "No stack is running" in nothing.stdout


def _worker_processes(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under the API supervisor ``pid``."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            children += [int(c) for c in (task / "children").read_text().split()]
    workers = []
    for child in children:
        with contextlib.suppress(FileNotFoundError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
    return workers


def _record(stack: LocalStack, name: str) -> ChildRecord:
    state = read_state(stack.config.state_file)
    assert state is not None
    record = find_child(state, name)
    assert record is not None
    return record


def _eventually(predicate: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.2)


def _a_killed_worker_comes_back(stack: LocalStack) -> None:
    killed = _record(stack, "payment-worker").pid
    os.kill(killed, signal.SIGKILL)
    _eventually(lambda: _record(stack, "payment-worker").pid != killed
                and _record(stack, "payment-worker").status == "running", "a new payment-worker")
    status = stack.devstack("status", timeout=30).stdout
    row = next(line.split() for line in status.splitlines()
               if line.strip().startswith("payment-worker "))
    assert (row[1], row[3]) == ("running", "1"), status
    assert "was killed by SIGKILL" in " ".join(row)
    log = (stack.config.logs_dir / "payment-worker.log").read_text()
    assert f"(pid {killed})" in log  # the first run's lines are kept
    assert "restart #1 of payment-worker" in log


def _a_killed_supervisor_is_reported_and_up_restores_the_stack(stack: LocalStack) -> None:
    config = stack.config
    state = read_state(config.state_file)
    assert state is not None
    before = config.stack_log.read_text()
    os.kill(state.pid, signal.SIGKILL)
    _eventually(lambda: not stack_alive(state), "the supervisor is gone")
    status = stack.devstack("status", timeout=30).stdout
    assert f"supervisor (pid {state.pid}, `devstack run`) is not running" in status, status

    up = stack.devstack("up", timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"supervisor (pid {state.pid}) is gone" in up.stdout
    restored = read_state(config.state_file)
    assert restored is not None
    assert stack_alive(restored)
    assert restored.status == "ready"
    assert all(process_alive(c.pid, c.marker) for c in restored.children)
    assert config.stack_log.read_text().startswith(before)  # appended, not truncated
    for service in config.services:
        assert httpx.get(f"{service.base_url}/readyz", timeout=5).status_code == 200
