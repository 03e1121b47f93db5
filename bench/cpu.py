"""CPU use of given processes and of the whole machine between two samples, from ``/proc``.

Tells whether a latency run was limited by one process's single Python thread (near 100 % of
one core) or by the machine (all cores busy), which the latencies alone cannot tell.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    wall: float
    processes: dict[str, float]
    machine_busy: float
    machine_total: float


def _process_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _machine() -> tuple[float, float]:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


def sample(pids: dict[str, int | None]) -> Sample:
    busy, total = _machine()
    return Sample(time.monotonic(), {name: _process_seconds(pid) for name, pid in pids.items()},
                  busy, total)


def usage(before: Sample, after: Sample) -> dict[str, float]:
    """Share of one core per process, and ``machine``: share of all cores, between samples."""
    wall = after.wall - before.wall
    shares = {name: (after.processes[name] - before.processes[name]) / wall
              for name in before.processes} if wall > 0 else {}
    total = after.machine_total - before.machine_total
    if total > 0:
        shares["machine"] = (after.machine_busy - before.machine_busy) / total
    return shares
