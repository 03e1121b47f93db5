"""Kafka as the overlays deploy it: authenticated, authorised per service, observable, spread.

- Each service's ``KafkaUser`` grants exactly what its code does on Kafka (:mod:`kafka_acls`
  derives that from the code: outbox writes, subscriptions, consumer group, dead letters,
  idempotent producer), and every topic it names exists as a ``KafkaTopic``.
- The workers speak SASL_SSL as their ``KafkaUser`` with the cluster CA mounted, and the
  service's own settings class reads those variables; the APIs hold no Kafka credentials.
- The one listener is TLS + SCRAM-SHA-512 with simple authorization; the Kafka version is
  pinned; production spreads brokers over zones with rack awareness.
- The JMX exporter rules export the metrics the alerts and the runbook use, and PodMonitors
  select the Kafka nodes and the Kafka Exporter by the labels Strimzi gives their pods.

Every check is a function returning the problems it found, so each has a negative control
that breaks the rendered manifest (or the code's needs) and expects a problem.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from city_shared.settings import ServiceSettings
from tests.deploy import jmx_rules
from tests.deploy.kafka_acls import (
    SERVICES,
    Acl,
    granted_acls,
    needed_acls,
    published_topics,
    read_topics,
    replay_acls,
    settings_of,
    topic_calls,
)
from tests.deploy.rendering import needs_kubectl
from tests.deploy.test_manifests import Rendered, container, env_of, pod_spec, render

yaml = pytest.importorskip("yaml", reason="PyYAML parses the rendered manifests")

pytestmark = needs_kubectl

OVERLAYS = ("overlays/local", "overlays/production")
Manifest = dict[str, Any]

CA_SECRET = "city-kafka-cluster-ca-cert"
CA_DIR = "/etc/city/kafka-ca"
#: The labels Strimzi (1.x, io.strimzi.operator.common.model.Labels) puts on the pods of the
#: Kafka `city-kafka`: every node of every node pool, the Kafka Exporter, the entity operator.
NODE_POD = {
    "strimzi.io/cluster": "city-kafka", "strimzi.io/kind": "Kafka",
    "strimzi.io/name": "city-kafka-kafka", "strimzi.io/component-type": "kafka",
    "strimzi.io/pool-name": "dual-role", "strimzi.io/broker-role": "true",
    "strimzi.io/controller-role": "true", "app.kubernetes.io/name": "kafka",
    "app.kubernetes.io/part-of": "strimzi-city-kafka",
}
EXPORTER_POD = {
    "strimzi.io/cluster": "city-kafka", "strimzi.io/kind": "Kafka",
    "strimzi.io/name": "city-kafka-kafka-exporter",
    "strimzi.io/component-type": "kafka-exporter", "app.kubernetes.io/name": "kafka-exporter",
}
ENTITY_OPERATOR_POD = {
    "strimzi.io/cluster": "city-kafka", "strimzi.io/kind": "Kafka",
    "strimzi.io/name": "city-kafka-entity-operator",
    "strimzi.io/component-type": "entity-operator",
}
METRICS_PORT = "tcp-prometheus"  # 9404, on the Kafka nodes and the Kafka Exporter


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


@contextlib.contextmanager
def settings_defaults() -> Iterator[None]:
    """No CITY_* variable of the developer's shell reaches the settings built inside."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("CITY_")]:
            patch.delenv(name)
        yield


@pytest.fixture(scope="module")
def needs() -> dict[str, set[Acl]]:
    """What each service's code needs, derived once."""
    with settings_defaults():
        return {service: needed_acls(service) for service in SERVICES}


# --- ACLs -----------------------------------------------------------------------------------


def acl_problems(users: list[Manifest], needs: dict[str, set[Acl]]) -> list[str]:
    """Differences between the KafkaUsers' grants and the services' needs, both ways."""
    problems = []
    by_name = {user["metadata"]["name"]: user for user in users}
    if set(by_name) != set(needs):
        problems.append(f"KafkaUsers {sorted(by_name)} != services {sorted(needs)}")
    for service in sorted(set(by_name) & set(needs)):
        user = by_name[service]
        spec = user["spec"]
        if spec["authentication"] != {"type": "scram-sha-512"}:
            problems.append(f"{service}: authentication {spec['authentication']}")
        if spec["authorization"]["type"] != "simple":
            problems.append(f"{service}: authorization {spec['authorization']['type']}")
        if user["metadata"]["labels"].get("strimzi.io/cluster") != "city-kafka":
            problems.append(f"{service}: not a user of city-kafka")
        granted = granted_acls(user)
        problems += [f"{service}: grants {acl} its code does not need"
                     for acl in sorted(granted - needs[service])]
        problems += [f"{service}: lacks {acl} its code needs"
                     for acl in sorted(needs[service] - granted)]
    return problems


