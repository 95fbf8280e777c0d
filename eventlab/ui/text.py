"""Data as inert text: the one helper every page uses before a value reaches Markdown.

Streamlit renders Markdown in `st.markdown`, captions, headers, alerts, widget labels, tabs,
expanders, radio options, page links and tooltips. A value that came from events, files,
brokers, users or the store may hold Markdown (`![x](http://host/p.png)` makes every viewer's
browser fetch that URL), Streamlit directives (`:red[...]`, `:material/...:`, emoji shortcodes),
HTML, LaTeX (`$...$`) or bare URLs that GitHub-flavoured Markdown turns into links.

`inert(value)` returns Markdown that shows exactly the value's text:
- every ASCII punctuation character is backslash-escaped (CommonMark renders it literally), so
  no emphasis, link, image, code span, heading, list, table, HTML or math can start;
- Streamlit's shortcode and directive plugins and the autolink-literal extension run on the
  parsed text, after escapes are resolved, so an invisible WORD JOINER (U+2060) follows a `:`
  or `@` that a word goes on from, and splits `www.`: `:red[`, `:smile:`, `http://`, `www.x`
  and `a@b.c` no longer match them (checked in headless Chromium by
  tests/browser/test_hostile_browser.py);
- line breaks and other control or format characters (bidi overrides, zero-width spaces) are
  shown as visible escapes, so a value cannot start a new Markdown block or reorder the text;
- invalid UTF-8 (surrogates from lossless decoding) shows as `\\udcXX`;
- long values are cut at `limit` characters with their full length said.

Never put its result inside backticks: a code span shows the escapes themselves.
"""

from __future__ import annotations

import re
import unicodedata

JOINER = "\u2060"
DEFAULT_LIMIT = 300
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_SHORTCODE_START = re.compile(r"\\:(?=[^\W\d]|\\)|\\@(?=[\w\\])")
"""An escaped `:` directly followed by a letter or another escape, or an escaped `@` followed by
a word character: where a shortcode, directive, URL scheme or e-mail address would go on.
`walk: the` and `127.0.0.1:9092` need nothing (a port stays copyable); the price is that the two
digit-only emoji shortcodes (`:100:`, `:1234:`) still draw their emoji."""
_WWW = re.compile(r"(?i)(www)(\\\.)")
_SHOWN_AS_SPACE = {"\n": "⏎", "\r": "␍", "\t": " "}


def _visible(ch: str) -> str:
    if ch in _SHOWN_AS_SPACE:
        return _SHOWN_AS_SPACE[ch]
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        code = ord(ch)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def plain(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """The value as one line of plain text: controls made visible, cut at `limit` characters
    (None: never cut). The base of `inert`; also for places that take no Markdown at all."""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    if text.isprintable():
        return text
    return "".join(_visible(ch) if not ch.isprintable() else ch for ch in text)


def inert(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """Markdown that shows `value`'s text literally (see the module docstring)."""
    text = _PUNCT.sub(r"\\\1", plain(value, limit))
    text = _SHORTCODE_START.sub(r"\g<0>" + JOINER, text)
    return _WWW.sub(r"\1" + JOINER + r"\2", text) if "\\." in text else text


def inert_join(values: object, sep: str = ", ", limit: int | None = DEFAULT_LIMIT) -> str:
    """Several values, each made inert, joined by `sep` (Markdown of our own)."""
    return sep.join(inert(v, limit) for v in values)  # type: ignore[union-attr]


def inert_lines(text: object, limit: int | None = 4000) -> str:
    """A multi-line message (an error naming data) as inert Markdown that keeps its lines."""
    raw = text if isinstance(text, str) else str(text)
    if limit is not None and len(raw) > limit:
        raw = f"{raw[:limit]}… ({len(raw):,} characters)"
    return "  \n".join(inert(line, None) for line in raw.splitlines()) or ""
