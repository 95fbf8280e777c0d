"""The guided tour: teaching steps about event sourcing as data (`steps.toml`), filled with
examples from the live store. The names below are the package's API."""

from eventlab.tour.steps import CHARTS, STEPS_FILE, Filled, Step, TourError, fill, load_steps

__all__ = ["CHARTS", "STEPS_FILE", "Filled", "Step", "TourError", "fill", "load_steps"]
