"""Levels of assurance (``acr``) and what an authorization request demands.

The levels are BundID's trust levels, ordered ``basic`` < ``substantial`` < ``high``. A client
asks for a minimum either with ``acr_values`` (space-separated; any listed level is
acceptable, so the lowest one is the minimum) or with an essential ``acr`` claim request
(OpenID Connect Core section 5.5.1.1: ``{"id_token": {"acr": {"essential": true, "values":
[...]}}}``). When both are given, the stricter one applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final, get_args

from city_shared.auth.principal import AcrLevel
from identity_service.oauth.errors import invalid_request

__all__ = ["LEVELS", "at_least", "required_level"]

LEVELS: Final[tuple[AcrLevel, ...]] = get_args(AcrLevel)
_RANK: Final[dict[str, int]] = {level: rank for rank, level in enumerate(LEVELS)}


def at_least(level: str, minimum: AcrLevel | None) -> bool:
    """True if ``level`` satisfies ``minimum`` (None: no requirement)."""
    return minimum is None or _RANK.get(level, -1) >= _RANK[minimum]


def _level(value: object) -> AcrLevel | None:
    return next((level for level in LEVELS if level == value), None)


def _lowest(values: Iterable[object], source: str) -> AcrLevel:
    levels = [_level(v) for v in values]
    known = [level for level in levels if level is not None]
    if not known or len(known) != len(levels):
        raise invalid_request(f"{source} may only name {', '.join(LEVELS)}.")
    return LEVELS[min(_RANK[level] for level in known)]


def _highest(levels: list[AcrLevel]) -> AcrLevel | None:
    return LEVELS[max(_RANK[level] for level in levels)] if levels else None


def _from_claims(claims: str) -> AcrLevel | None:
    try:
        request = json.loads(claims)
    except (ValueError, RecursionError):
        raise invalid_request("The claims parameter is not valid JSON.") from None
    if not isinstance(request, dict):
        raise invalid_request("The claims parameter must be a JSON object.")
    found: list[AcrLevel] = []
    for target in ("id_token", "userinfo"):
        section = request.get(target)
        if section is None:
            continue
        if not isinstance(section, dict):
            raise invalid_request("The claims parameter has the wrong shape.")
        acr = section.get("acr")
        if acr is None:
            continue
        if not isinstance(acr, dict):
            raise invalid_request("The acr claim request must be a JSON object.")
        if acr.get("essential") is not True:
            continue  # a voluntary request: the login is not refused for it
        if "value" in acr:
            found.append(_lowest([acr["value"]], "The acr claim request"))
        elif isinstance(acr.get("values"), list) and acr["values"]:
            found.append(_lowest(acr["values"], "The acr claim request"))
        else:
            raise invalid_request("An essential acr claim request needs value or values.")
    return _highest(found)


def required_level(acr_values: str | None, claims: str | None) -> AcrLevel | None:
    """The minimum level the request demands, or None.

    :raises OAuthError: ``invalid_request`` for unknown levels or a malformed ``claims``.
    """
    demands: list[AcrLevel] = []
    if acr_values is not None:
        demands.append(_lowest(acr_values.split(), "acr_values"))
    if claims is not None:
        level = _from_claims(claims)
        if level is not None:
            demands.append(level)
    return _highest(demands)
