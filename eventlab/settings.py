"""Settings that several packages read from the environment, one definition each."""

from __future__ import annotations

import os
from collections.abc import Mapping

READ_ONLY = "EVENTLAB_READ_ONLY"


def read_only(env: Mapping[str, str] | None = None) -> bool:
    """True when EVENTLAB_READ_ONLY is set to anything but empty, `0` or `false`.

    Read-only mode refuses every write action (loading from the app, republishing) in the
    function that would do it, not only by hiding a button.
    """
    return (os.environ if env is None else env).get(READ_ONLY, "") not in ("", "0", "false")
