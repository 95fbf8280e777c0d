"""Explore's URL parameters: `Filters.to_params` is the inverse of `from_params`, booleans
read as links write them, and a value the filters cannot use names its parameter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventlab.explore.filters import (
    END,
    JSON_OPS,
    PARAMS,
    START,
    FilterError,
    Filters,
    from_params,
    link_problems,
)

_word = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                max_size=12).map(str.strip).filter(bool)
_type = _word.filter(lambda w: ">" not in w and w not in (START, END, "(all)"))
_time = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.just(UTC))
_follows = st.one_of(st.tuples(_type, _type), st.tuples(st.just(START), _type),
                     st.tuples(_type, st.just(END)))


def _maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


filters = st.builds(
    Filters, start=_maybe(_time), end=_maybe(_time),
    event_types=st.lists(_word, max_size=3).map(tuple), entity_type=_maybe(_type),
    entity_prefix=_maybe(_word), text=_maybe(_word), json_path=_maybe(_word),
    json_op=st.sampled_from(JSON_OPS), json_value=_maybe(_word), event_id=_maybe(_word),
    key=_maybe(_word), duplicates_only=st.booleans(), correlation_id=_maybe(_word),
    causation_id=_maybe(_word), follows=_maybe(_follows))


@given(filters)
def test_to_params_is_the_inverse_of_from_params(f: Filters) -> None:
    params = f.to_params()
    assert set(params) <= set(PARAMS.values())
    assert from_params(params) == f


def test_empty_filters_have_no_params() -> None:
    assert Filters().to_params() == {}


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("True", True),
                                                ("0", False), ("false", False)])
def test_dup_accepts_1_0_true_false(raw: str, expected: bool) -> None:
    assert from_params({"dup": raw}).duplicates_only is expected


def test_a_dup_value_that_is_not_yes_or_no_names_the_parameter() -> None:
    with pytest.raises(FilterError, match="dup=maybe"):
        from_params({"dup": "maybe"})


def test_link_problems_name_the_parameter() -> None:
    problems = from_problems({"types": ["OrderPlaced", "NoSuchType"], "etype": "nosuch",
                              "jop": "~"})
    assert problems == ["types=NoSuchType: no such event type",
                        "etype=nosuch: no such entity type",
                        "jop=~: not an operator (one of " + ", ".join(JSON_OPS) + ")"]
    assert from_problems({"types": "OrderPlaced", "etype": "(all)", "dup": "1"}) == []


def from_problems(params: dict) -> list[str]:
    return link_problems(params, ["OrderPlaced"], ["order"])
