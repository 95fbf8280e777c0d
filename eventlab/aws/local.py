"""The local SNS/SQS endpoint for demos, tests and CI: moto's server mode, an EMULATOR.

No real SQS or SNS installs on a machine; moto (Apache-2.0) answers the SQS and SNS HTTP APIs
from memory. EventLab's tests use it only for behaviour AWS documents (docs/aws.md says which
behaviours differ). `start_local` runs `python -m moto.server` on 127.0.0.1 as a child process
that dies with its parent (Linux's parent-death signal, so even a SIGKILL of the starter leaves
no server behind) and waits until it answers; `detach` / `stop_detached` keep a state file under
`.eventlab/` for `eventlab aws-local --detach`. State is in memory: a stop forgets every queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from eventlab.children import die_with_parent
from eventlab.errors import BrokerStartError

HOST = "127.0.0.1"
DEFAULT_PORT = 4566
STATE_DIR = Path(".eventlab")
# Dummy credentials for the emulator (it accepts any; real AWS needs real ones).
EMULATOR_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class LocalEndpoint:
    """A running local endpoint; `stop()` (or leaving the `with` block) ends it."""

    port: int
    pid: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return _alive(self.pid)

    def reset(self) -> None:
        """Forget every queue, topic and message (moto's own reset call; emulator only)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (loopback, our own server)
            pass

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it does not go."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, sig)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if not self.running():
                    return
                time.sleep(0.05)

    def __enter__(self) -> LocalEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def answers(port: int, timeout_s: float = 1.0) -> bool:
    """True when an HTTP server answers on 127.0.0.1:port."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/moto-api/data.json",  # noqa: S310
                                    timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def start_local(port: int, *, log_path: Path, detached: bool = False,
                timeout_s: float = 30.0) -> LocalEndpoint:
    """Start the emulator on 127.0.0.1:port and wait until it answers.

    A taken port, a missing moto install, an early exit or no answer in `timeout_s` raise
    `BrokerStartError`. Unless `detached`, the server ends with this process.
    """
    if answers(port, timeout_s=0.3):
        raise BrokerStartError(f"port {port} on {HOST} already answers: is an `eventlab "
                               f"aws-local` running? Stop it with `eventlab aws-local --stop "
                               f"--port {port}`, or choose another port")
    try:
        import moto.server  # noqa: F401  (only to say clearly when it is missing)
    except ImportError:
        raise BrokerStartError("the local SNS/SQS endpoint needs moto: pip install -r "
                               "requirements.txt") from None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **EMULATOR_ENV}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, preexec_fn=None if detached else die_with_parent)
    endpoint = LocalEndpoint(port, process.pid, log_path, process)
    deadline = time.monotonic() + timeout_s
    while not answers(port, timeout_s=0.5):
        if process.poll() is not None:
            raise BrokerStartError(f"the local SNS/SQS endpoint exited at start "
                                   f"(status {process.returncode}); see {log_path}")
        if time.monotonic() > deadline:
            endpoint.stop()
            raise BrokerStartError(f"the local SNS/SQS endpoint did not answer on port {port} "
                                   f"within {timeout_s:.0f} s; see {log_path}")
        time.sleep(0.1)
    return endpoint


def state_path(port: int, state_dir: Path = STATE_DIR) -> Path:
    """Where `detach` records the background endpoint on `port`."""
    return state_dir / f"aws-local-{port}.json"


def _is_ours(pid: int) -> bool:
    """Is `pid` alive and a moto server? (pids get recycled)"""
    if not _alive(pid):
        return False
    try:
        return b"moto.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def detach(port: int = DEFAULT_PORT, state: Path | None = None) -> LocalEndpoint:
    """Start the endpoint in the background, write its state file, return."""
    state = state or state_path(port)
    if state.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            old = json.loads(state.read_text())
            if _is_ours(int(old["pid"])):
                raise BrokerStartError(f"a detached local SNS/SQS endpoint already runs on port "
                                       f"{port} (pid {old['pid']}); stop it with `eventlab "
                                       f"aws-local --stop --port {port}`")
        state.unlink(missing_ok=True)
    endpoint = start_local(port, log_path=state.parent / f"aws-local-{port}.log", detached=True)
    state.write_text(json.dumps({"pid": endpoint.pid, "port": port,
                                 "log": str(endpoint.log_path)}))
    return endpoint


def stop_detached(port: int = DEFAULT_PORT, state: Path | None = None) -> bool:
    """Stop the detached endpoint on `port`. False when none was running."""
    state = state or state_path(port)
    try:
        doc = json.loads(state.read_text())
        pid = int(doc["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    state.unlink(missing_ok=True)
    if not _is_ours(pid):
        return False
    LocalEndpoint(port, pid, Path(doc.get("log", ""))).stop()
    return True
