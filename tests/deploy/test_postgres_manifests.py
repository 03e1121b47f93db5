"""PostgreSQL in the rendered overlays: backups wired per cluster, images pinned by digest, a
Pooler per database, and the connection budget of every database at its worst moment.

The budget (deploy/k8s/README.md, "Connection budget") is recomputed from the rendered
production overlay and from the code that opens connections, so raising an HPA maximum, a pool
size, a process count or a replica count, or adding a connection in code, fails here until
``max_connections`` or the Pooler is sized for it:

- clients of a Pooler: every API pod at the HPA maximum plus the rollout surge, times processes
  per pod, times each process's pool (pool + overflow), must fit into the ``max_client_conn`` of
  the Pooler pods that stay up while the Pooler itself rolls;
- server connections of a cluster: the Pooler pods (during their own rollout) times their two
  capped pools (the database's and the ``auth_query`` pool), plus every worker pod (replicas plus
  surge) times its engines and raw connections, plus the API pods' schema check (init
  container, direct), plus the migration Job, plus what PostgreSQL and the operator reserve,
  must not exceed ``max_connections``.
"""

from __future__ import annotations

import ast
import copy
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from city_shared.db import create_engine
from city_shared.settings import ServiceSettings
from tests.deploy.rendering import needs_kubectl
from tests.deploy.test_manifests import SERVICES, Rendered, render

pytestmark = needs_kubectl

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "barman-cloud.cloudnative-pg.io"
DIGEST = re.compile(
    r"^ghcr\.io/cloudnative-pg/postgresql:17\.[0-9]+[-a-z0-9]*@sha256:[0-9a-f]{64}$")

#: Connections PostgreSQL keeps for superusers unless the Cluster sets the parameter.
SUPERUSER_RESERVED_DEFAULT = 3
#: An allowance for CloudNativePG's instance manager on the primary (status, metrics exporter,
#: backup start/stop): its own superuser connections, a few at a time. Not measured: a margin.
INSTANCE_MANAGER_ALLOWANCE = 5

Manifest = dict[str, Any]

# --- the code: where connections are opened -----------------------------------------------

#: Every call that opens PostgreSQL connections in deployed code, and what it costs.
#: "api": one engine per API process (pool CITY_DATABASE_POOL_SIZE), through the Pooler;
#: "worker": one engine per worker process (pool CITY_DATABASE_POOL_SIZE), direct;
#: "worker-engine": the service's own engine in its worker (pool from the literal argument);
#: "worker-raw": one long-lived asyncpg connection per worker process (relay, rules view);
#: "schema-check": alembic on a NullPool, one connection (migration Job, wait-for-schema);
#: None: not a connection in the cluster (the factory itself, test support, demo seeding CLI).
CONNECTION_SITES: dict[tuple[str, str], str | None] = {
    ("shared/src/city_shared/app.py", "create_engine"): "api",
    ("shared/src/city_shared/worker.py", "create_engine"): "worker",
    ("shared/src/city_shared/relay.py", "asyncpg.connect"): "worker-raw",
    ("shared/src/city_shared/migrations.py", "create_async_engine"): "schema-check",
    ("shared/src/city_shared/db.py", "create_async_engine"): None,
    ("shared/src/city_shared/testing.py", "create_engine"): None,
    ("services/notification/src/notification_service/rules/view.py", "asyncpg.connect"):
        "worker-raw",
    **{(f"services/{s}/src/{s}_service/seed.py", "create_engine"): None for s in SERVICES},
    **{(f"services/{s}/src/{s}_service/worker.py", "create_engine"): "worker-engine"
       for s in SERVICES},
}
OPENERS = {"create_engine", "create_async_engine", "asyncpg.connect", "asyncpg.create_pool"}


@dataclass(frozen=True)
class Site:
    path: str
    callee: str
    pool_size: int | None


def callee_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


@functools.cache
def connection_sites() -> tuple[Site, ...]:
    """Every call of a connection opener in shared/src and services/*/src."""
    return tuple(_scan())


def _scan() -> Iterator[Site]:
    files = [*(ROOT / "shared" / "src").rglob("*.py"), *(ROOT / "services").glob("*/src/**/*.py")]
    for path in sorted(files):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and callee_name(node) in OPENERS:
                size = next((k.value.value for k in node.keywords if k.arg == "pool_size"
                             and isinstance(k.value, ast.Constant)), None)
                yield Site(str(path.relative_to(ROOT)), callee_name(node), size)


