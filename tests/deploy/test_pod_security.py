"""Every pod we define, or configure through an operator, meets Pod Security "restricted".

The production namespace enforces the profile (``pod-security.kubernetes.io/enforce:
restricted``), so a pod that misses one rule is refused at admission: the Deployment reports
``FailedCreate`` and nothing runs. test_manifests.py checks our own hardening baseline; this
checks the profile's rules themselves (Kubernetes' Pod Security Standards, "latest"), including
the ones that baseline does not name (volume types, host ports, AppArmor, SELinux, /proc mount,
sysctls, pod-level runAsUser, container-level seccomp), and over the pod templates we hand to
operators: CloudNativePG Poolers (a whole pod template), Strimzi's ``template`` sections and
CloudNativePG Clusters' security settings (there the operator fills in the rest, and its
"restricted" defaults are documented in deploy/k8s/README.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.deploy import rendering
from tests.deploy.rendering import Manifest, needs_kubectl

pytestmark = needs_kubectl

OVERLAYS = ("overlays/local", "overlays/production")

# https://kubernetes.io/docs/concepts/security/pod-security-standards/ (restricted, latest)
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
SECCOMP_TYPES = {"RuntimeDefault", "Localhost"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def security_context_violations(context: Manifest, where: str) -> list[str]:
    """Rules that hold for a securityContext at pod and at container level alike."""
    problems = []
    if context.get("windowsOptions", {}).get("hostProcess"):
        problems.append(f"{where}: windows hostProcess")
    if context.get("runAsUser") == 0:
        problems.append(f"{where}: runAsUser 0")
    if context.get("runAsNonRoot") is False:
        problems.append(f"{where}: runAsNonRoot false")
    seccomp = context.get("seccompProfile", {}).get("type")
    if seccomp is not None and seccomp not in SECCOMP_TYPES:
        problems.append(f"{where}: seccompProfile {seccomp}")
    apparmor = context.get("appArmorProfile", {}).get("type")
    if apparmor is not None and apparmor not in SECCOMP_TYPES:
        problems.append(f"{where}: appArmorProfile {apparmor}")
    selinux = context.get("seLinuxOptions", {})
    if selinux.get("type", "") not in SELINUX_TYPES or "user" in selinux or "role" in selinux:
        problems.append(f"{where}: seLinuxOptions {selinux}")
    return problems


def container_violations(container: Manifest, where: str, *, complete: bool) -> list[str]:
    """``complete``: the container is ours in full, so what the profile requires must be set."""
    context = container.get("securityContext", {})
    problems = security_context_violations(context, where)
    if context.get("privileged"):
        problems.append(f"{where}: privileged")
    if context.get("procMount", "Default") != "Default":
        problems.append(f"{where}: procMount {context['procMount']}")
    capabilities = context.get("capabilities", {})
    added = set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}
    if added:
        problems.append(f"{where}: adds capabilities {sorted(added)}")
    if complete:
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in capabilities.get("drop", []):
            problems.append(f"{where}: does not drop ALL capabilities")
    elif context.get("allowPrivilegeEscalation") is True:
        problems.append(f"{where}: allowPrivilegeEscalation true")
    problems += [
        f"{where}: hostPort {port['hostPort']}"
        for port in container.get("ports", [])
        if port.get("hostPort")
    ]
    return problems


def pod_violations(
    spec: Manifest, annotations: dict[str, str], where: str, *, complete: bool
) -> list[str]:
    """Every rule of the profile one pod spec breaks; ``complete`` as for containers."""
    context = spec.get("securityContext", {})
    problems = security_context_violations(context, where)
    problems += [
        f"{where}: {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)
    ]
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"{where}: volume {volume['name']} is {sorted(kinds)}")
    for sysctl in context.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"{where}: sysctl {sysctl['name']}")
    for key, value in annotations.items():
        if key.startswith(APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            problems.append(f"{where}: AppArmor {value}")
    containers = [
        c
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key, [])
    ]
    for c in containers:
        problems += container_violations(c, f"{where}/{c.get('name')}", complete=complete)
    if complete:
        contexts = [c.get("securityContext", {}) for c in containers]
        if context.get("runAsNonRoot") is not True and not all(
            c.get("runAsNonRoot") is True for c in contexts
        ):
            problems.append(f"{where}: runAsNonRoot is not true for every container")
        if context.get("seccompProfile", {}).get("type") not in SECCOMP_TYPES and not all(
            c.get("seccompProfile", {}).get("type") in SECCOMP_TYPES for c in contexts
        ):
            problems.append(f"{where}: no RuntimeDefault/Localhost seccomp for every container")
    return problems


def strimzi_templates(node: Any, path: str) -> Iterator[tuple[str, str, Manifest]]:
    """(path, "pod" or "container", template) for every Strimzi ``template`` entry."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "template" and isinstance(value, dict):
                for part, template in value.items():
                    if part == "pod":
                        yield f"{path}.template.pod", "pod", template
                    elif part.endswith("Container"):
                        yield f"{path}.template.{part}", "container", template
            else:
                yield from strimzi_templates(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strimzi_templates(item, f"{path}[{index}]")


def violations(doc: Manifest) -> list[str]:
    """What the profile refuses in one rendered document (pods it defines or configures)."""
    kind, spec = doc["kind"], doc.get("spec", {})
    where = f"{kind} {doc['metadata']['name']}"
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet", "Pooler", "CronJob"):
        template = (
            spec["template"] if kind != "CronJob" else spec["jobTemplate"]["spec"]["template"]
        )
        annotations = template.get("metadata", {}).get("annotations", {})
        return pod_violations(template["spec"], annotations, where, complete=True)
    if doc["apiVersion"].startswith("kafka.strimzi.io/"):
        problems = []
        for path, part, template in strimzi_templates(spec, where):
            annotations = template.get("metadata", {}).get("annotations", {})
            if part == "pod":
                pod = {"securityContext": template.get("securityContext", {})}
                pod["volumes"] = template.get("volumes", [])
                problems += pod_violations(pod, annotations, path, complete=False)
            else:
                problems += container_violations(template, path, complete=False)
        return problems
    if kind == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io/"):
        pod = {"securityContext": dict(spec.get("podSecurityContext", {}))}
        if "seccompProfile" in spec:
            pod["securityContext"]["seccompProfile"] = spec["seccompProfile"]
        container = {"securityContext": spec.get("securityContext", {})}
        return pod_violations(pod, {}, where, complete=False) + container_violations(
            container, f"{where}/postgres", complete=False
        )
    return []


def rendered(target: str) -> list[Manifest]:
    """A copy of the shared rendering: the negative controls below change it."""
    return copy.deepcopy(rendering.rendered(target))


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_pod_meets_pod_security_restricted(target: str) -> None:
    docs = rendered(target)
    assert [problem for doc in docs for problem in violations(doc)] == []
    checked = {doc["kind"] for doc in docs if doc["kind"] in ("Deployment", "Job", "Kafka")}
    assert checked == {"Deployment", "Job", "Kafka"}


def first(docs: list[Manifest], kind: str, name_part: str = "") -> Manifest:
    return next(d for d in docs if d["kind"] == kind and name_part in d["metadata"]["name"])


def api_pod(docs: list[Manifest]) -> Manifest:
    spec: Manifest = first(docs, "Deployment", "-api")["spec"]["template"]["spec"]
    return spec


def api_container(docs: list[Manifest]) -> Manifest:
    container: Manifest = api_pod(docs)["containers"][0]
    return container


def kafka_pod_template(docs: list[Manifest]) -> Manifest:
    template: Manifest = first(docs, "Kafka")["spec"]["kafka"].setdefault("template", {})
    pod: Manifest = template.setdefault("pod", {})
    return pod


MUTATIONS: dict[str, Callable[[list[Manifest]], None]] = {
    "hostPath volume": lambda d: api_pod(d)["volumes"].append(
        {"name": "host", "hostPath": {"path": "/var/run"}}
    ),
    "host port": lambda d: api_container(d)["ports"][0].update(hostPort=8000),
    "container seccomp Unconfined": lambda d: api_container(d)["securityContext"].update(
        seccompProfile={"type": "Unconfined"}
    ),
    "pod runAsUser 0": lambda d: api_pod(d)["securityContext"].update(runAsUser=0),
    "capability other than NET_BIND_SERVICE": lambda d: api_container(d)["securityContext"][
        "capabilities"
    ].update(add=["NET_ADMIN"]),
    "AppArmor Unconfined": lambda d: api_container(d)["securityContext"].update(
        appArmorProfile={"type": "Unconfined"}
    ),
    "unmasked /proc": lambda d: api_container(d)["securityContext"].update(procMount="Unmasked"),
    "unsafe sysctl": lambda d: api_pod(d)["securityContext"].update(
        sysctls=[{"name": "kernel.msgmax", "value": "65536"}]
    ),
    "SELinux user": lambda d: api_pod(d)["securityContext"].update(
        seLinuxOptions={"user": "system_u"}
    ),
    "privilege escalation unset": lambda d: api_container(d)["securityContext"].pop(
        "allowPrivilegeEscalation"
    ),
    "Strimzi pod as root": lambda d: (
        kafka_pod_template(d).setdefault("securityContext", {}).update(runAsUser=0)
    ),
    "Strimzi container privileged": lambda d: (
        first(d, "Kafka")["spec"]["kafka"]["template"]
        .setdefault("kafkaContainer", {})
        .update(securityContext={"privileged": True})
    ),
    "Pooler container privileged": lambda d: (
        first(d, "Pooler")["spec"]["template"]["spec"]["containers"][0]
        .setdefault("securityContext", {})
        .update(privileged=True)
    ),
    "CNPG Cluster seccomp Unconfined": lambda d: first(d, "Cluster")["spec"].update(
        seccompProfile={"type": "Unconfined"}
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_pod_security_check_catches_each_rule(mutation: str) -> None:
    """Negative control: each broken rule, on one pod, is reported (and only there)."""
    docs = rendered("overlays/production")
    MUTATIONS[mutation](docs)
    found = [problem for doc in docs for problem in violations(doc)]
    assert len(found) == 1, found


def test_net_bind_service_is_the_one_capability_the_profile_allows() -> None:
    docs = rendered("overlays/production")
    api_container(docs)["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert [problem for doc in docs for problem in violations(doc)] == []
