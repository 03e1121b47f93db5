"""The alerts of the production overlay (components/monitoring/prometheusrules.yaml) as an
operator relies on them:

- every alert has a severity and a ``runbook_url`` whose section exists in docs/runbook.md
  (GitHub's heading anchors), and annotations that say what happened;
- every metric an expression reads is one our code registers (with the labels the expression
  matches on) or one a known exporter serves; the job names the expiry alerts select are the
  ones the jobs report;
- ``promtool check rules`` accepts the rules, and ``promtool test rules`` shows each alert firing
  on synthetic series (alert_cases*.yaml), and not firing where it must not.

Each check has a negative control: a misspelled metric, a missing anchor, a broken expression,
a weakened threshold, an alert without a case.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql_names import selectors
from tests.deploy.rendering import needs_kubectl
from tests.deploy.test_manifests import hardening_violations, render

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
RUNBOOK_URL = "https://github.com/city-platform/city-platform/blob/main/docs/runbook.md#"
CASES = [Path(__file__).with_name("alert_cases.yaml"),
         Path(__file__).with_name("alert_cases_long.yaml")]
SERVICES = ("identity", "case", "payment", "notification", "ticketing")
SEVERITIES = {"critical", "warning"}
PROMTOOL = shutil.which("promtool")
PROMTOOL_MISSING = ("promtool is not installed: `apt-get install -y --no-install-recommends "
                    "prometheus` (Debian's package ships /usr/bin/promtool)")

pytestmark = needs_kubectl

#: Metrics of other software the rules may read, and where each comes from.
KNOWN_EXPORTERS: dict[str, str] = {
    "up": "Prometheus, one series per scrape target",
    # Strimzi's Kafka Exporter (Kafka.spec.kafkaExporter), PodMonitor city-kafka-exporter
    "kafka_consumergroup_lag": "Kafka Exporter",
    "kafka_consumergroup_current_offset": "Kafka Exporter",
    "kafka_topic_partition_current_offset": "Kafka Exporter",
    # the Kafka nodes' JMX exporter, rules in components/infrastructure/kafka-metrics.yaml
    # (tests/deploy/test_kafka_manifests.py checks the rules produce these names)
    "kafka_server_replicamanager_underreplicatedpartitions": "Kafka JMX exporter",
    "kafka_server_replicamanager_underminisrpartitioncount": "Kafka JMX exporter",
    "kafka_controller_kafkacontroller_offlinepartitionscount": "Kafka JMX exporter",
    "kafka_controller_kafkacontroller_activecontrollercount": "Kafka JMX exporter",
    # Strimzi's cluster operator (its own metrics endpoint)
    "strimzi_certificate_expiration_timestamp_ms": "Strimzi cluster operator",
    # CloudNativePG's instance exporter: its collector and the default queries
    # (cnpg-default-monitoring: pg_replication, pg_stat_archiver)
    "cnpg_collector_up": "CloudNativePG exporter",
    "cnpg_pg_replication_lag": "CloudNativePG exporter",
    "cnpg_pg_stat_archiver_last_failed_time": "CloudNativePG exporter",
    "cnpg_pg_stat_archiver_last_archived_time": "CloudNativePG exporter",
    # the barman-cloud plugin, through the instance exporter (its docs, "Observability")
    "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp": "barman-cloud plugin",
    "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp": "barman-cloud plugin",
    # cert-manager's controller
    "certmanager_certificate_expiration_timestamp_seconds": "cert-manager",
    "certmanager_certificate_ready_status": "cert-manager",
    # kube-state-metrics
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_deployment_spec_replicas": "kube-state-metrics",
}

#: What the issue asks to be alerted on, by the alert's name.
ISSUE_ALERTS = frozenset({
    "ConsumerLagGrowing", "KafkaConsumerGroupLagGrowing", "OutboxBacklogGrowing",
    "DeadLettersArriving", "DeadLetterTopicGrowing", "OutboxRelayStopped", "APIErrorBudgetBurn",
    "APILatencyBudgetBurn", "HoldExpiryNotRunning", "PaymentExpiryNotRunning",
    "CertificateExpiringSoon", "KafkaCertificateExpiringSoon", "SigningKeyRotationDue",
})

#: Labels Prometheus (the operator's PodMonitor) adds to every series of a target.
TARGET_LABELS = frozenset({"namespace", "pod", "container", "endpoint", "job", "instance"})

#: Imports every module of our packages and prints each registered sample name with the label
#: names of its collector. Run in a subprocess so that this test process's registry stays as
#: the other tests left it. ``_collector_to_names`` and ``_labelnames`` are prometheus_client's
#: own bookkeeping (private, but the only place a labelled metric without samples names them).
_REGISTRY_SCRIPT = """
import importlib, json, pkgutil, sys
from prometheus_client import REGISTRY
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
names = {}
for collector, samples in REGISTRY._collector_to_names.items():
    for sample in samples:
        names[sample] = sorted(getattr(collector, "_labelnames", ()))