def engine_connections(pool_size: int) -> int:
    """The most connections one engine of city_shared.db.create_engine opens: pool + overflow."""
    engine = create_engine("postgresql+asyncpg://budget@localhost/budget", pool_size=pool_size)
    pool = engine.sync_engine.pool
    return int(pool.size() + pool._max_overflow)  # type: ignore[attr-defined]


def worker_code_connections(service: str, sites: tuple[Site, ...]) -> tuple[int, int]:
    """(connections of the service's own worker engines, raw connections) per worker process."""
    engines = raw = 0
    for site in sites:
        kind = CONNECTION_SITES[(site.path, site.callee)]
        mine = site.path.startswith("shared/") or site.path.startswith(f"services/{service}/")
        if not mine:
            continue
        if kind == "worker-engine":
            assert site.pool_size is not None, f"{site.path}: pool_size must be a literal"
            engines += engine_connections(site.pool_size)
        elif kind == "worker-raw":
            raw += 1
    return engines, raw


# --- the manifests ---------------------------------------------------------------------------


def env_setting(container: Manifest, config: dict[str, str], name: str, field_name: str) -> int:
    """A numeric setting as the process sees it: container env, else the shared ConfigMap,
    else the settings default."""
    for entry in container.get("env", []):
        if entry["name"] == name and "value" in entry:
            return int(entry["value"])
    if name in config:
        return int(config[name])
    return int(ServiceSettings.model_fields[field_name].default)


def rolling(deployment_strategy: Manifest | None, replicas: int) -> tuple[int, int]:
    """(surge, unavailable) pods of a rolling update; Kubernetes' defaults are 25 % each,
    surge rounded up and unavailability rounded down."""
    update = (deployment_strategy or {}).get("rollingUpdate", {})

    def amount(value: int | str, round_up: bool) -> int:
        if isinstance(value, int):
            return value
        share = replicas * int(value.rstrip("%")) / 100
        return math.ceil(share) if round_up else math.floor(share)

    return amount(update.get("maxSurge", "25%"), True), amount(
        update.get("maxUnavailable", "25%"), False)


def container(workload: Manifest, name: str) -> Manifest:
    (found,) = [c for c in workload["spec"]["template"]["spec"]["containers"]
                if c["name"] == name]
    return found


@dataclass
class Budget:
    service: str
    clients: int = 0
    client_capacity: int = 0
    max_connections: int = 0
    server: list[tuple[str, int]] = field(default_factory=list)

    @property
    def server_total(self) -> int:
        return sum(n for _, n in self.server)

    def problems(self) -> list[str]:
        found = []
        if self.clients > self.client_capacity:
            found.append(f"{self.service}: {self.clients} API client connections > "
                         f"{self.client_capacity} the Pooler accepts during its own rollout")
        if self.server_total > self.max_connections:
            found.append(f"{self.service}: {self.server_total} server connections "
                         f"{self.server} > max_connections {self.max_connections}")
        return found


