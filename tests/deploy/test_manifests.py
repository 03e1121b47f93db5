"""Renders the kustomize targets under ``deploy/k8s`` and checks what every release relies on.

Hardened pods with resources and probes, the three workloads of every service, the deny-all
network policy, and the wiring between the parts (names, database secrets, topics, replication).
Structural checks only: no cluster and no schema validation.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterator

import pytest

from tests.deploy.rendering import Manifest, needs_kubectl, rendered

pytestmark = needs_kubectl

OVERLAYS = ("overlays/local", "overlays/production")
SERVICES = ("identity", "case", "payment", "notification", "ticketing")
TOPICS = (
    "identity.accounts",
    "case.cases",
    "payment.payments",
    "payment.requests",
    "notification.deliveries",
    "notification.requests",
    "ticketing.orders",
    "ticketing.tickets",
    *(f"{service}.deadletters" for service in SERVICES),
)
CLUSTER_SCOPED = {"Namespace"}
INFRASTRUCTURE_KINDS = {
    "Namespace",
    "NetworkPolicy",
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "KafkaUser",
    "Cluster",
    "Pooler",
    "ObjectStore",
    "ScheduledBackup",
}
#: Infrastructure of another kind: the Kafka nodes' JMX exporter rules (applied with Kafka).
INFRASTRUCTURE_CONFIG_MAPS = {"city-kafka-metrics"}
LAYER = "city-platform.io/layer"
TMP = "/tmp"  # noqa: S108 - the path checked in pod specs, not a file this test writes


class Rendered:
    """The documents ``kubectl kustomize`` printed for one target, looked up by kind and name."""

    def __init__(self, target: str, docs: list[Manifest]) -> None:
        self.target = target
        self.docs = docs

    def of_kind(self, kind: str) -> list[Manifest]:
        return [doc for doc in self.docs if doc["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        found = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.target}: expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[Manifest]:
        return self.of_kind("Deployment") + self.of_kind("Job")

    def config(self) -> dict[str, str]:
        (config_map,) = [
            doc
            for doc in self.of_kind("ConfigMap")
            if doc["metadata"]["name"].startswith("city-platform-config")
        ]
        return dict(config_map["data"])


@functools.cache
def render(target: str) -> Rendered:
    """``target`` of deploy/k8s, rendered once: shared, so deep-copy before changing it."""
    return Rendered(target, rendered(target))


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest) -> Iterator[Manifest]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def container(workload: Manifest, name: str) -> Manifest:
    (found,) = [c for c in containers(workload) if c["name"] == name]
    return found


def migration_name(overlay: Rendered, service: str) -> str:
    """The name of the service's migration Job: ``<service>-migrate-<release>`` (one per
    release, see tests/deploy/test_migrations_job.py)."""
    (name,) = [
        str(job["metadata"]["name"])
        for job in overlay.of_kind("Job")
        if job["metadata"]["name"].startswith(f"{service}-migrate-")
    ]
    return name


def hardening_violations(workload: Manifest) -> list[str]:
    """Every way the workload's pod falls short of the hardened baseline; empty if none."""
    name = workload["metadata"]["name"]
    spec = pod_spec(workload)
    pod_security = spec.get("securityContext", {})
    problems = []
    if pod_security.get("runAsNonRoot") is not True:
        problems.append(f"{name}: pod runAsNonRoot is not true")
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: the service account token is mounted")
    problems += [
        f"{name}: {key} is set" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)
    ]
    empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for c in containers(workload):
        where = f"{name}/{c['name']}"
        security = c.get("securityContext", {})
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: the root filesystem is writable")
        if security.get("privileged"):
            problems.append(f"{where}: privileged")
        if security.get("runAsNonRoot") is False or security.get("runAsUser") == 0:
            problems.append(f"{where}: may run as root")
        capabilities = security.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
            problems.append(f"{where}: capabilities are not all dropped")
        resources = c.get("resources", {})
        for kind in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources.get(kind, {}))
            if missing:
                problems.append(f"{where}: no {kind} for {sorted(missing)}")
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == TMP]
        if not tmp or tmp[0]["name"] not in empty_dirs:
            problems.append(f"{where}: /tmp is not an emptyDir")
    return problems


