"""The local RabbitMQ for demos, tests and CI: Debian's `rabbitmq-server`, run directly.

`/usr/lib/rabbitmq/bin/rabbitmq-server` (not the `/usr/sbin` service wrapper, which switches
user) with its own node name, data and log folders, the stream and management plugins, and
every listener on 127.0.0.1: AMQP, stream, management, epmd and the Erlang distribution port.
`start_server` runs one as a child process and waits until both the AMQP and the stream port
answer; `stop()` stops the node and the epmd it started. `detach` / `stop_detached` keep a
state file under `.eventlab/` (the `eventlab rabbitmq` command, `cli/rabbitmq.py`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eventlab.errors import BrokerStartError

SERVER_BIN = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL_BIN = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
DEFAULT_PORT = 5672
DEFAULT_STREAM_PORT = 5552
HOST = "127.0.0.1"
STATE_DIR = Path(".eventlab")
INSTALL_HINT = "install it with: apt-get install -y rabbitmq-server"
# A stray setting of the caller's must not change the local node.
_DROP_ENV = ("RABBITMQ_CONFIG_FILE", "RABBITMQ_CONF_ENV_FILE", "RABBITMQ_ADVANCED_CONFIG_FILE",
             "RABBITMQ_ENABLED_PLUGINS_FILE", "RABBITMQ_NODENAME", "RABBITMQ_USE_LONGNAME")


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def answers(port: int, host: str = HOST, timeout_s: float = 0.5) -> bool:
    """True when something accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass
class ServerPorts:
    """Every port the node opens, all on 127.0.0.1."""

    amqp: int = DEFAULT_PORT
    stream: int = DEFAULT_STREAM_PORT
    management: int = 0
    dist: int = 0
    epmd: int = 0

    @classmethod
    def pick(cls, amqp: int | None = None, stream: int | None = None) -> ServerPorts:
        """The given AMQP and stream ports (free ones when None) and free ones for the rest."""
        taken: set[int] = set()

        def one(port: int | None) -> int:
            while port is None or port in taken:
                port = free_port()
            taken.add(port)
            return port

        return cls(one(amqp), one(stream), one(None), one(None), one(None))


@dataclass
class ServerHandle:
    """A running local RabbitMQ; `stop()` (or leaving the `with` block) ends it and its epmd."""

    node: str
    ports: ServerPorts
    base: Path
    pid: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    remove_base: bool = field(default=True, repr=False)

    @property
    def log_path(self) -> Path:
        return self.base / "server.out"

    def env(self) -> dict[str, str]:
        """The environment the node runs with (rabbitmqctl needs the same)."""
        return _server_env(self.node, self.ports, self.base)

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _alive(self.pid)

    def stop(self, timeout_s: float = 20.0) -> None:
        """`rabbitmqctl stop`, then signals if it does not go; then its own epmd."""
        atexit.unregister(self.stop)
        if self.running():
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run([str(CTL_BIN), "-n", self.node, "stop"], env=self.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=timeout_s)
            _end(self.pid, self.process, timeout_s=5.0)
        _stop_epmd(self.ports.epmd)
        if self.remove_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _server_env(node: str, ports: ServerPorts, base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _DROP_ENV and not k.startswith("RABBITMQ_SERVER_")}
    extra = (f'-rabbitmq_stream tcp_listeners [{{"{HOST}",{ports.stream}}}] '
             f'-rabbitmq_management tcp_config [{{ip,"{HOST}"}},{{port,{ports.management}}}] '
             "-kernel inet_dist_use_interface {127,0,0,1}")
    env.update(
        HOME=str(base), RABBITMQ_NODENAME=node, RABBITMQ_NODE_IP_ADDRESS=HOST,
        RABBITMQ_NODE_PORT=str(ports.amqp), RABBITMQ_DIST_PORT=str(ports.dist),
        RABBITMQ_MNESIA_BASE=str(base / "mnesia"), RABBITMQ_LOG_BASE=str(base / "log"),
        RABBITMQ_ENABLED_PLUGINS="rabbitmq_stream,rabbitmq_management",
        RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
        RABBITMQ_CONFIG_FILE=str(base / "rabbitmq"),
        ERL_EPMD_ADDRESS=HOST, ERL_EPMD_PORT=str(ports.epmd),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=extra)
    return env