def test_each_service_gets_exactly_the_acls_its_code_needs(
    overlay: Rendered, needs: dict[str, set[Acl]]
) -> None:
    assert acl_problems(overlay.of_kind("KafkaUser"), needs) == []


def _drop_acl(users: list[Manifest]) -> None:
    users[0]["spec"]["authorization"]["acls"].pop(0)


def _grant_create(users: list[Manifest]) -> None:
    users[1]["spec"]["authorization"]["acls"][0]["operations"].append("Create")


def _write_anything(users: list[Manifest]) -> None:
    users[2]["spec"]["authorization"]["acls"].append(
        {"resource": {"type": "topic", "name": "ticketing.", "patternType": "prefix"},
         "operations": ["Write"]})


def _plain_auth(users: list[Manifest]) -> None:
    users[3]["spec"]["authentication"] = {"type": "tls"}


@pytest.mark.parametrize("mutation", [_drop_acl, _grant_create, _write_anything, _plain_auth])
def test_the_acl_check_catches_a_changed_user(mutation: Any, needs: dict[str, set[Acl]]) -> None:
    users = copy.deepcopy(render("overlays/production").of_kind("KafkaUser"))
    mutation(users)
    assert acl_problems(users, needs) != []


def test_the_acl_check_catches_code_that_publishes_somewhere_new(
    needs: dict[str, set[Acl]]
) -> None:
    users = render("overlays/production").of_kind("KafkaUser")
    changed = {**needs, "case": needs["case"] | {("topic", "ticketing.orders", "literal",
                                                    "Write")}}
    assert acl_problems(users, changed) == ["case: lacks ('topic', 'ticketing.orders', "
                                            "'literal', 'Write') its code needs"]


def test_what_the_code_publishes_and_reads_agrees_with_the_contract_catalogue() -> None:
    """A second source, kept complete by tests/contracts: every (producer, topic) it lists is
    among the outbox calls the scanner found (the catalogue lists a command type once, under
    one of the services that send it, hence only "among"), and the consumers are the same."""
    from tests.contracts.catalogue import CONSUMED, PUBLISHED

    for service in SERVICES:
        assert {p.topic for p in PUBLISHED if p.producer == service} <= published_topics(
            service), service
    with settings_defaults():
        for service in SERVICES:
            assert read_topics(service) == {c.topic for c in CONSUMED
                                            if c.consumer == service}, service


def test_the_scanner_sees_both_ways_of_writing_to_the_outbox() -> None:
    source = (
        "order.record(ORDERS, event)\n"
        "await outbox.add(session, events.REQUESTS_TOPIC, command)\n"
        "metrics.observe(ORDERS)\n"
    )
    found = [ast.unparse(e) for e in topic_calls(ast.parse(source))]
    assert found == ["ORDERS", "events.REQUESTS_TOPIC"]
    with pytest.raises(AssertionError, match="add_all"):
        list(topic_calls(ast.parse("await outbox.add_all(session, pairs)")))


REPLAY_USER = Path(__file__).resolve().parents[2] / "deploy/k8s/examples/kafka-replay-user.yaml"


def test_the_replay_user_may_replay_every_services_dead_letters_and_no_more() -> None:
    """Replays write to topics the services' own users may not write: the operators apply this
    user for the replay (and delete it after); no overlay renders it."""
    user = yaml.safe_load(REPLAY_USER.read_text())
    with settings_defaults():
        needed = replay_acls()
    assert granted_acls(user) == needed
    fewer = copy.deepcopy(user)
    fewer["spec"]["authorization"]["acls"].pop(0)
    assert granted_acls(fewer) != needed
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
    topics = {t["metadata"]["name"] for t in render("overlays/production").of_kind("KafkaTopic")}
    assert {acl[1] for acl in granted_acls(user) if acl[0] == "topic"} <= topics
    for target in OVERLAYS:
        assert "deadletter-replay" not in {u["metadata"]["name"]
                                           for u in render(target).of_kind("KafkaUser")}


