"""The API pods as an operator runs them: metrics on their own port that only Prometheus
reaches, a drain before they stop that fits in the grace period, and traces that may leave for
the OpenTelemetry Collector.

Every check is a function returning what is wrong, run over the rendered overlays and, as its
negative control, over a copy broken the way a careless edit would break it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import pytest

from city_shared.serve import GRACEFUL_SHUTDOWN_SECONDS

from .test_manifests import (
    SERVICES,
    Manifest,
    Rendered,
    container,
    env_of,
    http_probe,
    pod_spec,
    render,
)

METRICS_PORT = 9000
HTTP_PORT = 8000
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
#: The production collector (deploy/k8s/README.md, "Traces").
OTLP_ENDPOINT = "http://otel-collector.observability.svc:4318"
#: Where the preStop delay must fall: long enough for endpoints and the gateway to drop the
#: pod, short enough not to stretch every rollout.
PRE_STOP_SECONDS = range(5, 11)


# -- helpers: which pods a policy selects, and whom it admits ------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector matches ``labels`` (``{}`` matches every pod)."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get(
            "values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(workload: Manifest) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def container_port(c: Manifest, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in c.get("ports", []) if p["name"] == port]
    return int(number)


def admitted_from(docs: Iterable[Manifest], workload: Manifest, port: int) -> list[Any]:
    """The ``from`` peers of every ingress rule that admits traffic to ``port`` of the
    workload's pods (``"anyone"`` for a rule without ``from``)."""
    labels = pod_labels(workload)
    first = pod_spec(workload)["containers"][0]
    peers: list[Any] = []
    for policy in docs:
        if policy["kind"] != "NetworkPolicy" or not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and all(container_port(first, p["port"]) != port for p in ports):
                continue
            peers.extend(rule.get("from") or ["anyone"])
    return peers


def egress_to(docs: Iterable[Manifest], workload: Manifest, port: int) -> list[Any]:
    """The ``to`` peers of every egress rule the workload's pods may use to reach ``port``."""
    labels = pod_labels(workload)
    peers: list[Any] = []
    for policy in docs:
        if policy["kind"] != "NetworkPolicy" or not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            ports = rule.get("ports")
            if ports and all(p["port"] != port for p in ports):
                continue
            peers.extend(rule.get("to") or ["anywhere"])
    return peers


def platform_workloads(rendered: Rendered, *, components: Iterable[str]) -> list[Manifest]:
    """The workloads of ``components``: one of each per service, or the check would pass
    over nothing."""
    wanted = set(components)
    found = [w for w in rendered.workloads()
             if pod_labels(w).get("app.kubernetes.io/component") in wanted]
    assert len(found) == len(wanted) * len(SERVICES), [w["metadata"]["name"] for w in found]
    return found


# -- the checks --------------------------------------------------------------------------


def metrics_port_problems(api: Manifest) -> list[str]:
    """What keeps the API's metrics off their own port, or its probes off the event loop."""
    name = api["metadata"]["name"]
    c = container(api, "api")
    problems = []
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if ports.get("metrics") != METRICS_PORT:
        problems.append(f"{name}: no container port `metrics` {METRICS_PORT}")
    if {"name": "CITY_API_METRICS_PORT", "value": str(METRICS_PORT)} not in env_of(c):
        problems.append(f"{name}: CITY_API_METRICS_PORT is not {METRICS_PORT}")
    # The probes must reach the event loop (the public port), not the metrics thread.
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if http_probe(c, probe)[1] != HTTP_PORT:
            problems.append(f"{name}: {probe} is not on the API port {HTTP_PORT}")
    return problems


