"""A non-detached local RabbitMQ ends with the process that started it, even when that process
is SIGKILLed (no `atexit`): its watcher stops the node and its epmd. Before the watcher, test
processes killed from outside left their nodes running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from repo_paths import ROOT

from eventlab.rabbitmq.server import _epmd_pids, answers

STARTER = """
import sys
from eventlab.rabbitmq.server import start_server
h = start_server()
print(h.ports.amqp, h.ports.epmd, h.pid, flush=True)
sys.stdin.read()
"""


def test_a_killed_starter_takes_its_node_and_epmd_with_it() -> None:
    proc = subprocess.Popen([sys.executable, "-c", STARTER], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        amqp, epmd, pid = (int(x) for x in proc.stdout.readline().split())
        assert answers(amqp) and _epmd_pids(epmd)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (answers(amqp) or _epmd_pids(epmd)):
            time.sleep(0.5)
        assert not answers(amqp), "the node outlived the process that started it"
        assert not _epmd_pids(epmd), "its epmd outlived it"
    finally:
        if proc.poll() is None:
            proc.kill()
