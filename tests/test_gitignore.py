"""Issue 17 finding 11: the Streamlit secrets file the README recommends is never committed."""

from __future__ import annotations

import subprocess

from repo_paths import ROOT


def test_streamlit_secrets_are_ignored_by_git() -> None:
    for path in (".streamlit/secrets.toml", ".eventlab/eventlab.duckdb"):
        done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
        assert done.returncode == 0, f"{path} is not in .gitignore"
    kept = subprocess.run(["git", "check-ignore", "--no-index", "-q", ".streamlit/config.toml"],
                          cwd=ROOT)
    assert kept.returncode == 1  # the app's settings stay in the repository