def budget(rendered: Rendered, service: str, sites: tuple[Site, ...]) -> Budget:
    config = rendered.config()
    result = Budget(service)
    cluster = rendered.get("Cluster", f"{service}-db")
    parameters = cluster["spec"].get("postgresql", {}).get("parameters", {})
    result.max_connections = int(parameters["max_connections"])

    # API pods: HPA maximum plus the surge of a rollout at that size; through the Pooler.
    api = rendered.get("Deployment", f"{service}-api")
    api_max = rendered.get("HorizontalPodAutoscaler", f"{service}-api")["spec"]["maxReplicas"]
    api_surge, _ = rolling(api["spec"].get("strategy"), api_max)
    api_pods = api_max + api_surge
    process = container(api, "api")
    assert next(e for e in process["env"] if e["name"] == "PGHOST")["value"].endswith(
        "-db-pooler-rw"), f"{service}: the API does not go through its Pooler"
    processes = env_setting(process, config, "CITY_HTTP_WORKERS", "http_workers")
    pool = env_setting(process, config, "CITY_DATABASE_POOL_SIZE", "database_pool_size")
    result.clients = api_pods * processes * engine_connections(pool)

    # The Pooler: clients must fit the pods left while it rolls; server pools are capped.
    pooler = rendered.get("Pooler", f"{service}-db-pooler-rw")
    spec = pooler["spec"]
    assert spec["cluster"]["name"] == f"{service}-db"
    params = {k: int(v) for k, v in spec["pgbouncer"]["parameters"].items()
              if k in {"max_client_conn", "default_pool_size", "reserve_pool_size",
                       "max_db_connections"}}
    instances = spec.get("instances", 1)
    pooler_surge, pooler_unavailable = rolling(spec.get("deploymentStrategy"), instances)
    result.client_capacity = params["max_client_conn"] * max(1, instances - pooler_unavailable)
    per_pool = params.get("default_pool_size", 20) + params.get("reserve_pool_size", 0)
    if params.get("max_db_connections"):
        per_pool = min(per_pool, params["max_db_connections"])
    # Two pools per PgBouncer: the application's database, and auth_query's (user
    # cnpg_pooler_pgbouncer), each at most per_pool.
    result.server.append(("pooler", (instances + pooler_surge) * 2 * per_pool))

    # Worker pods: replicas plus surge, each with the shared consumer engine, the service's own
    # engine(s) and the raw connections (relay lock + LISTEN, ...).
    worker = rendered.get("Deployment", f"{service}-worker")
    replicas = worker["spec"].get("replicas", 1)
    worker_surge, _ = rolling(worker["spec"].get("strategy"), replicas)
    process = container(worker, "worker")
    pool = env_setting(process, config, "CITY_DATABASE_POOL_SIZE", "database_pool_size")
    own_engines, raw = worker_code_connections(service, sites)
    per_worker = engine_connections(pool) + own_engines + raw
    result.server.append(("workers", (replicas + worker_surge) * per_worker))

    # The API pods' init container checks the schema directly (one connection while starting).
    result.server.append(("schema checks", api_pods))
    jobs = [job for job in rendered.of_kind("Job")
            if job["metadata"]["name"].startswith(f"{service}-migrate")]
    result.server.append(("migration", sum(j["spec"].get("parallelism", 1) for j in jobs)))
    reserved = int(parameters.get("superuser_reserved_connections", SUPERUSER_RESERVED_DEFAULT))
    reserved += int(parameters.get("reserved_connections", 0))
    result.server.append(("reserved", reserved + INSTANCE_MANAGER_ALLOWANCE))
    return result


def all_problems(rendered: Rendered) -> list[str]:
    sites = connection_sites()
    return [p for service in SERVICES for p in budget(rendered, service, sites).problems()]


def with_changed(rendered: Rendered, kind: str, change: Any) -> Rendered:
    docs = copy.deepcopy(rendered.docs)
    for doc in docs:
        if doc["kind"] == kind:
            change(doc)
    return Rendered(rendered.target + " (changed)", docs)


# --- tests -----------------------------------------------------------------------------------


def test_every_connection_the_code_opens_is_in_the_budget() -> None:
    unknown = [s for s in connection_sites() if (s.path, s.callee) not in CONNECTION_SITES]
    assert unknown == [], "count these connections in CONNECTION_SITES (and the README budget)"


def test_an_unlisted_connection_in_code_is_refused() -> None:
    """Negative control of the scan: a raw connection it has not been told about."""
    tree = ast.parse("async def f():\n    return await asyncpg.connect('x')\n")
    (call,) = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert callee_name(call) in OPENERS
    assert ("services/x/src/x_service/new.py", callee_name(call)) not in CONNECTION_SITES


def test_an_engine_opens_its_pool_and_as_much_overflow() -> None:
    assert engine_connections(10) == 20
    assert engine_connections(5) == 10


@pytest.mark.parametrize("target", ["overlays/production", "overlays/local"])
def test_connection_budget_holds_at_the_hpa_maximum_during_a_rollout(target: str) -> None:
    assert all_problems(render(target)) == []


def test_production_budget_figures() -> None:
    """The figures of deploy/k8s/README.md's table (payment: the largest worker)."""
    sites = connection_sites()
    production = render("overlays/production")
    identity = budget(production, "identity", sites)
    assert identity.clients == 160
    assert identity.client_capacity == 500
    assert dict(identity.server)["pooler"] == 80
    for service in SERVICES:
        found = budget(production, service, sites)
        assert found.server_total <= found.max_connections == 200


def test_a_higher_hpa_maximum_breaks_the_budget() -> None:
    def raise_max(doc: Manifest) -> None:
        doc["spec"]["maxReplicas"] = 30

    problems = all_problems(with_changed(render("overlays/production"),
                                         "HorizontalPodAutoscaler", raise_max))
    assert any("API client connections" in p for p in problems), problems


def test_more_workers_break_the_server_budget() -> None:
    def more_workers(doc: Manifest) -> None:
        if doc["metadata"]["name"].endswith("-worker"):
            doc["spec"]["replicas"] = 6

    problems = all_problems(with_changed(render("overlays/production"), "Deployment",
                                         more_workers))
    assert any("server connections" in p for p in problems), problems