def missing_topics(docs: Rendered) -> list[str]:
    """Topics an ACL names that no KafkaTopic creates."""
    topics = {t["metadata"]["name"] for t in docs.of_kind("KafkaTopic")}
    named = {name for user in docs.of_kind("KafkaUser")
             for kind, name, pattern, _ in granted_acls(user) if kind == "topic"}
    return sorted(named - topics)


def test_every_topic_an_acl_names_exists(overlay: Rendered) -> None:
    assert missing_topics(overlay) == []


def test_the_topic_check_catches_a_missing_topic() -> None:
    docs = render("overlays/production")
    without = Rendered(docs.target, [d for d in docs.docs if not (
        d["kind"] == "KafkaTopic" and d["metadata"]["name"] == "payment.requests")])
    assert missing_topics(without) == ["payment.requests"]


# --- clients --------------------------------------------------------------------------------


def client_problems(docs: Rendered, service: str) -> list[str]:
    """How the worker of ``service`` fails to reach Kafka as its KafkaUser over TLS."""
    worker = docs.get("Deployment", f"{service}-worker")
    c = container(worker, "worker")
    env = {e["name"]: e for e in env_of(c)}
    problems = []
    expected = {
        "CITY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CITY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "CITY_KAFKA_SASL_USERNAME": service,
        "CITY_KAFKA_SSL_CA_FILE": f"{CA_DIR}/ca.crt",
        "CITY_KAFKA_CREATE_TOPICS": "false",
    }
    for name, value in expected.items():
        if env.get(name, {}).get("value") != value:
            problems.append(f"{service}: {name} is not {value}")
    password = env.get("CITY_KAFKA_SASL_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef")
    if password != {"name": service, "key": "password"}:
        problems.append(f"{service}: the password is not the KafkaUser's ({password})")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod_spec(worker).get("volumes", [])}
    ca = [name for name, v in volumes.items()
          if v.get("secret", {}).get("secretName") == CA_SECRET]
    if not ca or ca[0] not in mounts:
        problems.append(f"{service}: the cluster CA is not mounted")
    else:
        mount, secret = mounts[ca[0]], volumes[ca[0]]["secret"]
        if mount["mountPath"] != CA_DIR or mount.get("readOnly") is not True:
            problems.append(f"{service}: the CA is not read-only at {CA_DIR}")
        if secret.get("items") != [{"key": "ca.crt", "path": "ca.crt"}]:
            problems.append(f"{service}: mounts more than the CA certificate")
    bootstrap = docs.config()["CITY_KAFKA_BOOTSTRAP_SERVERS"]
    listener = scram_listener(docs.get("Kafka", "city-kafka"))
    if bootstrap != f"city-kafka-kafka-bootstrap:{listener['port']}":
        problems.append(f"{service}: bootstrap {bootstrap} is not the scram listener")
    return problems


def scram_listener(kafka: Manifest) -> Manifest:
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    return dict(listener)


@pytest.mark.parametrize("service", SERVICES)
def test_workers_speak_sasl_ssl_as_their_kafka_user(overlay: Rendered, service: str) -> None:
    assert client_problems(overlay, service) == []


def _unmount(docs: Rendered) -> None:
    worker = docs.get("Deployment", "case-worker")
    container(worker, "worker")["volumeMounts"] = [
        m for m in container(worker, "worker")["volumeMounts"] if m["mountPath"] != CA_DIR]


def _plaintext(docs: Rendered) -> None:
    for e in env_of(container(docs.get("Deployment", "case-worker"), "worker")):
        if e["name"] == "CITY_KAFKA_SECURITY_PROTOCOL":
            e["value"] = "PLAINTEXT"


def _other_password(docs: Rendered) -> None:
    for e in env_of(container(docs.get("Deployment", "case-worker"), "worker")):
        if e["name"] == "CITY_KAFKA_SASL_PASSWORD":
            e["valueFrom"]["secretKeyRef"]["name"] = "payment"


