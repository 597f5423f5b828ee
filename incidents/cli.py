"""The ``incidents`` command: serve, seed, replay, verify, export-schemas.

Every command is a subcommand of :data:`main`, an :class:`IncidentsGroup`: an error that
escapes any of them (or a subcommand added later) ends in a line or two saying what is wrong
and what to do, with the exit code of its kind (:class:`incidents.exits.ExitCode`), and
shows a traceback only under ``incidents --debug``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from incidents.exits import CommandFailure, ExitCode, explain, without_password
from incidents.settings import DEFAULT_DATABASE_URL, Settings

if TYPE_CHECKING:
    from incidents.store.protocol import EventStore

# The checkout's seeds/ (editable install), else ./seeds (the container's working directory).
_CHECKOUT_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEEDS_DIR = _CHECKOUT_SEEDS if _CHECKOUT_SEEDS.is_dir() else Path("seeds")

# Where a command records the database it works on, for error messages.
_DATABASE_META = "incidents.database"
# How long a stopping server waits for a worker to finish its open requests before killing it.
WORKERS_KILL_SECONDS = 30


def database_url(value: str) -> str:
    """Accept a URL, or a plain file path for the embedded SQLite store."""
    return value if "://" in value else f"sqlite:///{value}"


database_option = click.option(
    "--database",
    "database",
    envvar="INCIDENTS_DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help="sqlite:///path.db (default), postgresql://..., memory://, or a file path.",
)


class IncidentsGroup(click.Group):
    """A click group whose commands fail in one or two lines with a distinct exit code.

    Subgroups made with ``@main.group()`` are of this class too; the mapping happens once, at
    the top, for whatever any command raises.
    """

    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn any error it raises into a CommandFailure (unless --debug)."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            raise explain(error, ctx.meta.get(_DATABASE_META), ctx.invoked_subcommand) from None


@click.group(cls=IncidentsGroup)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.version_option(package_name="incidents")
def main(debug: bool) -> None:
    """An event-sourced log of incidents against diplomatic missions, notes and protests."""


def settings_for(database: str) -> Settings:
    """The settings from the environment with ``--database`` on top, checked at once."""
    settings = Settings.from_env(database_url=database_url(database))
    click.get_current_context().meta[_DATABASE_META] = settings.database_url
    return settings


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file ``settings`` names, or None for another store."""
    from incidents.store.factory import sqlite_path

    if settings.database_url.partition(":")[0].lower() != "sqlite":
        return None
    try:
        return Path(sqlite_path(settings.database_url))
    except ValueError as error:
        raise CommandFailure(
            ExitCode.SETTINGS, str(error), "name a file: sqlite:///path/to/log.db"
        ) from None


async def _postgres_has_log(database: str) -> bool:
    """Whether the PostgreSQL database (and ``?schema=``) of ``database`` holds a log."""
    import asyncpg

    from incidents.store.factory import postgres_schema

    url, schema = postgres_schema(database)
    connection = await asyncpg.connect(url)
    try:
        table = await connection.fetchval(
            "SELECT to_regclass(quote_ident($1) || '.events')", schema or "public"
        )
    finally:
        await connection.close()
    return table is not None


async def check_database(settings: Settings, *, create: bool) -> None:
    """Fail, naming the path, where the store cannot be opened or (``create`` False) where
    opening it would create a log that is not there."""
    path = _sqlite_file(settings)
    if path is not None:
        if not path.parent.is_dir():
            raise CommandFailure(
                ExitCode.NOT_FOUND,
                f"no directory {path.parent} for the database {path}",
                f"create it (mkdir -p {path.parent}) or name another path with --database",
            )
        if not create and not path.is_file():
            raise CommandFailure(
                ExitCode.NOT_FOUND,
                f"no database at {path}",
                "name an existing log with --database (incidents seed creates one)",
            )
    elif (
        not create
        and settings.database_url.partition(":")[0].lower().startswith("postgres")
        and not await _postgres_has_log(settings.database_url)
    ):
        raise CommandFailure(
            ExitCode.NOT_FOUND,
            f"no log in the database {without_password(settings.database_url)}",
            "name the database (and ?schema=) that holds it with --database",
        )


@contextlib.asynccontextmanager
async def opened_store(settings: Settings, *, create: bool) -> AsyncIterator[EventStore]:
    """The store ``settings`` names, closed on leaving. ``create=False`` (read-only
    commands): fail, naming it, rather than create a log that is not there."""
    from incidents.domain.rules import DomainRules
    from incidents.projections.inline import inline_projections
    from incidents.store.factory import open_store

    await check_database(settings, create=create)
    store = await open_store(
        settings.database_url, DomainRules(), settings, projections=inline_projections()
    )
    try:
        yield store
    finally:
        await store.close()


