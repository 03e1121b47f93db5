"""The public edge of the production overlay (``components/gateway``, ADR 0021), checked against
the services' own code.

Every public API is routed from its own HTTPS listener (a cert-manager certificate for its host)
to its Service; each path the API serves reaches it with the body limit the API itself applies
(read from the app's ``BodyLimitMiddleware``, so a new upload route or a changed
``CITY_MAX_BODY_BYTES`` shows up here), except the operational endpoints, which the edge answers
itself; every route has per-address rate limits (Open311's equal to the service's own) and a
concurrency ceiling equal to the service's admission capacity; the APIs see the client address
Envoy saw. Each check has a negative control that breaks the manifest and expects a complaint.

The route matching below is Gateway API's as Envoy Gateway implements it: Exact before
RegularExpression before PathPrefix, longer values first, a regular expression matching the whole
path, a rule-level policy (``sectionName``) replacing the route-level one.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from city_shared.admission import ADMISSION_EXEMPT_PATHS
from city_shared.body_limit import BodyLimitMiddleware
from tests.deploy.rendering import needs_kubectl
from tests.deploy.test_manifests import SERVICES, Manifest, Rendered, env_of, render

pytestmark = needs_kubectl

PRODUCTION = "overlays/production"
GATEWAY = "city-gateway"
#: Settings that decide the limits the edge must equal; taken from the rendered overlay.
LIMIT_SETTINGS = (
    "CITY_MAX_BODY_BYTES",
    "CITY_ATTACHMENT_MAX_BYTES",
    "CITY_MAX_IN_FLIGHT",
    "CITY_HTTP_WORKERS",
    "CITY_OPEN311_REPORTS_PER_HOUR",
)
EVERY_ADDRESS = ("0.0.0.0/0", "::/0")
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")
_UNITS = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


# --- the services, as their code builds them ----------------------------------------------------


@dataclass(frozen=True)
class Api:
    """What one service's API serves and limits, from its own ``create_app``."""

    settings: Any
    paths: frozenset[str]
    body_limit: BodyLimitMiddleware


def _walk(routes: list[Any], prefix: str = "") -> list[str]:
    paths = []
    for route in routes:
        if hasattr(route, "path"):
            paths.append(prefix + route.path)
        else:  # an included router
            inner = prefix + route.include_context.prefix
            paths += _walk(route.original_router.routes, inner)
    return paths


def overlay_env(overlay: Rendered, service: str) -> dict[str, str]:
    """The limit settings an API container of ``service`` gets from the overlay."""
    env = {k: v for k, v in overlay.config().items() if k in LIMIT_SETTINGS}
    api = overlay.get("Deployment", f"{service}-api")["spec"]["template"]["spec"]["containers"][0]
    env |= {e["name"]: e["value"] for e in env_of(api) if e["name"] in LIMIT_SETTINGS}
    return env


@functools.cache
def api_of(service: str) -> Api:
    overlay = render(PRODUCTION)
    settings_module = importlib.import_module(f"{service}_service.settings")
    (settings_class,) = [
        cls
        for name, cls in vars(settings_module).items()
        if name.endswith("Settings") and cls.__module__ == settings_module.__name__
    ]
    fields = {k.removeprefix("CITY_").lower(): v for k, v in overlay_env(overlay, service).items()}
    settings = settings_class(**fields)
    app: FastAPI = importlib.import_module(f"{service}_service.main").create_app(settings)
    (middleware,) = [m for m in app.user_middleware if _is_body_limit(m.cls)]
    kwargs: dict[str, Any] = dict(middleware.kwargs)
    limit = BodyLimitMiddleware(app, **kwargs)
    return Api(settings, frozenset(_walk(app.routes)), limit)


def _is_body_limit(cls: object) -> bool:
    return cls is BodyLimitMiddleware


