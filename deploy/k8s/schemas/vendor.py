"""Regenerates the JSON schemas that kubeconform validates the manifests against, offline after.

Why vendored: CI has no network but the package registries, and a schema fetched at test time
could change under us. Why strict: kubeconform's ``-strict`` only rejects unknown fields where
the schema says ``additionalProperties: false``, so every object schema that lists its
properties gets it here (unless the API marks it ``x-kubernetes-preserve-unknown-fields``),
as ``kubectl apply --validate=strict`` would reject the field.

Every source is a package from a registry, pinned below (SOURCES.md lists them):

- Kubernetes: the strict schemas shipped in the PyPI package ``kubernetes-validate`` (built
  from Kubernetes' OpenAPI), made self-contained per kind (only the definitions it reaches).
- CRDs: the CRD YAML in the operators' Go modules (CloudNativePG, its barman-cloud plugin,
  Prometheus operator, Gateway API, cert-manager, Envoy Gateway), and for Strimzi the CRDs
  generated from its published ``io.strimzi:api`` jar by its own ``io.strimzi:crd-generator``
  (Maven Central; how Strimzi generates its install files; needs Java 21 or later).

Run from the repository root: ``python deploy/k8s/schemas/vendor.py`` (needs pip, go, mvn and a
Java 21+ ``java``: set ``JAVA`` if the one on PATH is older). Add a kind to the tables below when
a manifest starts using it; the kubeconform test fails on any kind without a schema.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.34.0"
KUBERNETES_DIR = HERE / "kubernetes" / f"v{KUBERNETES_VERSION}-standalone-strict"
CRD_DIR = HERE / "crds"

KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
# kubeconform's file names: <kind>[-<group prefix>]-<version>.json
KUBERNETES_KINDS = (
    "namespace-v1",
    "pod-v1",  # the runbook's tool pods (docs/runbook.md)
    "configmap-v1",
    "secret-v1",
    "serviceaccount-v1",
    "service-v1",
    "deployment-apps-v1",
    "job-batch-v1",
    "poddisruptionbudget-policy-v1",
    "horizontalpodautoscaler-autoscaling-v2",
    "networkpolicy-networking-v1",
)

# Go module, version, CRD files in the module, kinds to keep.
GO_CRDS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "github.com/cloudnative-pg/cloudnative-pg",
        "v1.30.0",
        (
            "config/crd/bases/postgresql.cnpg.io_clusters.yaml",
            "config/crd/bases/postgresql.cnpg.io_poolers.yaml",
            "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml",
        ),
        ("Cluster", "Pooler", "ScheduledBackup"),
    ),
    (
        "github.com/cloudnative-pg/plugin-barman-cloud",
        "v0.15.0",
        ("config/crd/bases/barmancloud.cnpg.io_objectstores.yaml",),
        ("ObjectStore",),
    ),
    (
        "github.com/prometheus-operator/prometheus-operator",
        "v0.93.1",
        (
            "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
            "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        ),
        ("PodMonitor", "PrometheusRule"),
    ),
    (
        "sigs.k8s.io/gateway-api",
        "v1.6.3",
        (
            "config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml",
            "config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
            "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
            "config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml",
        ),
        ("GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant"),
    ),
    (
        "github.com/cert-manager/cert-manager",
        "v1.21.2",
        (
            "deploy/crds/cert-manager.io_certificates.yaml",
            "deploy/crds/cert-manager.io_issuers.yaml",
            "deploy/crds/cert-manager.io_clusterissuers.yaml",
        ),
        ("Certificate", "Issuer", "ClusterIssuer"),
    ),
    (
        "github.com/envoyproxy/gateway",
        "v1.9.1",
        (
            "charts/gateway-helm/charts/crds/crds/generated/"
            "gateway.envoyproxy.io_clienttrafficpolicies.yaml",
            "charts/gateway-helm/charts/crds/crds/generated/"
            "gateway.envoyproxy.io_backendtrafficpolicies.yaml",
            "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_httproutefilters.yaml",
        ),
        ("ClientTrafficPolicy", "BackendTrafficPolicy", "HTTPRouteFilter"),
    ),
)

STRIMZI_VERSION = "1.2.0"
STRIMZI_API_VERSION = "v1"
STRIMZI_CLASSES = {
    "Kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "KafkaNodePool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "KafkaUser": "io.strimzi.api.kafka.model.user.KafkaUser",
}

Schema = dict[str, Any]
# Keywords whose value is one schema, or a list or map of schemas.
ONE_SCHEMA = ("items", "additionalProperties", "not", "additionalItems")
SCHEMA_LIST = ("allOf", "anyOf", "oneOf")
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions")
DROPPED = ("description", "x-kubernetes-group-version-kind")
K8S_REF = "/api/_definitions.json#/$defs/"
OBJECT_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
OBJECT_META_DEFS: dict[str, Schema] = {}  # filled from the Kubernetes definitions first


def run(*command: str, cwd: Path | None = None) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=cwd).stdout


def children(node: Schema) -> Iterator[Schema]:
    """The sub-schemas of one schema node (not property names, which may be `description`)."""
    for key in ONE_SCHEMA:
        if isinstance(node.get(key), dict):
            yield node[key]
    for key in SCHEMA_LIST:
        yield from node.get(key, ())
    for key in SCHEMA_MAP:
        yield from node.get(key, {}).values()


def tidy(node: Schema) -> None:
    """Drops what validation does not read (descriptions: most of the size)."""
    for key in DROPPED:
        node.pop(key, None)
    for child in children(node):
        tidy(child)


def strict_crd(node: Schema) -> None:
    """OpenAPI v3 of a CRD -> JSON schema as the API server applies it, unknown fields refused."""
    for child in children(node):
        strict_crd(child)
    if node.pop("x-kubernetes-int-or-string", False):
        node.pop("type", None)
        node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.pop("nullable", False) and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserve:
        node["additionalProperties"] = False


def write(path: Path, schema: Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


def crd_schemas(crd: Schema, kinds: tuple[str, ...]) -> Iterator[tuple[Path, Schema]]:
    """One schema per served version, at kubeconform's ``{{.Group}}/{{.ResourceKind}}_...``.

    The CRD leaves ``metadata`` open; Kubernetes' ObjectMeta is put in, so a misspelled
    ``lables`` fails on a custom resource as on a Deployment.
    """
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    if kind not in kinds:
        return
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = version["schema"]["openAPIV3Schema"]
        tidy(schema)
        strict_crd(schema)
        properties = schema.setdefault("properties", {})
        properties["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        properties["kind"] = {"type": "string", "enum": [kind]}
        properties["metadata"] = {"$ref": OBJECT_META}
        schema["$defs"] = OBJECT_META_DEFS
        schema["additionalProperties"] = False
        yield CRD_DIR / group / f"{kind.lower()}_{version['name']}.json", schema


def load_crds(path: Path) -> Iterator[Schema]:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc.get("kind") == "CustomResourceDefinition":
            yield doc


def vendor_go_crds() -> list[str]:
    sources = []
    for module, version, files, kinds in GO_CRDS:
        info = json.loads(run("go", "mod", "download", "-json", f"{module}@{version}"))
        written = []
        for name in files:
            for crd in load_crds(Path(info["Dir"]) / name):
                for path, schema in crd_schemas(crd, kinds):
                    write(path, schema)
                    written.append(path.relative_to(HERE).as_posix())
        sources.append(f"| Go module `{module}` | `{version}` | {', '.join(kinds)} |")
        print(f"{module}@{version}: {len(written)} schemas")
    return sources


def java() -> str:
    return os.environ.get("JAVA") or shutil.which("java") or "java"


def vendor_strimzi(work: Path) -> str:
    pom = work / "pom.xml"
    pom.write_text(
        "<project xmlns='http://maven.apache.org/POM/4.0.0'><modelVersion>4.0.0</modelVersion>"
        "<groupId>local</groupId><artifactId>strimzi-crds</artifactId><version>0</version>"
        "<dependencies>"
        + "".join(
            f"<dependency><groupId>io.strimzi</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{STRIMZI_VERSION}</version></dependency>"
            for artifact in ("api", "crd-generator")
        )
        + "</dependencies></project>"
    )
    classpath = work / "classpath.txt"
    run("mvn", "-q", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={classpath}")
    outputs = {kind: work / f"{kind}.yaml" for kind in STRIMZI_CLASSES}
    run(
        java(),
        "-cp",
        classpath.read_text().strip(),
        "io.strimzi.crdgenerator.CrdGenerator",
        "--target-kube",
        "1.16+",
        "--crd-api-version",
        "v1",
        "--api-versions",
        STRIMZI_API_VERSION,
        "--storage-version",
        STRIMZI_API_VERSION,
        "--yaml",
        *(f"{STRIMZI_CLASSES[kind]}={path}" for kind, path in outputs.items()),
    )
    for path in outputs.values():
        for crd in load_crds(path):
            for target, schema in crd_schemas(crd, tuple(STRIMZI_CLASSES)):
                write(target, schema)
    print(f"strimzi {STRIMZI_VERSION}: {len(outputs)} schemas")
    return (
        f"| Maven `io.strimzi:api` + `io.strimzi:crd-generator` | `{STRIMZI_VERSION}` | "
        f"{', '.join(STRIMZI_CLASSES)} ({STRIMZI_API_VERSION}) |"
    )


def reachable(schema: Schema, definitions: dict[str, Schema], prefix: str) -> dict[str, Schema]:
    """The definitions one kind's schema refers to, transitively, refs rewritten to ``#/$defs``."""
    found: dict[str, Schema] = {}
    pending = [schema]
    while pending:
        node = pending.pop()
        ref = node.get("$ref")
        local = "#/$defs/"  # how the definitions refer to each other
        if isinstance(ref, str) and ref.startswith((prefix, local)):
            name = ref.removeprefix(prefix).removeprefix(local)
            node["$ref"] = f"#/$defs/{name}"
            if name not in found:
                found[name] = json.loads(json.dumps(definitions[name]))
                pending.append(found[name])
        pending.extend(children(node))
    return found


