"""A small StreamRules for the store's tests, so they need nothing from the domain.

It folds a stream into ``{"count": n, "types": [...]}``, refuses the type "Forbidden"
anywhere (rule "forbidden-type") and "NotOpening" as a stream's first event (rule
"opening-event"). The snapshot's mission is the latest event's ``"mission"``, and a stream is
open until a "Closed" event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from incidents.store.protocol import ProposedEvent, RecordedEvent, RuleViolation, StreamSnapshot


class TallyState(msgspec.Struct):
    """What a stream folds into under :class:`TallyRules`."""

    count: int = 0
    types: list[str] = msgspec.field(default_factory=list)


_decode_state = msgspec.json.Decoder(TallyState).decode
_decode_data = msgspec.json.Decoder(dict[str, object]).decode
_encode = msgspec.json.Encoder().encode


class TallyRules:
    """Counts events and their types; refuses two kinds of event (see the module)."""

    def apply(
        self,
        stream_id: str,
        current: StreamSnapshot | None,
        events: Sequence[RecordedEvent],
    ) -> StreamSnapshot:
        """Fold ``events`` onto ``current`` or raise RuleViolation."""
        state = TallyState() if current is None else _decode_state(current.state)
        mission = None if current is None else current.mission
        is_open = True if current is None else current.is_open
        for index, event in enumerate(events):
            if event.type == "Forbidden":
                raise RuleViolation(index, "forbidden-type", "events of this type are refused")
            if event.type == "NotOpening" and state.count == 0:
                raise RuleViolation(index, "opening-event", "a stream cannot start with this")
            data = _decode_data(bytes(event.data))
            if isinstance(data.get("mission"), str):
                mission = str(data["mission"])
            if event.type == "Closed":
                is_open = False
            state.count += 1
            state.types.append(event.type)
        return StreamSnapshot(_encode(state), mission, is_open)


def tally(state: msgspec.Raw | bytes) -> TallyState:
    """Decode a stream's state document written by :class:`TallyRules`."""
    return _decode_state(bytes(state))


def proposed(
    type_: str = "Noted",
    data: bytes = b'{"n":1}',
    *,
    event_id: uuid.UUID | None = None,
    metadata: bytes = b"{}",
) -> ProposedEvent:
    """A proposed event with a fresh id unless one is given."""
    return ProposedEvent(event_id or uuid.uuid4(), type_, data, metadata)
