"""Shared test names stay unique: a fixture name across the fixture modules (pytest would silently
give every test the one registered last: an SNS topic ARN handed to the Kafka tests, once), and a
test file's base name across folders."""

from __future__ import annotations

import ast
from collections import Counter

from repo_paths import ROOT


def _fixtures(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("fixture" in ast.unparse(d) for d in node.decorator_list)]


def test_each_shared_fixture_name_is_defined_once() -> None:
    modules = [ROOT / "tests" / "conftest.py", *sorted((ROOT / "tests").glob("*_fixtures.py"))]
    names = Counter(name for module in modules for name in _fixtures(module))
    assert len(modules) >= 4 and names
    assert [n for n, count in names.items() if count > 1] == []


def test_each_test_file_name_is_used_once() -> None:
    """pytest imports test files by their base name (rootdir imports): two `test_taps.py` in
    different folders stop the second from being collected in a full run."""
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert len(names) > 100
    assert [n for n, count in names.items() if count > 1] == []
