"""The group-commit front the SQLite and PostgreSQL stores share.

Every append becomes a :class:`Unit` in a queue; one batcher task takes the waiting units
(up to ``max_batch``, after waiting ``batch_wait`` for more), hands them to the adapter's
writer as one transaction (:meth:`GroupCommitFront._write_units`), and resolves each
caller's future with its own outcome. The adapters differ only in how a batch is written
(a thread with stdlib sqlite3, or an asyncpg connection), so that is all they implement.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence

from incidents.store.plan import AppendPlan, check_appends
from incidents.store.protocol import (
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    LogHead,
    ProposedEvent,
    StoreBusyError,
    StoreUnavailableError,
    StreamSnapshot,
)

# What a unit's future resolves to (a replace_snapshots unit resolves to an empty list).
Outcome = list[AppendResult] | BaseException
# Told of each batch the writer finished: every unit's outcome and the seconds the write took.
BatchObserver = Callable[[Sequence[Outcome], float], None]


class Unit:
    """One caller's request waiting for the writer: appends or snapshots, and its future."""

    __slots__ = ("appends", "future", "snapshots")

    def __init__(
        self,
        future: asyncio.Future[list[AppendResult]],
        appends: Sequence[AppendRequest] = (),
        snapshots: Mapping[str, StreamSnapshot] | None = None,
    ) -> None:
        self.future = future
        self.appends = appends
        self.snapshots = snapshots


def stage(plan: AppendPlan, unit: Unit) -> Outcome:
    """Work one unit into a batch's plan; its error (a conflict, a rule, a bug) is its alone."""
    try:
        if unit.snapshots is not None:
            plan.replace(unit.snapshots)
            return []
        return plan.add(unit.appends)
    except Exception as error:
        return error


class GroupCommitFront(ABC):
    """Appends queued for one writer, batched, each caller answered after the commit.

    The adapter's ``__init__`` sets the attributes below and starts :meth:`_write_batches`
    as a task; it implements :meth:`_write_units` and :meth:`_notify`.
    """

    _loop: asyncio.AbstractEventLoop
    _pending: list[Unit]
    _wakeup: asyncio.Event
    _closing: bool
    _max_batch: int
    _batch_wait: float
    _head_position: int
    _batcher: asyncio.Task[None]
    _close_task: asyncio.Task[None] | None
    # Set by whoever watches the writer (the served app's metrics); None watches nothing.
    batch_observer: BatchObserver | None = None

    @abstractmethod
    async def _write_units(self, units: Sequence[Unit]) -> tuple[list[Outcome], LogHead | None]:
        """Write a batch as one transaction; each unit's outcome and the new head (None
        when nothing could be committed)."""

    @abstractmethod
    def _notify(self) -> None:
        """Wake whoever watches the log's head."""

    @abstractmethod
    async def _release(self) -> None:
        """Close the writer and every connection, once the batcher has finished."""

    async def close(self) -> None:
        """Finish the appends already submitted, stop the writer, close every connection.

        Appends submitted afterwards raise StoreUnavailableError. Safe to call twice.
        """
        if self._close_task is None:
            self._close_task = asyncio.create_task(self._shut_down())
        await asyncio.shield(self._close_task)

    async def _shut_down(self) -> None:
        self._closing = True
        self._wakeup.set()
        self._notify()
        # wait() rather than await: a batcher cancelled from outside must not stop the rest.
        await asyncio.wait([self._batcher])
        await self._release()

    async def append(
        self,
        stream_id: str,
        events: Sequence[ProposedEvent],
        expected_version: ExpectedVersion = "any",
    ) -> AppendResult:
        """Append events to one stream atomically; see :meth:`append_many`."""
        appends = (AppendRequest(stream_id, events, expected_version),)
        check_appends(appends)
        if self._closing:
            raise StoreUnavailableError("the store is closed")
        # _submit inlined: one coroutine frame less on the path every single append takes.
        future: asyncio.Future[list[AppendResult]] = self._loop.create_future()
        self._pending.append(Unit(future, appends))
        self._wakeup.set()
        return (await future)[0]

    async def append_many(self, appends: Sequence[AppendRequest]) -> list[AppendResult]:
        """Append to several streams atomically: all of them are stored, or none.

        Returns once the transaction that took them has committed.
        """
        check_appends(appends)
        return await self._submit(appends, None)

    async def replace_snapshots(self, snapshots: Mapping[str, StreamSnapshot]) -> None:
        """Overwrite the folded state of existing streams; ValueError names unknown ones."""
        if snapshots:
            await self._submit((), dict(snapshots))

    async def _submit(
        self,
        appends: Sequence[AppendRequest],
        snapshots: Mapping[str, StreamSnapshot] | None,
    ) -> list[AppendResult]:
        if self._closing:
            raise StoreUnavailableError("the store is closed")
        future: asyncio.Future[list[AppendResult]] = self._loop.create_future()
        self._pending.append(Unit(future, appends, snapshots))
        self._wakeup.set()
        return await future

    async def _write_batches(self) -> None:
        """The batcher: hand waiting units to the writer, resolve their futures."""
        pending = self._pending
        while True:
            if not pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._batch_wait > 0 and len(pending) < self._max_batch:
                await asyncio.sleep(self._batch_wait)
            units = [unit for unit in pending[: self._max_batch] if not unit.future.done()]
            del pending[: self._max_batch]
            if not units:
                continue
            started = time.perf_counter()
            try:
                outcomes, head = await self._write_units(units)
            except asyncio.CancelledError:
                self._fail(units, StoreUnavailableError("the store was shut down"))
                raise
            except Exception as error:
                # A bug, not a conflict: the callers hear of it, the writer keeps going.
                self._fail(units, error)
                continue
            if self.batch_observer is not None:
                self.batch_observer(outcomes, time.perf_counter() - started)
            for unit, outcome in zip(units, outcomes, strict=True):
                future = unit.future
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            if head is not None:
                self._advance(head.position)
            elif isinstance(busy := outcomes[0], StoreBusyError):
                # The batch did not get the lock within the busy timeout. The units queued
                # meanwhile would wait that long again in the next batch (about twice the
                # bound in all): they hear it now, so no append waits past the bound.
                self._fail(pending, busy)
                pending.clear()

    def _advance(self, position: int) -> None:
        """Move the known head forward (never back) and wake the watchers."""
        if position > self._head_position:
            self._head_position = position
            self._notify()

    @staticmethod
    def _fail(units: Iterable[Unit], error: BaseException) -> None:
        for unit in units:
            if not unit.future.done():
                unit.future.set_exception(error)
