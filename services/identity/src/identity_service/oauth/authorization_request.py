"""Validating an authorization request (RFC 6749 section 4.1.1, RFC 7636, OIDC Core 3.1.2).

Order matters: ``client_id`` and ``redirect_uri`` are checked first and their failures are
shown on an error page (:class:`ErrorPage`), never redirected, so the endpoint cannot be used
as an open redirector. Every later failure goes back to the client's redirect URI
(:class:`RedirectError`) with ``error``, ``error_description``, ``state`` and ``iss``
(RFC 9207). The login form carries the request's parameters and they are validated again on
POST: the form is only a convenience, never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth.principal import AcrLevel
from identity_service.clients import repository as clients
from identity_service.clients.models import OAuthClient
from identity_service.clients.scopes import parse_scope
from identity_service.oauth import pkce
from identity_service.oauth.acr import at_least, required_level
from identity_service.oauth.errors import OAuthError
from identity_service.oauth.params import Params

__all__ = ["CARRIED_PARAMS", "AuthorizationRequest", "ErrorPage", "RedirectError",
           "parse_authorization_request", "redirect_location"]

#: The parameters the login form carries from GET to POST.
CARRIED_PARAMS: Final = ("response_type", "client_id", "redirect_uri", "scope", "state",
                         "code_challenge", "code_challenge_method", "nonce", "acr_values",
                         "claims", "ui_locales", "prompt", "response_mode")
_PROMPTS: Final = frozenset({"none", "login", "consent", "select_account"})
_MAX_STATE: Final = 2048
_MAX_NONCE: Final = 255


class ErrorPage(Exception):
    """The request cannot be answered at the client: show the error page ``reason``."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RedirectError(Exception):
    """Send the error to the (validated) redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.error)
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self, issuer: str) -> str:
        """The redirect target carrying the error."""
        params = {"error": self.error.error, "error_description": self.error.description}
        return redirect_location(self.redirect_uri, params, self.state, issuer)


def redirect_location(
    redirect_uri: str, params: dict[str, str], state: str | None, issuer: str
) -> str:
    """``redirect_uri`` with ``params``, ``state`` and ``iss`` added to its query (its own
    query parameters are kept, RFC 6749 section 3.1.2)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += list(params.items())
    if state is not None:
        query.append(("state", state))
    query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class AuthorizationRequest:
    """A valid authorization request."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    code_challenge: str | None
    nonce: str | None
    required_acr: AcrLevel | None
    carried: tuple[tuple[str, str], ...]


def _client_and_redirect(client: OAuthClient | None, params: Params) -> str:
    if client is None or not client.is_enabled:
        raise ErrorPage("unknown_client")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        if len(client.redirect_uris) != 1:
            raise ErrorPage("redirect_uri_required")
        return client.redirect_uris[0]
    if not client.has_redirect_uri(redirect_uri):
        raise ErrorPage("redirect_uri_mismatch")
    return redirect_uri


def _fail(error: str, description: str) -> OAuthError:
    return OAuthError(error, description)


def _check(
    client: OAuthClient, params: Params, redirect_uri: str, max_level: AcrLevel
) -> AuthorizationRequest:
    if "request" in params:
        raise _fail("request_not_supported", "Request objects are not supported.")
    if "request_uri" in params:
        raise _fail("request_uri_not_supported", "request_uri is not supported.")
    response_type = params.get("response_type")
    if response_type is None:
        raise _fail("invalid_request", "response_type is required.")
    if response_type != "code":
        raise _fail("unsupported_response_type", "Only response_type=code is supported.")
    if params.get("response_mode", "query") != "query":
        raise _fail("invalid_request", "Only response_mode=query is supported.")
    if not client.allows_grant("authorization_code"):
        raise _fail("unauthorized_client", "This client may not use the authorization code flow.")
    if "scope" not in params:
        raise _fail("invalid_scope", "scope is required.")
    scopes = parse_scope(params["scope"])
    if not scopes or not client.allows_scopes(scopes):
        raise _fail("invalid_scope", "The requested scope is not allowed for this client.")
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None:
        if client.is_public:
            raise _fail("invalid_request", "PKCE is required: send code_challenge (S256).")
        if method is not None:
            raise _fail("invalid_request", "code_challenge_method without code_challenge.")
    elif method != "S256":
        raise _fail("invalid_request", "code_challenge_method must be S256.")
    elif not pkce.is_valid_challenge(challenge):
        raise _fail("invalid_request", "code_challenge is not a valid S256 challenge.")
    nonce = params.get("nonce")
    if nonce is not None and len(nonce) > _MAX_NONCE:
        raise _fail("invalid_request", "nonce is too long.")
    prompts = set(params.get("prompt", "").split())
    if not prompts <= _PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise _fail("invalid_request", "prompt has an unsupported value.")
    if "none" in prompts:
        raise _fail("login_required", "This issuer keeps no sessions: the person must log in.")
    required = required_level(params.get("acr_values"), params.get("claims"))
    if not at_least(max_level, required):
        raise _fail("unmet_authentication_requirements",
                    f"This request requires the level of assurance '{required}', which no "
                    "login method offered here can prove.")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=params.get("state"),
        scopes=scopes,
        code_challenge=challenge,
        nonce=nonce,
        required_acr=required,
        carried=tuple((name, params[name]) for name in CARRIED_PARAMS if name in params),
    )


async def parse_authorization_request(
    session: AsyncSession, params: Params, *, max_level: AcrLevel
) -> AuthorizationRequest:
    """The valid request in ``params``; ``max_level`` is the highest level any login method
    offered here can prove (a request demanding more is refused at once).

    :raises ErrorPage: unknown or disabled client, missing or unregistered redirect URI.
    :raises RedirectError: any other problem.
    """
    client_id = params.get("client_id")
    client = await clients.get(session, client_id) if client_id is not None else None
    redirect_uri = _client_and_redirect(client, params)
    assert client is not None
    state = params.get("state")
    if state is not None and len(state) > _MAX_STATE:
        raise RedirectError(_fail("invalid_request", "state is too long."), redirect_uri, None)
    try:
        return _check(client, params, redirect_uri, max_level)
    except OAuthError as error:
        raise RedirectError(error, redirect_uri, state) from None
