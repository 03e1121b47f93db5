"""Builds and pushes the five service images, then pins them by digest in the production overlay.

Why by digest: a tag can be moved (re-pushed) after review; a digest names exactly the bytes
that were built, tested and signed off, so every node runs the same image and a rollback
returns to the same one. The committed production overlay names our images by tag only
(no image is built in this repository's CI); the release pipeline runs this script in its
checkout, which

1. builds each image with OCI labels (version, revision, creation time) and pushes it
   (``docker buildx build --push``), reading the pushed digest from buildx's metadata file;
2. writes ``digest: sha256:...`` next to each image's ``newTag`` in
   ``deploy/k8s/overlays/production/kustomization.yaml`` (what
   ``kustomize edit set image ghcr.io/city-platform/<service>-service:<tag>@sha256:<digest>``
   does) and the release name that names the migration Jobs;
3. renders the overlay and refuses (exit 1) while any image, ours or third-party, is not
   pinned by ``@sha256:``. The pinned overlay is what gets applied (and committed to the
   deployment repository, for GitOps).

    python deploy/docker/release.py --version 0.2.0            # build, push, pin, check
    python deploy/docker/release.py --version 0.2.0 --digests digests.json   # pin, check only

``--digests`` takes ``{"<service>": "sha256:<hex>"}`` from a pipeline that builds elsewhere.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "service.Dockerfile"
PRODUCTION = ROOT / "deploy" / "k8s" / "overlays" / "production"
SERVICES = ("identity", "case", "payment", "notification", "ticketing")
REGISTRY = "ghcr.io/city-platform"
SOURCE = "https://github.com/city-platform/city-platform"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_name(service: str) -> str:
    return f"{REGISTRY}/{service}-service"


def images(node: Any) -> Iterator[str]:
    """Every image a rendered document names: containers' ``image``, CloudNativePG's
    ``imageName``, Strimzi's ``image`` fields, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("image", "imageName") and isinstance(value, str):
                yield value
            else:
                yield from images(value)
    elif isinstance(node, list):
        for item in node:
            yield from images(item)


def unpinned_images(docs: list[dict[str, Any]]) -> list[str]:
    """The images of a render not pinned by ``@sha256:<digest>``, sorted, without repeats."""
    return sorted({image for doc in docs for image in images(doc) if not PINNED.search(image)})


def pin(kustomization: Path, version: str, digests: dict[str, str]) -> None:
    """Sets tag and digest of each service's image and the release name, in place.

    The overlay's ``images`` entries are one flow mapping per line, so the edit is a line
    replacement that keeps every comment (kustomize's own ``edit`` would rewrite the file).
    """
    text = kustomization.read_text()
    for service, digest in digests.items():
        if not DIGEST.match(digest):
            raise ValueError(f"{service}: not a sha256 digest: {digest!r}")
        line = re.compile(rf"^(\s*- )\{{name: {re.escape(image_name(service))}\b[^}}]*\}}$", re.M)
        entry = f"{{name: {image_name(service)}, newTag: {version}, digest: {digest}}}"
        text, count = line.subn(rf"\g<1>{entry}", text)
        if count != 1:
            raise ValueError(f"{kustomization}: no single images entry for {service}")
    release = re.sub(r"[^a-z0-9-]", "-", version.lower())
    text, count = re.subn(r"^(\s*- release=).*$", rf"\g<1>{release}", text, flags=re.M)
    if count != 1:
        raise ValueError(f"{kustomization}: no single `release=` literal")
    kustomization.write_text(text)


def render(overlay: Path) -> list[dict[str, Any]]:
    import yaml  # type: ignore[import-untyped]  # PyYAML: in the dev environment and CI

    kubectl = shutil.which("kubectl") or "kubectl"
    out = subprocess.run(
        [kubectl, "kustomize", str(overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def build_and_push(service: str, version: str) -> str:
    """One image, labelled and pushed; returns its digest as the registry stored it."""
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory() as tmp:
        metadata = Path(tmp) / "metadata.json"
        subprocess.run(
            [
                "docker", "buildx", "build", "--push",
                "-f", str(DOCKERFILE),
                "-t", f"{image_name(service)}:{version}",
                "--build-arg", f"SERVICE={service}",
                "--build-arg", f"VERSION={version}",
                "--build-arg", f"REVISION={revision}",
                "--build-arg", f"CREATED={created}",
                "--build-arg", f"SOURCE={SOURCE}",
                "--metadata-file", str(metadata),
                str(ROOT),
            ],
            check=True,
        )  # fmt: skip
        digest: str = json.loads(metadata.read_text())["containerimage.digest"]
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", required=True, help="image tag, e.g. 0.2.0")
    parser.add_argument("--digests", type=Path, help="JSON {service: digest}; skips the build")
    parser.add_argument("--overlay", type=Path, default=PRODUCTION)
    args = parser.parse_args(argv)
    if args.digests:
        digests: dict[str, str] = json.loads(args.digests.read_text())
    else:
        digests = {service: build_and_push(service, args.version) for service in SERVICES}
    pin(args.overlay / "kustomization.yaml", args.version, digests)
    unpinned = unpinned_images(render(args.overlay))
    if unpinned:
        print("refused: images not pinned by digest:\n  " + "\n  ".join(unpinned), file=sys.stderr)
        return 1
    print(f"{args.overlay}: every image pinned by digest (release {args.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
