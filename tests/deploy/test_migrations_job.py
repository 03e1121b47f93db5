"""Every release runs its own migration Job, without anyone deleting the previous one.

A Job's pod template is immutable: applying a new image to an existing Job fails. So the
overlays name the Job after their release (``<service>-migrate-<release>``, from the local-config
ConfigMap ``city-platform-release``): two releases render two different Jobs, the old one expires
by ``ttlSecondsAfterFinished``, and ``activeDeadlineSeconds`` bounds how long one may retry.
The overlays are rendered twice here, with the release value changed in a copy of the tree.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.deploy import rendering
from tests.deploy.rendering import K8S, Manifest, needs_kubectl
from tests.deploy.test_manifests import OVERLAYS, SERVICES, Rendered, render

pytestmark = needs_kubectl

_RELEASE = re.compile(r"(- release=)(\S+)")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
README = K8S / "README.md"


def render_release(tree: Path, overlay: str, release: str) -> Rendered:
    """``overlay`` of a copy of deploy/k8s at ``tree``, its release set to ``release``."""
    if not tree.exists():
        shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("schemas"))
    kustomization = tree / overlay / "kustomization.yaml"
    text = kustomization.read_text()
    assert len(_RELEASE.findall(text)) == 1, f"{overlay}: expected one `release=` literal"
    kustomization.write_text(_RELEASE.sub(rf"\g<1>{release}", text))
    return Rendered(overlay, rendering.render(tree / overlay))


def migration_jobs(rendered: Rendered) -> dict[str, Manifest]:
    return {
        job["metadata"]["name"]: job
        for job in rendered.of_kind("Job")
        if job["metadata"]["labels"].get("app.kubernetes.io/component") == "migration"
    }


def release_problems(first: Rendered, second: Rendered, release: str) -> list[str]:
    """How the migration Jobs of ``second`` (rendered with ``release``) fail to be new Jobs
    next to ``first``'s: one per service, named and labelled for the release, with a deadline,
    a retry bound and an expiry."""
    before, after = migration_jobs(first), migration_jobs(second)
    problems = [f"{name}: the same Job in both releases" for name in set(before) & set(after)]
    for service in SERVICES:
        name = f"{service}-migrate-{release}"
        job = after.get(name)
        if job is None:
            problems.append(f"no Job {name} (have {sorted(after)})")
            continue
        if len(name) > 63 or not _DNS_LABEL.match(name):
            problems.append(f"{name}: not a DNS label of at most 63 characters")
        for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
            if labels.get("city-platform.io/release") != release:
                problems.append(f"{name}: release label is not {release}")
        spec = job["spec"]
        if not 0 < spec.get("activeDeadlineSeconds", 0) <= 3600:
            problems.append(f"{name}: no activeDeadlineSeconds within an hour")
        if not 0 < spec.get("backoffLimit", -1) <= 10:
            problems.append(f"{name}: backoffLimit not bounded")
        if not spec.get("ttlSecondsAfterFinished", 0) > 0:
            problems.append(f"{name}: never expires")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_two_releases_render_two_migration_jobs(tmp_path: Path, overlay: str) -> None:
    first = render_release(tmp_path / "k8s", overlay, "0-1-0")
    second = render_release(tmp_path / "k8s", overlay, "0-2-0")
    assert release_problems(first, second, "0-2-0") == []
    assert len(migration_jobs(second)) == len(SERVICES)


def test_release_check_catches_jobs_without_the_release(tmp_path: Path) -> None:
    """Negative control: without the overlay's replacement (the base), both renders carry the
    same `<service>-migrate` Jobs, which a release could not apply over the finished ones."""
    first = render_release(tmp_path / "k8s", OVERLAYS[1], "0-1-0")
    tree = tmp_path / "k8s"
    kustomization = tree / OVERLAYS[1] / "kustomization.yaml"
    text = kustomization.read_text()
    kustomization.write_text(re.sub(r"\nreplacements:\n(  .*\n|      .*\n)+", "\n", text))
    unnamed = render_release(tree, OVERLAYS[1], "0-2-0")
    assert release_problems(first, unnamed, "0-2-0") != []
    assert release_problems(first, first, "0-1-0") != []  # the same release twice


def test_migration_jobs_carry_argo_cd_hook_annotations() -> None:
    """With Argo CD the Job is a Sync hook (not tracked, so its expiry is no drift); kubectl
    ignores the annotations."""
    for job in migration_jobs(render(OVERLAYS[1])).values():
        annotations = job["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/hook"] == "Sync"
        assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"


def test_the_readme_no_longer_deletes_jobs_by_hand() -> None:
    text = README.read_text()
    assert "delete job" not in text
    assert "city-platform.io/release=" in text