def vendor_kubernetes(work: Path) -> str:
    pip = shutil.which("pip3") or "pip"
    run(pip, "download", "--quiet", "--no-deps", "-d", str(work), KUBERNETES_VALIDATE)
    (wheel,) = work.glob("kubernetes_validate-*.whl")
    folder = f"kubernetes_validate/kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(folder + "_definitions.json"))["$defs"]
        for kind in KUBERNETES_KINDS:
            schema = json.loads(archive.read(f"{folder}{kind}.json"))
            schema.pop("$id", None)  # its base would send the refs to kubernetes.io
            schema["$defs"] = reachable(schema, definitions, K8S_REF)
            tidy(schema)
            write(KUBERNETES_DIR / f"{kind}.json", schema)
    meta: Schema = {"$ref": OBJECT_META.replace("#/$defs/", K8S_REF)}
    OBJECT_META_DEFS.update(reachable(meta, definitions, K8S_REF))
    tidy({"$defs": OBJECT_META_DEFS})
    print(f"kubernetes {KUBERNETES_VERSION}: {len(KUBERNETES_KINDS)} schemas")
    return (
        f"| PyPI `{KUBERNETES_VALIDATE}` (its `v{KUBERNETES_VERSION}-local-strict`) | "
        f"Kubernetes `{KUBERNETES_VERSION}` | {', '.join(KUBERNETES_KINDS)} |"
    )


def main() -> None:
    for folder in (KUBERNETES_DIR.parent, CRD_DIR):
        shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = [vendor_kubernetes(work), vendor_strimzi(work), *vendor_go_crds()]
    (HERE / "SOURCES.md").write_text(
        "# Where the vendored schemas come from\n\n"
        "Generated by `python deploy/k8s/schemas/vendor.py` (do not edit the JSON by hand).\n"
        "Descriptions are dropped; every object schema listing its properties refuses others\n"
        "(`additionalProperties: false`) unless the API preserves unknown fields. Keep each\n"
        'version at the one installed in the cluster (deploy/k8s/README.md, "Installing"): a\n'
        "field that only a newer CRD has passes here but is refused by the older API server.\n\n"
        "| source | version | kinds |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    )


if __name__ == "__main__":
    main()
