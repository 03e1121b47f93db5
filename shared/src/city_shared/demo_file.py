"""The local demo file (``.local/demo.json``): each service's seed reads what earlier seeds wrote
(e.g. identity's account ids) and merges its own section in, never touching the others'."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["merge_demo_file", "read_demo_file"]


def read_demo_file(path: Path | None) -> dict[str, Any]:
    """The JSON object in ``path``; empty if there is no path or no file yet.

    :raises SystemExit: the file holds something other than a JSON object.
    """
    if path is None or not path.exists():
        return {}
    loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
    if not isinstance(loaded, dict):
        raise SystemExit(f"{path} does not hold a JSON object")
    return loaded


def merge_demo_file(path: Path, section: str, value: object) -> None:
    """Put ``value`` under the key ``section`` of the JSON object in ``path`` (created if
    missing), keeping everything else; replaces the file atomically."""
    current = read_demo_file(path)
    current[section] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    os.replace(partial, path)
