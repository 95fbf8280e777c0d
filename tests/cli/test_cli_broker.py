"""`eventlab broker`: detached with a pid file and stopped again, and in the foreground until
Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import ROOT

from eventlab.cli import main
from eventlab.kafka.admin import ping
from eventlab.kafka.broker import free_port, pid_path, port_in_use
from eventlab.kafka.config import KafkaConfig


def test_detach_writes_a_pid_file_and_stop_ends_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()
    assert main(["broker", "--port", str(port), "--detach"]) == 0
    pidfile = tmp_path / pid_path(port)
    pid = int(pidfile.read_text())
    assert ping(KafkaConfig(bootstrap=f"127.0.0.1:{port}")) == 1
    assert f"eventlab broker --stop --port {port}" in capsys.readouterr().out

    assert main(["broker", "--port", str(port), "--detach"]) == 1
    assert f"already runs on port {port} (pid {pid})" in capsys.readouterr().err

    assert main(["broker", "--port", str(port), "--stop"]) == 0
    assert not pidfile.exists()
    assert not port_in_use("127.0.0.1", port)
    assert main(["broker", "--port", str(port), "--stop"]) == 1
    assert "no detached broker" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["broker", "--detach", "--stop"])


def test_foreground_broker_stops_on_ctrl_c() -> None:
    port = free_port()
    # Started with SIGINT ignored, as a parent that ignores it (a test runner's worker) leaves
    # it: Python then keeps it ignored unless the command turns Ctrl-C back on.
    proc = subprocess.Popen([sys.executable, "-m", "eventlab", "broker", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"listening on 127.0.0.1:{port}" in lines[0]
        assert "Ctrl-C" in lines[2]
        assert ping(KafkaConfig(bootstrap=f"127.0.0.1:{port}")) == 1
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0  # the stop itself may take 5 s + 5 s (SIGINT, then kill)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not port_in_use("127.0.0.1", port)
