"""Where the browser tests' Chromium is, and how `make test` gets one when there is none.

One definition of the lookup, used by `make test` (`python tests/browser/chromium.py`, which
finds or installs Chromium before pytest runs) and by the browser tests (`find_chromium()`).

The lookup, first hit wins:
1. `$EVENTLAB_CHROMIUM` (a path, or a command name on PATH). When it is set, it is the answer:
   if it names no executable file, that is an error (`ChromiumNotFound`), never a silent fall
   back to some other browser, since whoever set it asked for that browser.
2. `chromium`, `chromium-browser`, `google-chrome` on PATH.
3. /usr/bin/chromium (Debian's package, even when PATH leaves /usr/bin out).
4. Playwright's own download (`python -m playwright install chromium`) in its registry folder:
   `$PLAYWRIGHT_BROWSERS_PATH` or `~/.cache/ms-playwright` (`$XDG_CACHE_HOME/ms-playwright`),
   newest `chromium-<revision>/chrome-linux*/chrome` whose install completed. It is found by
   globbing, not through `sync_playwright().chromium.executable_path`: that starts Playwright's
   driver, and fails inside a running `with sync_playwright()` block, where browser code calls it.

When none is found, `ensure_chromium()` installs one: Debian's chromium through apt-get (as root,
or through `sudo -n` when sudo needs no password), else Playwright's download; and when neither
works it raises `ChromiumNotFound` with one line saying what to install.

Nothing heavy is imported here: the Makefile runs this file before anything else is needed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "EVENTLAB_CHROMIUM"
PATH_NAMES = ("chromium", "chromium-browser", "google-chrome")
DEBIAN_CHROMIUM = "/usr/bin/chromium"
VENV_PYTHON = ".venv/bin/python"
WHAT_TO_INSTALL = (
    "make test needs Chromium for the browser tests: install Debian's chromium "
    f"(apt-get install chromium) or run {VENV_PYTHON} -m playwright install chromium"
)


class ChromiumNotFound(RuntimeError):
    """No usable Chromium: the message says what to install or what to fix."""


def _executable(path: str | os.PathLike[str]) -> str | None:
    """`path` as a string when it is an executable file, else None."""
    p = Path(path)
    return str(p) if p.is_file() and os.access(p, os.X_OK) else None


def _resolve(candidate: str | os.PathLike[str]) -> str | None:
    """A path (anything with a slash) must be an executable file; a bare name is looked up on
    PATH."""
    text = os.fspath(candidate)
    if os.sep in text or (os.altsep and os.altsep in text):
        return _executable(text)
    return shutil.which(text)


def playwright_registry() -> Path:
    """The folder `python -m playwright install` downloads browsers into (as Playwright computes
    it on Linux)."""
    env = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if env == "0":  # browsers inside the installed package
        import importlib.util

        spec = importlib.util.find_spec("playwright")  # finds the package, does not import it
        if spec is None or spec.origin is None:
            return Path(os.devnull)
        return Path(spec.origin).parent / "driver" / "package" / ".local-browsers"
    if env:
        return Path(env).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "ms-playwright"


def playwright_chromium(registry: Path | None = None) -> str | None:
    """Playwright's downloaded Chromium (the newest completed revision), or None."""
    registry = playwright_registry() if registry is None else registry

    def revision(folder: Path) -> int:
        m = re.fullmatch(r"chromium-(\d+)", folder.name)
        return int(m.group(1)) if m else -1

    folders = [d for d in registry.glob("chromium-*") if revision(d) >= 0]
    for folder in sorted(folders, key=revision, reverse=True):
        if not (folder / "INSTALLATION_COMPLETE").exists():  # a download cut short
            continue
        for chrome in sorted(folder.glob("chrome-linux*/chrome")):
            if found := _executable(chrome):
                return found
    return None


def find_chromium(candidates: Iterable[str | os.PathLike[str]] | None = None) -> str | None:
    """The Chromium executable the browser tests launch, or None when there is none.

    `$EVENTLAB_CHROMIUM` comes first and, when set, is final: if it names no executable this
    raises `ChromiumNotFound` instead of falling back. Then `candidates` (paths, or command names
    looked up on PATH) in order; without them, the usual places: `chromium`, `chromium-browser`,
    `google-chrome` on PATH, /usr/bin/chromium, then Playwright's download.
    """
    chosen = os.environ.get(ENV_VAR)
    if chosen:
        found = _resolve(chosen)
        if found is None:
            raise ChromiumNotFound(
                f"{ENV_VAR}={chosen} is not an executable file: point it at Chromium or unset it")
        return found
    if candidates is not None:
        return next((f for c in candidates if (f := _resolve(c))), None)
    for name in (*PATH_NAMES, DEBIAN_CHROMIUM):
        if found := _resolve(name):
            return found
    return playwright_chromium()


