"""The one escape helper (docs/safety.md, item 33): whatever the text, its Markdown is that
text and nothing else. Rendered with a CommonMark parser here; Streamlit's own renderer
(directives, emoji, GFM autolinks) is checked in headless Chromium by
tests/browser/test_hostile_browser.py."""

from __future__ import annotations

import html
import re

import hostile
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from eventlab.ui.text import JOINER, inert, inert_join, inert_lines, plain

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _rendered_text(markdown: str) -> str:
    """The HTML of `markdown`, which must be one paragraph of text and nothing else."""
    out = MD.render(markdown).strip()
    if not out:
        return ""
    assert out.startswith("<p>") and out.endswith("</p>"), out
    inner = out[3:-4]
    assert "<" not in inner.replace("<br />", ""), f"markup formed: {inner[:200]}"
    return html.unescape(inner).replace(JOINER, "")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
       | st.lists(st.sampled_from(["![", "](", "[", "]", "`", "*", "_", "<", ">", "&", "#",
                                   ":red[", ":material/home:", "$", "\\", "|", "~~", "http://",
                                   "www.", "@", "\n", " ", "a", "1.", "- ", "&amp;", "<b>"]),
                  max_size=30).map("".join))
def test_any_text_renders_as_itself(text: str) -> None:
    expected = plain(text).strip()
    assert _rendered_text(inert(text)) .strip() == expected


def test_every_hostile_string_is_inert() -> None:
    for text in (*hostile.STRINGS, hostile.ENTITY, hostile.INVESTIGATION):
        md = inert(text)
        for raw in ("![", "](http", ":red[", "<img", "<a ", "http://", "www.evil", "$x"):
            assert not re.search(r"(?<!\\)" + re.escape(raw), md), (raw, md)
        assert _rendered_text(md).strip() == plain(text).strip()


def test_controls_are_visible_and_long_values_cut() -> None:
    assert plain("a\nb\tc\u202ed") == "a⏎b c\\u202ed"
    assert plain("\udcff") == "\\udcff"  # invalid UTF-8 kept by surrogateescape
    cut = plain("x" * 1_000_000)
    assert len(cut) < 400 and cut.endswith("(1,000,000 characters)")
    assert len(inert(hostile.HUGE)) < 400


def test_joined_and_multiline() -> None:
    assert _rendered_text(inert_join(["*a*", "[b](c)"])) == "*a*, [b](c)"
    lines = inert_lines("first ![x](y)\nsecond `z`")
    assert MD.render(lines).count("<br />") == 1 and "<img" not in MD.render(lines)
