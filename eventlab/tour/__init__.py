"""The guided tour (issue 12): teaching steps about event sourcing as data, shown on the live
store by the app; no logic of its own beyond choosing each step's example.
"""
