"""The Chromium lookup and install chain that `make test` runs before the suite, on real files,
real subprocesses and (last) the real browser this machine has."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import (
    ENV_VAR,
    WHAT_TO_INSTALL,
    ChromiumNotFound,
    Installer,
    default_installers,
    ensure_chromium,
    find_chromium,
    playwright_chromium,
    playwright_registry,
    require_chromium,
)

SCRIPT = Path(__file__).resolve().parent / "chromium.py"


@pytest.fixture(autouse=True)
def _no_chosen_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without $EVENTLAB_CHROMIUM (the developer's own would change answers)."""
    monkeypatch.delenv(ENV_VAR, raising=False)


def fake_browser(path: Path, executable: bool = True) -> Path:
    """A small executable file standing where a browser would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def creates(path: Path) -> list[str]:
    """A command that 'installs' a browser: it writes a fake one at `path`."""
    code = (f"import pathlib; p = pathlib.Path({str(path)!r}); p.parent.mkdir(parents=True, "
            "exist_ok=True); p.write_text('#!/bin/sh\\n'); p.chmod(0o755)")
    return [sys.executable, "-c", code]


def test_missing_candidates_find_nothing(tmp_path: Path) -> None:
    missing = [tmp_path / "chromium", tmp_path / "no" / "chrome"]
    assert find_chromium(missing) is None
    with pytest.raises(ChromiumNotFound) as err:
        require_chromium(missing)
    assert str(err.value) == WHAT_TO_INSTALL


def test_an_executable_candidate_is_found_in_order(tmp_path: Path) -> None:
    not_executable = fake_browser(tmp_path / "a" / "chromium", executable=False)
    first = fake_browser(tmp_path / "b" / "chromium")
    second = fake_browser(tmp_path / "c" / "chromium")
    assert find_chromium([tmp_path / "missing", not_executable, first, second]) == str(first)
    assert find_chromium([str(tmp_path / "missing"), str(second)]) == str(second)
    assert find_chromium([tmp_path]) is None  # a folder is no browser


def test_names_are_looked_up_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    chrome = fake_browser(bin_dir / "google-chrome")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_chromium(["chromium", "google-chrome"]) == str(chrome)
    # the default lookup tries PATH before /usr/bin/chromium and Playwright's download
    chromium = fake_browser(bin_dir / "chromium")
    assert find_chromium() == str(chromium)


def test_eventlab_chromium_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = fake_browser(tmp_path / "chosen" / "chrome")
    other = fake_browser(tmp_path / "other" / "chromium")
    monkeypatch.setenv(ENV_VAR, str(chosen))
    assert find_chromium([other]) == str(chosen)
    assert find_chromium() == str(chosen)


def test_eventlab_chromium_missing_is_an_error_not_a_fallback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-chrome"
    present = fake_browser(tmp_path / "chromium")
    monkeypatch.setenv(ENV_VAR, str(missing))
    for lookup in (lambda: find_chromium([present]), find_chromium, require_chromium):
        with pytest.raises(ChromiumNotFound) as err:
            lookup()
        assert str(err.value) == (f"{ENV_VAR}={missing} is not an executable file: "
                                  "point it at Chromium or unset it")
    # nor does it install anything: it asked for that browser
    with pytest.raises(ChromiumNotFound, match=ENV_VAR):
        ensure_chromium([present], [Installer("fake", [creates(missing)])], say=lambda _: None)
    assert not missing.exists()


def test_playwright_download_is_found_in_its_registry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "ms-playwright"
    assert playwright_chromium(registry) is None
    old = fake_browser(registry / "chromium-1200" / "chrome-linux64" / "chrome")
    (old.parent.parent / "INSTALLATION_COMPLETE").touch()
    # a newer download cut short (no INSTALLATION_COMPLETE) and the headless shell are passed by
    fake_browser(registry / "chromium-1255" / "chrome-linux64" / "chrome")
    shell = registry / "chromium_headless_shell-1255" / "chrome-headless-shell-linux64"
    fake_browser(shell / "chrome-headless-shell")
    assert playwright_chromium(registry) == str(old)
    (registry / "chromium-1255" / "INSTALLATION_COMPLETE").touch()
    assert playwright_chromium(registry) == str(
        registry / "chromium-1255" / "chrome-linux64" / "chrome")
    # where Playwright itself puts it: $PLAYWRIGHT_BROWSERS_PATH, else the XDG cache
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(registry))
    assert playwright_registry() == registry
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert playwright_registry() == registry
    assert playwright_chromium() == str(registry / "chromium-1255" / "chrome-linux64" / "chrome")


def test_chain_goes_on_until_an_installer_leaves_a_browser(tmp_path: Path) -> None:
    target = tmp_path / "installed" / "chromium"
    fail = [sys.executable, "-c", "import sys; print('working'); print('E: no chromium here');"
            " sys.exit(100)"]
    said: list[str] = []
    found = ensure_chromium(
        [target],
        [Installer("missing tool", [[str(tmp_path / "no-apt-get"), "install", "chromium"]]),
         Installer("broken", [fail, creates(target)]),  # stops at its first failing command
         Installer("installs elsewhere", [creates(tmp_path / "elsewhere" / "chromium")]),
         Installer("slow", [[sys.executable, "-c", "import time; time.sleep(30)"]],
                   timeout=0.5),
         Installer("fake", [creates(target)])],
        say=said.append)
    assert found == str(target)
    assert said == [
        "no Chromium found for the browser tests",
        "installing missing tool",
        f"  failed: {tmp_path / 'no-apt-get'} not found",
        "installing broken",
        "  failed (exit 100): E: no chromium here",
        "installing installs elsewhere",
        "  it installed, but no Chromium is where the lookup searches",
        "installing slow",
        f"  failed: {sys.executable} -c import time; time.sleep(30) took over 0.5 s",
        "installing fake",
        f"Chromium for the browser tests: {target}",
    ]


def test_without_apt_get_or_playwright_the_chain_ends_in_one_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert default_installers(playwright=False) == []
    assert [i.label for i in default_installers(python="python3")] == [
        "Playwright's Chromium (python -m playwright install chromium)"]
    with pytest.raises(ChromiumNotFound) as err:
        ensure_chromium([tmp_path / "chromium"], playwright=False, say=lambda _: None)
    assert str(err.value) == WHAT_TO_INSTALL


def test_the_script_stops_with_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env["PATH"] = str(empty)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--candidate", str(tmp_path / "chromium"),
         "--no-playwright"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [WHAT_TO_INSTALL]
    assert done.stdout == "no Chromium found for the browser tests\n"
    assert WHAT_TO_INSTALL == (
        "make test needs Chromium for the browser tests: install Debian's chromium "
        "(apt-get install chromium) or run .venv/bin/python -m playwright install chromium")


def test_the_script_reports_the_browser_it_finds(tmp_path: Path) -> None:
    browser = fake_browser(tmp_path / "chromium")
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    done = subprocess.run([sys.executable, str(SCRIPT), "--candidate", str(browser)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"Chromium for the browser tests: {browser}\n", "")


def test_the_browser_found_here_launches_headless() -> None:
    """Not skipped when there is no browser: `make test` guarantees one, so none is a failure."""
    from browser_support import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto("about:blank")
            assert page.evaluate("() => 6 * 7") == 42
            assert "HeadlessChrome" in page.evaluate("() => navigator.userAgent")
            assert browser.version
        finally:
            browser.close()
