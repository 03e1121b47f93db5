"""The service images: reproducible bases, labelled, a lean build context, pinned in production.

No image is built here (no container engine in CI); these check the inputs that decide what a
build and a release produce: the Dockerfile's base images are pinned by digest and it writes
the OCI labels, .dockerignore sends only what the image is built from, and a production
release (deploy/docker/release.py) refuses to leave any image unpinned.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.deploy.rendering import needs_kubectl

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "service.Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
RELEASE = ROOT / "deploy" / "docker" / "release.py"
SERVICES = ("identity", "case", "payment", "notification", "ticketing")
OCI_LABELS = ("title", "source", "revision", "version", "created", "licenses")


def load_release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release", RELEASE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = load_release()


# --- Dockerfile -------------------------------------------------------------------------------


def external_images(dockerfile: str) -> list[str]:
    """Every image the Dockerfile pulls, ARG defaults resolved (stage names are not images)."""
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))
    stages = set(re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.M | re.I))
    refs = re.findall(r"^FROM (\S+)", dockerfile, re.M | re.I)
    refs += re.findall(r"COPY --from=(\S+)", dockerfile)
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), r) for r in refs]
    return [ref for ref in resolved if ref not in stages]


def unpinned(dockerfile: str) -> list[str]:
    return [ref for ref in external_images(dockerfile) if not release.PINNED.search(ref)]


def test_dockerfile_pulls_every_image_by_digest() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert len(external_images(dockerfile)) == 3  # uv, the build base, the runtime base
    assert unpinned(dockerfile) == []


def test_digest_check_refuses_a_tag() -> None:
    """Negative control: the base back on a moving tag is caught, in FROM and in COPY --from."""
    dockerfile = DOCKERFILE.read_text()
    tagged = re.sub(r"(ARG PYTHON_IMAGE=\S+)@sha256:[0-9a-f]+", r"\1", dockerfile)
    assert unpinned(tagged) == ["python:3.11-slim-bookworm"] * 2
    copied = dockerfile.replace("COPY --from=uv /uv", "COPY --from=ghcr.io/astral-sh/uv:0.9.7 /uv")
    assert unpinned(copied) == ["ghcr.io/astral-sh/uv:0.9.7"]


def oci_labels(dockerfile: str) -> dict[str, str]:
    runtime = dockerfile.rsplit("\nFROM ", 1)[1]  # labels of the image that ships
    return dict(re.findall(r"org\.opencontainers\.image\.(\w+)=\"([^\"]*)\"", runtime))


def test_the_image_says_what_it_was_built_from() -> None:
    labels = oci_labels(DOCKERFILE.read_text())
    assert set(OCI_LABELS) <= set(labels)
    # Set per build (release.py passes them), not constants copied from one release to the next.
    for name, arg in [("revision", "REVISION"), ("version", "VERSION"), ("created", "CREATED")]:
        assert labels[name] == f"${{{arg}}}"
    assert labels["title"] == "${SERVICE}-service"
    release_args = set(re.findall(r'"(\w+)=\{?', RELEASE.read_text()))
    assert {"SERVICE", "VERSION", "REVISION", "CREATED", "SOURCE"} <= release_args


# --- .dockerignore ----------------------------------------------------------------------------


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's .dockerignore pattern (Go filepath.Match plus ``**``) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def ignored(path: str, dockerignore: str) -> bool:
    """Whether the builder never sees ``path``: the last pattern matching it or a parent wins."""
    rules = []
    for line in dockerignore.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            exception = line.startswith("!")
            rules.append((exception, pattern_regex(line.lstrip("!").strip("/"))))
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for exception, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            verdict = not exception
    return verdict


SENT = [
    "pyproject.toml",
    "uv.lock",
    "tools/devstack/pyproject.toml",
    "shared/pyproject.toml",
    "shared/src/city_shared/settings.py",
    *(f"services/{s}/pyproject.toml" for s in SERVICES),
    "services/payment/src/payment_service/app.py",
    "services/payment/alembic.ini",
    "services/payment/migrations/env.py",
    "services/case/src/case_service/documents/fonts/LICENSE",
]
NOT_SENT = [
    ".git/HEAD",
    ".venv/bin/python",
    ".local/run/identity.log",
    ".mypy_cache/3.11/x.json",
    "shared/src/city_shared/__pycache__/settings.cpython-311.pyc",
    "tests/deploy/test_images.py",
    "shared/tests/unit/test_settings.py",
    "services/payment/tests/test_api.py",
    "tools/devstack/src/devstack/cli.py",
    "docs/runbook.md",
    "bench/run.py",
    "deploy/k8s/overlays/production/kustomization.yaml",
    "README.md",
]


def test_build_context_holds_what_the_image_is_built_from_and_nothing_else() -> None:
    dockerignore = DOCKERIGNORE.read_text()
    assert [path for path in SENT if ignored(path, dockerignore)] == []
    assert [path for path in NOT_SENT if not ignored(path, dockerignore)] == []


def test_every_dockerfile_copy_source_is_sent() -> None:
    """What COPY reads from the context must survive .dockerignore (else the build fails)."""
    dockerfile, dockerignore = DOCKERFILE.read_text(), DOCKERIGNORE.read_text()
    sources = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M)
        for source in line.split()[:-1]  # the last word is the destination
    ]
    assert "uv.lock" in sources
    for source in sources:
        for service in SERVICES:
            path = source.replace("${SERVICE}", service)
            assert (ROOT / path).exists(), path
            assert not ignored(path, dockerignore), path


def test_dockerignore_check_sees_a_lost_exclusion() -> None:
    """Negative control: without the ``**/tests`` line, the services' tests would be sent."""
    without_tests = DOCKERIGNORE.read_text().replace("**/tests\n", "")
    assert not ignored("shared/tests/unit/test_settings.py", without_tests)
    assert ignored("shared/tests/unit/test_settings.py", DOCKERIGNORE.read_text())