def _old_port(docs: Rendered) -> None:
    docs.config()  # the ConfigMap exists
    (config_map,) = [d for d in docs.of_kind("ConfigMap")
                     if d["metadata"]["name"].startswith("city-platform-config")]
    config_map["data"]["CITY_KAFKA_BOOTSTRAP_SERVERS"] = "city-kafka-kafka-bootstrap:9092"


@pytest.mark.parametrize("mutation", [_unmount, _plaintext, _other_password, _old_port])
def test_the_client_check_catches_a_broken_worker(mutation: Any) -> None:
    original = render("overlays/production")
    docs = Rendered(original.target, copy.deepcopy(original.docs))
    mutation(docs)
    assert client_problems(docs, "case") != []


@pytest.mark.parametrize("service", SERVICES)
def test_the_services_settings_read_the_workers_kafka_environment(
    service: str, environ: pytest.MonkeyPatch
) -> None:
    """The variable names are the ones the settings know (an unknown CITY_* is ignored). The
    local overlay: the same worker environment, without production mode's secrets."""
    docs = render("overlays/local")
    env = docs.config()
    for entry in env_of(container(docs.get("Deployment", f"{service}-worker"), "worker")):
        if entry["name"].startswith("CITY_KAFKA_"):
            env[entry["name"]] = entry.get("value", "from-the-secret")
    for name, value in env.items():
        environ.setenv(name, value)
    settings: ServiceSettings = settings_of(service)
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_username == service
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_ssl_ca_file == Path(CA_DIR) / "ca.crt"
    assert settings.kafka_create_topics is False
    assert settings.kafka_bootstrap_servers == "city-kafka-kafka-bootstrap:9093"


def test_apis_hold_no_kafka_credentials(overlay: Rendered) -> None:
    for service in SERVICES:
        api = overlay.get("Deployment", f"{service}-api")
        for c in pod_spec(api)["containers"] + pod_spec(api).get("initContainers", []):
            assert not [e for e in env_of(c) if e["name"].startswith("CITY_KAFKA_SASL")]
        assert CA_SECRET not in str(pod_spec(api).get("volumes", []))


# --- the cluster ----------------------------------------------------------------------------


def test_one_authenticated_tls_listener_and_simple_authorization(overlay: Rendered) -> None:
    kafka = overlay.get("Kafka", "city-kafka")["spec"]["kafka"]
    listener = scram_listener(overlay.get("Kafka", "city-kafka"))
    assert (listener["name"], listener["port"], listener["type"], listener["tls"]) == (
        "scram", 9093, "internal", True)
    assert listener["authentication"] == {"type": "scram-sha-512"}
    assert kafka["authorization"] == {"type": "simple"}
    assert kafka["config"]["auto.create.topics.enable"] is False


def test_the_kafka_version_is_pinned(overlay: Rendered) -> None:
    kafka = overlay.get("Kafka", "city-kafka")["spec"]["kafka"]
    version = re.fullmatch(r"(\d+)\.(\d+)\.\d+", str(kafka.get("version", "")))
    assert version, "spec.kafka.version is not pinned to a release"
    assert str(kafka.get("metadataVersion", "")).startswith(
        f"{version.group(1)}.{version.group(2)}-IV"), "metadataVersion does not match version"


def spread_problems(docs: Rendered) -> list[str]:
    """How production's brokers could end up in one zone, or unaware of zones."""
    kafka = docs.get("Kafka", "city-kafka")["spec"]["kafka"]
    problems = []
    if kafka.get("rack", {}).get("topologyKey") != "topology.kubernetes.io/zone":
        problems.append("no rack awareness over zones")
    constraints = kafka.get("template", {}).get("pod", {}).get("topologySpreadConstraints", [])
    strict = {c["topologyKey"] for c in constraints
              if c["whenUnsatisfiable"] == "DoNotSchedule" and c["maxSkew"] == 1
              and c["labelSelector"]["matchLabels"].items() <= NODE_POD.items()}
    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname"):
        if key not in strict:
            problems.append(f"the Kafka nodes are not spread over {key}")
    for pool in docs.of_kind("KafkaNodePool"):
        if "pod" in pool["spec"].get("template", {}):
            problems.append("a node pool's pod template replaces the Kafka's (and its spread)")
    return problems