print(json.dumps(names))
"""


@functools.cache
def prometheus_rule() -> dict[str, Any]:
    """The PrometheusRule of the rendered production overlay (shared: copy before changing)."""
    rules: list[dict[str, Any]] = render("overlays/production").of_kind("PrometheusRule")
    assert [r["metadata"]["name"] for r in rules] == ["city-platform"]
    return rules[0]


def rules_of(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def alerts_of(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in rules_of(rule) if "alert" in r]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (outside code blocks): lower case,
    punctuation but ``-`` and ``_`` dropped, spaces to ``-``, repeats numbered ``-1``, ``-2``."""
    anchors: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in anchors:
            n += 1
            candidate = f"{slug}-{n}"
        anchors.add(candidate)
    return anchors


def annotation_problems(alerts: list[dict[str, Any]], anchors: set[str]) -> list[str]:
    """What an operator would miss in each alert: severity, summary, description, a runbook
    link whose section exists."""
    problems = []
    for alert in alerts:
        name = alert["alert"]
        labels = alert.get("labels", {})
        notes = alert.get("annotations", {})
        if labels.get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity {labels.get('severity')!r}")
        for key in ("summary", "description"):
            if not notes.get(key, "").strip():
                problems.append(f"{name}: no {key}")
        url = notes.get("runbook_url", "")
        if not url.startswith(RUNBOOK_URL):
            problems.append(f"{name}: runbook_url {url!r} is not docs/runbook.md")
        elif (anchor := url.removeprefix(RUNBOOK_URL)) not in anchors:
            problems.append(f"{name}: docs/runbook.md has no section #{anchor}")
    return problems


