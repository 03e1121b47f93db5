"""cProfile (CPU-time clock) of a relay run and of each process of a latency run, summarised.

Runs only when an aim is missed (or on request), never inside a timed measurement. The profiler
counts CPU time (``time.process_time``), so waiting on the network costs nothing and what is
left is where the Python process burns its single core. Summaries give own time by package (C
functions are attributed to the type's module), the hottest functions, and the inclusive CPU
time of the backbone's key steps. The ``.prof`` files stay under ``.local/bench/`` for
``python -m pstats`` or snakeviz.
"""

from __future__ import annotations

import cProfile
import pstats
import re
import time
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_PACKAGE = re.compile(r"(?:site-packages|src)/([A-Za-z_][A-Za-z0-9_]*)")
_C_OWNER = re.compile(r"of '([\w.]+)' objects")
#: (label, file path suffix, function name): inclusive CPU of the steps the report discusses.
#: Nothing that runs inside SQLAlchemy's greenlets: cProfile's stack does not follow greenlet
#: switches, so their inclusive times would count whatever ran meanwhile.
KEY_STEPS: tuple[tuple[str, str, str], ...] = (
    ("relay: one batch (_publish)", "city_shared/relay.py", "_publish"),
    ("pydantic: model_validate (Event)", "pydantic/main.py", "model_validate"),
    ("relay: stored_to_kafka", "city_shared/envelope.py", "stored_to_kafka"),
    ("raw/writer: to_kafka", "city_shared/envelope.py", "to_kafka"),
    ("relay/writer: AIOKafkaProducer.send", "aiokafka/producer/producer.py", "send"),
    ("consumer: from_kafka", "city_shared/envelope.py", "from_kafka"),
    ("consumer: offset commit", "aiokafka/consumer/consumer.py", "commit"),
    ("sqlalchemy: pool pre-ping", "sqlalchemy/engine/default.py", "_do_ping_w_event"),
    ("otel: span starts (SDK)", "opentelemetry/sdk/trace/__init__.py", "start_span"),
    ("otel: SQL statement spans (before)", "instrumentation/sqlalchemy/engine.py",
     "_before_cur_exec"),
    ("writer: new_event", "city_shared/envelope.py", "new_event"),
)


@dataclass
class ProfileSummary:
    """Where the CPU time of one profiled process went."""

    title: str
    cpu_seconds: float
    wall_seconds: float | None
    by_package: list[tuple[str, float]] = field(default_factory=list)
    top_functions: list[tuple[str, int, float]] = field(default_factory=list)
    key_steps: list[tuple[str, float]] = field(default_factory=list)
    path: Path | None = None


def new_profile() -> cProfile.Profile:
    return cProfile.Profile(time.process_time)


async def profiled(coro: Awaitable[T], profile: cProfile.Profile) -> T:
    """Await ``coro`` with ``profile`` enabled (it sees every task of the loop meanwhile)."""
    profile.enable()
    try:
        return await coro
    finally:
        profile.disable()


def _package(filename: str, funcname: str) -> str:
    if filename == "~":  # C functions: "<method 'x' of 'mod.Type' objects>", "<built-in ...>"
        owner = _C_OWNER.search(funcname)
        module = owner.group(1).split(".")[0] if owner and "." in owner.group(1) else ""
        if module in ("", "builtins"):
            return "json (C)" if "json" in funcname else "builtins (C)"
        return f"{module} (C)"
    packages = _PACKAGE.findall(filename)
    if packages:
        return str(packages[-1])
    if "/lib/python3" in filename:
        parts = filename.rsplit("/lib/python3", 1)[1].split("/", 2)
        return parts[1].removesuffix(".py") if len(parts) > 1 else "stdlib"
    return Path(filename).stem


def summarise(
    title: str, source: cProfile.Profile | Path, out: Path | None = None,
    wall_seconds: float | None = None, top: int = 12,
) -> ProfileSummary:
    """Summarise a profile (dumping it to ``out``) or a ``.prof`` file."""
    if isinstance(source, Path):
        stats, out = pstats.Stats(str(source)), source
    else:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            source.dump_stats(out)
        stats = pstats.Stats(source)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    raw = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    functions: list[tuple[str, int, float]] = []
    steps: dict[str, float] = defaultdict(float)
    for (filename, line, funcname), (_, calls, own, cumulative, _) in raw.items():
        by_package[_package(filename, funcname)] += own
        where = f"{Path(filename).name}:{line}" if filename != "~" else "C"
        functions.append((f"{funcname} ({where})", calls, own))
        for label, suffix, name in KEY_STEPS:
            if funcname == name and filename.endswith(suffix):
                steps[label] += cumulative
    functions.sort(key=lambda item: item[2], reverse=True)
    return ProfileSummary(
        title=title,
        cpu_seconds=sum(by_package.values()),
        wall_seconds=wall_seconds,
        by_package=sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:10],
        top_functions=functions[:top],
        key_steps=[(label, steps[label]) for label, _, _ in KEY_STEPS if steps.get(label)],
        path=out,
    )
