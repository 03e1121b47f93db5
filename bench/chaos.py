"""``make chaos`` (``python -m bench.chaos``): the ticket purchase journey at a steady rate against
a throwaway local stack while the broker, PostgreSQL, workers and APIs are SIGKILLed one at a
time; then a drain and a per-kill report of what citizens lost, got twice or still wait for.

The stack runs on free ports in a temporary directory (``devstack.testing.local_stack``), never
the developer's ``make up`` stack; its supervisor restarts what is killed. A phase is the
baseline (no kill) or one kill: from the kill until the next one, recovery and ``--pause``
seconds of steady load included. Purchases count in the phase they were placed in, answers in
the phase they arrived in. The report is printed and written into ``docs/reliability.md`` (see
there how to read it). Not a test: it reports, it does not fix or assert.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench import report
from bench.chaos_audit import audit, drain
from bench.chaos_faults import DEFAULT_KILLS, QUICK_KILLS, admin_dsn, kill_and_recover
from bench.chaos_load import Citizens, login
from bench.chaos_report import (
    Phase,
    Settings,
    block,
    cut_log_lines,
    grid,
    log_marks,
    table,
    update_docs,
)
from bench.infra import quiet_logging, root_path
from devstack.kafka import kafka_version
from devstack.paths import kafka_pom
from devstack.testing import LocalStack, local_stack

TENANT = "musterstadt"
CITIZENS = ("erika.mustermann@example.org", "max.mustermann@example.org")
DOCS = root_path() / "docs" / "reliability.md"
INTRO = "# Reliability\n\nResults of `make chaos` (`bench/chaos.py`).\n"


def say(text: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def seed_offering(stack: LocalStack, hold_minutes: int) -> tuple[str, str]:
    """A pool offering of the demo city with a short hold, one practically endless slot and
    no limits per account (two demo citizens buy thousands of tickets), straight into
    ticketing's database (a test tool's shortcut); returns (ticket type, slot)."""
    conn = await asyncpg.connect(admin_dsn(stack, "city_ticketing"))
    try:
        venue, offering, ticket_type, slot = (uuid.uuid4() for _ in range(4))
        name = f"Chaosbad {venue.hex[:6]}"
        await conn.execute(
            "INSERT INTO venues (id, tenant, department, name) VALUES ($1, $2, 'pools', $3)",
            venue, TENANT, name)
        await conn.execute(
            "INSERT INTO offerings (id, tenant, department, cost_centre, venue_id, kind, name, "
            "status, max_tickets_per_order, hold_minutes, max_tickets_per_account, "
            "max_open_orders_per_account) VALUES ($1, $2, 'pools', 'BAD-5700', $3, 'timed', $4, "
            "'published', 10, $5, 100000000, 100000)", offering, TENANT, venue, name,
            hold_minutes)
        await conn.execute(
            "INSERT INTO ticket_types (id, offering_id, code, name, price) "
            "VALUES ($1, $2, 'adult', 'Erwachsene', 450)", ticket_type, offering)
        starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        await conn.execute(
            "INSERT INTO slots (id, offering_id, tenant, department, starts_at, ends_at, "
            "capacity) VALUES ($1, $2, $3, 'pools', $4, $5, 100000000)",
            slot, offering, TENANT, starts, starts + timedelta(hours=2))
    finally:
        await conn.close()
    return str(ticket_type), str(slot)


async def server_versions(stack: LocalStack) -> tuple[str, bool]:
    conn = await asyncpg.connect(admin_dsn(stack))
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        fsync = str(await conn.fetchval("SHOW fsync")) == "on"
    finally:
        await conn.close()
    return version, fsync


def log_files(stack: LocalStack) -> list[Path]:
    files = sorted(stack.config.logs_dir.glob("*.log"))
    return [*files, stack.config.stack_log]


async def run(args: argparse.Namespace, stack: LocalStack) -> int:
    started = time.monotonic()
    load = os.getloadavg()
    code = report.code_version()
    kills: list[str] = args.kills
    say(f"starting a throwaway stack in {stack.dir} (kills: {', '.join(kills)})")
    up = await asyncio.to_thread(stack.devstack, "up", timeout=420)
    if up.returncode != 0:
        print(up.stdout + up.stderr, file=sys.stderr)
        return 1
    ticket_type, slot = await seed_offering(stack, args.hold_minutes)
    demo = json.loads(stack.config.demo_file.read_text())
    tokens = [await login(stack.base_url("identity"), email, demo["demo_password"])
              for email in CITIZENS]
    run_id = secrets.token_hex(3)
    citizens = Citizens(ticketing=stack.base_url("ticketing"), tokens=tokens,
                        ticket_type=ticket_type, slot=slot, rate=args.rate, run_id=run_id,
                        seed=args.seed, hold_seconds=60.0 * args.hold_minutes)
    files = log_files(stack)
    phases = [Phase(0, "none (baseline)", time.time(), log_marks(files))]
    stop = asyncio.Event()
    say(f"load: {args.rate:g} orders/s; baseline for {args.warmup:g} s")
    load_task = asyncio.create_task(citizens.run(stop))
    await asyncio.sleep(args.warmup)
    for index, name in enumerate(kills, 1):
        citizens.phase = index
        phase = Phase(index, name, time.time(), log_marks(files))
        phases.append(phase)
        say(f"SIGKILL {name}")
        phase.recovery = await kill_and_recover(stack, name, args.recovery_timeout)
        recovery = phase.recovery
        say(f"{name}: back after {recovery.back_after}, whole stack ready after "
            f"{recovery.all_ready_after} s (restarts {recovery.restarts})")
        if recovery.not_ready:
            say(f"not ready after {args.recovery_timeout:g} s: {recovery.not_ready}")
        await asyncio.sleep(args.pause)
    stop.set()
    await load_task
    say(f"load stopped after {len(citizens.purchases)} purchases; waiting for those in flight")
    cancelled = await citizens.finish(timeout=60.0 * args.hold_minutes + 90.0)
    drained = await drain(stack, run_id, args.drain_timeout, say)
    say("auditing")
    tallies = await audit(stack, run_id, citizens.purchases, [p.started_wall for p in phases])
    cut_log_lines(phases, files)
    postgres, fsync = await server_versions(stack)
    machine = report.machine(kafka_version(kafka_pom()), postgres, fsync, load, code)
    print(grid(table(phases, tallies, citizens.answers)))
    settings = Settings(args.rate, args.pause, args.warmup, args.hold_minutes,
                        args.recovery_timeout, args.drain_timeout)
    text = block(machine, settings, kills, phases, tallies, citizens.answers, drained,
                 cancelled, (time.monotonic() - started) / 60)
    print(text)
    if args.docs:
        update_docs(DOCS, text, INTRO)
        say(f"wrote {DOCS}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--kills", nargs="+", default=None, metavar="NAME",
                        help=f"processes to SIGKILL in turn, as stack.json names them "
                             f"(default: {' '.join(DEFAULT_KILLS)})")
    parser.add_argument("--rate", type=float, default=3.0, help="orders per second")
    parser.add_argument("--pause", type=float, default=20.0,
                        help="seconds of steady load after each recovery")
    parser.add_argument("--warmup", type=float, default=20.0,
                        help="seconds of load before the first kill (the baseline)")
    parser.add_argument("--hold-minutes", type=int, default=None,
                        help="how long an order holds its places (default 2, --quick 1)")
    parser.add_argument("--recovery-timeout", type=float, default=120.0)
    parser.add_argument("--drain-timeout", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run: kills {' '.join(QUICK_KILLS)}, 15 s pauses, "
                             f"1 min hold")
    parser.add_argument("--no-docs", dest="docs", action="store_false",
                        help="print only; leave docs/reliability.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.kills = args.kills or list(QUICK_KILLS)
        args.pause = min(args.pause, 15.0)
        args.warmup = min(args.warmup, 15.0)
        args.hold_minutes = args.hold_minutes or 1
    args.hold_minutes = args.hold_minutes or 2
    args.kills = args.kills or list(DEFAULT_KILLS)
    return args


async def main_async(args: argparse.Namespace) -> int:
    # Short holds expire within the run; tokens outlive it; expired holds are swept quickly.
    env = {"CITY_HOLD_SWEEP_INTERVAL_SECONDS": "2", "CITY_ACCESS_TOKEN_TTL_SECONDS": "3600"}
    with local_stack(**env) as stack:
        return await run(args, stack)


def main(argv: list[str] | None = None) -> int:
    quiet_logging()
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
