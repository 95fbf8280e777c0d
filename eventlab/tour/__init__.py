"""The guided tour: teaching steps about event sourcing as data (`steps.toml`), filled with
examples from the live store. The names below are the package's API."""

from eventlab.tour.steps import (
    BROKERS,
    CHARTS,
    STEPS_FILE,
    Filled,
    Step,
    TourError,
    broker_in,
    fill,
    load_steps,
)

__all__ = ["BROKERS", "CHARTS", "STEPS_FILE", "Filled", "Step", "TourError", "broker_in", "fill",
           "load_steps"]
