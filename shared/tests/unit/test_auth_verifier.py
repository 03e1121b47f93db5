"""TokenVerifier: valid tokens pass, every kind of forged, stale or foreign token is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest

from city_shared.auth.jwks import JwksCache
from city_shared.auth.principal import Principal
from city_shared.auth.revocations import RevocationList, revocation_url
from city_shared.auth.testing import JWKS_URL, JwksServer, TokenFactory
from city_shared.auth.verifier import REQUIRED_CLAIMS, TokenVerifier
from city_shared.errors import NotAuthenticated, ServiceUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Setup:
    """A verifier trusting ``tokens`` through a counting fake JWKS endpoint and a fake clock."""

    def __init__(self, tokens: TokenFactory, *, min_refresh_interval: float = 10) -> None:
        self.tokens = tokens
        self.server = JwksServer(tokens)
        self.clock = Clock()
        self.cache = JwksCache(
            JWKS_URL,
            self.server.client(),
            ttl_seconds=300,
            min_refresh_interval=min_refresh_interval,
            clock=self.clock,
        )
        self.revocations = RevocationList(
            revocation_url(JWKS_URL), self.server.client(), ttl_seconds=5, clock=self.clock
        )
        self.verifier = TokenVerifier(
            self.cache, tokens.issuer, tokens.audience, revocations=self.revocations
        )


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    factory = TokenFactory(ed25519=True)
    factory.add_key("EC", kid="ec-1")
    return factory


@pytest.fixture
def setup(tokens: TokenFactory) -> Setup:
    return Setup(tokens)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64(json.dumps(value).encode())


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def assert_rejected(setup: Setup, token: str) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        await setup.verifier.verify(token)
    assert caught.value.status == 401
    assert caught.value.code == "not_authenticated"
    # The same detail for every reason: the caller learns nothing about which check failed.
    assert caught.value.detail == (
        "The access token is missing, malformed, expired or not valid for this service."
    )


async def test_valid_token_becomes_a_principal(setup: Setup, tokens: TokenFactory) -> None:
    token = tokens.issue(
        sub="staff-7",
        kind="staff",
        roles={"museum": ["manager", "cashier"], "pools": []},
        scope="orders:read tickets:scan",
        acr="high",
        admin="tenant",
        client_id="staff-portal",
    )

    principal = await setup.verifier.verify(token)

    assert principal == Principal(
        sub="staff-7",
        tenant="stuttgart",
        kind="staff",
        acr="high",
        roles={"museum": frozenset({"manager", "cashier"})},
        scopes=frozenset({"orders:read", "tickets:scan"}),
        admin="tenant",
        client_id="staff-portal",
    )


@pytest.mark.parametrize("kid", ["rsa-1", "okp-1", "ec-1"])
async def test_each_allowed_key_type_verifies(setup: Setup, tokens: TokenFactory, kid: str) -> None:
    principal = await setup.verifier.verify(tokens.issue(kid=kid))

    assert principal.sub == "user-1"


async def test_audience_list_containing_ours_is_accepted(
    setup: Setup, tokens: TokenFactory
) -> None:
    token = tokens.issue(aud=["payment", tokens.audience])

    assert (await setup.verifier.verify(token)).tenant == "stuttgart"


async def test_expiry_within_leeway_is_accepted(setup: Setup, tokens: TokenFactory) -> None:
    assert await setup.verifier.verify(tokens.issue(exp_in=-10))


async def test_expired_token_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    await assert_rejected(setup, tokens.issue(exp_in=-60))


async def test_token_not_yet_valid_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    await assert_rejected(setup, tokens.issue(nbf_in=600))


async def test_token_issued_in_the_future_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    await assert_rejected(setup, tokens.issue(now=int(time.time()) + 600))


async def test_wrong_issuer_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    await assert_rejected(setup, tokens.issue(iss="https://evil.example"))


@pytest.mark.parametrize("aud", ["payment", ["payment", "case"], []])
async def test_wrong_audience_is_rejected(
    setup: Setup, tokens: TokenFactory, aud: str | list[str]
) -> None:
    await assert_rejected(setup, tokens.issue(aud=aud))


@pytest.mark.parametrize("claim", [*REQUIRED_CLAIMS, "iss", "aud"])
async def test_missing_claim_is_rejected(setup: Setup, tokens: TokenFactory, claim: str) -> None:
    await assert_rejected(setup, tokens.issue(omit=[claim]))


@pytest.mark.parametrize(
    "extra",
    [
        {"kind": "admin"},
        {"acr": "low"},
        {"sub": ""},
        {"tenant": 7},
        {"scope": ["orders:read"]},
        {"roles": ["manager"]},
        {"exp": "tomorrow"},
    ],
)
async def test_claims_of_the_wrong_shape_are_rejected(
    setup: Setup, tokens: TokenFactory, extra: dict[str, object]
) -> None:
    await assert_rejected(setup, tokens.issue(extra=extra))


async def test_tampered_payload_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    token = tokens.issue(acr="basic")
    header, _, signature = token.split(".")
    claims = claims_of(token)
    claims["acr"] = "high"
    forged = f"{header}.{b64json(claims)}.{signature}"

    await assert_rejected(setup, forged)


async def test_alg_none_is_rejected(setup: Setup, tokens: TokenFactory) -> None:
    claims = claims_of(tokens.issue(kind="staff", roles={"pools": ["manager"]}))
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64json({'alg': alg, 'typ': 'JWT', 'kid': 'rsa-1'})}.{b64json(claims)}."
        await assert_rejected(setup, unsigned)


async def test_hmac_token_signed_with_the_public_key_is_rejected(
    setup: Setup, tokens: TokenFactory
) -> None:
    claims = claims_of(tokens.issue())
    secret = tokens.public_pem("rsa-1")
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        signing_input = f"{b64json({'alg': alg, 'typ': 'JWT', 'kid': 'rsa-1'})}.{b64json(claims)}"
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        await assert_rejected(setup, f"{signing_input}.{b64(mac)}")


async def test_key_of_another_type_than_the_alg_is_rejected(
    setup: Setup, tokens: TokenFactory
) -> None:
    # Signed correctly with the RSA key, but the header points at the EC key.
    await assert_rejected(setup, tokens.issue(kid="ec-1", alg="RS256", signing_kid="rsa-1"))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "RS256"},
        {"alg": "RS256", "kid": ""},
        {"alg": "RS256", "kid": "rsa-1", "typ": "dpop+jwt"},
        {"alg": "RS256", "kid": "rsa-1", "jku": "https://evil.example/jwks"},
        {"kid": "rsa-1"},
    ],
)
async def test_unacceptable_headers_are_rejected(
    setup: Setup, tokens: TokenFactory, header: dict[str, str]
) -> None:
    _, payload, signature = tokens.issue().split(".")

    await assert_rejected(setup, f"{b64json(header)}.{payload}.{signature}")


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "a.b", "ä.ö.ü", "eyJhbGciOiJSUzI1NiJ9.e30", "x" * 200_000]
)
async def test_malformed_token_is_rejected(setup: Setup, token: str) -> None:
    await assert_rejected(setup, token)


async def test_unknown_kid_refetches_the_jwks_exactly_once() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    await setup.verifier.verify(tokens.issue())
    assert setup.server.requests == 1
    stranger = tokens.add_key("RSA", kid="not-published", publish=False)
    setup.clock.now += 60

    await assert_rejected(setup, tokens.issue(kid=stranger))
    assert setup.server.requests == 2
    await assert_rejected(setup, tokens.issue(kid=stranger))
    await assert_rejected(setup, tokens.issue(kid="random-kid", signing_kid=stranger))
    assert setup.server.requests == 2  # rate-limited: no fetch within min_refresh_interval


async def test_rotated_key_is_accepted_after_the_refresh() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    await setup.verifier.verify(tokens.issue())
    setup.clock.now += 60

    new_kid = tokens.rotate()
    principal = await setup.verifier.verify(tokens.issue(kid=new_kid))

    assert principal.sub == "user-1"
    assert setup.server.requests == 2
    await setup.verifier.verify(tokens.issue(kid=new_kid))
    assert setup.server.requests == 2  # now cached


async def test_key_rotated_within_the_floor_interval_is_found_once_it_passed() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    await setup.verifier.verify(tokens.issue())

    new_kid = tokens.rotate()
    await assert_rejected(setup, tokens.issue(kid=new_kid))
    setup.clock.now += 10

    assert await setup.verifier.verify(tokens.issue(kid=new_kid))
    assert setup.server.requests == 2


async def test_retired_key_stops_verifying_after_the_ttl() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    old_token = tokens.issue()
    await setup.verifier.verify(old_token)
    tokens.rotate()
    tokens.retire("rsa-1")
    setup.clock.now += 301

    await assert_rejected(setup, old_token)


async def test_identity_unreachable_at_start_is_503_not_401() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    setup.server.available = False

    with pytest.raises(ServiceUnavailable) as caught:
        await setup.verifier.verify(tokens.issue())
    assert caught.value.status == 503
    assert "Retry-After" in caught.value.headers


async def test_cached_keys_keep_working_while_identity_is_down() -> None:
    tokens = TokenFactory()
    setup = Setup(tokens)
    await setup.verifier.verify(tokens.issue())
    setup.server.available = False
    setup.clock.now += 3600

    assert await setup.verifier.verify(tokens.issue())


@pytest.mark.parametrize("algorithms", [("HS256",), ("RS256", "none"), ()])
def test_verifier_refuses_symmetric_or_no_algorithms(
    tokens: TokenFactory, algorithms: tuple[str, ...]
) -> None:
    cache = JwksCache(JWKS_URL, JwksServer(tokens).client())
    with pytest.raises(ValueError, match="not allowed"):
        TokenVerifier(cache, tokens.issuer, tokens.audience, algorithms)


async def test_algorithm_outside_a_narrower_allow_list_is_rejected(tokens: TokenFactory) -> None:
    setup = Setup(tokens)
    setup.verifier = TokenVerifier(setup.cache, tokens.issuer, tokens.audience, ("RS256",))

    assert await setup.verifier.verify(tokens.issue(kid="rsa-1"))
    await assert_rejected(setup, tokens.issue(kid="ec-1"))


@pytest.mark.parametrize("kid", ["rsa-1", "okp-1", "ec-1"])
def test_tokens_verify_with_an_independent_library(tokens: TokenFactory, kid: str) -> None:
    token = tokens.issue(kid=kid, kind="staff", roles={"museum": ["cashier"]})
    jwk_set = pyjwt.PyJWKSet.from_dict(tokens.jwks())

    claims = pyjwt.decode(
        token,
        jwk_set[kid].key,
        algorithms=["RS256", "ES256", "EdDSA"],
        audience=tokens.audience,
        issuer=tokens.issuer,
        options={"require": ["exp", "iat", "sub"]},
    )
    by_pem = pyjwt.decode(
        token,
        tokens.public_pem(kid),
        algorithms=["RS256", "ES256", "EdDSA"],
        audience=tokens.audience,
    )

    assert claims == by_pem
    assert claims["roles"] == {"museum": ["cashier"]}
    assert pyjwt.get_unverified_header(token)["kid"] == kid


@pytest.mark.parametrize("typ", ["JWT", "jwt", None])
async def test_a_token_not_typed_as_access_token_is_rejected(
    setup: Setup, tokens: TokenFactory, typ: str | None
) -> None:
    # An ID token (typ JWT), otherwise carrying every claim an access token has, never passes.
    await assert_rejected(setup, tokens.issue(typ=typ))


async def test_a_revoked_token_is_rejected_and_others_still_pass(
    setup: Setup, tokens: TokenFactory
) -> None:
    revoked, other = tokens.issue(), tokens.issue()
    assert (await setup.verifier.verify(revoked)).sub == "user-1"

    tokens.revoke(revoked)
    setup.clock.now += 5

    verifier = tokens.verifier()
    await assert_rejected(setup, revoked)
    with pytest.raises(NotAuthenticated):
        await verifier.verify(revoked)
    assert (await verifier.verify(other)).sub == "user-1"
