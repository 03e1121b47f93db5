"""The one way tests/deploy renders kustomize targets: ``kubectl kustomize``, parsed.

Every deploy test checks what ``kubectl kustomize`` prints, so all of them render the same
way (same binary, same parsing, same failure message) and the repository's own targets are
rendered once per session. :func:`rendered` hands out its cached documents: a test that
changes them (a negative control) must ``copy.deepcopy`` first, or it breaks the tests after it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML parses the rendered manifests")

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBECTL = shutil.which("kubectl")
#: For modules and tests that render: without kubectl there is nothing to check.
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed; it renders the kustomize overlays"
)

Manifest = dict[str, Any]


def render(path: Path | str) -> list[Manifest]:
    """The documents ``kubectl kustomize path`` prints (empty ones dropped); kubectl's error
    fails the test."""
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def rendered(target: str) -> list[Manifest]:
    """``target`` of this repository's deploy/k8s (e.g. ``overlays/production``), rendered once:
    shared, so deep-copy before changing it."""
    return render(K8S / target)
