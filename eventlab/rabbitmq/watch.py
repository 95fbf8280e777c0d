"""The watcher of a non-detached local RabbitMQ: it stops the node when the process that
started it is gone, even after a SIGKILL (where `atexit` never runs and the node, in a session
of its own, would keep running with its epmd).

`python -m eventlab.rabbitmq.watch PARENT_PID HANDLE_JSON`; started by `server.start_server`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from eventlab.rabbitmq.server import ServerHandle, ServerPorts

POLL_S = 1.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def handle_json(handle: ServerHandle) -> str:
    """What the watcher needs to stop `handle`'s node."""
    p = handle.ports
    return json.dumps({"node": handle.node, "base": str(handle.base), "pid": handle.pid,
                       "ports": [p.amqp, p.stream, p.management, p.dist, p.epmd],
                       "remove_base": handle.remove_base})


def main(argv: list[str]) -> int:
    """Wait for the parent to go, then stop the node it started (if it still runs)."""
    parent, doc = int(argv[0]), json.loads(argv[1])
    while _alive(parent):
        time.sleep(POLL_S)
    handle = ServerHandle(doc["node"], ServerPorts(*doc["ports"]), Path(doc["base"]),
                          doc["pid"], remove_base=doc["remove_base"])
    handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
