"""The mission tallies (incidents.projections.missions.MissionTallies), an inline projection,
kept on every adapter in the append's transaction; with TallyRules and the tests' labels
(tests/store_rules.py: a stream's category, and "<category>:open" while it is open).

Each test reads given / when / then.
"""

from __future__ import annotations

import contextlib
import random

import pytest

from incidents.projections.missions import MissionTally, read_tallies
from incidents.store.protocol import (
    AppendRequest,
    ConcurrencyError,
    EventStore,
    RuleViolation,
    StreamSnapshot,
)
from tests.store_rules import labels, proposed, recount, tallies_projection

pytestmark = pytest.mark.keeps.with_args(tallies_projection)


async def tallies_now(store: EventStore) -> dict[str, tuple[dict[str, int], int]]:
    """Each mission's label counts and latest position, as the store keeps them."""
    return {t.mission: (t.counts, t.latest_position) for t in await read_tallies(store)}


async def recounted(store: EventStore) -> list[MissionTally]:
    """The tallies counted afresh from every stream row (TallyRules' labels)."""
    rows = await store.list_streams_after(limit=100_000)
    return recount(rows, labels)


async def test_mission_tallies_follow_appends(store: EventStore) -> None:
    # given streams naming two missions, one closed, and one naming none
    x = b'{"mission":"mission-x"}'
    await store.append("note-a", [proposed("Sent", x)])
    await store.append("protest-b", [proposed("Lodged", x), proposed("Closed")])
    await store.append("note-c", [proposed("Sent", b'{"mission":"mission-y"}')])
    await store.append("note-d", [proposed("Sent")])
    # when one of them is appended to again
    await store.append("note-a", [proposed("Closed")])

    # then each mission counts the labels of its streams, and its latest is the last append
    assert await tallies_now(store) == {
        "mission-x": ({"note": 1, "protest": 1}, 6),
        "mission-y": ({"note": 1, "note:open": 1}, 4),
    }
    tallies = await read_tallies(store)
    note_a = await store.get_stream("note-a")
    assert note_a is not None and tallies[0].latest_recorded_at == note_a.updated_at
    assert tallies == await recounted(store)


async def test_refused_appends_leave_the_tallies_as_they_were(store: EventStore) -> None:
    # given a stream of a mission
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])
    before = await read_tallies(store)

    # when an append breaks a rule, and a request of two streams fails on its second
    with pytest.raises(RuleViolation):
        await store.append("note-a", [proposed("Closed"), proposed("Forbidden")])
    with pytest.raises(ConcurrencyError):
        await store.append_many(
            [
                AppendRequest("note-b", [proposed("Sent", b'{"mission":"mission-x"}')]),
                AppendRequest("note-a", [proposed("Closed")], expected_version=7),
            ]
        )

    # then neither left a trace in the tallies
    assert await read_tallies(store) == before


async def test_a_stream_that_moves_to_another_mission_takes_its_labels(store: EventStore) -> None:
    # given two streams of one mission, the first appended to last
    await store.append("note-b", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])

    # when the one appended to last is corrected to name another mission
    await store.append("note-a", [proposed("Corrected", b'{"mission":"mission-y"}')])

    # then its labels and latest moved, and the first mission's latest is its other stream's
    assert await tallies_now(store) == {
        "mission-x": ({"note": 1, "note:open": 1}, 1),
        "mission-y": ({"note": 1, "note:open": 1}, 3),
    }
    assert await read_tallies(store) == await recounted(store)

    # and a mission whose last stream leaves is no longer listed
    await store.append("note-b", [proposed("Corrected", b'{"mission":"mission-y"}')])
    assert await tallies_now(store) == {"mission-y": ({"note": 2, "note:open": 2}, 4)}


async def test_replacing_snapshots_moves_the_tallies_with_them(store: EventStore) -> None:
    # given two streams of one mission
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("protest-b", [proposed("Lodged", b'{"mission":"mission-x"}')])
    note_a = await store.get_stream("note-a")
    assert note_a is not None

    # when one's snapshot is replaced by one closed and of another mission
    await store.replace_snapshots(
        {"note-a": StreamSnapshot(bytes(note_a.state), "mission-z", False)}
    )

    # then its labels count under the new mission, its last position as that one's latest
    assert await tallies_now(store) == {
        "mission-x": ({"protest": 1, "protest:open": 1}, 2),
        "mission-z": ({"note": 1}, 1),
    }
    assert await read_tallies(store) == await recounted(store)


async def test_tallies_equal_a_recount_after_many_random_appends(store: EventStore) -> None:
    # given random appends, moves, closings and refusals over a few streams and missions
    chooser = random.Random(7)
    missions = [b'{"mission":"mission-x"}', b'{"mission":"mission-y"}', b"{}"]
    for _ in range(120):
        stream_id = chooser.choice(["note-a", "note-b", "protest-a", "incident-a", "note-c"])
        type_ = chooser.choice(["Sent", "Sent", "Closed", "Forbidden"])
        with contextlib.suppress(RuleViolation):
            await store.append(stream_id, [proposed(type_, chooser.choice(missions))])

    # then the tallies kept are those counted from the streams
    assert await read_tallies(store) == await recounted(store)


async def test_a_rebuild_counts_the_tallies_afresh_from_the_streams(store: EventStore) -> None:
    # given streams of two missions, one closed, one of no mission, one moved by a repair
    await store.append("note-a", [proposed("Sent", b'{"mission":"mission-x"}')])
    await store.append("note-b", [proposed("Sent", b'{"mission":"mission-y"}'), proposed("Closed")])
    await store.append("protest-c", [proposed("Lodged", b'{"mission":"mission-x"}')])
    await store.append("note-d", [proposed("Sent")])
    note_a = await store.get_stream("note-a")
    assert note_a is not None
    await store.replace_snapshots(
        {"note-a": StreamSnapshot(bytes(note_a.state), "mission-y", True)}
    )
    expected = await read_tallies(store)
    revision = await store.snapshots_revision()

    # when the tallies are rebuilt
    await store.rebuild("missions")

    # then they are what they were, counted from the streams, and the revision moved
    # (readers let go of what they hold)
    assert await read_tallies(store) == expected == await recounted(store)
    assert await tallies_now(store) == {
        "mission-x": ({"protest": 1, "protest:open": 1}, 4),
        "mission-y": ({"note": 2, "note:open": 1}, 3),
    }
    assert await store.snapshots_revision() == revision + 1
