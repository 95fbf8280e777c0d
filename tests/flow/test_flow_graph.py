"""The frequency filter of the directly-follows graph (pure): rare transitions go, the graph
stays connected from start to end."""

from __future__ import annotations

from eventlab.flow import END, START, frequent, node_counts


def _e(a: str, b: str, n: int) -> dict:
    return {"from_type": a, "to_type": b, "count": n}


def _keys(edges: list[dict]) -> set[tuple[str, str]]:
    return {(e["from_type"], e["to_type"]) for e in edges}


MAIN = [_e(START, "A", 100), _e("A", "B", 90), _e("B", END, 90), _e("A", "C", 10),
        _e("C", END, 10), _e("B", "B", 3), _e("A", END, 0)]


def test_threshold_one_keeps_every_transition_with_pairs_in_order() -> None:
    assert frequent(MAIN, 1) == MAIN[:6]  # A -> $ has no pairs and is no node's strongest


def test_a_rare_node_keeps_its_strongest_in_and_out_edge() -> None:
    kept = _keys(frequent(MAIN, 50))
    assert kept == {(START, "A"), ("A", "B"), ("B", END), ("A", "C"), ("C", END)}
    assert ("B", "B") not in kept and ("A", END) not in kept


def test_an_island_is_bridged_back_to_start_and_end() -> None:
    # B and C only point at each other strongly; their links to the main path are weak.
    edges = [_e(START, "A", 100), _e("A", END, 100), _e("A", "B", 5), _e("B", "C", 50),
             _e("C", "B", 50), _e("B", END, 1)]
    kept = _keys(frequent(edges, 20))
    assert kept == {(START, "A"), ("A", END), ("B", "C"), ("C", "B"), ("A", "B"), ("B", END)}
    assert _keys(frequent(edges, 1000)) == kept  # the same skeleton at any higher threshold


def test_node_counts_are_events_per_type() -> None:
    assert node_counts(MAIN) == {START: 100, "A": 100, "B": 93, "C": 10, END: 100}
