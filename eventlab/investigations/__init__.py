"""Investigations: saved in the store (filters, entities and a position, bookmarked events,
findings, notes), and incident bundles (events, state timelines, findings, notes and one
offline HTML report). The names below are the package's API."""

from eventlab.investigations.bundle import MAX_EVENTS, Bundle, selection, write_bundle
from eventlab.investigations.model import Investigation, InvestigationError, clean_query, new
from eventlab.investigations.saved import default_author, listing, load, now, save

__all__ = ["MAX_EVENTS", "Bundle", "Investigation", "InvestigationError", "clean_query",
           "default_author", "listing", "load", "new", "now", "save", "selection",
           "write_bundle"]