def test_production_spreads_brokers_over_zones_with_rack_awareness() -> None:
    assert spread_problems(render("overlays/production")) == []


def test_the_spread_check_catches_a_missing_constraint() -> None:
    original = render("overlays/production")
    docs = Rendered(original.target, copy.deepcopy(original.docs))
    pod = docs.get("Kafka", "city-kafka")["spec"]["kafka"]["template"]["pod"]
    pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["strimzi.io/name"] = "x"
    assert spread_problems(docs) == ["the Kafka nodes are not spread over "
                                     "topology.kubernetes.io/zone"]


def test_local_runs_one_node_without_zones() -> None:
    local = render("overlays/local")
    kafka = local.get("Kafka", "city-kafka")["spec"]["kafka"]
    assert "rack" not in kafka
    assert "topologySpreadConstraints" not in kafka["template"]["pod"]
    assert local.get("KafkaNodePool", "dual-role")["spec"]["replicas"] == 1


# --- metrics --------------------------------------------------------------------------------

#: MBean attribute -> the series the alerts and the runbook read (kafka-metrics.yaml's header).
NEEDED_METRICS = {
    ("kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>", "Value"):
        jmx_rules.Sample("kafka_server_replicamanager_underreplicatedpartitions"),
    ("kafka.server<type=ReplicaManager, name=UnderMinIsrPartitionCount><>", "Value"):
        jmx_rules.Sample("kafka_server_replicamanager_underminisrpartitioncount"),
    ("kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>", "Value"):
        jmx_rules.Sample("kafka_controller_kafkacontroller_offlinepartitionscount"),
    ("kafka.controller<type=KafkaController, name=ActiveControllerCount><>", "Value"):
        jmx_rules.Sample("kafka_controller_kafkacontroller_activecontrollercount"),
    ("kafka.controller<type=KafkaController, name=ActiveBrokerCount><>", "Value"):
        jmx_rules.Sample("kafka_controller_kafkacontroller_activebrokercount"),
    ("kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=case.cases><>",
     "Count"): jmx_rules.Sample("kafka_server_brokertopicmetrics_messagesin_total",
                                (("topic", "case.cases"),)),
    ("kafka.server<type=socket-server-metrics, listener=SCRAM-9093, networkProcessor=3><>",
     "failed-authentication-total"): jmx_rules.Sample(
        "kafka_server_socket_server_metrics_failed_authentication_total",
        (("listener", "SCRAM-9093"), ("networkProcessor", "3"))),
    ("kafka.server<type=KafkaRequestHandlerPool, name=RequestHandlerAvgIdlePercent><>",
     "MeanRate"): jmx_rules.Sample(
        "kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent"),
    ("kafka.network<type=SocketServer, name=NetworkProcessorAvgIdlePercent><>", "Value"):
        jmx_rules.Sample("kafka_network_socketserver_networkprocessoravgidle_percent"),
    ("kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>",
     "99thPercentile"): jmx_rules.Sample("kafka_network_requestmetrics_totaltimems",
                                         (("quantile", "0.99"), ("request", "Produce"))),
    ("kafka.log<type=Log, name=Size, topic=case.deadletters, partition=0><>", "Value"):
        jmx_rules.Sample("kafka_log_log_size",
                         (("partition", "0"), ("topic", "case.deadletters"))),
    ("kafka.server<type=FetcherLagMetrics, name=ConsumerLag, clientId=ReplicaFetcherThread-0-1,"
     " topic=case.cases, partition=2><>", "Value"): jmx_rules.Sample(
        "kafka_server_fetcherlagmetrics_consumerlag",
        (("clientId", "ReplicaFetcherThread-0-1"), ("partition", "2"), ("topic", "case.cases"))),
    ("kafka.server<type=raft-metrics><>", "current-state"): jmx_rules.Sample(
        "kafka_server_raftmetrics_current_state", (("current_state", "leader"),)),
}
#: Left out on purpose: latency of other requests and stages, KRaft's low-level channel.
UNWANTED_METRICS = {
    ("kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Metadata><>",
     "99thPercentile"),
    ("kafka.network<type=RequestMetrics, name=RequestQueueTimeMs, request=Produce><>",
     "99thPercentile"),
    ("kafka.server<type=raft-channel-metrics><>", "incoming-byte-total"),
}


