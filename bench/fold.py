"""Timing of the fold on one entity with many events (not a test: run it by hand).

    .venv/bin/python bench/fold.py [events] [seeks]

Prints construction time and the median / 95th percentile time of seeking to a random index
(the time slider), of stepping forward by one, and of blame / field history over the stream.
"""

from __future__ import annotations

import random
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from eventlab.replay import Event, Fold, RulesReducer, blame, field_history, load_python_reducer

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TYPES = ["OrderPlaced", "ItemAdded", "ItemRemoved", "AddressChanged", "StatusChanged", "Noted"]

RULES = """
[events.OrderPlaced]
set = [{ path = "status", value = "placed" }, { path = "customer", from = "customer" }]
[events.ItemAdded]
append = { path = "items", from = "item" }
inc = { path = "total", from = "item.price" }
[events.ItemRemoved]
remove = { path = "items", from = "sku", match = "sku", all = true }
dec = { path = "total", from = "price" }
[events.AddressChanged]
merge = { path = "address", from = "address" }
[events.StatusChanged]
set = { path = "status", from = "status" }
"""

PYTHON = """
def apply(state, event):
    state = state or {"items": [], "total": 0}
    p = event.payload
    if event.event_type == "ItemAdded":
        state["items"] = (state["items"] + [p["item"]])[-20:]
        state["total"] += p["item"]["price"]
    elif event.event_type == "ItemRemoved":
        state["items"] = [i for i in state["items"] if i["sku"] != p["sku"]]
        state["total"] -= p["price"]
    else:
        state.update(p)
    return state
"""


def make_events(n: int, rng: random.Random) -> list[Event]:
    events = []
    for seq in range(n):
        kind = rng.choice(TYPES)
        sku = f"sku-{rng.randrange(20)}"
        payload: dict[str, Any] = {
            "OrderPlaced": {"customer": f"c-{rng.randrange(99)}", "status": "placed"},
            "ItemAdded": {"item": {"sku": sku, "price": rng.randrange(1, 50)}},
            "ItemRemoved": {"sku": sku, "price": rng.randrange(1, 50)},
            "AddressChanged": {"address": {"city": rng.choice("ABCDEF"), "zip": None}},
            "StatusChanged": {"status": rng.choice(["paid", "shipped", "open"])},
            "Noted": {f"note_{rng.randrange(30)}": rng.random(), "flags": [1, 2, 3]},
        }[kind]
        events.append(Event(
            event_id=f"e{seq}", entity_type="order", entity_id="o-1", event_type=kind,
            seq=seq, ts=T0 + timedelta(seconds=seq), payload=payload, offset=seq,
        ))
    return events


def ms(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def bench(label: str, events: list[Event], reducer: Any, seeks: int, rng: random.Random) -> None:
    holder: dict[str, Fold] = {}
    build = ms(lambda: holder.setdefault("fold", Fold(events, reducer, snapshot_every=100)))
    fold = holder["fold"]
    assert fold.error is None, fold.error
    n = len(events)
    seek = [ms(lambda: fold.state_at(rng.randrange(n))) for _ in range(seeks)]
    step = []
    for _ in range(seeks):
        i = rng.randrange(n - 1)
        fold.state_at(i)
        step.append(ms(lambda i=i: fold.state_at(i + 1)))
    when = [T0 + timedelta(seconds=rng.randrange(n)) for _ in range(seeks)]
    first_time = ms(lambda: fold.index_at_time(when[0]))  # builds the time index once
    at_time = [ms(lambda t=t: fold.state_at(fold.index_at_time(t))) for t in when]
    print(
        f"{label:>7}: build {build:7.0f} ms | seek median {statistics.median(seek):.3f} ms, "
        f"p95 {statistics.quantiles(seek, n=20)[-1]:.3f} ms | step +1 median "
        f"{statistics.median(step):.3f} ms | first time lookup {first_time:.0f} ms, then seek "
        f"by time median {statistics.median(at_time):.3f} ms | "
        f"blame(all) {ms(lambda: blame(fold, n - 1)):.0f} ms | "
        f"history(status) {ms(lambda: field_history(fold, 'status')):.0f} ms"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seeks = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    rng = random.Random(7)
    events = make_events(n, rng)
    print(f"{n} events of one entity, K=100, {seeks} random seeks each")
    bench("merge", events, None, seeks, rng)
    bench("rules", events, RulesReducer.from_toml(RULES), seeks, rng)
    with TemporaryDirectory() as tmp:
        file = Path(tmp) / "bench_reducer.py"
        file.write_text(textwrap.dedent(PYTHON), encoding="utf-8")
        bench("python", events, load_python_reducer(file), seeks, rng)


if __name__ == "__main__":
    main()
