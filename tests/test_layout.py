"""The layers hold: which package may import which library, nothing imports the CLI, pages only
lay out, and `eventlab --help` starts without the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import ROOT

PACKAGE = ROOT / "eventlab"
OWNERS = {"duckdb": "store", "kafka": "kafka", "streamlit": "ui", "plotly": "charts",
          "rstream": "rabbitmq", "pika": "rabbitmq", "boto3": "aws",
          "botocore": "aws", "moto": "aws"}
"""A library and the one package of eventlab that may import it."""
HEAVY = ("pyarrow", "orjson", "kafka", "duckdb", "pandas", "numpy", "streamlit", "plotly")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def package_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else ""


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("library", sorted(OWNERS))
def test_each_library_is_imported_by_its_adapter_only(library: str) -> None:
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if package_of(p) != OWNERS[library]
                 and any(m == library or m.startswith(library + ".")
                         for m in imported_modules(p))]
    assert not offenders, f"{library} imported outside eventlab/{OWNERS[library]}/: {offenders}"


def test_nothing_outside_the_cli_imports_it() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if package_of(p) != "cli" and p.name != "__main__.py"
                 and any(m == "eventlab.cli" or m.startswith("eventlab.cli.")
                         for m in imported_modules(p))]
    assert not offenders


def test_pages_and_the_frame_talk_to_no_database_or_broker() -> None:
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        mods = imported_modules(path)
        assert not {m.split(".")[0] for m in mods} & {"duckdb", "kafka", "pyarrow"}, path
        assert ".execute(" not in path.read_text(), path


def test_the_top_level_keeps_a_handful_of_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py")
                 if p.name not in ("__init__.py", "__main__.py"))
    assert top == ["children.py", "errors.py", "jobs.py", "settings.py", "timeutil.py"]


@pytest.mark.parametrize("argv", [["--help"], ["ingest-kafka", "--help"], ["state", "--help"]])
def test_the_cli_starts_without_heavy_libraries(argv: list[str]) -> None:
    code = ("import sys\nfrom eventlab.cli import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