def check_address(host: str, port: int) -> None:
    """Fail at once if ``host:port`` is taken: a bind without SO_REUSEPORT, which granian
    sets and with which a second server would start beside the first on the same port."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CommandFailure(
            ExitCode.ADDRESS, f"cannot serve on {host}: {error.strerror}", "check --host"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # SO_REUSEADDR lets a port left in TIME_WAIT be taken, never one being listened on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise CommandFailure(
                ExitCode.ADDRESS,
                f"cannot serve on {host}:{port}: {error.strerror}",
                "another process holds this port: stop it, or choose another with --port",
            ) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option(
    "--demo",
    is_flag=True,
    help="For trying the service out: reads need no token, and a log without tokens gets a "
    "writer token named 'demo', printed once.",
)
@database_option
def serve(host: str, port: int, workers: int, database: str, demo: bool) -> None:
    """Run the HTTP service under granian."""
    import secrets
    import shutil
    import tempfile

    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    settings = settings_for(database)
    check_address(host, port)
    # Opened once here, so a database that cannot be opened fails now, not in each worker.
    asyncio.run(_open_and_close(settings))
    # Worker processes read their settings from the environment.
    os.environ["INCIDENTS_DATABASE_URL"] = settings.database_url
    if demo:
        os.environ["INCIDENTS_PUBLIC_READS"] = "true"
        _print_demo_token(settings.database_url)
    # Every worker writes its metrics to files here and a scrape of any worker sums them:
    # an empty directory for this run, given or made (and then removed at exit).
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    metrics_dir = Path(given) if given else Path(tempfile.mkdtemp(prefix="incidents-metrics-"))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # The dashboard's CSRF tokens must hold in whichever worker a form is posted to.
    if settings.csrf_secret is None:
        os.environ["INCIDENTS_CSRF_SECRET"] = secrets.token_urlsafe(32)
    try:
        Granian(
            "incidents.http.app:app_factory",
            factory=True,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            # A worker that dies (killed, out of memory) is started again while the others
            # serve; without this granian stops the whole server when one worker fails.
            respawn_failed_workers=True,
            # A worker that has not stopped this many seconds after it was told to is
            # killed, so that stopping the server always ends (by default granian waits
            # for ever). Every append it acknowledged is committed already.
            workers_kill_timeout=WORKERS_KILL_SECONDS,
            # The app writes its own access log, as JSON with the request id.
            log_access=False,
            # Slow clients: headers bounded here, bodies in the app (incidents.http.limits).
            http1_settings=HTTP1Settings(
                header_read_timeout=round(settings.header_read_timeout * 1000),
                keep_alive=settings.keep_alive,
            ),
            backlog=settings.max_connections,
            backpressure=settings.max_connections,
        ).serve()
    finally:
        if not given:
            shutil.rmtree(metrics_dir, ignore_errors=True)


async def _open_and_close(settings: Settings) -> None:
    async with opened_store(settings, create=True):
        pass


@main.command()
@database_option
@click.option(
    "--seeds",
    "seeds_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SEEDS_DIR,
    show_default=True,
)
def seed(database: str, seeds_dir: Path) -> None:
    """Load the seed events through the append path; loading twice stores nothing new."""
    from incidents.seeding import load_into, seed_files
    from incidents.service import LogService

    settings = settings_for(database)
    if not seed_files(seeds_dir):
        raise CommandFailure(
            ExitCode.NOT_FOUND,
            f"no seed files in {seeds_dir} (neither index.json nor *.json)",
            "name the directory that holds them with --seeds",
        )

    async def run() -> tuple[int, int]:
        async with opened_store(settings, create=True) as store:
            return await load_into(LogService(store), seeds_dir)

    created, existing = asyncio.run(run())
    click.echo(f"seeded: {created} events stored, {existing} already in the log")


@main.command()
@database_option
@click.option("--repair", is_flag=True, help="Write the rebuilt states back where they differ.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes replaying a SQLite file [default: one per CPU on a large log].",
)
@click.pass_context
def replay(ctx: click.Context, database: str, repair: bool, workers: int | None) -> None:
    """Rebuild every projection from the log and compare it with the live one (exit 1 if
    they differ, the chain is broken or the database file is damaged). Without --repair it
    changes nothing and needs an existing log."""
    from rich.progress import Progress

    from incidents.domain.rules import DomainRules
    from incidents.projections.replay import replay as run_replay
    from incidents.store.chain import verify_log

    settings = settings_for(database)

    async def run() -> int:
        async with opened_store(settings, create=repair) as store:
            head = await store.head()
            with Progress(transient=False) as progress:
                task = progress.add_task("replaying", total=head.position)
                report = await run_replay(
                    store,
                    DomainRules(),
                    repair,
                    lambda n: progress.advance(task, n),
                    workers=workers,
                )
            # Replay folds what the log says; the chain says whether those are the bytes
            # that were stored: every event's bytes are compared with its hash.
            chain = await verify_log(store)
        if chain.broken is not None:
            click.echo(
                f"chain broken at position {chain.broken.position}: {chain.broken.reason}; "
                "the log was altered, projections were not compared"
            )
            return ExitCode.CHECK_FAILED
        click.echo(f"replayed {report.events} events into {report.streams} streams")
        for difference in [*report.differences, *report.tally_differences]:
            click.echo(f"  differs: {difference.stream_id}: {difference.reason}")
        if not report.differences and not report.tally_differences:
            click.echo("no difference: live projections equal the rebuilt ones")
            return ExitCode.OK
        if report.repaired:
            click.echo(f"repaired {len(report.differences)} streams")
            if report.tally_differences:
                click.echo("recounted every mission's tallies from the streams")
        return ExitCode.OK if report.repaired else ExitCode.CHECK_FAILED

    ctx.exit(asyncio.run(run()))


@main.command()
@database_option
@click.pass_context
def verify(ctx: click.Context, database: str) -> None:
    """Walk the hash chain; name the first position that does not hold (exit 1; a damaged
    database file is exit 1 too). Changes nothing and needs an existing log."""
    from incidents.store.chain import verify_log

    settings = settings_for(database)

    async def run() -> int:
        async with opened_store(settings, create=False) as store:
            report = await verify_log(store)
        if report.broken is not None:
            click.echo(
                f"chain broken at position {report.broken.position}: {report.broken.reason} "
                f"({report.count} events verified before it)"
            )
            return ExitCode.CHECK_FAILED
        click.echo(f"ok: {report.count} events, head hash {report.head_hash}")
        return ExitCode.OK

    ctx.exit(asyncio.run(run()))


def _print_demo_token(url: str) -> None:
    from incidents.tokens import open_tokens

    async def run() -> str | None:
        tokens = open_tokens(url)
        try:
            if await tokens.has_tokens():
                return None
            return (await tokens.create("writer", "demo")).token
        finally:
            await tokens.close()

    token = asyncio.run(run())
    if token is None:
        click.echo("demo: reads are public; the log has tokens already (incidents tokens list)")
    else:
        click.echo(f"demo: reads are public; writes take this token (shown once):\n  {token}")
        click.echo(f'  curl -H "Authorization: Bearer {token}" ...')


@main.group()
def tokens() -> None:
    """API tokens: create (shown once), list, revoke. Stored in the log's database as hashes."""


