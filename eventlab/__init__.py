"""EventLab: look inside event-sourced systems."""

__version__ = "0.1.0"