def drain_problems(api: Manifest) -> list[str]:
    """What makes a stopping API pod drop requests: no preStop delay (SIGTERM while the
    endpoints still send traffic), or a grace period that ends in SIGKILL before the delay and
    uvicorn's graceful shutdown are over."""
    name = api["metadata"]["name"]
    sleep = container(api, "api").get("lifecycle", {}).get("preStop", {}).get("sleep", {})
    seconds = sleep.get("seconds")
    if seconds not in PRE_STOP_SECONDS:
        return [f"{name}: preStop sleep is {seconds!r}, not {PRE_STOP_SECONDS.start}-"
                f"{PRE_STOP_SECONDS.stop - 1} s"]
    grace = pod_spec(api).get("terminationGracePeriodSeconds", 30)
    if grace <= seconds + GRACEFUL_SHUTDOWN_SECONDS:
        return [f"{name}: terminationGracePeriodSeconds {grace} <= preStop {seconds} s + "
                f"graceful shutdown {GRACEFUL_SHUTDOWN_SECONDS} s"]
    return []


def pod_monitor_problems(rendered: Rendered) -> list[str]:
    """What makes Prometheus scrape the APIs' public port, or miss the APIs or the workers."""
    monitor = rendered.get("PodMonitor", "city-platform")
    problems = []
    ports = [e.get("port") for e in monitor["spec"]["podMetricsEndpoints"]]
    if ports != ["metrics"]:
        problems.append(f"PodMonitor city-platform scrapes {ports}, not only `metrics`")
    for workload in platform_workloads(rendered, components=("api", "worker")):
        name = workload["metadata"]["name"]
        if not selects(monitor["spec"]["selector"], pod_labels(workload)):
            problems.append(f"PodMonitor city-platform does not select {name}")
        if "metrics" not in {p["name"] for p in pod_spec(workload)["containers"][0]["ports"]}:
            problems.append(f"{name} has no `metrics` port to scrape")
    return problems


def metrics_policy_problems(rendered: Rendered) -> list[str]:
    """Who may reach the metrics port other than Prometheus's namespace, and whether
    Prometheus still reaches the APIs' public port (the scrape that moved)."""
    problems = []
    for workload in platform_workloads(rendered, components=("api", "worker")):
        name = workload["metadata"]["name"]
        peers = admitted_from(rendered.docs, workload, METRICS_PORT)
        if not peers:
            problems.append(f"{name}: Prometheus may not reach port {METRICS_PORT}")
        problems += [f"{name}: port {METRICS_PORT} admits {peer}" for peer in peers
                     if peer != MONITORING]
        if MONITORING in admitted_from(rendered.docs, workload, HTTP_PORT):
            problems.append(f"{name}: the monitoring namespace still reaches {HTTP_PORT}")
    return problems


def otlp_problems(rendered: Rendered) -> list[str]:
    """What keeps the platform's spans from the production collector."""
    endpoint = rendered.config().get("CITY_OTLP_ENDPOINT")
    if endpoint != OTLP_ENDPOINT:
        return [f"CITY_OTLP_ENDPOINT is {endpoint!r}, not {OTLP_ENDPOINT}"]
    url = urlsplit(endpoint)
    assert url.hostname is not None
    assert url.port is not None
    namespace = url.hostname.split(".")[1]
    problems = []
    for workload in platform_workloads(rendered, components=("api", "worker", "migration")):
        reaches = [
            peer for peer in egress_to(rendered.docs, workload, url.port)
            if peer == "anywhere" or peer.get("namespaceSelector", {}).get("matchLabels") == {
                "kubernetes.io/metadata.name": namespace}
        ]
        if not reaches:
            problems.append(f"{workload['metadata']['name']}: no egress to {namespace} "
                            f"port {url.port}")
    return problems


# -- the tests ---------------------------------------------------------------------------