@tokens.command("create")
@database_option
@click.option(
    "--role",
    required=True,
    type=click.Choice(["reader", "writer", "admin"]),
    help="What it may do.",
)
@click.option("--name", default=None, help="Who uses it: the actor of every event it appends.")
def tokens_create(database: str, role: str, name: str | None) -> None:
    """Create a token and print it; it is shown this once and stored only as a hash."""
    from incidents.tokens import TokenError, open_tokens

    settings = settings_for(database)

    async def run() -> str:
        await check_database(settings, create=True)
        store = open_tokens(settings.database_url, settings.busy_timeout)
        try:
            issued = await store.create(role, name)
        finally:
            await store.close()
        return f"{issued.token}\t{issued.record.token_id}\t{issued.record.name}\t{role}"

    try:
        line = asyncio.run(run())
    except TokenError as error:
        raise click.UsageError(str(error)) from None
    token, token_id, token_name, _ = line.split("\t")
    click.echo(token)
    click.echo(
        f"id {token_id}, name {token_name}, role {role}: keep the token, it is not shown again",
        err=True,
    )


@tokens.command("list")
@database_option
def tokens_list(database: str) -> None:
    """Every token: id, name, role, created, revoked (never a secret)."""
    from incidents.tokens import open_tokens

    settings = settings_for(database)

    async def run() -> list[str]:
        await check_database(settings, create=False)
        store = open_tokens(settings.database_url, settings.busy_timeout)
        try:
            records = await store.records()
        finally:
            await store.close()
        return [
            f"{r.token_id}  {r.role:<6}  {r.name}  created {r.created_at}"
            + (f"  revoked {r.revoked_at}" if r.revoked_at else "")
            for r in records
        ]

    lines = asyncio.run(run())
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no tokens", err=True)


