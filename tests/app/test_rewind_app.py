"""AppTest of the Consumers page's rewind panel on the real local broker: a dry run shows the
plan, the button stays off until the group name and a reason are typed, the reset commits the
plan's offsets, and Undo plans the offsets back."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts

from eventlab import settings
from eventlab.kafka.broker import BrokerHandle
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.group_commit import commit_group_offsets, committed_offsets

consumers_page = partial(open_page, "pages/consumers_page.py", timeout=30)


def test_dry_run_confirm_reset_and_undo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        kafka_broker: BrokerHandle, kafka_config: KafkaConfig,
                                        topic_factory: Callable, producer: Callable) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(tmp_path / "rw.duckdb"))
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_LAG_SAMPLE_S", "0")
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(reset_groups="app-rw-.*"))
    topic = topic_factory(1)
    p = producer()
    for i in range(6):
        p.send(topic, f"v{i}".encode(), partition=0).get(10)
    group = f"app-rw-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 4})
    at = consumers_page()
    at.selectbox(key="c_group").select(group).run()
    assert not at.exception, at.exception
    at.selectbox(key="rw_how").select("by").run()
    at.text_input(key="rw_value").input("-3").run()
    at.button(key="rw_dry").click().run()
    assert not at.exception and not at.error, texts(at.error)
    plan = next(f.value for f in at.dataframe if "lag after (records)" in f.value.columns)
    assert plan.iloc[0][["current", "new", "lag after (records)"]].tolist() == ["4", "1", 5]
    assert plan.iloc[0]["lag after"].endswith((" s", " min", " h", " d")) or \
        plan.iloc[0]["lag after"] == "—"  # read as a duration, not raw seconds
    assert at.button(key="rw_execute").disabled
    at.text_input(key="rw_confirm").input(group).run()
    at.text_input(key="rw_reason").input("replay after the fix").run()
    assert committed_offsets(kafka_config, group, topic) == {0: 4}  # nothing moved yet
    at.button(key="rw_execute").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert committed_offsets(kafka_config, group, topic) == {0: 1}
    assert any("applied and read back" in s for s in texts(at.success))
    at.button(key="rw_undo").click().run()
    undo = next(f.value for f in at.dataframe if "lag after (records)" in f.value.columns)
    assert undo.iloc[0][["current", "new"]].tolist() == ["1", "4"]