def log_tail(base: Path, lines: int = 15) -> str:
    """The last lines of the node's console output (for error messages)."""
    try:
        text = (base / "server.out").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def start_server(port: int | None = None, stream_port: int | None = None, *,
                 timeout_s: float = 60.0, base: Path | None = None,
                 detached: bool = False) -> ServerHandle:
    """Start a node on 127.0.0.1 (free ports when None) and wait until AMQP and streams answer.

    A missing install, a taken port, an early exit or no answer within `timeout_s` raise
    `BrokerStartError`. A non-detached node is stopped when this Python process exits.
    """
    if not SERVER_BIN.exists():
        raise BrokerStartError(f"RabbitMQ is not installed ({SERVER_BIN} is missing): "
                               f"{INSTALL_HINT}")
    for name, wanted in (("AMQP", port), ("stream", stream_port)):
        if wanted is not None and answers(wanted):
            raise BrokerStartError(
                f"the {name} port {wanted} on {HOST} is already in use: is a RabbitMQ already "
                f"running there? Stop a detached one with `eventlab rabbitmq --stop --port "
                f"{port or DEFAULT_PORT}`, or choose another port")
    ports = ServerPorts.pick(port, stream_port)
    remove_base = base is None
    base = Path(tempfile.mkdtemp(prefix=f"eventlab-rabbitmq-{ports.amqp}-")) if base is None \
        else base
    base.mkdir(parents=True, exist_ok=True)
    node = f"eventlab{ports.amqp}@localhost"
    with open(base / "server.out", "ab") as log:
        process = subprocess.Popen(
            [str(SERVER_BIN)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=_server_env(node, ports, base), start_new_session=True)
    handle = ServerHandle(node, ports, base, process.pid, process, remove_base)
    try:
        _wait_ready(handle, timeout_s)
    except BaseException:
        handle.stop()
        raise
    if not detached:
        atexit.register(handle.stop)
        _watch(handle)
    return handle


def _watch(handle: ServerHandle) -> None:
    """Start the watcher that stops the node if this process dies without `atexit`
    (`eventlab.rabbitmq.watch`)."""
    from eventlab.rabbitmq.watch import handle_json

    subprocess.Popen([sys.executable, "-m", "eventlab.rabbitmq.watch", str(os.getpid()),
                      handle_json(handle)], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_ready(handle: ServerHandle, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if not handle.running():
            code = handle.process.returncode if handle.process else "?"
            raise BrokerStartError(
                f"RabbitMQ exited with code {code} while starting on {HOST}:"
                f"{handle.ports.amqp}:\n{log_tail(handle.base)}")
        if answers(handle.ports.amqp) and answers(handle.ports.stream):
            return
        if time.monotonic() >= deadline:
            raise BrokerStartError(
                f"RabbitMQ on {HOST}:{handle.ports.amqp} (streams {handle.ports.stream}) did "
                f"not answer within {timeout_s:g} s:\n{log_tail(handle.base)}")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end(pid: int, process: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """Wait for the node's process group to go; SIGTERM, then SIGKILL it."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return
            if process is None and not _alive(pid):
                return
            time.sleep(0.1)


def _epmd_pids(port: int) -> list[int]:
    """Pids of epmd daemons started for `port` (read from /proc, matched by their env)."""
    found = []
    wanted = f"ERL_EPMD_PORT={port}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if not proc.joinpath("cmdline").read_bytes().split(b"\0")[0].endswith(b"epmd"):
                continue
            if wanted in proc.joinpath("environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _stop_epmd(port: int) -> None:
    """Stop the epmd of our node (by its pid, found by its port): it outlives the node."""
    if not port:
        return
    for pid in _epmd_pids(port):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)


# -- detached servers (state files) -----------------------------------------------------------

def state_path(port: int, state_dir: Path = STATE_DIR) -> Path:
    return state_dir / f"rabbitmq-{port}.json"


def _is_our_node(pid: int, base: Path) -> bool:
    """Is `pid` alive and the beam of a node whose data lives in `base`? (recycled pids)"""
    if not _alive(pid):
        return False
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return True  # no /proc to check: trust the state file
    return f"RABBITMQ_MNESIA_BASE={base / 'mnesia'}".encode() in env


def detach(port: int = DEFAULT_PORT, stream_port: int = DEFAULT_STREAM_PORT,
           state: Path | None = None) -> ServerHandle:
    """Start a node in the background (data under .eventlab/), write its state file, return."""
    state = state or state_path(port)
    if state.exists():
        old = _load(state)
        if old is not None and _is_our_node(old.pid, old.base):
            raise BrokerStartError(
                f"a detached RabbitMQ already runs on port {port} (pid {old.pid}); stop it with "
                f"`eventlab rabbitmq --stop --port {port}`")
        state.unlink()
    base = (state.parent / f"rabbitmq-{port}").resolve()
    handle = start_server(port, stream_port, base=base, detached=True)
    handle.remove_base = False
    state.write_text(json.dumps({"node": handle.node, "pid": handle.pid, "base": str(base),
                                 "ports": asdict(handle.ports)}))
    return handle


def _load(state: Path) -> ServerHandle | None:
    try:
        doc = json.loads(state.read_text())
        return ServerHandle(doc["node"], ServerPorts(**doc["ports"]), Path(doc["base"]),
                            int(doc["pid"]), None, remove_base=False)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stop_detached(port: int = DEFAULT_PORT, state: Path | None = None) -> bool:
    """Stop the detached node on `port` and its epmd. False when none was running."""
    state = state or state_path(port)
    if not state.exists():
        return False
    handle = _load(state)
    state.unlink()
    if handle is None or not _is_our_node(handle.pid, handle.base):
        if handle is not None:
            _stop_epmd(handle.ports.epmd)
        return False
    handle.stop()
    return True