def metrics_config(docs: Rendered) -> dict[str, Any]:
    """The JMX exporter configuration the Kafka's metricsConfig points at."""
    metrics = docs.get("Kafka", "city-kafka")["spec"]["kafka"]["metricsConfig"]
    assert metrics["type"] == "jmxPrometheusExporter"
    ref = metrics["valueFrom"]["configMapKeyRef"]
    config_map = docs.get("ConfigMap", ref["name"])
    config: dict[str, Any] = yaml.safe_load(config_map["data"][ref["key"]])
    return config


def metric_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    for (bean, attribute), wanted in NEEDED_METRICS.items():
        value = "leader" if attribute == "current-state" else 1.0
        got = jmx_rules.export(config, bean, attribute, value)
        if got != wanted:
            problems.append(f"{bean}{attribute} exports {got}, not {wanted}")
    problems += [f"{bean}{attribute} is exported" for bean, attribute in UNWANTED_METRICS
                 if jmx_rules.export(config, bean, attribute, 1.0) is not None]
    return problems


def test_the_jmx_exporter_exports_what_alerts_and_runbook_read(overlay: Rendered) -> None:
    assert metric_problems(metrics_config(overlay)) == []


def test_the_metric_check_catches_a_missing_rule() -> None:
    config = copy.deepcopy(metrics_config(render("overlays/production")))
    # Without the percentage rules, the idle percentages are lost or named otherwise.
    config["rules"] = [r for r in config["rules"] if r"Percent\w*" not in r["pattern"]]
    problems = metric_problems(config)
    assert len(problems) == 2
    assert all("AvgIdlePercent" in p for p in problems)


def test_the_kafka_exporter_watches_every_topic_and_group(overlay: Rendered) -> None:
    exporter = overlay.get("Kafka", "city-kafka")["spec"]["kafkaExporter"]
    assert (exporter["topicRegex"], exporter["groupRegex"]) == (".*", ".*")
    assert "userOperator" in overlay.get("Kafka", "city-kafka")["spec"]["entityOperator"]


def scraped(docs: Rendered, pod: dict[str, str]) -> list[str]:
    """The PodMonitors that scrape ``METRICS_PORT`` of a pod with these labels."""
    return [m["metadata"]["name"] for m in docs.of_kind("PodMonitor")
            if m["spec"]["selector"].get("matchLabels", {}).items() <= pod.items()
            and not m["spec"]["selector"].get("matchExpressions")
            and any(e.get("port") == METRICS_PORT for e in m["spec"]["podMetricsEndpoints"])]


def test_podmonitors_scrape_the_kafka_nodes_and_the_exporter() -> None:
    production = render("overlays/production")
    assert scraped(production, NODE_POD) == ["city-kafka"]
    assert scraped(production, EXPORTER_POD) == ["city-kafka-exporter"]
    assert scraped(production, ENTITY_OPERATOR_POD) == []


def test_the_podmonitor_check_catches_a_wrong_selector() -> None:
    original = render("overlays/production")
    docs = Rendered(original.target, copy.deepcopy(original.docs))
    monitor = docs.get("PodMonitor", "city-kafka-exporter")
    monitor["spec"]["selector"]["matchLabels"]["strimzi.io/name"] = "kafka-exporter"
    assert scraped(docs, EXPORTER_POD) == []


def test_network_policies_admit_workers_and_prometheus_only(overlay: Rendered) -> None:
    cluster = overlay.get("NetworkPolicy", "kafka-cluster")["spec"]
    assert cluster["podSelector"]["matchLabels"].items() <= NODE_POD.items()
    by_port = {port["port"]: rule["from"] for rule in cluster["ingress"]
               for port in rule.get("ports", [])}
    assert set(by_port) == {9093, 9404}
    assert by_port[9093] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/part-of": "city-platform", "app.kubernetes.io/component": "worker"}}}]
    assert by_port[9404] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    egress = overlay.get("NetworkPolicy", "workers-to-kafka")["spec"]["egress"]
    assert [p["port"] for rule in egress for p in rule["ports"]] == [9093]
    assert egress[0]["to"][0]["podSelector"]["matchLabels"].items() <= NODE_POD.items()
