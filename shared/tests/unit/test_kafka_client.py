"""The Kafka settings become one connection every client uses, checked at the worker's start:
what an operator sees when a setting is missing, wrong or too weak for production (the variable,
never its value), and what the aiokafka clients receive."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr

from city_shared import deadletters
from city_shared.kafka_client import KafkaConnection, KafkaSettingsError, client_options
from city_shared.production import ProductionSettingsRefused
from city_shared.settings import ServiceSettings

from ..kafka_tls import make_ca

SHARED_SRC = Path(__file__).resolve().parents[2] / "src" / "city_shared"
PASSWORD = "s3cret-kafka-password"


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    return make_ca(tmp_path, "unit-ca")[0]


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings(service_name="alpha", **values)  # type: ignore[arg-type]


def test_the_defaults_are_the_local_plaintext_broker_creating_its_topics() -> None:
    defaults = settings()

    assert defaults.kafka_create_topics is True
    assert defaults.kafka_dead_letter_retention_ms == 2_419_200_000  # 28 days
    assert client_options(defaults.kafka_connection()) == {
        "bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    assert client_options("127.0.0.1:1234") == {
        "bootstrap_servers": "127.0.0.1:1234", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_settings_reach_the_client_options(
    ca_file: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "CITY_KAFKA_BOOTSTRAP_SERVERS": "city-kafka-kafka-bootstrap:9093",
        "CITY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CITY_KAFKA_SASL_USERNAME": "alpha",
        "CITY_KAFKA_SASL_PASSWORD": PASSWORD, "CITY_KAFKA_SSL_CA_FILE": str(ca_file),
    }.items():
        monkeypatch.setenv(name, value)

    options = client_options(settings().kafka_connection())

    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "city-kafka-kafka-bootstrap:9093", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "alpha",
        "sasl_plain_password": PASSWORD,
    }
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [dict(c["subject"][0])["commonName"] for c in context.get_ca_certs()] == ["unit-ca"]


def test_the_password_is_in_no_representation_of_the_settings_or_the_connection() -> None:
    configured = settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="alpha",
                          kafka_sasl_password=PASSWORD)
    connection = configured.kafka_connection()

    for text in (repr(configured), str(configured), repr(connection), str(connection)):
        assert PASSWORD not in text


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize(("given", "missing"), [
    ({"kafka_sasl_username": "alpha"}, "CITY_KAFKA_SASL_PASSWORD must be set"),
    ({"kafka_sasl_password": PASSWORD}, "CITY_KAFKA_SASL_USERNAME must be set"),
    ({}, "CITY_KAFKA_SASL_USERNAME and CITY_KAFKA_SASL_PASSWORD must be set"),
])
def test_sasl_without_credentials_stops_the_worker_naming_the_variable(
    protocol: str, given: dict[str, str], missing: str,
) -> None:
    with pytest.raises(KafkaSettingsError) as refused:
        settings(kafka_security_protocol=protocol, **given).kafka_connection()

    assert missing in str(refused.value)
    assert PASSWORD not in str(refused.value)


@pytest.mark.parametrize("variable", ["ssl_ca_file", "ssl_cert_file", "ssl_key_file"])
def test_an_unreadable_tls_file_stops_the_worker_naming_the_variable_not_the_path(
    variable: str, ca_file: Path, tmp_path: Path,
) -> None:
    files = {"ssl_ca_file": ca_file, "ssl_cert_file": ca_file, "ssl_key_file": ca_file}
    files[variable] = tmp_path / "secret-mount" / "absent.pem"

    with pytest.raises(KafkaSettingsError) as refused:
        KafkaConnection("broker:9093", security_protocol="SSL", **files)

    assert f"CITY_KAFKA_{variable.upper()} names no readable file" in str(refused.value)
    assert "secret-mount" not in str(refused.value)


def test_a_client_certificate_needs_its_key(ca_file: Path) -> None:
    with pytest.raises(KafkaSettingsError, match="CITY_KAFKA_SSL_CERT_FILE and "
                                                 "CITY_KAFKA_SSL_KEY_FILE go together"):
        KafkaConnection("broker:9093", security_protocol="SSL", ssl_ca_file=ca_file,
                        ssl_cert_file=ca_file)


def test_tls_files_are_not_checked_for_protocols_without_tls(tmp_path: Path) -> None:
    """Control: a plaintext worker is not stopped by a CA path it never reads."""
    connection = KafkaConnection("broker:9092", ssl_ca_file=tmp_path / "absent.pem")

    assert "ssl_context" not in client_options(connection)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_a_production_worker_refuses_a_clear_text_protocol(protocol: str) -> None:
    production = settings(env="production", database_url="postgresql+asyncpg://db/alpha",
                          kafka_security_protocol=protocol, kafka_sasl_username="alpha",
                          kafka_sasl_password=PASSWORD)

    with pytest.raises(ProductionSettingsRefused) as refused:
        production.kafka_connection()

    assert refused.value.variables == ("CITY_KAFKA_SECURITY_PROTOCOL",)


def test_production_accepts_sasl_ssl_and_an_api_without_kafka_settings(ca_file: Path) -> None:
    """Control: production's own configuration connects; the APIs, which never talk to Kafka,
    load their settings without any Kafka security setting."""
    production = settings(env="production", database_url="postgresql+asyncpg://db/alpha",
                          kafka_security_protocol="SASL_SSL", kafka_sasl_username="alpha",
                          kafka_sasl_password=SecretStr(PASSWORD), kafka_ssl_ca_file=ca_file)

    assert production.kafka_connection().security_protocol == "SASL_SSL"
    assert settings(env="production", database_url="postgresql+asyncpg://db/alpha").env == \
        "production"


# -- every client of the library connects through client_options ---------------------------

CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


def bare_clients(source: str) -> list[int]:
    """Lines constructing an aiokafka client without ``**client_options(...)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in CLIENTS:
            spread = [k.value for k in node.keywords if k.arg is None]
            if not any(isinstance(v, ast.Call) and getattr(v.func, "id", None) ==
                       "client_options" for v in spread):
                lines.append(node.lineno)
    return lines


def test_every_kafka_client_of_the_library_is_built_from_the_connection() -> None:
    found = {path.name: bare_clients(path.read_text()) for path in SHARED_SRC.rglob("*.py")}

    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_check_above_notices_a_client_built_from_bootstrap_servers_alone() -> None:
    """Negative control: the client every module had before this check."""
    source = "producer = AIOKafkaProducer(bootstrap_servers=servers, acks='all')\n"

    assert bare_clients(source) == [1]
    assert bare_clients("c = AIOKafkaConsumer('t', **client_options(kafka))\n") == []


def test_the_dead_letter_command_connects_as_the_worker_of_its_pod(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``python -m city_shared.deadletters`` in a worker's pod uses the worker's Kafka user."""
    for name, value in {"CITY_KAFKA_BOOTSTRAP_SERVERS": "city-kafka-kafka-bootstrap:9093",
                        "CITY_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                        "CITY_KAFKA_SASL_USERNAME": "alpha",
                        "CITY_KAFKA_SASL_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)

    from_pod = deadletters.connection_from_environment("alpha", None)
    elsewhere = deadletters.connection_from_environment("alpha", "127.0.0.1:19093")

    assert (from_pod.bootstrap_servers, from_pod.sasl_username) == (
        "city-kafka-kafka-bootstrap:9093", "alpha")
    assert (elsewhere.bootstrap_servers, elsewhere.security_protocol) == (
        "127.0.0.1:19093", "SASL_PLAINTEXT")
