"""Explore's text search: the regular expression used for ASCII terms selects exactly the rows
`contains(lower(payload), lower(term))` selects, on random Unicode payloads."""

from __future__ import annotations

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventlab.explore.search import LOWERED_INTO_ASCII, ascii_pattern, text_clause

TRICKY = "aAiIkKzZ\u0130\u0131\u212a\u212b\u017f\u00df\u1e9e.*+?()[]{}|^$\\/-\"' \n\t%_0"
texts = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(codec="utf-8"), max_size=12)
terms = st.text(alphabet=st.sampled_from(TRICKY[:30]) | st.characters(max_codepoint=127),
                min_size=1, max_size=4)

_con = duckdb.connect()


@settings(max_examples=300, deadline=None)
@example(payloads=["\u212aiel", "KIEL", "\u0130stanbul", "\u0131stanbul", "x"], term="kI")
@example(payloads=["\u212aiel", "kiel", "STRASSE", "stra\u00dfe"], term="k")
@example(payloads=["\u0130stanbul", "istanbul", "a.b", "axb"], term="i")
@example(payloads=["a.b", "axb", "A.B"], term="A.")
@given(payloads=st.lists(texts, min_size=1, max_size=30), term=terms)
def test_ascii_pattern_matches_what_lower_contains_matches(payloads: list[str],
                                                          term: str) -> None:
    clause, param = text_clause(term)
    exact = [r[0] for r in _con.execute(
        "SELECT contains(lower(p), ?) FROM unnest(?) t(p)", [term.lower(), payloads]).fetchall()]
    fast = [r[0] for r in _con.execute(
        f"SELECT {clause.replace('CAST(payload AS VARCHAR)', 'p')} FROM unnest(?) t(p)",
        [param, payloads]).fetchall()]
    assert fast == exact


def test_only_two_characters_above_ascii_lower_into_it() -> None:
    found = _con.execute(
        "SELECT list(chr(i::INTEGER) ORDER BY i) FROM range(128, 1114112) t(i) WHERE "
        "(i < 55296 OR i > 57343) AND unicode(lower(chr(i::INTEGER))) < 128").fetchall()[0][0]
    assert sorted(found) == sorted(LOWERED_INTO_ASCII.values())
    assert ascii_pattern("k.") == "[kK\u212a]\\x{2e}"
