"""The schemas package imports without a circle, counting imports inside functions too (the
decoders module imports the Avro and Protobuf decoders lazily)."""

from __future__ import annotations

import ast

from repo_paths import ROOT

PACKAGE = ROOT / "eventlab" / "schemas"


def _imports(name: str) -> set[str]:
    """The schemas modules `name` imports, anywhere in its file."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eventlab.schemas."):
            found.add(node.module.rsplit(".", 1)[1])  # type: ignore[union-attr]
    return found


def test_no_module_of_schemas_imports_itself_back() -> None:
    graph = {p.stem: _imports(p.stem) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph.get(start, ()))

    circles = sorted(m for m in graph if reaches(m, m, {m}))
    assert not circles, f"import circles through: {circles}"
