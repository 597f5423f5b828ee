"""The fields of each stream state that the views read, and the decoders that read just them.

A stream's state document holds much more than a view shows (summaries, sources with their
quotes, corrections). Each view's states are decoded into a small Struct of the fields it
reads (``NoteFacts`` and the like): msgspec skips the rest of the document without building
it, which is most of the cost of decoding a state, and a slice kept in memory weighs a
fraction of the state. Each slice is cut from its state by field names (:func:`cut`), so
it keeps the state's types, defaults and JSON names. The views get them in place of the full
states; tests/unit/test_slice_fields.py checks that every field a slice keeps is its state's,
and tests/integration/test_projection_slices.py that the views come out the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import msgspec

from incidents.domain.state import (
    DemandStatus,
    IncidentState,
    MissionState,
    NoteState,
    ProtestState,
)
from incidents.store.protocol import StreamRow

S = TypeVar("S")


class Facts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the views' slices of a state; unknown fields (the rest) are skipped."""

    stream_id: str


def cut(
    name: str,
    state: type[msgspec.Struct],
    fields: str,
    *,
    base: type[msgspec.Struct] = Facts,
    lean: Mapping[str, Any] | None = None,
) -> type[Any]:
    """A slice of ``state`` named ``name``: ``base`` and the state's ``fields`` (a
    space-separated list), each with the state's type, default and JSON name, or the type
    ``lean`` gives it (a Struct that decodes less of an entry).

    Cut from the state, a slice cannot drift from it: a field renamed, retyped or given
    another default there is so in every slice that keeps it.
    """
    lean = lean or {}
    of_state = {f.name: f for f in msgspec.structs.fields(state)}
    kept = []
    for field in fields.split():
        info = of_state[field]
        default: Any = msgspec.field(name=info.encode_name)
        if info.default is not msgspec.NODEFAULT:
            default = msgspec.field(default=info.default, name=info.encode_name)
        elif info.default_factory is not msgspec.NODEFAULT:
            default = msgspec.field(default_factory=info.default_factory, name=info.encode_name)
        kept.append((field, lean.get(field, info.type), default))
    return msgspec.defstruct(
        name,
        kept,
        bases=(base,),
        module=__name__,
        frozen=True,
        kw_only=True,
        gc=False,
    )


class DemandFacts(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What open_protests reads of a DemandState."""

    demand: str
    status: DemandStatus = "open"
    answered_at: datetime | None = None


class Counted(msgspec.Struct, frozen=True, gc=False):
    """An entry a view only counts: decoded as nothing at all (every field skipped).

    Unlike ``msgspec.Raw``, which refers to the whole document it was decoded from, it
    keeps no part of the state alive in a slice kept in memory.
    """


# What the views read of each state, standing in for it (typed as the state they are cut
# from: a view reads only these fields of it).
MissionFacts = cut(
    "MissionFacts",
    MissionState,
    "sending_state receiving_state city kind name reply_window_days head_of_mission correspondence",
)
NoteFacts = cut(
    "NoteFacts",
    NoteState,
    "status from_ to subject sent_at mission reference about_incident reply_due_at"
    " occurred_precision occurred_zone occurred_after occurred_before",
)
# (responses are only counted)
ProtestFacts = cut(
    "ProtestFacts",
    ProtestState,
    "status by to form lodged_at mission about_incident demands responses occurred_precision"
    " occurred_zone occurred_after occurred_before",
    lean={"demands": list[DemandFacts], "responses": list[Counted]},
)
IncidentFacts = cut(
    "IncidentFacts",
    IncidentState,
    "status kind title occurred_at mission location response_minutes occurred_precision"
    " occurred_zone occurred_after occurred_before",
)


class Named(msgspec.Struct, frozen=True, gc=False):
    """A party or a location as the views filter on it: its state code, or its body."""

    state: str | None = None
    body: str | None = None


class DemandPlace(msgspec.Struct, frozen=True, gc=False):
    """What a protest's place in its view counts of a demand."""

    status: DemandStatus = "open"


# What a protest's place in the open-protests view is made of (its order key, its filter
# values, its open demands): held for every open protest, so decoded lean.
ProtestPlace = cut(
    "ProtestPlace",
    ProtestState,
    "status by to lodged_at mission via_mission demands",
    lean={"by": Named, "to": Named, "demands": list[DemandPlace]},
)
# What an incident's place in the incidents view is made of.
IncidentPlace = cut(
    "IncidentPlace",
    IncidentState,
    "kind occurred_at mission location occurred_precision occurred_after occurred_before",
    lean={"location": Named | None},
)


# Each slice's decoder, and the full state type whose place it takes in the views.
SLICES: dict[type[Any], msgspec.json.Decoder[Any]] = {
    MissionState: msgspec.json.Decoder(MissionFacts),
    NoteState: msgspec.json.Decoder(NoteFacts),
    ProtestState: msgspec.json.Decoder(ProtestFacts),
    IncidentState: msgspec.json.Decoder(IncidentFacts),
    ProtestPlace: msgspec.json.Decoder(ProtestPlace),
    IncidentPlace: msgspec.json.Decoder(IncidentPlace),
}

# The state type of each category whose streams the views read.
STATE_OF_CATEGORY: dict[str, type[Any]] = {
    "mission": MissionState,
    "note": NoteState,
    "protest": ProtestState,
    "incident": IncidentState,
}


def decode_rows(rows: Sequence[StreamRow], kind: type[S]) -> list[S]:
    """The rows' states as the view of ``kind`` reads them (a slice standing in for it)."""
    decode = SLICES[kind].decode
    return [cast(S, decode(row.state)) for row in rows]
