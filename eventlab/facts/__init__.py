"""The facts kept per data version next to `events` (summaries, follows facts, As of current
states, payload shapes, search index): which there are and how each is brought up to date
(`refresh`)."""

from eventlab.facts.refresh import FACTS

__all__ = ["FACTS"]