# --- production images by digest --------------------------------------------------------------


def fake_digests() -> dict[str, str]:
    return {s: "sha256:" + hashlib.sha256(s.encode()).hexdigest() for s in SERVICES}


@needs_kubectl
def test_committed_production_pins_every_third_party_image() -> None:
    """Ours are named by tag until the release pins them; every other image already is pinned."""
    docs = release.render(release.PRODUCTION)
    tagged = release.unpinned_images(docs)
    assert sorted(image.split(":")[0] for image in tagged) == sorted(
        release.image_name(service) for service in SERVICES
    )
    assert any("@sha256:" in image for doc in docs for image in release.images(doc))


@needs_kubectl
def test_release_pins_our_images_by_digest(tmp_path: Path) -> None:
    """The release run as the pipeline does (digests given): every image pinned, exit 0."""
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy" / "k8s", deploy / "k8s")
    overlay = deploy / "k8s" / "overlays" / "production"
    digests = tmp_path / "digests.json"
    digests.write_text(json.dumps(fake_digests()))
    assert (
        release.main(["--version", "0.2.0", "--digests", str(digests), "--overlay", str(overlay)])
        == 0
    )
    docs = release.render(overlay)
    assert release.unpinned_images(docs) == []
    ours = {
        image for doc in docs for image in release.images(doc) if image.startswith(release.REGISTRY)
    }
    assert ours == {f"{release.image_name(s)}:0.2.0@{d}" for s, d in fake_digests().items()}
    jobs = [d["metadata"]["name"] for d in docs if d["kind"] == "Job"]
    assert sorted(jobs) == sorted(f"{s}-migrate-0-2-0" for s in SERVICES)


@needs_kubectl
def test_release_refuses_an_image_left_unpinned(tmp_path: Path) -> None:
    """Negative control: one service's digest missing, the release exits 1 naming its image."""
    shutil.copytree(ROOT / "deploy" / "k8s", tmp_path / "k8s")
    overlay = tmp_path / "k8s" / "overlays" / "production"
    digests = fake_digests()
    del digests["payment"]
    path = tmp_path / "digests.json"
    path.write_text(json.dumps(digests))
    assert (
        release.main(["--version", "0.2.0", "--digests", str(path), "--overlay", str(overlay)]) == 1
    )
    docs = release.render(overlay)
    (left,) = release.unpinned_images(docs)
    assert left.startswith(f"{release.image_name('payment')}:")


def test_unpinned_check_sees_every_image_field() -> None:
    """Negative control over the fields: container image, CNPG imageName, Strimzi image."""
    docs: list[dict[str, Any]] = [
        {"spec": {"template": {"spec": {"containers": [{"image": "nginx:1"}]}}}},
        {"spec": {"imageName": "ghcr.io/cloudnative-pg/postgresql:17"}},
        {"spec": {"kafka": {"image": "quay.io/strimzi/kafka:latest"}}},
        {"spec": {"imageName": "postgres@sha256:" + "0" * 64}},
    ]
    assert release.unpinned_images(docs) == [
        "ghcr.io/cloudnative-pg/postgresql:17",
        "nginx:1",
        "quay.io/strimzi/kafka:latest",
    ]


def test_pin_refuses_what_is_not_a_digest(tmp_path: Path) -> None:
    kustomization = tmp_path / "kustomization.yaml"
    shutil.copy(release.PRODUCTION / "kustomization.yaml", kustomization)
    with pytest.raises(ValueError, match="not a sha256 digest"):
        release.pin(kustomization, "0.2.0", {"payment": "latest"})
