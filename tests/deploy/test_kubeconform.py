"""Every rendered manifest is valid against the API it is applied to: kubeconform, strict.

A misspelled or misplaced field is accepted by ``kubectl kustomize`` and by the structural
checks of test_manifests.py, but refused by the API server (or worse, silently dropped by
an operator that ignores unknown fields). kubeconform checks each document against the
vendored schemas of Kubernetes and of every operator's CRDs (deploy/k8s/schemas, strict:
unknown fields are refused), offline: no `default` location, so a kind without a vendored
schema fails instead of being fetched or skipped.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import rendering
from tests.deploy.rendering import K8S, Manifest, needs_kubectl

yaml = pytest.importorskip("yaml", reason="PyYAML parses the rendered manifests")

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = K8S / "schemas"
KUBERNETES_VERSION = "1.34.0"  # the vendored Kubernetes schemas (deploy/k8s/schemas/vendor.py)
SCHEMA_LOCATIONS = (
    f"{SCHEMAS}/kubernetes/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}"
    "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
    f"{SCHEMAS}/crds/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
)
OVERLAYS = ("overlays/local", "overlays/production")
EXAMPLES = sorted((K8S / "examples").glob("*.yaml"))

pytestmark = needs_kubectl


def kubeconform_binary() -> str:
    """`make install` puts it into .local/bin; KUBECONFORM or PATH may name another."""
    for candidate in (
        os.environ.get("KUBECONFORM"),
        str(ROOT / ".local" / "bin" / "kubeconform"),
        shutil.which("kubeconform"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("kubeconform is not installed: run `make install` (it builds it with Go)")


def validate(docs: list[Manifest]) -> list[Manifest]:
    """kubeconform's verdict on each document (status, msg), in kubeconform's order."""
    command = [kubeconform_binary(), "-strict", "-summary", "-output", "json", "-verbose"]
    command += ["-kubernetes-version", KUBERNETES_VERSION]
    for location in SCHEMA_LOCATIONS:
        command += ["-schema-location", location]
    result = subprocess.run(
        [*command, "-"],
        input=yaml.safe_dump_all(docs),
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    resources: list[Manifest] = report["resources"]
    assert len(resources) == len(docs), report["summary"]
    # The exit code and the summary agree with the per-document verdicts.
    assert (result.returncode == 0) == all(r["status"] == "statusValid" for r in resources)
    return resources


def problems(docs: list[Manifest]) -> list[str]:
    return [
        f"{r['kind']} {r['name']}: {r['status']}: {r.get('msg', '')}"
        for r in validate(docs)
        if r["status"] != "statusValid"
    ]


def load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def rendered(target: str) -> list[Manifest]:
    """A copy of the shared rendering: the negative controls below change it."""
    return copy.deepcopy(rendering.rendered(target))


@pytest.mark.parametrize("target", OVERLAYS)
def test_overlay_is_valid_against_the_api_schemas(target: str) -> None:
    docs = rendered(target)
    assert problems(docs) == []
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Kafka", "Cluster"} <= kinds  # core and both operators were checked


def test_examples_are_valid_against_the_api_schemas() -> None:
    """deploy/k8s/examples (e.g. the restore Cluster) are applied by hand: checked the same."""
    assert "restore-cluster.yaml" in {path.name for path in EXAMPLES}
    for path in EXAMPLES:
        assert problems(load(path)) == [], path.name


def test_runbook_manifests_are_valid_against_the_api_schemas() -> None:
    """The objects docs/runbook.md has operators apply during an incident: a misspelled field
    there costs minutes when they count."""
    markdown = (ROOT / "docs" / "runbook.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", markdown, re.M | re.S)
    docs = [
        doc
        for block in blocks
        for doc in yaml.safe_load_all(block)
        if isinstance(doc, dict) and "apiVersion" in doc
    ]
    assert docs, "docs/runbook.md: no manifest found"
    assert problems(docs) == []


def open_objects(node: Any, path: str = "#") -> list[str]:
    """Schema nodes that list properties yet would accept any other field."""
    found = []
    if isinstance(node, dict):
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            found.append(path)
        for key, value in node.items():
            # Under `properties` the keys are field names, which may be any word.
            if key == "properties" and isinstance(value, dict):
                for name, child in value.items():
                    found += open_objects(child, f"{path}/properties/{name}")
            else:
                found += open_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += open_objects(item, f"{path}/{index}")
    return found


def test_vendored_schemas_are_strict() -> None:
    """-strict only refuses unknown fields where the schema closes the object: all of them do
    (except where the API itself keeps unknown fields), whoever regenerates or edits them."""
    schemas = sorted(SCHEMAS.rglob("*.json"))
    assert len(schemas) >= 30
    for path in schemas:
        assert open_objects(json.loads(path.read_text())) == [], path.relative_to(SCHEMAS)


def test_strictness_check_sees_an_open_object() -> None:
    """Negative control: a schema with one object left open is reported."""
    schema = json.loads((SCHEMAS / "crds/kafka.strimzi.io/kafka_v1.json").read_text())
    del schema["properties"]["spec"]["additionalProperties"]
    assert open_objects(schema) == ["#/properties/spec"]


def first(docs: list[Manifest], kind: str) -> Manifest:
    return next(doc for doc in docs if doc["kind"] == kind)


def misspell_container_field(docs: list[Manifest]) -> str:
    container = first(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicyy"] = container.pop("imagePullPolicy", "IfNotPresent")
    return "imagePullPolicyy"


def misspell_kafka_field(docs: list[Manifest]) -> str:
    kafka = first(docs, "Kafka")["spec"]["kafka"]
    kafka["listener"] = kafka.pop("listeners")
    return "listener"


def misspell_cluster_field(docs: list[Manifest]) -> str:
    first(docs, "Cluster")["spec"]["instancess"] = 3
    return "instancess"


def misspell_custom_resource_metadata(docs: list[Manifest]) -> str:
    first(docs, "KafkaTopic")["metadata"]["lables"] = {"a": "b"}
    return "lables"


def wrong_type(docs: list[Manifest]) -> str:
    first(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] = [1]
    return "maxUnavailable"


def unknown_kind(docs: list[Manifest]) -> str:
    docs.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    return "could not find schema for Widget"


@pytest.mark.parametrize(
    "mutate",
    [
        misspell_container_field,
        misspell_kafka_field,
        misspell_cluster_field,
        misspell_custom_resource_metadata,
        wrong_type,
        unknown_kind,
    ],
)
def test_a_broken_manifest_is_refused(mutate: Callable[[list[Manifest]], str]) -> None:
    """Negative control: each mistake fails validation, naming what is wrong."""
    docs = rendered("overlays/production")
    needle = mutate(docs)
    found = problems(docs)
    assert len(found) == 1, found
    assert needle in found[0]
