"""The one list of pages and the link builders (no Streamlit needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

from repo_paths import ROOT

from eventlab.explore.filters import Filters, from_params
from eventlab.ui import links


def test_every_page_file_exists_and_paths_are_unique() -> None:
    assert len({p.url_path for p in links.PAGES}) == len(links.PAGES)
    for p in links.PAGES:
        assert (ROOT / p.file).is_file(), p.file
    assert links.page("time-travel") is links.page("timetravel")


def test_explore_link_round_trips_its_filters() -> None:
    f = Filters(event_types=("A", "B"), correlation_id="c 1", duplicates_only=True,
                start=datetime(2025, 3, 5, 14, 3, 7, tzinfo=UTC))
    url = urlparse(links.explore(f).url)
    assert url.path == "./explore"
    assert from_params(parse_qs(url.query)) == f


def test_time_travel_link_names_the_copy() -> None:
    copy = links.EventCopy("order-1", 3, offset=17, source="kafka", topic="shop", partition=1)
    assert links.time_travel("order-1", copy=copy).query == {
        "entity_id": "order-1", "seq": "3", "offset": "17", "source": "kafka", "topic": "shop",
        "partition": "1"}
    assert links.time_travel("order-1", at=datetime(2025, 1, 1, tzinfo=UTC)).url == \
        "./time-travel?entity_id=order-1&at=2025-01-01T00%3A00%3A00%2B00%3A00"


def test_one_owner_for_page_files_urls_and_the_kafka_connection() -> None:
    """Page files, URL paths and the Sources connection's session key are spelled in one
    module each; capabilities build no URLs."""
    import re

    spelled = {
        r"pages/\w+_page\.py": "eventlab/ui/links.py",
        r"[\"'](\.?/)(explore|time-travel|flow|republish|investigations)\?": None,
        r"k_connected": "eventlab/ui/kafka_cluster.py",
    }
    files = [*(ROOT / "eventlab").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    for pattern, owner in spelled.items():
        found = {str(f.relative_to(ROOT)) for f in files if re.search(pattern, f.read_text())}
        assert found <= ({owner} if owner else set()), (pattern, sorted(found))


def test_republish_link_is_what_the_page_reads() -> None:
    from eventlab.ui.republish_widgets import selection_from_url

    link = links.republish("order-1", from_seq=2, to_seq=5)
    sel = selection_from_url(link.query)
    assert sel is not None and (sel.entity_id, sel.from_seq, sel.to_seq) == ("order-1", 2, 5)
    assert links.republish(dlq="shop.dlq").url == "./republish?dlq=shop.dlq"
