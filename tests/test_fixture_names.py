"""Shared fixture modules never define the same fixture name twice: pytest would silently give
every test the one registered last (an SNS topic ARN handed to the Kafka tests, once)."""

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