@pytest.fixture(scope="module")
def registered() -> dict[str, set[str]]:
    """Every sample name our packages register, with its label names."""
    packages = ["city_shared", *(f"{s}_service" for s in SERVICES)]
    result = subprocess.run([sys.executable, "-c", _REGISTRY_SCRIPT, *packages],
                            capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return {name: set(labels) for name, labels in json.loads(result.stdout).items()}


def metric_problems(rules: list[dict[str, Any]], registered: dict[str, set[str]]) -> list[str]:
    """Metrics an expression reads that nothing serves, and labels it matches on that our
    metric does not have."""
    recorded = {r["record"] for r in rules if "record" in r}
    problems = []
    for rule in rules:
        name = rule.get("alert") or rule["record"]
        for metric, labels in selectors(rule["expr"]).items():
            if metric in recorded or metric in KNOWN_EXPORTERS:
                continue
            if metric not in registered:
                problems.append(f"{name}: {metric} is neither ours nor a known exporter's")
                continue
            extra = labels - registered[metric] - TARGET_LABELS
            if metric.endswith("_bucket"):
                extra.discard("le")  # a histogram's bucket bound, not a label of ours
            if extra:
                problems.append(f"{name}: {metric} has no label {sorted(extra)}")
    return problems


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    alerts = alerts_of(prometheus_rule())
    assert {a["alert"] for a in alerts} >= ISSUE_ALERTS
    assert annotation_problems(alerts, github_anchors(RUNBOOK.read_text())) == []


def test_the_runbook_check_catches_a_missing_section_or_severity() -> None:
    alerts = copy.deepcopy(alerts_of(prometheus_rule()))
    anchors = github_anchors(RUNBOOK.read_text())
    alerts[0]["annotations"]["runbook_url"] = RUNBOOK_URL + "no-such-section"
    del alerts[1]["labels"]["severity"]
    alerts[2]["annotations"]["runbook_url"] = "https://example.org/runbook"
    problems = annotation_problems(alerts, anchors)
    assert len(problems) == 3
    assert "no section #no-such-section" in problems[0]


def test_anchors_are_computed_as_github_does() -> None:
    markdown = "# Runbook\n## A broker lost\n```sh\n# not a heading\n```\n### A broker lost\n" \
               "### Identity's token signing key (`CITY_X`)\n"
    assert github_anchors(markdown) == {
        "runbook", "a-broker-lost", "a-broker-lost-1", "identitys-token-signing-key-city_x"}


def test_every_metric_the_rules_read_exists(registered: dict[str, set[str]]) -> None:
    rules = rules_of(prometheus_rule())
    assert metric_problems(rules, registered) == []
    read = {m for r in rules for m in selectors(r["expr"])}
    ours = {m for m in read if m.startswith("city_")}
    assert {"city_outbox_backlog", "city_outbox_relay_active", "city_consumer_lag",
            "city_dead_letters_total", "city_stalled_sagas",
            "city_http_request_duration_seconds_count", "city_http_request_duration_seconds_bucket",
            "city_job_last_success_timestamp_seconds",
            "city_signing_key_activated_timestamp_seconds"} <= ours
    assert set(KNOWN_EXPORTERS) <= read  # the allow-list holds nothing the rules do not read


def test_the_metric_check_catches_a_misspelled_metric_or_label(
        registered: dict[str, set[str]]) -> None:
    rules = copy.deepcopy(rules_of(prometheus_rule()))
    alert = next(r for r in rules if r.get("alert") == "OutboxRelayStopped")
    alert["expr"] = alert["expr"].replace("city_outbox_relay_active", "city_outbox_relay_activ")
    slo = next(r for r in rules if r.get("record") == "city:http_requests_errors:ratio_rate5m")
    slo["expr"] = slo["expr"].replace('status=~"5.."', 'code=~"5.."')
    kafka = next(r for r in rules if r.get("alert") == "KafkaOfflinePartitions")
    kafka["expr"] = kafka["expr"].replace("offlinepartitionscount", "offlinepartitions")
    assert metric_problems(rules, registered) == [
        "city:http_requests_errors:ratio_rate5m: city_http_request_duration_seconds_count has "
        "no label ['code']",
        "OutboxRelayStopped: city_outbox_relay_activ is neither ours nor a known exporter's",
        "KafkaOfflinePartitions: kafka_controller_kafkacontroller_offlinepartitions is neither "
        "ours nor a known exporter's",
    ]


def test_the_expiry_alerts_select_the_jobs_by_the_names_they_report() -> None:
    from payment_service.payments.expiry import EXPIRY_JOB
    from ticketing_service.orders.expiry import HOLD_EXPIRY_JOB

    exprs = {a["alert"]: a["expr"] for a in alerts_of(prometheus_rule())}
    assert f'task="{HOLD_EXPIRY_JOB}"' in exprs["HoldExpiryNotRunning"]
    assert f'task="{EXPIRY_JOB}"' in exprs["PaymentExpiryNotRunning"]
    services = "(" + "|".join(SERVICES) + ")"
    assert f'pod=~"{services}-(api|worker)-.+"' in exprs["CityTargetDown"]
    assert f'deployment=~"{services}-(api|worker)"' in exprs["CityDeploymentUnavailable"]


# --- promtool -------------------------------------------------------------------------------


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        pytest.fail(PROMTOOL_MISSING)
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, check=False,
                          timeout=120)


