"""The inline projections the service keeps: every opening of the log that may append (the
server, the command line, seeding) registers the same ones, so that their tables move with
every append whoever makes it."""

from __future__ import annotations

from incidents.projections.in_time_index import InTimeIndex
from incidents.projections.missions import MissionTallies
from incidents.projections.search import SearchProjection
from incidents.store.inline import InlineProjection


def inline_projections() -> list[InlineProjection]:
    """A fresh instance of each inline projection, to hand to ``open_store``."""
    return [MissionTallies(), SearchProjection(), InTimeIndex()]
