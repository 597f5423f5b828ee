"""The ``incidents`` command: serve, seed, replay, verify, export-schemas."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click

from incidents.settings import DEFAULT_DATABASE_URL, Settings

# The checkout's seeds/ (editable install), else ./seeds (the container's working directory).
_CHECKOUT_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEEDS_DIR = _CHECKOUT_SEEDS if _CHECKOUT_SEEDS.is_dir() else Path("seeds")


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


@click.group()
@click.version_option(package_name="incidents")
def main() -> None:
    """An event-sourced log of incidents against diplomatic missions, notes and protests."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@database_option
def serve(host: str, port: int, workers: int, database: str) -> None:
    """Run the HTTP service under granian."""
    from granian import Granian
    from granian.constants import Interfaces

    # Worker processes read their settings from the environment.
    os.environ["INCIDENTS_DATABASE_URL"] = database_url(database)
    Granian(
        "incidents.http.app:app_factory",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_access=False,
    ).serve()


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
    from incidents.seeding import load_seeds

    created, existing = asyncio.run(
        load_seeds(Settings.from_env(database_url=database_url(database)), seeds_dir)
    )
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
def replay(database: str, repair: bool, workers: int | None) -> None:
    """Rebuild every projection from the log and compare it with the live one."""
    from rich.progress import Progress

    from incidents.domain.rules import DomainRules
    from incidents.projections.replay import replay as run_replay
    from incidents.store.factory import open_store, sqlite_path

    async def run() -> int:
        settings = Settings.from_env(database_url=database_url(database))
        scheme = settings.database_url.partition(":")[0].lower()
        # A SQLite file is read by replay itself, split over worker processes.
        path = sqlite_path(settings.database_url) if scheme == "sqlite" else None
        store = await open_store(settings.database_url, DomainRules(), settings)
        try:
            head = await store.head()
            with Progress(transient=False) as progress:
                task = progress.add_task("replaying", total=head.position)
                report = await run_replay(
                    store,
                    DomainRules(),
                    repair,
                    lambda n: progress.advance(task, n),
                    path=path,
                    workers=workers,
                )
        finally:
            await store.close()
        click.echo(f"replayed {report.events} events into {report.streams} streams")
        for difference in [*report.differences, *report.tally_differences]:
            click.echo(f"  differs: {difference.stream_id}: {difference.reason}")
        if not report.differences and not report.tally_differences:
            click.echo("no difference: live projections equal the rebuilt ones")
            return 0
        if report.repaired:
            click.echo(f"repaired {len(report.differences)} streams")
            if report.tally_differences:
                click.echo("recounted every mission's tallies from the streams")
        return 0 if report.repaired else 1

    sys.exit(asyncio.run(run()))


@main.command()
@database_option
def verify(database: str) -> None:
    """Walk the hash chain; name the first position that does not hold (exit 1)."""
    from incidents.domain.rules import DomainRules
    from incidents.store.chain import verify_log
    from incidents.store.factory import open_store

    async def run() -> int:
        settings = Settings.from_env(database_url=database_url(database))
        store = await open_store(settings.database_url, DomainRules(), settings)
        try:
            report = await verify_log(store)
        finally:
            await store.close()
        if report.broken is not None:
            click.echo(
                f"chain broken at position {report.broken.position}: {report.broken.reason} "
                f"({report.count} events verified before it)"
            )
            return 1
        click.echo(f"ok: {report.count} events, head hash {report.head_hash}")
        return 0

    sys.exit(asyncio.run(run()))


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