def is_deny_all(policy: Manifest) -> bool:
    spec = policy["spec"]
    return (
        spec.get("podSelector") == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def env_of(c: Manifest) -> list[Manifest]:
    env: list[Manifest] = c.get("env", [])
    return env


def http_probe(c: Manifest, probe: str) -> tuple[str, int]:
    """The path and numeric port of an httpGet probe, resolving a named port."""
    get = c[probe]["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        (port,) = [p["containerPort"] for p in c["ports"] if p["name"] == port]
    return get["path"], port


def test_base_renders_without_namespace_or_infrastructure() -> None:
    base = render("base")
    assert all("namespace" not in doc["metadata"] for doc in base.docs)
    assert not [doc for doc in base.docs if doc["kind"] in INFRASTRUCTURE_KINDS]
    assert all(hardening_violations(w) == [] for w in base.workloads())


def test_every_pod_is_hardened(overlay: Rendered) -> None:
    problems = [p for workload in overlay.workloads() for p in hardening_violations(workload)]
    assert problems == []


MUTATIONS: dict[str, Callable[[Manifest], None]] = {
    "privileged": lambda w: pod_spec(w)["containers"][0]["securityContext"].update(privileged=True),
    "writable root": lambda w: pod_spec(w)["containers"][0]["securityContext"].pop(
        "readOnlyRootFilesystem"
    ),
    "capability added": lambda w: pod_spec(w)["containers"][0]["securityContext"][
        "capabilities"
    ].update(add=["NET_ADMIN"]),
    "no memory limit": lambda w: pod_spec(w)["initContainers"][0]["resources"]["limits"].pop(
        "memory"
    ),
    "root user": lambda w: pod_spec(w)["securityContext"].update(runAsUser=0, runAsNonRoot=False),
    "token mounted": lambda w: pod_spec(w).pop("automountServiceAccountToken"),
    "no seccomp": lambda w: pod_spec(w)["securityContext"].pop("seccompProfile"),
    "host network": lambda w: pod_spec(w).update(hostNetwork=True),
    "no tmp": lambda w: pod_spec(w)["containers"][0].pop("volumeMounts"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_hardening_check_catches_a_weakened_pod(mutation: str) -> None:
    workload = copy.deepcopy(render("overlays/production").get("Deployment", "payment-api"))
    MUTATIONS[mutation](workload)
    assert hardening_violations(workload) != []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_api_worker_and_migration(overlay: Rendered, service: str) -> None:
    api = overlay.get("Deployment", f"{service}-api")
    worker = overlay.get("Deployment", f"{service}-worker")
    migrate = overlay.get("Job", migration_name(overlay, service))
    image = re.compile(rf"^ghcr\.io/city-platform/{service}-service:[\w.-]+$")
    for workload in (api, worker, migrate):
        assert pod_spec(workload)["serviceAccountName"] == service
        for c in containers(workload):
            assert image.match(c["image"]), c["image"]
            assert {"name": "CITY_SERVICE_NAME", "value": service} in env_of(c)
    assert container(api, "api")["command"] == [f"{service}-api"]
    assert container(worker, "worker")["command"] == [f"{service}-worker"]
    ini = f"/app/services/{service}/alembic.ini"
    migrate_container = container(migrate, "migrate")
    assert migrate_container["command"] + migrate_container["args"] == [
        "alembic",
        "-c",
        ini,
        "upgrade",
        "head",
    ]
    assert pod_spec(migrate)["restartPolicy"] == "Never"
    for workload in (api, worker):
        wait = " ".join(container(workload, "wait-for-schema")["command"])
        assert "current --check-heads" in wait
        assert wait.endswith(ini)
    account = overlay.get("ServiceAccount", service)
    assert account["automountServiceAccountToken"] is False


@pytest.mark.parametrize("service", SERVICES)
def test_service_pdbs_and_hpa_select_the_api(overlay: Rendered, service: str) -> None:
    api_labels = overlay.get("Deployment", f"{service}-api")["spec"]["template"]["metadata"][
        "labels"
    ]
    worker_labels = overlay.get("Deployment", f"{service}-worker")["spec"]["template"]["metadata"][
        "labels"
    ]
    svc = overlay.get("Service", service)
    assert svc["spec"]["selector"].items() <= api_labels.items()
    assert not svc["spec"]["selector"].items() <= worker_labels.items()
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(80, "http")]
    for component, labels in (("api", api_labels), ("worker", worker_labels)):
        pdb = overlay.get("PodDisruptionBudget", f"{service}-{component}")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = overlay.get("HorizontalPodAutoscaler", f"{service}-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"{service}-api",
    }


def test_apis_and_workers_have_probes(overlay: Rendered) -> None:
    for service in SERVICES:
        api = container(overlay.get("Deployment", f"{service}-api"), "api")
        assert http_probe(api, "livenessProbe") == ("/healthz", 8000)
        assert http_probe(api, "readinessProbe") == ("/readyz", 8000)
        assert http_probe(api, "startupProbe") == ("/healthz", 8000)
        assert {"name": "CITY_HTTP_HOST", "value": "0.0.0.0"} in env_of(api)
        assert {"name": "CITY_HTTP_PORT", "value": "8000"} in env_of(api)
        worker = container(overlay.get("Deployment", f"{service}-worker"), "worker")
        assert http_probe(worker, "livenessProbe") == ("/healthz", 9000)
        assert {"name": "CITY_WORKER_METRICS_PORT", "value": "9000"} in env_of(worker)
        assert {"name": "CITY_HTTP_HOST", "value": "0.0.0.0"} in env_of(worker)


def test_database_url_is_asyncpg_from_the_services_own_cluster(overlay: Rendered) -> None:
    for service in SERVICES:
        cluster = overlay.get("Cluster", f"{service}-db")
        assert cluster["spec"]["bootstrap"]["initdb"]["database"] == service
        for kind, name in (
            ("Deployment", f"{service}-api"),
            ("Deployment", f"{service}-worker"),
            ("Job", migration_name(overlay, service)),
        ):
            for c in containers(overlay.get(kind, name)):
                env = env_of(c)
                names = [e["name"] for e in env]
                url = env[names.index("CITY_DATABASE_URL")]["value"]
                assert url.startswith("postgresql+asyncpg://")
                for ref in re.findall(r"\$\((\w+)\)", url):
                    # Kubernetes only expands variables defined earlier in the list.
                    assert names.index(ref) < names.index("CITY_DATABASE_URL"), ref
                database = {
                    e["valueFrom"]["secretKeyRef"]["name"]
                    for e in env
                    if e["name"].startswith("PG") and "valueFrom" in e
                }
                assert database == {f"{service}-db-app"}, f"{name}/{c['name']}"
                # The API process goes through its PgBouncer; everything else (init containers,
                # worker, migrations) to the cluster (the host from the secret).
                host = env[names.index("PGHOST")]
                if c["name"] == "api":
                    assert host["value"] == "$(CITY_SERVICE_NAME)-db-pooler-rw", name
                    assert names.index("CITY_SERVICE_NAME") < names.index("PGHOST")
                else:
                    assert host["valueFrom"]["secretKeyRef"]["key"] == "host", name
                # Besides the database, only the service's own settings (production secrets).
                secrets = {
                    e["valueFrom"]["secretKeyRef"]["name"]
                    for e in env
                    if "secretKeyRef" in e.get("valueFrom", {})
                }
                # The worker's Kafka password: the Secret of its KafkaUser, named like the service.
                assert secrets <= {f"{service}-db-app", f"{service}-settings", service}, name


def test_env_sources_exist_or_are_optional(overlay: Rendered) -> None:
    config_maps = {doc["metadata"]["name"] for doc in overlay.of_kind("ConfigMap")}
    for workload in overlay.workloads():
        for c in containers(workload):
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                else:
                    assert source["secretRef"].get("optional") is True


def test_shared_settings_point_at_kafka_and_identity(overlay: Rendered) -> None:
    config = overlay.config()
    assert config["CITY_KAFKA_BOOTSTRAP_SERVERS"] == "city-kafka-kafka-bootstrap:9093"
    assert config["CITY_AUTH_JWKS_URL"] == "http://identity/.well-known/jwks.json"
    assert overlay.get("Service", "identity")["spec"]["ports"][0]["port"] == 80
    assert config["CITY_AUTH_AUDIENCE"]
    assert config["CITY_AUTH_ISSUER"]


def test_deny_all_network_policy_and_dns(overlay: Rendered) -> None:
    policies = overlay.of_kind("NetworkPolicy")
    assert [p["metadata"]["name"] for p in policies if is_deny_all(p)] == ["default-deny-all"]
    dns = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and any(
            port.get("port") == 53
            for rule in p["spec"].get("egress", [])
            for port in rule.get("ports", [])
        )
    ]
    assert dns, "no policy lets every pod resolve names"


def test_deny_all_check_rejects_a_policy_with_rules() -> None:
    policy = copy.deepcopy(render("overlays/local").get("NetworkPolicy", "default-deny-all"))
    policy["spec"]["egress"] = [{}]
    assert not is_deny_all(policy)


def test_kafka_cluster_and_topics(overlay: Rendered) -> None:
    kafka = overlay.get("Kafka", "city-kafka")
    # Strimzi 1.x serves only the v1 API.
    strimzi = [d for d in overlay.docs if d["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {d["apiVersion"] for d in strimzi} == {"kafka.strimzi.io/v1"}
    listeners = {lst["name"]: lst for lst in kafka["spec"]["kafka"]["listeners"]}
    assert set(listeners) == {"scram"}
    assert listeners["scram"]["port"] == 9093
    (pool,) = overlay.of_kind("KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "city-kafka"
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    brokers = pool["spec"]["replicas"]
    kafka_config = kafka["spec"]["kafka"]["config"]
    assert kafka_config["min.insync.replicas"] <= kafka_config["default.replication.factor"]
    assert kafka_config["offsets.topic.replication.factor"] <= brokers
    topics = {t["metadata"]["name"]: t for t in overlay.of_kind("KafkaTopic")}
    assert set(topics) == set(TOPICS)
    replication = int(overlay.config()["CITY_KAFKA_TOPIC_REPLICATION"])
    for name, topic in topics.items():
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "city-kafka"
        # A worker that creates the topic first uses CITY_KAFKA_TOPIC_REPLICATION.
        assert spec["replicas"] == replication <= brokers, name
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"], name
        if name.endswith(".deadletters"):
            assert (spec["partitions"], spec["config"]["retention.ms"]) == (1, 2419200000), name


def test_everything_is_in_the_overlays_namespace(overlay: Rendered) -> None:
    (namespace,) = overlay.of_kind("Namespace")
    name = namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    for doc in overlay.docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"].get("namespace") == name, doc["metadata"]["name"]


def test_infrastructure_layer_can_be_applied_on_its_own(overlay: Rendered) -> None:
    for doc in overlay.docs:
        labelled = doc["metadata"].get("labels", {}).get(LAYER) == "infrastructure"
        infrastructure = doc["kind"] in INFRASTRUCTURE_KINDS or (
            doc["kind"] == "ConfigMap" and doc["metadata"]["name"] in INFRASTRUCTURE_CONFIG_MAPS
        )
        assert labelled == infrastructure, doc["metadata"]["name"]


def test_production_is_highly_available() -> None:
    production = render("overlays/production")
    for service in SERVICES:
        api = production.get("Deployment", f"{service}-api")
        assert "replicas" not in api["spec"], "the HPA owns the API's replica count"
        assert (
            production.get("HorizontalPodAutoscaler", f"{service}-api")["spec"]["minReplicas"] >= 3
        )
        assert production.get("Deployment", f"{service}-worker")["spec"]["replicas"] == 2
        assert production.get("Cluster", f"{service}-db")["spec"]["instances"] == 3
    for deployment in production.of_kind("Deployment"):
        keys = {c["topologyKey"] for c in pod_spec(deployment)["topologySpreadConstraints"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert production.of_kind("KafkaNodePool")[0]["spec"]["replicas"] == 3
    assert (
        production.get("Namespace", "city-platform")["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "restricted"
    )


def test_local_runs_everything_once() -> None:
    local = render("overlays/local")
    for service in SERVICES:
        assert local.get("HorizontalPodAutoscaler", f"{service}-api")["spec"]["minReplicas"] == 1
        assert local.get("Deployment", f"{service}-worker")["spec"]["replicas"] == 1
        assert local.get("Cluster", f"{service}-db")["spec"]["instances"] == 1
    assert local.of_kind("KafkaNodePool")[0]["spec"]["replicas"] == 1
