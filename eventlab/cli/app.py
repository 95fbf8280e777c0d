"""`eventlab app`: serve the web app on 127.0.0.1, with the reducer files it offers.

--rules / --reducer reach the app as EVENTLAB_RULES / EVENTLAB_REDUCER (absolute paths): the
browser can choose among the files the operator named, never add one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from eventlab.cli.common import Commands, add_db


def app_env(args: argparse.Namespace) -> dict[str, str]:
    """The app's environment: this one, plus the database and reducer files given."""
    from eventlab.timetravel import reducer_choices

    env = dict(os.environ)
    if args.db:
        env["EVENTLAB_DB"] = str(Path(args.db).resolve())
    for paths, kind, name in ((args.rules, "rules", reducer_choices.ENV_RULES),
                              (args.reducer, "reducers", reducer_choices.ENV_REDUCER)):
        if paths:
            reducer_choices.configured(**{kind: paths})  # a missing file fails here, clearly
            env[name] = os.pathsep.join(os.path.abspath(p) for p in paths)
    return env


def cmd_app(args: argparse.Namespace) -> int:
    """Start the Streamlit app on 127.0.0.1."""
    env = app_env(args)
    cmd = [sys.executable, "-m", "eventlab.ui.serve", "--server.address", "127.0.0.1",
           "--server.port", str(args.port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    return subprocess.call(cmd, env=env)


def register(commands: Commands) -> None:
    """Add `app`."""
    sp = add_db(commands.add_parser("app", help="start the web app on 127.0.0.1"))
    sp.add_argument("--port", type=int, default=8501)
    sp.add_argument("--rules", action="append", help="rules TOML file(s) the page offers")
    sp.add_argument("--reducer", action="append", help="Python reducer file(s) the page offers")
    sp.set_defaults(func=cmd_app)
