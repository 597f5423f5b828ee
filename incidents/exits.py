"""How the ``incidents`` command fails: one kind of failure, one exit code, one short message.

A command raises :class:`CommandFailure` for a failure it foresees; anything else that escapes
a command goes through :func:`explain`, which turns the errors a user can act on (a bad
setting, a missing file, a database that does not answer, a log that does not decode) into a
``CommandFailure`` and everything else into ``INTERNAL``. README lists the codes.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import IntEnum
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import click
import msgspec

from incidents.core.errors import CorruptStoreError, RuleViolation, StoreUnavailableError
from incidents.settings import SettingsError


class ExitCode(IntEnum):
    """The exit codes of the ``incidents`` command, one per kind of failure."""

    OK = 0
    # verify found a broken chain; replay found differences it did not repair; either found
    # the database file damaged.
    CHECK_FAILED = 1
    # A mistyped command or option (click's own code).
    USAGE = 2
    # An INCIDENTS_* variable that names no setting, or a value that does not fit.
    SETTINGS = 3
    # A file or directory the command needs is not there (database, seeds).
    NOT_FOUND = 4
    # The database does not answer, refuses the connection, or cannot take writes now
    # (locked by another process, full, read-only).
    UNAVAILABLE = 5
    # The log or an input file holds an event that does not decode or breaks the rules, or
    # the database file is damaged (for a command other than verify and replay).
    BAD_DATA = 6
    # The address to serve on is taken or not allowed.
    ADDRESS = 7
    # Anything else: a defect; --debug shows the traceback.
    INTERNAL = 70


class CommandFailure(click.ClickException):
    """A failure the user can act on: what is wrong, what to do, and its exit code."""

    def __init__(self, code: ExitCode, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; here each failure carries its own.
        self.exit_code = int(code)  # type: ignore[misc]
        self.hint = hint

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the failure to stderr in one line, and what to do in a second."""
        click.echo(f"error: {self.format_message()}", file=file, err=True)
        if self.hint:
            click.echo(f"  {self.hint}", file=file, err=True)


def without_password(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _unreachable(error: BaseException) -> bool:
    """Whether ``error`` says a database server could not be reached or refused us."""
    if isinstance(error, TimeoutError | ConnectionError):
        return True
    if isinstance(error, OSError) and (
        error.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)
        or "Connect call failed" in str(error)
        or error.__class__.__name__ == "gaierror"
    ):
        return True
    module = type(error).__module__
    # asyncpg's errors for a refused login or a database that does not exist.
    return module.startswith("asyncpg") and (
        "Connection" in type(error).__name__
        or "Authorization" in type(error).__name__
        or "Password" in type(error).__name__
        or "CatalogName" in type(error).__name__
    )


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and the errors it was raised from, outermost first."""
    chain = [error]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and len(chain) < 8:
        chain.append(cause)
    return chain


# The commands that check a log: a damaged database is what they found, not a failure to
# run them, so it ends them like a broken chain (exit 1, one line).
CHECKS = frozenset({"verify", "replay"})


def explain(
    error: BaseException, database: str | None = None, command: str | None = None
) -> CommandFailure:
    """The CommandFailure for an error that escaped a command (``database``: its URL;
    ``command``: the command's name)."""
    where = f" at {without_password(database)}" if database else ""
    bad_data_hint = "`incidents verify` names the changed position (or fix the input file)"
    for cause in _causes(error):
        if isinstance(cause, CommandFailure):
            return cause
        if isinstance(cause, SettingsError):
            return CommandFailure(
                ExitCode.SETTINGS,
                str(cause),
                "fix or unset the variable; README lists the settings",
            )
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return CommandFailure(
                ExitCode.NOT_FOUND,
                f"cannot open the SQLite database{where}: {cause}",
                "check that its directory exists and is writable, or name another with --database",
            )
        if _unreachable(cause):
            return CommandFailure(
                ExitCode.UNAVAILABLE,
                f"cannot reach the database{where}: {cause}",
                "check that the server is running and that the URL's host, port, user and "
                "database are right (--database or INCIDENTS_DATABASE_URL)",
            )
        if isinstance(cause, msgspec.ValidationError | msgspec.DecodeError):
            return CommandFailure(
                ExitCode.BAD_DATA, f"an event does not decode: {cause}", bad_data_hint
            )
        if isinstance(cause, CorruptStoreError) or (
            isinstance(cause, sqlite3.DatabaseError) and "not a database" in str(cause)
        ):
            if command in CHECKS:
                return CommandFailure(
                    ExitCode.CHECK_FAILED,
                    f"the database{where} is damaged: {cause}; restore it from a backup",
                )
            return CommandFailure(
                ExitCode.BAD_DATA,
                f"the database{where} is damaged: {cause}",
                "restore it from a backup, or name another with --database",
            )
        if isinstance(cause, RuleViolation):
            return CommandFailure(
                ExitCode.BAD_DATA, f"an event breaks the domain's rules: {cause}", bad_data_hint
            )
    if isinstance(error, StoreUnavailableError):
        return CommandFailure(
            ExitCode.UNAVAILABLE,
            f"the database{where} cannot be used now: {error}",
            "check that it is running, has room and is writable, and not locked by another "
            "process; then retry",
        )
    return CommandFailure(
        ExitCode.INTERNAL,
        f"unexpected {type(error).__name__}: {error}",
        "run again with --debug (incidents --debug ...) for the traceback, and report it",
    )
