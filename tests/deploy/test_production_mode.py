"""The production overlay gives every service exactly what ``CITY_ENV=production`` demands.

Each API and worker container's environment is rebuilt from the rendered overlay (the shared
ConfigMap, literal values, ``$(VAR)`` expansion) with every ``<service>-settings`` key generated
by the commands in ``deploy/k8s/README.md``; the service's own settings class must accept it in
production mode, and refuse it, naming the variable, once a secret is left out.
"""

from __future__ import annotations

import functools
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from city_shared.production import ProductionSettingsRefused
from city_shared.settings import ServiceSettings
from tests.deploy.rendering import K8S, Manifest, needs_kubectl
from tests.deploy.rendering import rendered as render

pytestmark = needs_kubectl

SERVICES = {
    "identity": "IdentitySettings",
    "case": "CaseSettings",
    "payment": "PaymentSettings",
    "notification": "NotificationSettings",
    "ticketing": "TicketingSettings",
}
#: The secrets the README's commands put into each service's Secret.
SECRETS = {
    "identity": {"CITY_KEY_ENCRYPTION_KEY", "CITY_CSRF_SECRET"},
    "case": {"CITY_INTAKE_KEY_ENCRYPTION_KEY", "CITY_DOCUMENT_LINK_KEY"},
    "payment": {"CITY_SANDBOX_WEBHOOK_SECRETS"},
    "notification": set(),
    "ticketing": {"CITY_TICKET_SIGNING_KEYS"},
}

def shared_config(docs: list[Manifest]) -> dict[str, str]:
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"
                 and d["metadata"]["name"].startswith("city-platform-config")]
    return dict(config["data"])


def service_containers(docs: list[Manifest], service: str) -> Iterator[tuple[str, Manifest]]:
    for component in ("api", "worker"):
        name = f"{service}-{component}"
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"
                         and d["metadata"]["name"] == name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        yield name, container


@functools.cache
def readme_secrets() -> dict[str, str]:
    """Every ``--from-literal=NAME="$(command)"`` of the README, run: NAME -> generated value."""
    text = (K8S / "README.md").read_text()
    generated = {}
    for name, command in re.findall(r'--from-literal=(CITY_[A-Z_]+)="\$\((.+?)\)"', text):
        command = re.sub(r"^python3 ", f"{sys.executable} ", command)
        result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
        generated[name] = result.stdout.strip()
    return generated


def container_environment(
    container: Manifest, config: dict[str, str], secrets: dict[str, str], service: str
) -> dict[str, str]:
    """What the kubelet would give the process: ConfigMap, then ``env`` in order."""
    env = dict(config)
    for entry in container.get("env", []):
        name = entry["name"]
        if "value" in entry:
            env[name] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], entry["value"])
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        assert ref.get("optional") is not True, f"{service}: {name} is optional in production"
        if ref["name"] == f"{service}-db-app":
            env[name] = f"db-{ref['key']}"
        elif ref["name"] == service:  # the Secret of the worker's KafkaUser (Strimzi's)
            env[name] = f"kafka-{ref['key']}"
        else:
            assert ref["name"] == f"{service}-settings", name
            env[name] = secrets[ref["key"]]
    return env


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service}_service.settings")
    cls: type[ServiceSettings] = getattr(module, SERVICES[service])
    return cls


def build(cls: type[ServiceSettings], env: dict[str, str],
          monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    with monkeypatch.context() as m:
        for name, value in env.items():
            m.setenv(name, value)
        return cls()


def test_production_sets_production_mode_and_local_does_not() -> None:
    assert shared_config(render("overlays/production"))["CITY_ENV"] == "production"
    assert shared_config(render("overlays/local")).get("CITY_ENV", "development") == "development"


def test_the_readme_generates_every_secret_production_reads() -> None:
    assert set(readme_secrets()) == set().union(*SECRETS.values())


@pytest.mark.parametrize("service", SERVICES)
def test_production_mode_accepts_the_overlay_with_the_generated_secrets(
    service: str, environ: pytest.MonkeyPatch
) -> None:
    docs = render("overlays/production")
    config, secrets = shared_config(docs), readme_secrets()
    for name, container in service_containers(docs, service):
        env = container_environment(container, config, secrets, service)
        from_secret = {e["name"] for e in container["env"]
                       if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
                       == f"{service}-settings"}
        assert from_secret == SECRETS[service], name

        settings = build(settings_class(service), env, environ)

        assert settings.env == "production", name
        assert settings.service_name == service


@pytest.mark.parametrize(
    ("service", "variable"),
    [(service, variable) for service, names in SECRETS.items() for variable in sorted(names)],
)
def test_production_mode_refuses_the_overlay_without_one_secret(
    service: str, variable: str, environ: pytest.MonkeyPatch
) -> None:
    """Negative control: the check above would notice a secret the overlay failed to pass."""
    docs = render("overlays/production")
    config, secrets = shared_config(docs), readme_secrets()
    for _, container in service_containers(docs, service):
        env = container_environment(container, config, secrets, service)
        del env[variable]

        with pytest.raises(ProductionSettingsRefused) as refused:
            build(settings_class(service), env, environ)

        assert refused.value.variables == (variable,)