def sample(template: str) -> str:
    """A concrete request path for a route template (``{fmt}`` as Open311's ``json``)."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "json" if m[1] == "fmt" else "p1", template)


# --- Gateway API, as Envoy Gateway evaluates it --------------------------------------------------


def quantity(value: str | int) -> int:
    match = _QUANTITY.match(str(value))
    assert match, f"not a byte quantity: {value!r}"
    return int(match[1]) * _UNITS[match[2]]


def _matches(match: Manifest, path: str) -> bool:
    kind, value = match["path"]["type"], match["path"]["value"]
    if kind == "Exact":
        return bool(path == value)
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    assert kind == "PathPrefix", kind
    return value == "/" or path == value or path.startswith(value.rstrip("/") + "/")


_ORDER = {"Exact": 0, "RegularExpression": 1, "PathPrefix": 2}


def rule_for(route: Manifest, path: str) -> Manifest | None:
    """The rule of ``route`` that serves ``path``, or None."""
    candidates = [
        (_ORDER[m["path"]["type"]], -len(m["path"]["value"]), rule)
        for rule in route["spec"]["rules"]
        for m in rule.get("matches", [])
        if _matches(m, path)
    ]
    return min(candidates, key=lambda c: c[:2])[2] if candidates else None


def policy_for(docs: list[Manifest], route: str, rule: str) -> Manifest:
    """The BackendTrafficPolicy in effect for ``rule`` of HTTPRoute ``route``."""

    def targets(policy: Manifest, section: str | None) -> bool:
        return any(
            ref["kind"] == "HTTPRoute"
            and ref["name"] == route
            and ref.get("sectionName") == section
            for ref in policy["spec"].get("targetRefs", [])
        )

    policies = [d for d in docs if d["kind"] == "BackendTrafficPolicy"]
    for section in (rule, None):
        found = [p for p in policies if targets(p, section)]
        if found:
            assert len(found) == 1, f"{route}/{rule}: {len(found)} policies at one level"
            return found[0]
    raise AssertionError(f"{route}/{rule}: no BackendTrafficPolicy")


def per_address_limits(policy: Manifest, method: str | None = None) -> dict[str, dict[str, Any]]:
    """The global rate limit per client address of ``policy``, by address family: ``{cidr:
    {"requests": n, "unit": u}}`` of the rules that count every address of the family on its
    own (``Distinct``), for all methods or only ``method``."""
    found = {}
    for rule in policy["spec"].get("rateLimit", {}).get("global", {}).get("rules", []):
        for selector in rule.get("clientSelectors", []):
            source = selector.get("sourceCIDR", {})
            methods = [m["value"] for m in selector.get("methods", [])]
            if set(selector) - {"sourceCIDR", "methods"} or source.get("type") != "Distinct":
                continue
            if methods == ([method] if method else []):
                found[source["value"]] = rule["limit"]
    return found


# --- the checks ----------------------------------------------------------------------------------


def tls_problems(docs: list[Manifest], service: str) -> list[str]:
    """How ``service``'s HTTPRoute falls short of: attached to its own HTTPS listener of the
    Gateway, the listener terminating TLS with a cert-manager Certificate for the same host, every
    forwarding rule to the Service ``service`` port 80."""

    def one(kind: str, name: str) -> Manifest | None:
        found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
        return found[0] if len(found) == 1 else None

    route, gateway = one("HTTPRoute", service), one("Gateway", GATEWAY)
    if route is None or gateway is None:
        return [f"{service}: no HTTPRoute {service} or no Gateway {GATEWAY}"]
    problems = []
    refs = route["spec"].get("parentRefs", [])
    sections = [r.get("sectionName") for r in refs if r["name"] == GATEWAY]
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    if len(sections) != 1 or sections[0] not in listeners:
        return [f"{service}: the route is not attached to one listener of {GATEWAY}"]
    listener = listeners[sections[0]]
    tls = listener.get("tls", {})
    if listener["protocol"] != "HTTPS" or listener["port"] != 443:
        problems.append(f"{service}: listener {listener['name']} is not HTTPS on 443")
    if route["spec"].get("hostnames") != [listener.get("hostname")]:
        problems.append(f"{service}: route host differs from the listener's")
    secrets = [
        r["name"] for r in tls.get("certificateRefs", []) if r.get("kind", "Secret") == "Secret"
    ]
    if tls.get("mode", "Terminate") != "Terminate" or len(secrets) != 1:
        problems.append(f"{service}: listener does not terminate TLS with one Secret")
    else:
        certificates = [
            d for d in docs if d["kind"] == "Certificate" and d["spec"]["secretName"] == secrets[0]
        ]
        if len(certificates) != 1 or listener.get("hostname") not in certificates[0]["spec"].get(
            "dnsNames", []
        ):
            problems.append(f"{service}: no Certificate for {listener.get('hostname')}")
    service_ports = [
        p["port"]
        for d in docs
        if d["kind"] == "Service" and d["metadata"]["name"] == service
        for p in d["spec"]["ports"]
    ]
    for rule in route["spec"]["rules"]:
        for ref in rule.get("backendRefs", []):
            if (ref.get("kind", "Service"), ref["name"], ref.get("port")) != (
                "Service",
                service,
                80,
            ):
                problems.append(f"{service}/{rule.get('name')}: forwards to {ref['name']}")
    if 80 not in service_ports:
        problems.append(f"{service}: the Service has no port 80")
    return problems


def edge_problems(docs: list[Manifest], service: str, api: Api, overlay: Rendered) -> list[str]:
    """How the edge of ``service`` differs from the API: each path it serves must reach it with
    its own body limit, per-address rate limits and the admission capacity as concurrency
    ceiling; the operational endpoints must be answered 404 at the edge."""
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == service]
    hpa = overlay.get("HorizontalPodAutoscaler", f"{service}-api")
    capacity = api.settings.max_in_flight * api.settings.http_workers * hpa["spec"]["maxReplicas"]
    problems = []
    for path in sorted(api.paths):
        concrete = sample(path)
        rule = rule_for(route, concrete)
        if rule is None:
            problems.append(f"{service} {concrete}: not routed")
            continue
        if path in ADMISSION_EXEMPT_PATHS:
            if rule.get("backendRefs") or not answers_404(docs, rule):
                problems.append(f"{service} {concrete}: operational endpoint exposed")
            continue
        if not rule.get("backendRefs"):
            problems.append(f"{service} {concrete}: not forwarded")
            continue
        policy = policy_for(docs, service, rule["name"])
        spec = policy["spec"]
        edge = quantity(spec.get("requestBuffer", {}).get("limit", 0))
        if edge != api.body_limit.limit_for(concrete):
            problems.append(
                f"{service} {concrete}: edge body limit {edge} != the API's "
                f"{api.body_limit.limit_for(concrete)}"
            )
        breaker = spec.get("circuitBreaker", {})
        if (breaker.get("maxParallelRequests"), breaker.get("maxConnections")) != (capacity,) * 2:
            problems.append(f"{service} {concrete}: concurrency ceiling is not {capacity}")
        if set(per_address_limits(policy)) != set(EVERY_ADDRESS):
            problems.append(f"{service} {concrete}: no rate limit per client address")
    return problems


def answers_404(docs: list[Manifest], rule: Manifest) -> bool:
    for f in rule.get("filters", []):
        ref = f.get("extensionRef", {})
        if f["type"] == "ExtensionRef" and ref.get("kind") == "HTTPRouteFilter":
            (filt,) = [
                d
                for d in docs
                if d["kind"] == "HTTPRouteFilter" and d["metadata"]["name"] == ref["name"]
            ]
            return bool(filt["spec"].get("directResponse", {}).get("statusCode") == 404)
    return False


# --- tests ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production() -> Rendered:
    return render(PRODUCTION)


@pytest.mark.parametrize("service", SERVICES)
def test_every_public_api_is_routed_to_its_service_over_tls(
    production: Rendered, service: str
) -> None:
    assert tls_problems(production.docs, service) == []


def _drop_tls(docs: list[Manifest]) -> None:
    (gateway,) = [d for d in docs if d["kind"] == "Gateway"]
    for listener in gateway["spec"]["listeners"]:
        listener.pop("tls", None)


def _elsewhere(docs: list[Manifest]) -> None:
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "case"]
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = "payment"


def _other_host(docs: list[Manifest]) -> None:
    for d in docs:
        if d["kind"] == "Certificate":
            d["spec"]["dnsNames"] = ["elsewhere.example"]


@pytest.mark.parametrize("mutation", [_drop_tls, _elsewhere, _other_host])
def test_tls_check_catches_a_broken_route(
    production: Rendered, mutation: Callable[..., None]
) -> None:
    docs = copy.deepcopy(production.docs)
    mutation(docs)
    assert any(tls_problems(docs, service) for service in SERVICES)


def test_plain_http_only_redirects_to_https(production: Rendered) -> None:
    gateway = production.get("Gateway", GATEWAY)
    plain = [ls["name"] for ls in gateway["spec"]["listeners"] if ls["protocol"] == "HTTP"]
    on_plain = [
        route
        for route in production.of_kind("HTTPRoute")
        if any(ref.get("sectionName") in plain for ref in route["spec"]["parentRefs"])
    ]
    assert on_plain
    for route in on_plain:
        for rule in route["spec"]["rules"]:
            assert "backendRefs" not in rule
            assert rule["filters"] == [
                {
                    "type": "RequestRedirect",
                    "requestRedirect": {"scheme": "https", "statusCode": 301},
                }
            ]


def issuer_problems(overlay: Rendered) -> list[str]:
    issuer = urlsplit(overlay.config()["CITY_AUTH_ISSUER"])
    (host,) = overlay.get("HTTPRoute", "identity")["spec"]["hostnames"]
    if issuer.scheme != "https" or issuer.hostname != host:
        return [f"CITY_AUTH_ISSUER {issuer.geturl()} is not https://{host}"]
    return []


def test_identity_is_public_at_the_issuer_host(production: Rendered) -> None:
    assert issuer_problems(production) == []
    elsewhere = copy.deepcopy(production)
    elsewhere.get("HTTPRoute", "identity")["spec"]["hostnames"] = ["login.city.example"]
    assert issuer_problems(elsewhere) != []


@pytest.mark.parametrize("service", SERVICES)
def test_the_edge_limits_equal_the_apis_own(production: Rendered, service: str) -> None:
    assert edge_problems(production.docs, service, api_of(service), production) == []


def _upload_limit_dropped(docs: list[Manifest]) -> None:
    for d in docs:
        if d["kind"] == "BackendTrafficPolicy" and d["metadata"]["name"] == "case-attachments":
            d["spec"]["requestBuffer"]["limit"] = "1Mi"


def _upload_rule_dropped(docs: list[Manifest]) -> None:
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "case"]
    route["spec"]["rules"] = [
        r for r in route["spec"]["rules"] if r["name"] != "intake-attachments"
    ]


def _metrics_exposed(docs: list[Manifest]) -> None:
    (route,) = [d for d in docs if d["kind"] == "HTTPRoute" and d["metadata"]["name"] == "case"]
    route["spec"]["rules"] = [r for r in route["spec"]["rules"] if r["name"] != "operations"]


def _no_rate_limit(docs: list[Manifest]) -> None:
    for d in docs:
        if d["kind"] == "BackendTrafficPolicy" and d["metadata"]["name"] == "case-open311-reports":
            del d["spec"]["rateLimit"]


def _smaller_ceiling(docs: list[Manifest]) -> None:
    for d in docs:
        if d["kind"] == "BackendTrafficPolicy" and d["metadata"]["name"] == "case":
            d["spec"]["circuitBreaker"]["maxParallelRequests"] = 100


@pytest.mark.parametrize(
    "mutation",
    [
        _upload_limit_dropped,
        _upload_rule_dropped,
        _metrics_exposed,
        _no_rate_limit,
        _smaller_ceiling,
    ],
)
def test_edge_check_catches_a_limit_that_differs(
    production: Rendered, mutation: Callable[..., None]
) -> None:
    docs = copy.deepcopy(production.docs)
    mutation(docs)
    assert edge_problems(docs, "case", api_of("case"), production) != []


def test_a_larger_service_limit_is_caught_too(production: Rendered) -> None:
    """The edge must follow the service: raise the API's own default and the edge is wrong."""
    api = api_of("identity")
    larger = BodyLimitMiddleware(api.body_limit.app, default_bytes=2 * 1024 * 1024)
    assert edge_problems(
        production.docs, "identity", Api(api.settings, api.paths, larger), production
    )