@tokens.command("revoke")
@database_option
@click.argument("token_id")
def tokens_revoke(database: str, token_id: str) -> None:
    """Revoke the token with TOKEN_ID (from ``tokens list``); servers refuse it within a second."""
    from incidents.tokens import TokenError, open_tokens

    settings = settings_for(database)

    async def run() -> str:
        await check_database(settings, create=False)
        store = open_tokens(settings.database_url, settings.busy_timeout)
        try:
            record = await store.revoke(token_id)
        finally:
            await store.close()
        return f"revoked {record.token_id} ({record.name}, {record.role}) at {record.revoked_at}"

    try:
        click.echo(asyncio.run(run()))
    except TokenError as error:
        raise CommandFailure(
            ExitCode.NOT_FOUND, str(error), "incidents tokens list shows the ids"
        ) from None


def _progress() -> Any:
    """A rich progress bar, shown only when stdout is a terminal."""
    from rich.progress import Progress

    return Progress(transient=True, disable=not sys.stdout.isatty())


@main.command()
@database_option
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(database: str, destination: Path) -> None:
    """Copy a SQLite log to DESTINATION, consistently, while it is served (SQLite's backup
    API). For PostgreSQL use pg_dump (docs/security.md)."""
    from incidents.copies import backup_sqlite

    settings = settings_for(database)
    asyncio.run(check_database(settings, create=False))
    path = _sqlite_file(settings)
    if path is None:
        raise CommandFailure(
            ExitCode.USAGE,
            "backup copies a SQLite log; a PostgreSQL log is copied with pg_dump",
            "pg_dump --format=custom --schema=<schema> <database> > log.dump",
        )
    if destination.exists():
        raise CommandFailure(ExitCode.USAGE, f"{destination} exists", "name a new file")
    with _progress() as progress:
        task = progress.add_task("backing up", total=None)
        pages = backup_sqlite(
            str(path),
            destination,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    click.echo(f"backed up {pages} pages of {path} to {destination}")


@main.command("export")
@database_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The NDJSON file to write (default: stdout).",
)
def export_command(database: str, out: Path | None) -> None:
    """Write the log as NDJSON: one event a line, in position order, each with its hash."""
    from incidents.copies import export_log

    settings = settings_for(database)

    async def run() -> int:
        async with opened_store(settings, create=False) as store:
            total = (await store.head()).position
            with _progress() as progress:
                task = progress.add_task("exporting", total=total)
                if out is None:
                    return await export_log(store, sys.stdout.buffer)
                with out.open("wb") as file:
                    return await export_log(store, file, lambda n: progress.advance(task, n))

    count = asyncio.run(run())
    click.echo(f"exported {count} events" + (f" to {out}" if out else ""), err=out is None)


@main.command("import")
@database_option
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(database: str, source: Path) -> None:
    """Read an export into an empty log, checking every line's hash against the chain;
    refuse the file at the first line that does not hold (nothing is kept)."""
    from incidents.copies import ImportRefusedError, checked_events, import_log
    from incidents.core.errors import InvalidAppendError
    from incidents.store.chain import verify_log

    settings = settings_for(database)

    async def run() -> tuple[int, str]:
        async with opened_store(settings, create=True) as store:
            if (await store.head()).position != 0:
                raise CommandFailure(
                    ExitCode.USAGE,
                    "the log is not empty: import only into a new log",
                    "name a new database with --database",
                )
            with source.open("rb") as file, _progress() as progress:
                # The whole file is checked before anything is stored.
                task = progress.add_task("checking", total=None)
                for _ in checked_events(file):
                    progress.advance(task, 1)
            with source.open("rb") as file, _progress() as progress:
                task = progress.add_task("importing", total=None)
                count = await import_log(
                    store, checked_events(file), lambda n: progress.advance(task, n)
                )
            report = await verify_log(store)
        if report.broken is not None:
            raise CommandFailure(
                ExitCode.CHECK_FAILED,
                f"the imported chain breaks at position {report.broken.position}",
            )
        return count, report.head_hash

    try:
        count, head = asyncio.run(run())
    except ImportRefusedError as error:
        raise CommandFailure(
            ExitCode.BAD_DATA, f"{source}: {error}; nothing was imported"
        ) from None
    except InvalidAppendError as error:
        # Only another writer on the same log between two pages gets here.
        raise CommandFailure(
            ExitCode.BAD_DATA,
            f"{source}: {error}; the events before that page were imported",
            "import into a log nothing else writes to",
        ) from None
    click.echo(f"imported {count} events, head hash {head}")


@main.command("export-schemas")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
)
def export_schemas_command(out: Path) -> None:
    """Write JSON Schema for every event type and request body."""
    from incidents.schemas import export_schemas

    written = export_schemas(out)
    click.echo(f"wrote {len(written)} schemas under {out}")


if __name__ == "__main__":
    main()