def test_a_bigger_pooler_pool_breaks_the_server_budget() -> None:
    def bigger(doc: Manifest) -> None:
        doc["spec"]["pgbouncer"]["parameters"]["max_db_connections"] = "60"
        doc["spec"]["pgbouncer"]["parameters"]["default_pool_size"] = "60"

    problems = all_problems(with_changed(render("overlays/production"), "Pooler", bigger))
    assert any("server connections" in p for p in problems), problems


# --- poolers, backups, images ----------------------------------------------------------------


@pytest.mark.parametrize("target", ["overlays/production", "overlays/local"])
def test_a_transaction_pooler_per_database_that_keeps_prepared_statements(target: str) -> None:
    rendered = render(target)
    poolers = {doc["metadata"]["name"]: doc for doc in rendered.of_kind("Pooler")}
    assert set(poolers) == {f"{s}-db-pooler-rw" for s in SERVICES}
    for service in SERVICES:
        spec = poolers[f"{service}-db-pooler-rw"]["spec"]
        assert spec["cluster"]["name"] == f"{service}-db"
        assert spec["type"] == "rw"
        assert spec["pgbouncer"]["poolMode"] == "transaction"
        assert int(spec["pgbouncer"]["parameters"]["max_prepared_statements"]) >= 100
        assert spec["instances"] == (2 if target == "overlays/production" else 1)


def test_workers_and_migrations_bypass_the_pooler() -> None:
    """The relay's session lock and LISTEN need a session of their own (ADR 0020)."""
    for target in ("overlays/production", "overlays/local"):
        rendered = render(target)
        for workload in rendered.workloads():
            if workload["metadata"]["labels"]["app.kubernetes.io/component"] == "api":
                continue
            for c in workload["spec"]["template"]["spec"]["containers"]:
                host = next(e for e in c["env"] if e["name"] == "PGHOST")
                assert host["valueFrom"]["secretKeyRef"]["key"] == "host"


def backup_problems(rendered: Rendered) -> list[str]:
    """What is missing for a cluster to archive WAL and take nightly base backups."""
    problems = []
    stores = {doc["metadata"]["name"]: doc for doc in rendered.of_kind("ObjectStore")}
    schedules = {doc["metadata"]["name"]: doc for doc in rendered.of_kind("ScheduledBackup")}
    for service in SERVICES:
        cluster = rendered.get("Cluster", f"{service}-db")
        plugins = cluster["spec"].get("plugins", [])
        wanted = {"name": PLUGIN, "isWALArchiver": True,
                  "parameters": {"barmanObjectName": f"{service}-db-backup"}}
        if wanted not in plugins:
            problems.append(f"{service}-db archives no WAL through {PLUGIN}")
        store = stores.get(f"{service}-db-backup")
        if store is None:
            problems.append(f"no ObjectStore {service}-db-backup")
        else:
            conf = store["spec"]["configuration"]
            credentials = conf.get("s3Credentials", {})
            if {credentials.get("accessKeyId", {}).get("name"),
                    credentials.get("secretAccessKey", {}).get("name")} != {"city-backup-s3"}:
                problems.append(f"{service}-db-backup: credentials not from city-backup-s3")
            if not re.fullmatch(r"[1-9][0-9]*[dwm]", str(store["spec"].get("retentionPolicy"))):
                problems.append(f"{service}-db-backup: no retention window")
            if not conf.get("destinationPath", "").startswith("s3://"):
                problems.append(f"{service}-db-backup: no bucket")
        schedule = schedules.get(f"{service}-db-daily")
        if schedule is None or schedule["spec"]["cluster"]["name"] != f"{service}-db" or (
                schedule["spec"].get("method") != "plugin"
                or schedule["spec"].get("pluginConfiguration", {}).get("name") != PLUGIN):
            problems.append(f"no plugin ScheduledBackup {service}-db-daily")
        elif len(schedule["spec"]["schedule"].split()) != 6:
            problems.append(f"{service}-db-daily: CloudNativePG's cron has six fields")
    return problems


def test_production_backs_up_every_database() -> None:
    production = render("overlays/production")
    assert backup_problems(production) == []
    store = production.get("ObjectStore", "payment-db-backup")["spec"]
    # The overlay's parameters (patches/backups.yaml) reach every store.
    assert store["configuration"]["endpointURL"].startswith("https://")
    assert store["retentionPolicy"] == "30d"


