"""AppTest of the Sources page's AWS tab against moto's server mode (an EMULATOR: SNS fan-out to
the tap, receive/delete and queue listing only, as AWS documents them): a tap created, listed
with its depth, loaded as a background job; hostile bodies and attribute values are shown as
text (tests/hostile.py markers) on the tab and in Explore. Without EVENTLAB_AWS_* no AWS tab."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import hostile
import pandas as pd
import pytest
from apptest_support import open_page, wait_for
from streamlit.testing.v1 import AppTest
from test_hostile_app import _event_key, assert_inert

from eventlab.aws.clients import sns
from eventlab.aws.config import AwsConfig
from eventlab.store.eventstore import EventStore

PAGE = "pages/sources_page.py"
sources_page = partial(open_page, PAGE, timeout=30)
EVIL_EVENT = "ev-" + hostile.IMAGE


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_config: AwsConfig) -> Path:
    path = tmp_path / "sources.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", aws_config.endpoint_url or "")
    monkeypatch.setenv("EVENTLAB_AWS_TIMEOUT_S", "5")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


def _table(at: AppTest, column: str) -> pd.DataFrame | None:
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


def test_no_aws_tab_without_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(tmp_path / "n.duckdb"))
    for key in ("EVENTLAB_AWS_ENDPOINT_URL", "EVENTLAB_AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    at = sources_page()
    assert not at.exception
    assert "AWS" not in [t.label for t in at.tabs]


def test_tap_created_listed_and_loaded_with_hostile_data_shown_as_text(
        page_env: Path, aws_config: AwsConfig, sns_topic_factory: object) -> None:
    arn = sns_topic_factory()  # type: ignore[operator]
    at = sources_page()
    assert not at.exception and not at.error
    assert "AWS" in [t.label for t in at.tabs]
    at.text_input(key="aws_topic_arn").input(arn).run()
    at.button(key="aws_create").click().run()
    assert not at.exception and not at.error
    taps = _table(at, "waiting")
    assert taps is not None and arn in list(taps["topic"])  # with other tests' taps
    assert any("from now on" in s.value for s in at.success)
    body = json.dumps({"event_id": EVIL_EVENT, "entity_id": hostile.ENTITY,
                       "event_type": f"Noted {hostile.HTML}", "ts": "2025-03-05T14:03:00Z",
                       "data": {"note": hostile.LINK, hostile.DIRECTIVES: hostile.TICKS}})
    note = {"DataType": "String", "StringValue": hostile.IMAGE + hostile.BIDI}
    sns(aws_config).publish(TopicArn=arn, Message=body, Subject="hostile",
                            MessageAttributes={"note": note})
    sns(aws_config).publish(TopicArn=arn, Message=hostile.HTML + hostile.LATEX)  # quarantined
    at.button(key="aws_list").click().run()
    taps = _table(at, "waiting")
    assert taps is not None and list(taps[taps["topic"] == arn]["waiting"]) == [2]
    tap_name = taps[taps["topic"] == arn]["tap"].iloc[0]
    at.selectbox(key="aws_ingest_pick").select(tap_name).run()
    at.button(key="aws_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: any("1 stored" in s.value and "1 quarantined" in s.value
                                    for s in a.success))
    assert_inert(at, "sources, AWS tab")
    with EventStore(page_env) as store:
        assert store.stats().events == 1
    explore = open_page("pages/explore_page.py", timeout=60,
                        ev=_event_key(page_env, EVIL_EVENT))
    assert_inert(explore, "explore, an event from a tap open")
    assert not explore.error
    assert any("order" in s.value for s in explore.subheader)  # the event is open