def require_chromium(candidates: Iterable[str | os.PathLike[str]] | None = None) -> str:
    """`find_chromium()`, but no browser is an error saying what to install (for the tests:
    `make test` guarantees a browser, so none found is a failure, never a skip)."""
    found = find_chromium(candidates)
    if found is None:
        raise ChromiumNotFound(WHAT_TO_INSTALL)
    return found


@dataclass(frozen=True)
class Installer:
    """One way to install Chromium: `commands` run in order, each must succeed."""

    label: str
    commands: Sequence[Sequence[str]]
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 1200.0  # seconds for each command: a download that hangs must end


def default_installers(python: str | None = None, playwright: bool = True) -> list[Installer]:
    """The install chain for this machine: Debian's chromium through apt-get when apt-get is on
    PATH and we are root or sudo needs no password; then Playwright's download through `python`
    (this interpreter by default), unless `playwright` is False."""
    installers = []
    apt = shutil.which("apt-get")
    if apt:
        prefix: list[str] | None = None
        if os.geteuid() == 0:
            prefix, how = [], "as root"
        elif (sudo := shutil.which("sudo")) and subprocess.run(
                [sudo, "-n", "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            prefix, how = [sudo, "-n"], "through sudo"
        if prefix is not None:
            installers.append(Installer(
                f"Debian's chromium (apt-get install chromium, {how})",
                [[*prefix, apt, "update", "-qq"],
                 [*prefix, apt, "install", "-y", "-qq", "chromium"]],
                env={"DEBIAN_FRONTEND": "noninteractive"}))
    if playwright:
        py = python or sys.executable
        installers.append(Installer(
            "Playwright's Chromium (python -m playwright install chromium)",
            [[py, "-m", "playwright", "install", "chromium"]], timeout=900.0))
    return installers


def _say(line: str) -> None:
    """Print a progress line at once (make shows it before a long install, and in order)."""
    print(line, flush=True)


def _last_line(output: str) -> str:
    """The line of a failed command's output that says why (an error line when there is one)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"(E:|Error:|error:|sudo:)", ln)]
    if errors:
        return errors[0][:200]
    return lines[-1][:200] if lines else "no output"


def _run(installer: Installer, say: Callable[[str], None]) -> bool:
    """Run one installer's commands; True when all succeeded. Says why when one did not."""
    env = {**os.environ, **installer.env}
    for cmd in installer.commands:
        try:
            done = subprocess.run(list(cmd), env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=installer.timeout)
        except FileNotFoundError:
            say(f"  failed: {cmd[0]} not found")
            return False
        except subprocess.TimeoutExpired:
            say(f"  failed: {' '.join(cmd)} took over {installer.timeout:g} s")
            return False
        if done.returncode != 0:
            say(f"  failed (exit {done.returncode}): {_last_line(done.stdout)}")
            return False
    return True


def ensure_chromium(candidates: Iterable[str | os.PathLike[str]] | None = None,
                    installers: Sequence[Installer] | None = None, playwright: bool = True,
                    say: Callable[[str], None] = _say) -> str:
    """A Chromium executable, installed first when there is none.

    Looks it up (`find_chromium(candidates)`); when none, runs `installers` (by default
    `default_installers(playwright=playwright)`) in order until one leaves a Chromium that the
    lookup finds. Raises
    `ChromiumNotFound`: with the one line saying what to install when all failed, or at once
    when `$EVENTLAB_CHROMIUM` names no executable (nothing is installed then: it asked for that
    browser). `say` prints the progress, a line or two.
    """
    candidates = None if candidates is None else list(candidates)
    found = find_chromium(candidates)
    if found:
        say(f"Chromium for the browser tests: {found}")
        return found
    say("no Chromium found for the browser tests")
    if installers is None:
        installers = default_installers(playwright=playwright)
    for installer in installers:
        say(f"installing {installer.label}")
        if not _run(installer, say):
            continue
        found = find_chromium(candidates)
        if found:
            say(f"Chromium for the browser tests: {found}")
            return found
        say("  it installed, but no Chromium is where the lookup searches")
    raise ChromiumNotFound(WHAT_TO_INSTALL)


def main(argv: Sequence[str] | None = None) -> int:
    """`python tests/browser/chromium.py`: find or install Chromium (what `make test` runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", action="append", metavar="PATH",
                        help="look only here (repeatable) instead of the usual places")
    parser.add_argument("--no-playwright", action="store_true",
                        help="do not try Playwright's download when apt-get cannot install")
    args = parser.parse_args(argv)
    try:
        ensure_chromium(args.candidate, playwright=not args.no_playwright)
    except ChromiumNotFound as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
