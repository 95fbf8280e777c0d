"""AppTest: the As of page: its default time, comparing two times, and the time bases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts
from streamlit.testing.v1 import AppTest

from eventlab import asof
from eventlab.store.eventstore import EventStore


@pytest.fixture(scope="module")
def orders(demo_db: Path) -> tuple[int, datetime]:
    """(order entities, the last order event's time), straight from the store."""
    with EventStore(demo_db) as store:
        n, last = store.cursor().execute(
            "SELECT count(DISTINCT entity_id), max(ts) FROM events "
            "WHERE entity_type = 'order'").fetchone()
    return n, last.astimezone(UTC)


_page = partial(open_page, "pages/asof_page.py")


def _metrics(at: AppTest) -> dict[str, int]:
    return {m.label: int(m.value.replace(",", "")) for m in at.metric}


def _frame(at: AppTest, column: str) -> object:
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no dataframe with a {column!r} column")


def test_the_default_time_counts_the_last_event(app_env: Path,
                                                orders: tuple[int, datetime]) -> None:
    entities, last = orders
    at = _page()
    assert not at.exception
    value = at.datetime_input(key="at").value
    last_naive = last.replace(tzinfo=None)
    assert last_naive <= value < last_naive + timedelta(minutes=1), (value, last)
    assert _metrics(at)["order entities with events by then"] == entities
    assert at.selectbox(key="by").value == "status"
    assert len(_frame(at, "time travel")) > 0
    heading = [m.value for m in at.markdown if m.value.startswith("##### ")]
    assert heading == [f"##### As of {value:%Y-%m-%d %H:%M:%S} UTC"]


def test_the_page_brings_the_current_states_up_to_date(app_env: Path) -> None:
    at = _page()
    assert not at.exception
    with EventStore(app_env) as store:
        assert asof.current_fresh(store.cursor())


def test_comparing_keeps_the_chosen_time_as_t2_and_says_so(
        app_env: Path, orders: tuple[int, datetime]) -> None:
    _, last = orders
    chosen = last.replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=2)
    at = _page()
    at.datetime_input(key="at").set_value(chosen).run()
    single = _metrics(at)["order entities with events by then"]
    at.toggle(key="compare").set_value(True).run()
    assert not at.exception
    assert at.datetime_input(key="at").value == chosen  # the chosen time is kept
    t1 = at.datetime_input(key="t1").value
    assert t1 < chosen
    heading = [m.value for m in at.markdown if m.value.startswith("##### ")]
    assert heading == [f"##### At T2 = {chosen:%Y-%m-%d %H:%M:%S} UTC (changes since T1 = "
                       f"{t1:%Y-%m-%d %H:%M:%S} UTC)"]
    metrics = _metrics(at)
    assert metrics["order entities with events by T2"] == single  # T2's count, named so
    assert {"Created", "Changed", "Unchanged", "Deleted"} <= set(metrics)
    assert metrics["Changed"] > 0
    moves = _frame(at, "delta")
    assert set(moves.columns) >= {"value", "at_t1", "at_t2", "delta"}
    assert any(m.proto.delta == "no change since T1" for m in at.metric)  # none deleted
    for m in at.metric:  # no change is grey with no arrow, never a red "+0"
        if m.proto.delta and "+0 " in m.proto.delta:
            raise AssertionError(f"{m.label}: {m.proto.delta}")
        if m.proto.delta == "no change since T1":
            assert m.proto.color == 2 and m.proto.direction == 2, m.proto
    at.toggle(key="compare").set_value(False).run()
    assert at.datetime_input(key="at").value == chosen


def test_file_data_offers_no_kafka_time_and_says_why(app_env: Path,
                                                     orders: tuple[int, datetime]) -> None:
    at = _page(asof_basis="kafka_time")  # a link asking for a basis the data does not have
    assert not at.exception
    assert at.segmented_control(key="asof_basis").options == ["event time"]
    assert any("Kafka time is not offered" in c.value and "files" in c.value
               for c in at.caption)
    assert _metrics(at)["order entities with events by then"] == orders[0]


def test_a_link_time_with_seconds_is_shown_to_the_minute_and_said(
        app_env: Path, orders: tuple[int, datetime]) -> None:
    _, last = orders
    t1 = last.replace(tzinfo=None, second=7, microsecond=0) - timedelta(hours=3)
    at = _page(compare="true", t1=f"{t1:%Y-%m-%dT%H:%M:%S}")
    assert not at.exception
    assert at.datetime_input(key="t1").value == t1.replace(second=0)  # not dropped
    said = " ".join(texts(at.warning))
    assert f"t1={t1:%Y-%m-%dT%H:%M:%S}: As of works to the minute" in said
    at = _page(at="soon")
    assert "at=soon: not a time" in " ".join(texts(at.warning))


def test_compare_1_in_a_link_compares(app_env: Path) -> None:
    at = _page(compare="1")
    assert not at.exception
    assert at.toggle(key="compare").value is True
    assert at.datetime_input(key="t1").value is not None
    at = _page(compare="perhaps")
    assert "compare=perhaps: not a yes/no value" in " ".join(texts(at.warning))
