"""A single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1, run from jars.

Contract: `ensure_kafka_jars` resolves the broker's jars with Maven from
`deploy/local/kafka/pom.xml` into `<cache_dir>/libs-<kafka version>` once per pom content (a
marker file is written last; a file lock serialises concurrent callers). `KafkaServer` owns one
JVM: `start()` writes `server.properties`, formats storage once (the cluster id is kept in
`<data_dir>/cluster-id`), launches the broker in its own process group with output appended to
`<data_dir>/kafka.log` (rotated at start-up when large), and returns only when the broker
serves metadata with every partition led. `stop()` is SIGTERM (a clean shutdown that keeps all
acknowledged data), then SIGKILL after `stop_timeout`. A stopped server starts again on the
same data directory and ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from devstack import paths
from devstack.kafka_config import new_cluster_id, render_properties, server_properties
from devstack.logs import rotate_if_large
from devstack.ports import port_is_free
from devstack.processes import kill_group, log_errors, log_tail, parent_death_signal, signal_group

# Fast JVM start for a short-lived broker: C1 only, serial GC, no perf-data mmap.
FAST_JVM_OPTIONS: tuple[str, ...] = (
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Xshare:auto",
    "-Djava.awt.headless=true",
)
_START_MARKER = "=== devstack: starting broker"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class KafkaError(RuntimeError):
    """Resolving jars, formatting storage or running the broker failed (with the log tail)."""


# -- jars ------------------------------------------------------------------------------------


def kafka_version(pom: Path) -> str:
    """The `kafka.version` property of the pom."""
    root = ET.parse(pom).getroot()  # noqa: S314 - the repository's own pom, not untrusted input
    node = root.find("m:properties/m:kafka.version", _POM_NS)
    if node is None or not (node.text or "").strip():
        raise KafkaError(f"{pom} has no <kafka.version> property")
    return (node.text or "").strip()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_kafka_jars(cache_dir: Path, pom: Path | None = None) -> Path:
    """Return `<cache_dir>/libs-<version>` holding the broker's jars, resolving them if needed.

    Blocking (Maven may download). Idempotent and safe across processes; the directory is
    rebuilt when the pom changes.
    """
    pom = (pom or paths.kafka_pom()).resolve()
    libs = Path(cache_dir).resolve() / f"libs-{kafka_version(pom)}"
    marker = libs / ".complete"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    with _file_lock(libs.parent / ".lock"):
        if marker.exists() and marker.read_text().strip() == digest:
            return libs
        shutil.rmtree(libs, ignore_errors=True)
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaError("Maven (mvn) is not installed; it resolves the Kafka jars")
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not any(libs.glob("kafka_*.jar")):
            raise KafkaError(
                f"mvn dependency:copy-dependencies failed (exit {result.returncode}):\n"
                f"{(result.stdout + result.stderr)[-4000:]}"
            )
        marker.write_text(digest + "\n")
    return libs


# -- server ----------------------------------------------------------------------------------


class KafkaServer:
    """One broker JVM owned by the caller; `controllable` is True (tests may stop/start it)."""

    controllable: bool = True

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        jars_dir: Path,
        *,
        host: str = "127.0.0.1",
        log4j_config: Path | None = None,
        heap: tuple[str, str] = ("256m", "512m"),
        jvm_options: Sequence[str] = FAST_JVM_OPTIONS,
        extra_properties: Mapping[str, str] | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.jars_dir = Path(jars_dir).absolute()
        self.host = host
        self.log4j_config = (log4j_config or paths.kafka_log4j_config()).absolute()
        self.heap = heap
        self.jvm_options = tuple(jvm_options)
        self.extra_properties = dict(extra_properties or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def pid_file(self) -> Path:
        """Holds the JVM's pid while this object runs it (for reaping after a hard kill)."""
        return self.data_dir / "kafka.pid"

    @property
    def log_dir(self) -> Path:
        """Kafka's own data (`log.dirs`): topic partitions and the KRaft metadata log."""
        return self.data_dir / "logs"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running() and self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The exit status of the JVM this object started, once it has exited."""
        return None if self._proc is None else self._proc.poll()

    def cluster_id(self) -> str:
        """The persisted cluster id, created on first use."""
        path = self.data_dir / "cluster-id"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def properties(self) -> dict[str, str]:
        props = server_properties(
            port=self.port,
            controller_port=self.controller_port,
            log_dir=self.log_dir,
            host=self.host,
        )
        props.update(self.extra_properties)
        return props

    async def start(self) -> None:
        """Start the broker (formatting storage on first use) and wait until it serves clients.

        A no-op when this object's broker is already running. Raises `KafkaError` with the log
        tail when the JVM exits or the broker is not ready within `start_timeout`.
        """
        if self.is_running():
            await self._wait_ready(time.monotonic() + self.start_timeout)
            return
        busy = [p for p in (self.port, self.controller_port) if not port_is_free(p, self.host)]
        if busy:
            raise KafkaError(f"cannot start the broker: {self.host} port(s) {busy} already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(render_properties(self.properties()))
        if not (self.log_dir / "meta.properties").exists():
            await asyncio.to_thread(self._format_storage)
        deadline = time.monotonic() + self.start_timeout
        self._launch()
        try:
            await self._wait_ready(deadline)
        except BaseException:
            self.kill()
            raise

    async def stop(self) -> None:
        """SIGTERM the broker and wait for its clean shutdown; SIGKILL after `stop_timeout`."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            signal_group(proc, signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc)
        self._proc = None
        self.pid_file.unlink(missing_ok=True)

    async def restart(self) -> None:
        """`stop()` then `start()` on the same data directory and ports."""
        await self.stop()
        await self.start()

    def kill(self) -> None:
        """SIGKILL the broker now (for interpreter exit and failed starts); never raises."""
        if self._proc is not None:
            kill_group(self._proc)
            self._proc = None
            self.pid_file.unlink(missing_ok=True)

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").exists():
            return str(Path(java_home) / "bin" / "java")
        java = shutil.which("java")
        if java is None:
            raise KafkaError("java is not installed (Kafka needs Java 17+)")
        return java

    def _java_command(self, main: str, *args: str) -> list[str]:
        xms, xmx = self.heap
        return [
            self._java(),
            f"-Xms{xms}",
            f"-Xmx{xmx}",
            *self.jvm_options,
            f"-Dlog4j2.configurationFile={self.log4j_config}",
            "-cp",
            f"{self.jars_dir}/*",
            main,
            *args,
        ]

    def format_arguments(self) -> list[str]:
        """Extra arguments of `kafka-storage format` (a secured broker adds its SCRAM users)."""
        return []

    def client_options(self) -> dict[str, object]:
        """How the readiness check's admin client connects (a secured broker adds SASL)."""
        return {"bootstrap_servers": self.bootstrap_servers}

    def _format_storage(self) -> None:
        command = self._java_command(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id(),
            "-c",
            str(self.properties_file),
            *self.format_arguments(),
        )
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.data_dir)
        if result.returncode != 0:
            raise KafkaError(
                f"kafka StorageTool format failed (exit {result.returncode}) in {self.log_dir}:\n"
                f"{(result.stdout + result.stderr)[-4000:]}"
            )

    def _launch(self) -> None:
        command = self._java_command("kafka.Kafka", str(self.properties_file))
        rotate_if_large(self.log_file)
        with self.log_file.open("ab") as log:
            log.write(f"\n{_START_MARKER} at {time.ctime()} ===\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")

    async def _wait_ready(self, deadline: float) -> None:
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise self._error(f"the broker exited with code {code} while starting")
            try:
                if await self._serves_metadata():
                    return
                last_error = "metadata shows no broker or leaderless partitions"
            except (TimeoutError, OSError) as exc:
                last_error = repr(exc)
            except Exception as exc:  # aiokafka raises its own hierarchy on refused connections
                last_error = repr(exc)
            await asyncio.sleep(0.2)
        raise self._error(
            f"the broker on {self.bootstrap_servers} was not ready within "
            f"{self.start_timeout:.0f}s ({last_error})"
        )

    async def _serves_metadata(self) -> bool:
        """True when the broker answers a metadata request and every partition has a leader."""
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), timeout=1.0
            )
        except (TimeoutError, OSError):
            return False
        writer.close()
        admin = AIOKafkaAdminClient(**self.client_options(), request_timeout_ms=5000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if cluster.get("cluster_id") != self.cluster_id():
                return False  # someone else's broker on our port; ours will fail to bind
            if not cluster.get("brokers"):
                return False
            topics = await admin.describe_topics()
        finally:
            await admin.close()
        return all(
            topic["error_code"] == 0
            and all(p["error_code"] == 0 and p["leader"] >= 0 for p in topic["partitions"])
            for topic in topics
        )

    def _error(self, what: str) -> KafkaError:
        errors = "\n".join(log_errors(self.log_file, since=_START_MARKER)) or "(none logged)"
        return KafkaError(
            f"{what}\n--- errors in {self.log_file} ---\n{errors}\n"
            f"--- tail of {self.log_file} ---\n{log_tail(self.log_file)}"
        )


class KafkaNotControllable(KafkaError):
    """The broker is external (`CITY_TEST_KAFKA_BOOTSTRAP`): this process cannot stop it."""


class ExternalKafka:
    """A broker someone else runs; `controllable` is False and start/stop raise."""

    controllable: bool = False

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    async def start(self) -> None:
        raise KafkaNotControllable(f"cannot start the external broker {self.bootstrap_servers}")

    async def stop(self) -> None:
        raise KafkaNotControllable(f"cannot stop the external broker {self.bootstrap_servers}")

    async def restart(self) -> None:
        raise KafkaNotControllable(f"cannot restart the external broker {self.bootstrap_servers}")
