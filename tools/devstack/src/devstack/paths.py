"""Where the repository's local-stack files live (`deploy/local/`, `.local/`).

The repository root is the nearest ancestor of this package, or else of the working directory,
that contains `deploy/local`; nothing here creates files.
"""

from __future__ import annotations

from pathlib import Path


class RepositoryNotFound(RuntimeError):
    """Neither this package nor the working directory sits inside the repository."""


def repo_root() -> Path:
    """Return the repository root (the directory holding `deploy/local`)."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "deploy" / "local").is_dir():
                return candidate
    raise RepositoryNotFound("no ancestor directory contains deploy/local")


def kafka_pom() -> Path:
    """The Maven file that resolves the Kafka broker jars."""
    return repo_root() / "deploy" / "local" / "kafka" / "pom.xml"


def kafka_log4j_config() -> Path:
    """The log4j2 configuration the local broker runs with."""
    return repo_root() / "deploy" / "local" / "kafka" / "log4j2.properties"


def local_dir() -> Path:
    """The git-ignored `.local/` directory for caches, data and mail of the local stack."""
    return repo_root() / ".local"
