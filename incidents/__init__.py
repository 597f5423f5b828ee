"""An event-sourced log of incidents against diplomatic missions, notes, protests and replies."""

__version__ = "0.1.0"
