"""Export Job Desk: look up a Pleo export job and see what happened to it."""

__version__ = "1.0.0"
