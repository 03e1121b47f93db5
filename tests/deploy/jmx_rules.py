"""The Prometheus JMX Exporter's rule matching, enough to see which metric an MBean becomes.

As ``io.prometheus.jmx.JmxCollector`` does it: each attribute is matched as the string
``domain<key=value, ...><>attribute: value``; a rule's ``pattern`` is compiled as
``^.*(?:pattern).*$`` and the first rule that matches wins; ``$n`` in ``name`` and in the label
names and values are the pattern's groups; names are made safe (characters outside
``[a-zA-Z0-9:_]`` become ``_``, runs of ``_`` collapse) and lower-cased with
``lowercaseOutputName``. An attribute no rule matches is not exported. Java's and Python's
regular expressions agree on the constructs the rules use (groups, ``\\w``, ``\\d``, ``.+``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_GROUP = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Sample:
    """One exported series: metric name and labels."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()


def _safe(name: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9:_]", "_", name)
    name = re.sub(r"_+", "_", name)
    return f"_{name}" if name[:1].isdigit() else name


def _expand(template: str, match: re.Match[str]) -> str:
    return _GROUP.sub(lambda m: match.group(int(m.group(1))) or "", str(template))


def export(config: dict[str, Any], bean: str, attribute: str, value: object) -> Sample | None:
    """The series the attribute ``attribute`` (with ``value``) of ``bean`` becomes, or None.

    ``bean`` is written as the exporter writes it: ``kafka.server<type=ReplicaManager,
    name=UnderReplicatedPartitions><>`` (properties in the MBean name's order).
    """
    subject = f"{bean}{attribute}: {value}"
    for rule in config["rules"]:
        match = re.match(f"^.*(?:{rule['pattern']}).*$", subject)
        if match is None:
            continue
        name = _safe(_expand(rule["name"], match))
        if config.get("lowercaseOutputName"):
            name = name.lower()
        labels = tuple(sorted(
            (_safe(_expand(key, match)), _expand(label, match))
            for key, label in rule.get("labels", {}).items()
        ))
        return Sample(name, labels)
    return None