def test_open311_reports_per_address_at_the_edge_equal_the_services(production: Rendered) -> None:
    (rule,) = [
        r
        for r in production.get("HTTPRoute", "case")["spec"]["rules"]
        if r["name"] == "open311-reports"
    ]
    report = sample("/open311/v2/{tenant}/requests.{fmt}")
    policy = policy_for(production.docs, "case", rule["name"])
    assert rule_for(production.get("HTTPRoute", "case"), report) is rule
    per_hour = api_of("case").settings.open311_reports_per_hour
    expected = {cidr: {"requests": per_hour, "unit": "Hour"} for cidr in EVERY_ADDRESS}
    assert per_address_limits(policy, "POST") == expected
    # Negative control: a looser edge than the service is seen.
    looser = copy.deepcopy(policy)
    for limit_rule in looser["spec"]["rateLimit"]["global"]["rules"]:
        if limit_rule["limit"]["unit"] == "Hour":
            limit_rule["limit"]["requests"] = per_hour * 10
    assert per_address_limits(looser, "POST") != expected


def test_the_apis_see_the_address_envoy_saw(production: Rendered) -> None:
    """The Gateway drops a client's X-Forwarded-For and appends the peer; the API (uvicorn's
    proxy headers, trusting the pod network from FORWARDED_ALLOW_IPS) takes that address, so
    the per-address limits of Open311 and the login count citizens, not Envoy pods."""
    policy = production.get("ClientTrafficPolicy", GATEWAY)
    assert {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY} in policy[
        "spec"
    ]["targetRefs"]
    removed = policy["spec"]["headers"]["earlyRequestHeaders"]["remove"]
    assert "x-forwarded-for" in [h.lower() for h in removed]
    envoy_pod, citizen = "10.244.3.17", "203.0.113.7"
    for service in SERVICES:
        api = production.get("Deployment", f"{service}-api")["spec"]["template"]["spec"]
        trusted = {e["name"]: str(e.get("value")) for e in env_of(api["containers"][0])}
        assert seen_client(trusted["FORWARDED_ALLOW_IPS"], envoy_pod, citizen) == citizen
        # Were a client's own header to get through, the address Envoy appended still wins.
        spoofed = f"198.51.100.1, {citizen}"
        assert seen_client(trusted["FORWARDED_ALLOW_IPS"], envoy_pod, spoofed) == citizen
    # Negative control: uvicorn's default trusts 127.0.0.1 only; every citizen would be Envoy.
    assert seen_client("127.0.0.1", envoy_pod, citizen) == envoy_pod


def seen_client(trusted: str, peer: str, forwarded_for: str) -> str:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    scope = {
        "type": "http",
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    asyncio.run(ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None))  # type: ignore[arg-type]
    return seen[0]


def test_apis_admit_the_gateway_namespace_on_8000(production: Rendered) -> None:
    policy = production.get("NetworkPolicy", "api-ingress")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    admitted = [
        (peer["namespaceSelector"]["matchLabels"], port["port"])
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
        for port in rule["ports"]
    ]
    assert ({"kubernetes.io/metadata.name": "envoy-gateway-system"}, 8000) in admitted
    assert all("ingress-nginx" not in str(labels) for labels, _ in admitted)
