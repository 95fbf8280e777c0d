"""Child processes that end with the process that started them.

`die_with_parent` is a `preexec_fn` for `subprocess.Popen`: in the child, before it runs its
program, it asks Linux to send it SIGTERM when its parent ends (`PR_SET_PDEATHSIG`), so even a
SIGKILL of a test run or of the app leaves no local broker or emulator behind. Elsewhere it does
nothing. Linux sends the signal when the parent *thread* ends: start such children from a thread
that lives as long as they should (pytest fixtures and the CLI run on the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child: get SIGTERM when the starting process ends (Linux; else a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
