"""Verbatim appends (``incidents import``), over each adapter (``store`` in tests/conftest.py):
envelopes exported from one log are stored in another with their positions, times and
hashes, the streams folded as for any append; an envelope that does not follow the log is
refused and nothing of its transaction is stored."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from incidents.store.memory import MemoryEventStore
from incidents.store.plan import verbatim_appends
from incidents.store.protocol import EventStore, InvalidAppendError, RecordedEvent
from tests.store_rules import TallyRules, proposed


async def exported() -> list[RecordedEvent]:
    """A log of three streams whose events interleave, as an export holds it."""
    source = MemoryEventStore(TallyRules())
    for round_ in range(3):
        for stream in ("note-a", "note-b", "protest-c"):
            opening = "Opened" if round_ == 0 else "Noted"
            await source.append(stream, [proposed(opening, b'{"mission":"mission-fr-x"}')])
        await source.append("note-a", [proposed(), proposed()])
    events = await source.read_all(limit=1000)
    await source.close()
    return events


async def test_envelopes_are_stored_as_they_are_and_the_streams_folded(
    store: EventStore,
) -> None:
    # given the envelopes of another log
    events = await exported()

    # when they are appended verbatim, in two transactions
    middle = len(events) // 2
    await store.append_many(verbatim_appends(events[:middle]))
    await store.append_many(verbatim_appends(events[middle:]))

    # then the log holds the same envelopes, hashes and head, and the streams their events
    assert await store.read_all(limit=1000) == events
    assert (await store.head()).hash == events[-1].hash
    rows = await store.get_streams(["note-a", "note-b", "protest-c"])
    assert {stream: row.version for stream, row in rows.items()} == {
        "note-a": 9,
        "note-b": 3,
        "protest-c": 3,
    }
    # and the stream rows are what appending the same events would have made
    assert rows["note-a"].mission == "mission-fr-x"
    assert rows["note-a"].updated_at == events[-1].recorded_at


@pytest.mark.parametrize("change", ["data", "recorded_at", "position"])
async def test_an_envelope_that_does_not_follow_the_log_is_refused(
    store: EventStore, change: str
) -> None:
    # given an export with one envelope altered after its first page was stored
    events = await exported()
    await store.append_many(verbatim_appends(events[:4]))
    altered = list(events[4:])
    victim = altered[2]
    altered[2] = msgspec.structs.replace(
        victim,
        **{
            "data": {"data": msgspec.Raw(b'{"n":99}')},
            "recorded_at": {"recorded_at": victim.recorded_at + timedelta(seconds=1)},
            "position": {"position": victim.position + 1},
        }[change],
    )

    # when the rest is appended, then it is refused naming the position, and none of it kept
    with pytest.raises(InvalidAppendError, match=f"position {altered[2].position}"):
        await store.append_many(verbatim_appends(altered))
    assert await store.read_all(limit=1000) == events[:4]


async def test_envelopes_stored_already_are_refused(store: EventStore) -> None:
    # given a log that holds an export's first page
    events = await exported()
    await store.append_many(verbatim_appends(events[:4]))

    # when the same page comes again, then it is refused and nothing changes
    with pytest.raises(InvalidAppendError, match="in the log already"):
        await store.append_many(verbatim_appends(events[:4]))
    assert await store.read_all(limit=1000) == events[:4]
