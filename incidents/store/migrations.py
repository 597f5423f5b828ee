"""One migration runner for both engines, each engine's DDL as numbered files.

A migration is a file ``store/sql/<engine>/migrations/NNNN_<what_it_does>.sql``: its number
is its version, its name says what it does, and its statements end with semicolons. The
runner (:func:`migrate`) is a batch like the writer's: it yields statements and a driver runs
them. Each pending migration runs in a transaction of its own, with the row that records it
in ``schema_version``; the version is read inside that transaction, after the engine's lock
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock held for the whole run), so two
processes opening a fresh database at once take turns and the later finds the work done.

A migration that needs the domain to fill in data (2: which labels each stream carries; 3:
snapshots re-encoded without the events they used to carry) gets a ``fill`` from the store,
run in that same transaction; the store's fill for 3 does 2's data as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import NamedTuple

from incidents.store.inline import InlineProjection, qualified
from incidents.store.writer import Batch, Statement, split_statements


class Migration(NamedTuple):
    """One step of a schema: its number, what it does, and its statements. ``rebuilds``
    (an inline projection's): its tables are to be filled afresh from the log after it."""

    version: int
    description: str
    statements: tuple[str, ...]
    rebuilds: bool = False


def load_migrations(
    engine: str, substitutions: Mapping[str, str] | None = None
) -> tuple[Migration, ...]:
    """An engine's migrations in order, read from their files (``{placeholders}`` filled
    from ``substitutions``)."""
    folder = resources.files("incidents.store") / "sql" / engine / "migrations"
    migrations = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, words = entry.name[: -len(".sql")].partition("_")
        text = entry.read_text(encoding="utf-8")
        migrations.append(
            Migration(int(number), words.replace("_", " "), split_statements(text, substitutions))
        )
    migrations.sort()
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise RuntimeError(f"the {engine} migrations are not numbered 1, 2, 3...")
    return tuple(migrations)


MIGRATIONS = load_migrations("sqlite")
# The version a SQLite file has once opened by this code.
LATEST_VERSION = MIGRATIONS[-1].version


def migrate(
    migrations: tuple[Migration, ...],
    time: Callable[[datetime], object],
    fills: Mapping[int, Callable[[], Batch[None]]] | None = None,
) -> Batch[list[int]]:
    """Apply the migrations the database has not recorded, in order; the versions applied
    (empty if none).

    ``time`` writes a time as the engine stores it. Raises RuntimeError for a database
    written by newer code. An engine whose ``begin`` does not lock out other processes
    (PostgreSQL) holds a lock of its own around the whole run.
    """
    latest = migrations[-1].version
    applied: list[int] = []
    while True:
        yield Statement("begin")
        try:
            yield Statement("create_schema_version")
            done = {int(row[0]) for row in (yield Statement("schema_version", fetch=True))}
            current = max(done, default=0)
            if current > latest:
                raise RuntimeError(
                    f"the database is at schema version {current}; this code knows up to {latest}"
                )
            # Every migration not recorded, in order: one whose number came later than
            # another's (two lines of work numbering side by side) still runs.
            pending = [m for m in migrations if m.version not in done]
            if pending:
                migration = pending[0]
                for text in migration.statements:
                    yield Statement("", text=text)
                if fills is not None and migration.version in fills:
                    yield from fills[migration.version]()
                yield Statement(
                    "record_migration",
                    (migration.version, migration.description, time(datetime.now(UTC))),
                )
            yield Statement("commit")
        except Exception:
            yield Statement("rollback")
            raise
        if not pending:
            return applied
        applied.append(migration.version)


def with_projections(
    statements: Mapping[str, tuple[str, ...]],
    projections: Sequence[InlineProjection],
    engine: str,
    substitutions: Mapping[str, str],
) -> dict[str, tuple[str, ...]]:
    """The store's statements and every projection's, each known by its qualified name,
    ``{placeholders}`` filled from ``substitutions``."""
    merged = dict(statements)
    for projection in projections:
        for name, text in projection.sql(engine).items():
            merged[qualified(projection.name, name)] = split_statements(text, substitutions)
    return merged


def projection_migrations(
    projection: InlineProjection, engine: str, substitutions: Mapping[str, str]
) -> tuple[Migration, ...]:
    """A projection's migrations for ``engine``, ``{placeholders}`` filled in."""
    return tuple(
        migration._replace(
            statements=tuple(
                part
                for text in migration.statements
                for part in split_statements(text, substitutions)
            )
        )
        for migration in projection.migrations(engine)
    )


def check_registered(projections: Sequence[InlineProjection]) -> Batch[None]:
    """Refuse a database that keeps an inline projection the store was not given: its
    tables would fall behind the log unnoticed (ValueError naming them)."""
    yield Statement("create_projection_versions")
    rows = yield Statement("recorded_projections", fetch=True)
    missing = sorted({str(row[0]) for row in rows} - {p.name for p in projections})
    if missing:
        raise ValueError(
            f"the database keeps the inline projections {missing}, which this store was not "
            "given: open it with them (incidents.projections.inline)"
        )


def migrate_projection(
    name: str,
    migrations: Sequence[Migration],
    time: Callable[[datetime], object],
    rebuild: Callable[[], Batch[None]],
) -> Batch[list[int]]:
    """Apply an inline projection's pending migrations in one transaction, recorded under
    its name in ``projection_versions``, and rebuild its tables from the log in that same
    transaction when it is new to this database or a pending migration asks for it; the
    versions applied. RuntimeError for migrations not numbered 1, 2, 3... or a database
    that has more of them than this code."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise RuntimeError(f"the {name} projection's migrations are not numbered 1, 2, 3...")
    yield Statement("begin")
    try:
        yield Statement("create_projection_versions")
        ((current,),) = yield Statement("projection_version", (name,), fetch=True)
        current = int(current or 0)
        if current > len(migrations):
            raise RuntimeError(
                f"the {name} projection is at version {current} in the database; this code "
                f"knows up to {len(migrations)}"
            )
        pending = [m for m in migrations if m.version > current]
        for migration in pending:
            for text in migration.statements:
                yield Statement("", text=text)
            yield Statement(
                "record_projection_migration",
                (name, migration.version, migration.description, time(datetime.now(UTC))),
            )
        if pending and (current == 0 or any(m.rebuilds for m in pending)):
            yield from rebuild()
        yield Statement("commit")
    except Exception:
        yield Statement("rollback")
        raise
    return [m.version for m in pending]


__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Migration",
    "check_registered",
    "load_migrations",
    "migrate",
    "migrate_projection",
    "projection_migrations",
    "with_projections",
]
