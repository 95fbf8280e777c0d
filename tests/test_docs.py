"""The reference under docs/ documents every page, CLI command and configuration setting; the
README stays a newcomer's page (what it is, the two commands, the five-minute walk, where the
reference is)."""

from __future__ import annotations

import re

from repo_paths import ROOT

from eventlab.cli import build_parser

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
"""The reference: every page under docs/."""
PAGES_REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
README_MAX_BYTES = 15_000


def test_every_cli_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    for name in sub.choices:
        assert f"eventlab {name}" in DOCS, f"`eventlab {name}` is not in docs/"


def test_every_page_is_documented() -> None:
    from eventlab.ui.links import PAGES  # the app's one list of pages

    titles = [p.title for p in PAGES]
    assert titles
    for title in titles:
        assert f"**{title}**" in PAGES_REFERENCE, f"page {title!r} is not in docs/reference.md"


def test_every_environment_setting_is_documented() -> None:
    names: set[str] = set()
    for path in [*(ROOT / "eventlab").rglob("*.py"), ROOT / "app.py", ROOT / "Makefile"]:
        names |= set(re.findall(r"EVENTLAB_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
    assert "EVENTLAB_DB" in names
    missing = sorted(n for n in names if n not in DOCS)
    assert not missing, f"settings missing from docs/: {missing}"


def test_the_readme_is_a_newcomers_page() -> None:
    size = len(README.encode("utf-8"))
    assert size <= README_MAX_BYTES, f"README.md is {size:,} bytes: move reference to docs/"
    assert "make run" in README and "make test" in README
    assert "## Five minutes with the demo" in README
    assert "docs/reference.md" in README and "docs/settings.md" in README


def test_the_readme_links_only_files_that_exist() -> None:
    for target in re.findall(r"\]\(((?:docs|tests|eventlab)/[^)#\s]+)", README):
        assert (ROOT / target).exists(), f"README.md links {target}, which does not exist"


def test_the_docs_cite_modules_and_tests_that_exist() -> None:
    cited = 0
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"`((?:eventlab|tests|bench|pages)/[\w/.-]+\.py)(?:::(\w+))?`", text):
            path, test = ROOT / m.group(1), m.group(2)
            assert path.exists(), f"{doc.name} cites {m.group(1)}, which does not exist"
            if test:
                assert f"def {test}(" in path.read_text(encoding="utf-8"), \
                    f"{doc.name} cites {m.group(1)}::{test}, which does not exist"
            cited += 1
    assert cited > 50


def test_code_cites_only_docs_that_exist() -> None:
    for path in [*(ROOT / "eventlab").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        for name in re.findall(r"docs/([\w-]+\.md)", path.read_text(encoding="utf-8")):
            assert (ROOT / "docs" / name).exists(), f"{path} cites docs/{name}"


def test_the_layout_names_every_package_and_top_level_module() -> None:
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    layout = development[development.index("## Layout"):
                         development.index("## Tests and benchmarks")]
    for path in sorted((ROOT / "eventlab").iterdir()):
        if path.is_dir() and (path / "__init__.py").exists():
            assert f"{path.name}/" in layout, f"eventlab/{path.name}/ is not in the layout"
        elif path.suffix == ".py" and not path.name.startswith("__"):
            assert path.name in layout, f"eventlab/{path.name} is not in the layout"
