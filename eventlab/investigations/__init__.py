"""Investigations (issue 12): saved investigations in the store, and incident bundles exported
as one offline HTML file (no secrets, nothing loaded from another host).
"""