def write_rules(rule: dict[str, Any], folder: Path, *, annotations: bool) -> Path:
    """The PrometheusRule's groups as a Prometheus rule file in ``folder``."""
    spec = copy.deepcopy(rule["spec"])
    if not annotations:
        for r in (r for group in spec["groups"] for r in group["rules"]):
            r.pop("annotations", None)
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_cases(rule: dict[str, Any], folder: Path,
              cases: list[Path] = CASES) -> subprocess.CompletedProcess[str]:
    write_rules(rule, folder, annotations=False)
    for case in cases:
        shutil.copy(case, folder / case.name)
    return promtool("test", "rules", *(str(folder / c.name) for c in cases))


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    result = promtool("check", "rules", str(write_rules(prometheus_rule(), tmp_path,
                                                         annotations=True)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules_of(prometheus_rule()))} rules found" in result.stdout


def test_promtool_refuses_a_broken_expression_or_template(tmp_path: Path) -> None:
    rule = copy.deepcopy(prometheus_rule())
    alerts = alerts_of(rule)
    alerts[0]["expr"] = alerts[0]["expr"].replace(")", "", 1)
    alerts[1]["annotations"]["summary"] = "{{ $labels.service "
    result = promtool("check", "rules", str(write_rules(rule, tmp_path, annotations=True)))
    assert result.returncode != 0
    assert alerts[0]["alert"] in result.stderr + result.stdout


def test_every_alert_fires_on_its_cases(tmp_path: Path) -> None:
    result = run_cases(prometheus_rule(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(CASES)


def test_the_cases_catch_a_weakened_alert(tmp_path: Path) -> None:
    rule = copy.deepcopy(prometheus_rule())
    hold = next(a for a in alerts_of(rule) if a["alert"] == "HoldExpiryNotRunning")
    hold["expr"] = hold["expr"].replace("> 300", "> 3000")
    result = run_cases(rule, tmp_path, CASES[:1])  # the hold expiry cases are in the first
    assert result.returncode != 0
    assert "alertname: HoldExpiryNotRunning" in result.stdout + result.stderr


def alerts_without_a_firing_case(alerts: list[dict[str, Any]], cases: list[Path]) -> set[str]:
    fired = {test["alertname"]
             for case in cases
             for group in yaml.safe_load(case.read_text())["tests"]
             for test in group.get("alert_rule_test", ())
             if test.get("exp_alerts")}
    return {a["alert"] for a in alerts} - fired


def test_every_alert_has_a_case_where_it_fires() -> None:
    assert alerts_without_a_firing_case(alerts_of(prometheus_rule()), CASES) == set()
    new = [*alerts_of(prometheus_rule()), {"alert": "SomethingNew", "expr": "vector(1)"}]
    assert alerts_without_a_firing_case(new, CASES) == {"SomethingNew"}


def runbook_manifests(markdown: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of the runbook's ``yaml`` code blocks."""
    blocks = re.findall(r"^ *```yaml\n(.*?)^ *```", markdown, re.MULTILINE | re.DOTALL)
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]


def test_the_runbooks_kafka_tools_pod_is_hardened_like_ours() -> None:
    docs = runbook_manifests(RUNBOOK.read_text())
    assert {(d["kind"], d["metadata"]["name"]) for d in docs} == {
        ("KafkaUser", "city-operator"), ("Pod", "kafka-tools")}
    pod = next(d for d in docs if d["kind"] == "Pod")
    as_workload = {"metadata": pod["metadata"], "spec": {"template": {"spec": pod["spec"]}}}
    assert hardening_violations(as_workload) == []
    # the labels the network policies admit to the brokers, a name no Deployment selects
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/part-of": "city-platform",
                                         "app.kubernetes.io/component": "worker",
                                         "app.kubernetes.io/name": "kafka-tools"}
    weakened = copy.deepcopy(as_workload)
    del weakened["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert hardening_violations(weakened) != []
