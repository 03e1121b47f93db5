"""``python -m bench.run`` (``make bench``): the event-backbone benchmark of issue 2.

Starts its own PostgreSQL and Kafka, measures outbox relay throughput against a raw producer and
commit-to-handler latency against "send after commit", profiles when an aim is missed, prints a
table and rewrites the generated part of ``docs/benchmarks.md``. Not a test: it asserts nothing
but the integrity of what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from bench import report
from bench.infra import Infra, quiet_logging, root_path, running_infra
from bench.latency import LatencyResult, measure_latency
from bench.profiling import ProfileSummary, new_profile, profiled, summarise
from bench.relay_costs import per_record_costs
from bench.relay_throughput import fill_outbox, measure_throughput, time_relay
from bench.workload import make_events
from city_shared.relay import DEFAULT_BATCH_SIZE
from city_shared.telemetry import setup_tracing

PROFILE_DIR = root_path() / ".local" / "bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument("--aggregates", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="runs of relay and of raw")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="relay batch (its default)")
    parser.add_argument("--probe-batch-size", type=int, default=2000,
                        help="also time the relay with this batch size (0: skip)")
    parser.add_argument("--rate", type=float, default=200.0, help="latency: events/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="latency: measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="latency: uncounted seconds")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false",
                        help="run PostgreSQL without fsync/synchronous_commit (default: durable)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="cProfile after the measurements: when an aim is missed (auto)")
    parser.add_argument("--no-docs", dest="docs", action="store_false",
                        help="do not rewrite docs/benchmarks.md")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def profile_relay(infra: Infra, events: int, aggregates: int,
                        batch_size: int) -> ProfileSummary:
    """The relay publishing a filled outbox, under cProfile in this process."""
    db = await infra.new_database("bench_profile")
    topic = await infra.new_topic("bench.profile")
    await fill_outbox(infra, db, make_events(events, aggregates, seed=5), topic)
    profile = new_profile()
    seconds, _ = await time_relay(db, infra.bootstrap, events, batch_size=batch_size,
                                  wrap=lambda coro: profiled(coro, profile))
    return summarise(f"relay publishing {events:,} events", profile,
                     PROFILE_DIR / "relay_throughput.prof", wall_seconds=seconds)


async def profile_latency(infra: Infra, rate: float, seconds: float) -> list[ProfileSummary]:
    """The outbox latency path with each role's process under cProfile."""
    out = PROFILE_DIR / "latency"
    out.mkdir(parents=True, exist_ok=True)
    await measure_latency(infra, raw=False, separate=True, rate=rate, seconds=seconds,
                          warmup=1.0, profile_dir=out)
    return [summarise(f"latency path, {role} process ({rate:.0f} events/s, {seconds:.0f} s)",
                      out / f"{role}.prof") for role in ("writer", "relay", "consumer")]


async def main_async(args: argparse.Namespace) -> int:
    setup_tracing("bench")
    started = time.perf_counter()
    load = os.getloadavg()
    code, fingerprint = report.code_version(), report.code_fingerprint()
    if load[0] > 1.0:
        log(f"note: load average {load[0]:.1f} before starting; other work on this machine "
            "will show in the figures")
    log(f"starting PostgreSQL (fsync {'on' if args.fsync else 'off'}) and Kafka ...")
    async with running_infra(fsync=args.fsync) as infra:
        log(f"servers up after {time.perf_counter() - started:.0f} s; relay throughput ...")
        throughput = await measure_throughput(
            infra, events=args.events, aggregates=args.aggregates, repeats=args.repeats,
            batch_size=args.batch_size, extra_batch_size=args.probe_batch_size or None, log=log,
        )
        latencies: list[LatencyResult] = []
        for name, raw, separate in (("through the outbox", False, True),
                                    ("without the outbox (raw baseline)", True, True),
                                    ("through the outbox, all roles in one process", False, False)):
            log(f"latency {name} at {args.rate:.0f}/s for {args.seconds:.0f} s ...")
            latencies.append(await measure_latency(
                infra, raw=raw, separate=separate, rate=args.rate, seconds=args.seconds,
                warmup=args.warmup,
            ))
        costs = await per_record_costs(make_events(5_000, args.aggregates, seed=7))
        profiles: list[ProfileSummary] = []
        missed_ratio = not report.ratio_ok(throughput)
        missed_p99 = not report.p99_ok(latencies[0])
        if args.profile == "always" or (args.profile == "auto" and missed_ratio):
            log("profiling the relay ...")
            profiles.append(await profile_relay(infra, args.events, args.aggregates,
                                                args.batch_size))
        if args.profile == "always" or (args.profile == "auto" and missed_p99):
            log("profiling the latency path ...")
            profiles += await profile_latency(infra, args.rate, min(args.seconds, 10.0))
        if report.code_fingerprint() != fingerprint:
            code += " (WARNING: shared/ was edited during the run; figures may mix versions)"
            log("warning: shared/ changed while the benchmark ran; run it again")
        machine = report.machine(infra.kafka_version(), await infra.postgres_version(),
                                 infra.fsync, load, code)
    print(report.console(machine, throughput, latencies, costs, profiles))
    if args.docs:
        path = root_path() / "docs" / "benchmarks.md"
        report.update_docs(path, report.markdown(machine, throughput, latencies, costs,
                                                 profiles, args.warmup))
        log(f"\nwrote {path}")
    log(f"total {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    quiet_logging()
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
