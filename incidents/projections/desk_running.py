"""The response times and the escalation ladder kept up to date one stream at a time.

:func:`~incidents.projections.desk.response_times_view` and
:func:`~incidents.projections.desk.relations_view` fold every note, protest, incident,
statement and mission: seconds at a million events. :class:`RunningResponseTimes` and
:class:`RunningRelations` hold the same folds as running totals instead. Each is handed a
stream's new state (:meth:`put`); it takes back what the stream's previous state added and
adds what the new one does (the same per-stream facts the pure folds use), so a read after
an append costs the rows of the view, not the log. Sorted lists keep the reply days, police
minutes and due times of the unanswered notes (overdue is counted at the time of the read);
each pair's rungs keep their steps sorted by date, so first and latest stay at the ends.

What a stream adds can hang on another stream: a note's due time on its mission's reply
window, an incident's host on its mission's receiving state, a statement's step on the
state of the stream it is about. Each fold remembers who hangs on whom and puts those
streams again when the stream they hang on changes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from datetime import datetime
from typing import Any

from incidents.projections.desk import (
    RUNGS,
    Dated,
    NoteFacts,
    Relation,
    RelationsView,
    ResponseTimes,
    ResponseTimesView,
    Rung,
    Step,
    incident_host,
    ladder_state,
    note_facts,
    relation,
    relation_step,
    times_row,
)


def _remove(values: list[Any], value: Any) -> None:
    del values[bisect_left(values, value)]


class _Group:
    __slots__ = (
        "demands",
        "incidents",
        "late",
        "members",
        "minutes",
        "open_dues",
        "replies",
        "sent",
    )

    def __init__(self) -> None:
        self.members = self.sent = self.late = self.incidents = 0
        self.replies: list[float] = []
        self.open_dues: list[datetime] = []
        self.minutes: list[float] = []
        self.demands: Counter[str] = Counter()


# What one stream adds: (group keys, its facts) per category.
_Added = tuple[str, tuple[Any, ...], Any]


class RunningResponseTimes:
    """:func:`~incidents.projections.desk.response_times_view` without sources, kept."""

    def __init__(self, reply_window_days: int) -> None:
        self._reply_window_days = reply_window_days
        self._states: dict[str, tuple[str, Any]] = {}
        self._added: dict[str, _Added] = {}
        self._groups: dict[tuple[str, str | None], _Group] = {}
        self._windows: dict[str, int] = {}
        self._receiving: dict[str, str] = {}
        # mission -> the notes and incidents whose facts depend on it
        self._dependents: dict[str, set[str]] = {}

    def put(self, category: str, state: Any) -> None:
        """Hold a stream's new state (note, protest, incident or mission)."""
        stream_id = state.stream_id
        if category == "mission":
            window, receiving = state.reply_window_days, state.receiving_state
            if (self._windows.get(stream_id), self._receiving.get(stream_id)) != (
                window,
                receiving,
            ):
                if window is None:
                    self._windows.pop(stream_id, None)
                else:
                    self._windows[stream_id] = window
                self._receiving[stream_id] = receiving
                for dependent in sorted(self._dependents.get(stream_id, ())):
                    self._refold(dependent)
            return
        if category not in ("note", "protest", "incident"):
            return
        if category != "protest":
            previous = self._states.get(stream_id)
            if previous is not None and previous[1].mission != state.mission:
                self._dependents.get(previous[1].mission or "", set()).discard(stream_id)
            if state.mission:
                self._dependents.setdefault(state.mission, set()).add(stream_id)
        self._states[stream_id] = (category, state)
        self._refold(stream_id)

    def _refold(self, stream_id: str) -> None:
        old = self._added.pop(stream_id, None)
        if old is not None:
            self._apply(old, -1)
        category, state = self._states[stream_id]
        new = self._facts(category, state)
        if new is not None:
            self._added[stream_id] = new
            self._apply(new, 1)

    def _facts(self, category: str, state: Any) -> _Added | None:
        if category == "note":
            facts = note_facts(state, self._windows, self._reply_window_days)
            if facts is None:
                return None
            keys: tuple[Any, ...] = ((facts.host, None),)
            if facts.body:
                keys += ((facts.host, facts.body),)
            return category, keys, facts
        if category == "incident":
            host = incident_host(state, self._receiving)
            return None if host is None else (category, ((host, None),), state.response_minutes)
        host = state.to.state
        if host is None:
            return None
        return category, ((host, None),), tuple(demand.status for demand in state.demands)

    def _apply(self, added: _Added, sign: int) -> None:
        category, keys, facts = added
        for key in keys:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group()
            group.members += sign
            if category == "note":
                self._apply_note(group, facts, sign)
            elif category == "incident":
                group.incidents += sign
                if facts is not None:
                    (insort if sign > 0 else _remove)(group.minutes, facts)
            else:
                for status in facts:
                    group.demands[status] += sign
            if not group.members:
                del self._groups[key]

    @staticmethod
    def _apply_note(group: _Group, facts: NoteFacts, sign: int) -> None:
        group.sent += sign
        if facts.reply_days is None:
            (insort if sign > 0 else _remove)(group.open_dues, facts.due)
            return
        (insort if sign > 0 else _remove)(group.replies, facts.reply_days)
        group.late += sign * facts.late

    def view(self, now: datetime) -> ResponseTimesView:
        """The view at ``now`` (unanswered notes past their due time are overdue)."""
        by_state: list[ResponseTimes] = []
        by_ministry: list[ResponseTimes] = []
        for (state, body), group in sorted(
            self._groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            row = times_row(
                f"{state}: {body}" if body else state,
                state,
                body,
                sent=group.sent,
                answered=len(group.replies),
                replies=group.replies,
                overdue=group.late + bisect_left(group.open_dues, now),
                incidents=group.incidents,
                minutes=group.minutes,
                demands=group.demands,
            )
            (by_ministry if body else by_state).append(row)
        return ResponseTimesView(
            reply_window_days=self._reply_window_days,
            by_host_state=by_state,
            by_ministry=by_ministry,
        )


class _Pair:
    __slots__ = ("returned", "rungs")

    def __init__(self) -> None:
        self.returned = 0
        self.rungs: dict[str, list[tuple[datetime, str]]] = {}


class RunningRelations:
    """:func:`~incidents.projections.desk.relations_view` without sources, kept."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[str, Any]] = {}
        self._steps: dict[str, Step] = {}
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._ladder: dict[str, str] = {}
        self._receiving: dict[str, str] = {}
        # a stream -> the statements about it or related to it
        self._referrers: dict[str, set[str]] = {}
        # a mission -> its incidents that name no state of their own
        self._placeless: dict[str, set[str]] = {}
        self._built: RelationsView | None = None

    def put(self, category: str, state: Any) -> None:
        """Hold a stream's new state (note, protest, statement, incident or mission)."""
        stream_id = state.stream_id
        previous = self._states.get(stream_id)
        self._states[stream_id] = (category, state)
        if category == "statement":
            old = set() if previous is None else _references(previous[1])
            for reference in old - _references(state):
                self._referrers.get(reference, set()).discard(stream_id)
            for reference in _references(state) - old:
                self._referrers.setdefault(reference, set()).add(stream_id)
        if category == "incident":
            if previous is not None:
                self._placeless.get(previous[1].mission or "", set()).discard(stream_id)
            if state.mission and not (state.location and state.location.state):
                self._placeless.setdefault(state.mission, set()).add(stream_id)
        if category == "mission" and self._receiving.get(stream_id) != state.receiving_state:
            self._receiving[stream_id] = state.receiving_state
            for incident in sorted(self._placeless.get(stream_id, ())):
                self._place(incident)
        self._place(stream_id)

    def _place(self, stream_id: str) -> None:
        """Work out the stream's step and ladder state again, and those of the statements
        that hang on it when its ladder state moved."""
        category, state = self._states[stream_id]
        self._set_step(stream_id, relation_step(category, state, self._ladder))
        found = ladder_state(category, state, self._receiving)
        if found == self._ladder.get(stream_id):
            return
        if found is None:
            del self._ladder[stream_id]
        else:
            self._ladder[stream_id] = found
        for referrer in sorted(self._referrers.get(stream_id, ())):
            if referrer in self._states:
                self._place(referrer)

    def _set_step(self, stream_id: str, step: Step | None) -> None:
        old = self._steps.pop(stream_id, None)
        if old == step:
            if step is not None:
                self._steps[stream_id] = step
            return
        self._built = None
        if old is not None:
            pair = self._pairs[old.pair]
            on = pair.rungs[old.rung]
            _remove(on, (old.date.at, stream_id))
            if not on:
                del pair.rungs[old.rung]
            pair.returned -= old.returned
            if not pair.rungs:
                del self._pairs[old.pair]
        if step is not None:
            self._steps[stream_id] = step
            pair = self._pairs.get(step.pair) or self._pairs.setdefault(step.pair, _Pair())
            insort(pair.rungs.setdefault(step.rung, []), (step.date.at, stream_id))
            pair.returned += step.returned

    def view(self) -> RelationsView:
        """The view (built again only after a step moved)."""
        if self._built is not None:
            return self._built
        relations: list[Relation] = []
        for key, pair in sorted(self._pairs.items()):
            history = []
            for rung in RUNGS:
                on = pair.rungs.get(rung)
                if on:
                    first, latest = self._steps[on[0][1]], self._steps[on[-1][1]]
                    history.append(
                        Rung(
                            rung=rung,
                            count=len(on),
                            first=first.date,
                            first_stream=first.stream_id,
                            latest=latest.date,
                            latest_stream=latest.stream_id,
                        )
                    )
            relations.append(relation(key, history, pair.returned > 0, None))
        self._built = RelationsView(count=len(relations), relations=relations)
        return self._built


def _references(statement: Any) -> set[str]:
    return {reference for reference in (statement.about, *statement.related) if reference}


__all__ = ["Dated", "RunningRelations", "RunningResponseTimes"]
