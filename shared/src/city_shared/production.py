"""Production mode (``CITY_ENV=production``): what counts as a development setting, and the
refusal to start with one.

:class:`~city_shared.settings.ServiceSettings` asks each service for its :class:`Finding`\\ s
(secrets still at their published development value or missing, sandboxes enabled) and, in
production, raises :class:`ProductionSettingsRefused` while the settings are validated, so no
API or worker serves with them. Findings and errors name variables, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

__all__ = [
    "MISSING", "PUBLISHED", "Finding", "ProductionSettingsRefused", "published", "refuse_demo_seed",
]

MISSING: Final = "is missing"
PUBLISHED: Final = "still has its published development value"


@dataclass(frozen=True, slots=True)
class Finding:
    """One setting production refuses: its environment variable and what is wrong with it."""

    variable: str
    problem: str

    def __str__(self) -> str:
        return f"{self.variable} {self.problem}"


class ProductionSettingsRefused(RuntimeError):
    """``CITY_ENV=production`` with development settings: the service must not start.

    Not a ``ValueError`` on purpose: pydantic lets it through unchanged, so the message is
    exactly this one (variables and problems, no values) and no caller mistakes it for bad input.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        self.variables = tuple(f.variable for f in self.findings)
        super().__init__(
            "CITY_ENV=production refuses to start with development settings: "
            + "; ".join(str(f) for f in self.findings)
            + ". Set each from a secret store (see deploy/k8s/README.md)."
        )


def published(secrets: SecretStr | Iterable[SecretStr] | None, *development: str) -> bool:
    """True if any of ``secrets`` equals one of the published ``development`` values."""
    if secrets is None:
        return False
    items = [secrets] if isinstance(secrets, SecretStr) else list(secrets)
    return any(s.get_secret_value() in development for s in items)


def refuse_demo_seed(env: str) -> None:
    """Stop a demo seed in production: it writes published passwords, client secrets and
    sample data. Raises ``SystemExit`` naming ``CITY_ENV``."""
    if env == "production":
        raise SystemExit("refusing to seed the demo city with CITY_ENV=production: the demo "
                         "accounts and clients have published passwords and secrets")