def test_a_cluster_without_the_archiver_is_reported() -> None:
    def drop_plugins(doc: Manifest) -> None:
        if doc["metadata"]["name"] == "case-db":
            doc["spec"].pop("plugins")

    changed = with_changed(render("overlays/production"), "Cluster", drop_plugins)
    assert backup_problems(changed) == ["case-db archives no WAL through " + PLUGIN]


def test_local_has_no_backups_and_no_archiver() -> None:
    local = render("overlays/local")
    assert local.of_kind("ObjectStore") == []
    assert local.of_kind("ScheduledBackup") == []
    assert all("plugins" not in c["spec"] for c in local.of_kind("Cluster"))


@pytest.mark.parametrize("target", ["overlays/production", "overlays/local"])
def test_postgresql_image_is_pinned_by_digest(target: str) -> None:
    images = {c["spec"]["imageName"] for c in render(target).of_kind("Cluster")}
    assert len(images) == 1, "all five clusters run the same PostgreSQL build"
    assert DIGEST.match(images.pop())
    assert not DIGEST.match("ghcr.io/cloudnative-pg/postgresql:17")


# --- the restore example -----------------------------------------------------------------------

EXAMPLE = ROOT / "deploy" / "k8s" / "examples" / "restore-cluster.yaml"


def restore_example_problems(example: Manifest, production: Rendered) -> list[str]:
    """What would keep the example from restoring a production database."""
    problems = []
    spec = example["spec"]
    recovery = spec["bootstrap"]["recovery"]
    sources = {c["name"]: c for c in spec.get("externalClusters", [])}
    source = sources.get(recovery["source"])
    if source is None:
        return [f"recovery source {recovery['source']!r} is not an external cluster"]
    plugin = source.get("plugin", {})
    store_name = plugin.get("parameters", {}).get("barmanObjectName")
    stores = {d["metadata"]["name"] for d in production.of_kind("ObjectStore")}
    clusters = {d["metadata"]["name"]: d for d in production.of_kind("Cluster")}
    if plugin.get("name") != PLUGIN or store_name not in stores:
        problems.append(f"the source reads no production ObjectStore ({store_name!r})")
    server = plugin.get("parameters", {}).get("serverName")
    if server not in clusters:
        problems.append(f"serverName {server!r} is no production cluster's folder")
    else:
        original = clusters[server]["spec"]
        if spec["imageName"] != original["imageName"]:
            problems.append("the restore runs another PostgreSQL build than the source")
        wanted = original["bootstrap"]["initdb"]
        if (recovery.get("database"), recovery.get("owner")) != (
                wanted["database"], wanted["owner"]):
            problems.append("database/owner differ from the source's")
    if example["metadata"]["name"] in clusters:
        problems.append("the example would overwrite a production cluster")
    if "plugins" in spec:
        problems.append("a restored cluster must not archive into the source's folder")
    if not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d",
                        recovery.get("recoveryTarget", {}).get("targetTime", "")):
        problems.append("no recovery target time")
    return problems


def test_the_restore_example_restores_a_production_database() -> None:
    (example,) = list(yaml.safe_load_all(EXAMPLE.read_text()))
    assert restore_example_problems(example, render("overlays/production")) == []


def test_a_restore_example_pointing_at_a_missing_store_is_reported() -> None:
    (example,) = list(yaml.safe_load_all(EXAMPLE.read_text()))
    example["spec"]["externalClusters"][0]["plugin"]["parameters"]["barmanObjectName"] = "x"
    example["spec"]["plugins"] = [{"name": PLUGIN, "isWALArchiver": True}]
    problems = restore_example_problems(example, render("overlays/production"))
    assert len(problems) == 2, problems


def test_the_readme_budget_table_shows_the_computed_totals() -> None:
    """deploy/k8s/README.md, "Connection budget": its totals are what the check computes."""
    readme = (ROOT / "deploy" / "k8s" / "README.md").read_text()
    header = re.search(r"^\| \| identity \| case \| payment \| notification \| ticketing \|$",
                       readme, re.MULTILINE)
    totals = re.search(r"^\| \*\*total\*\* \(of (\d+)\) \|(.*)\|$", readme, re.MULTILINE)
    assert header is not None
    assert totals is not None
    shown = [int(cell.strip().strip("*")) for cell in totals.group(2).split("|")]
    production = render("overlays/production")
    computed = [budget(production, s, connection_sites()) for s in SERVICES]
    assert shown == [b.server_total for b in computed]
    assert {int(totals.group(1))} == {b.max_connections for b in computed}
