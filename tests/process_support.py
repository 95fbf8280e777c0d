"""Child processes seen through /proc: the reader processes' tests check that a SIGKILLed
ingest leaves none behind."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def readers_die_with_their_ingest(argv: list[str]) -> None:
    """Start the ingest command `argv` (following), wait for its reader child processes,
    SIGKILL the ingest and assert that every reader ends too."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (readers := children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert readers, "the ingest started no reader process"
        time.sleep(3.0)  # following: the reader is connected and waits for records
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in readers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