@pytest.fixture(params=("overlays/local", "overlays/production"))
def overlay(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


def _api(rendered: Rendered, service: str) -> Manifest:
    return rendered.get("Deployment", f"{service}-api")


def test_apis_serve_metrics_on_their_own_port(overlay: Rendered) -> None:
    assert [p for s in SERVICES for p in metrics_port_problems(_api(overlay, s))] == []


def test_apis_drain_before_they_stop_within_the_grace_period(overlay: Rendered) -> None:
    assert [p for s in SERVICES for p in drain_problems(_api(overlay, s))] == []


def test_prometheus_scrapes_the_metrics_ports_only() -> None:
    assert pod_monitor_problems(render("overlays/production")) == []


def test_the_metrics_port_admits_only_the_monitoring_namespace(overlay: Rendered) -> None:
    assert metrics_policy_problems(overlay) == []


def test_production_exports_traces_to_the_collector() -> None:
    assert otlp_problems(render("overlays/production")) == []


# -- negative controls -------------------------------------------------------------------


def _broken(rendered: Rendered, change: Any) -> Rendered:
    docs = copy.deepcopy(rendered.docs)
    change(docs)
    return Rendered(rendered.target, docs)


def _find(docs: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("mutation", ["no metrics port", "no setting", "liveness on metrics"])
def test_metrics_port_check_catches(mutation: str) -> None:
    api = copy.deepcopy(_api(render("overlays/production"), "case"))
    c = container(api, "api")
    if mutation == "no metrics port":
        c["ports"] = [p for p in c["ports"] if p["name"] != "metrics"]
    elif mutation == "no setting":
        c["env"] = [e for e in c["env"] if e["name"] != "CITY_API_METRICS_PORT"]
    else:
        c["livenessProbe"]["httpGet"]["port"] = "metrics"
    assert metrics_port_problems(api)


@pytest.mark.parametrize("mutation", ["no preStop", "exec preStop", "grace too short"])
def test_drain_check_catches(mutation: str) -> None:
    api = copy.deepcopy(_api(render("overlays/production"), "ticketing"))
    c = container(api, "api")
    if mutation == "no preStop":
        del c["lifecycle"]
    elif mutation == "exec preStop":
        c["lifecycle"]["preStop"] = {"exec": {"command": ["sleep", "10"]}}
    else:
        pod_spec(api)["terminationGracePeriodSeconds"] = (
            c["lifecycle"]["preStop"]["sleep"]["seconds"] + GRACEFUL_SHUTDOWN_SECONDS)
    assert drain_problems(api)


def test_pod_monitor_check_catches_a_scrape_of_the_public_port() -> None:
    def scrape_http(docs: list[Manifest]) -> None:
        _find(docs, "PodMonitor", "city-platform")["spec"]["podMetricsEndpoints"].append(
            {"port": "http", "path": "/metrics"})

    assert pod_monitor_problems(_broken(render("overlays/production"), scrape_http))


@pytest.mark.parametrize("mutation", ["any pod", "old scrape of 8000", "no scrape at all"])
def test_metrics_policy_check_catches(mutation: str) -> None:
    def change(docs: list[Manifest]) -> None:
        rule = _find(docs, "NetworkPolicy", "metrics-from-monitoring")["spec"]["ingress"][0]
        if mutation == "any pod":
            rule["from"].append({"podSelector": {}})
        elif mutation == "old scrape of 8000":
            rule["ports"].append({"protocol": "TCP", "port": HTTP_PORT})
        else:
            docs.remove(_find(docs, "NetworkPolicy", "metrics-from-monitoring"))

    assert metrics_policy_problems(_broken(render("overlays/production"), change))


@pytest.mark.parametrize("mutation", ["no endpoint", "no egress"])
def test_otlp_check_catches(mutation: str) -> None:
    def change(docs: list[Manifest]) -> None:
        if mutation == "no endpoint":
            config = next(d for d in docs if d["kind"] == "ConfigMap"
                          and d["metadata"]["name"].startswith("city-platform-config"))
            del config["data"]["CITY_OTLP_ENDPOINT"]
        else:
            docs.remove(_find(docs, "NetworkPolicy", "services-to-otel-collector"))

    assert otlp_problems(_broken(render("overlays/production"), change))
