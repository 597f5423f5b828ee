"""The dashboard's forms: record a reply, answer a demand, lodge a protest, report an incident.

A form becomes one event and goes through the same service, validation and domain rules as
``POST /streams/{stream_id}/events``. What is wrong is said beside the field it concerns:
each field is checked first on its own (so every mistake shows at once), then the event's
Struct and the rules have the last word, their errors placed by the field they name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, get_args

import msgspec

from incidents.domain.events import (
    EVENT_TYPES,
    Demand,
    Disposition,
    EventData,
    IncidentKind,
    Outcome,
    ProtestForm,
)
from incidents.service import LogService
from incidents.store.ids import new_event_id
from incidents.store.protocol import (
    ConcurrencyError,
    RuleViolation,
    StoreError,
    is_valid_stream_id,
)

DISPOSITIONS: tuple[str, ...] = get_args(Disposition)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
PROTEST_FORMS: tuple[str, ...] = get_args(ProtestForm)
DEMANDS: tuple[str, ...] = get_args(Demand)
INCIDENT_KINDS: tuple[str, ...] = get_args(IncidentKind)

_STATE = re.compile(r"^[A-Z]{2}$")
# msgspec's errors end with where they happened: "... - at `$.from.state`".
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


class FormEvent(msgspec.Struct, frozen=True):
    """One event a form makes, as the service takes it."""

    data: EventData
    occurred_at: datetime | None = None
    event_id: Any = None
    metadata: dict[str, Any] = {}


@dataclass
class FormResult:
    """What a submitted form came to: the values to show again and the errors by field
    (``""`` for what concerns the form as a whole); no error means the event is stored."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    stream_id: str | None = None

    @property
    def ok(self) -> bool:
        """The event was stored."""
        return not self.errors


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _party(state: str, body: str) -> dict[str, str]:
    party = {"state": state}
    if body:
        party["body"] = body
    return party


class _Checks:
    """Each field's own checks; the errors are kept by field name."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def state(self, name: str, *, required: bool = True) -> str:
        value = _text(self.form, name).upper()
        if not value and required:
            self.errors[name] = "Give the state's two-letter code, such as FR."
        elif value and not _STATE.fullmatch(value):
            self.errors[name] = f"{value!r} is not a two-letter ISO 3166 code, such as FR."
        return value

    def choice(self, name: str, choices: Sequence[str], *, required: bool = True) -> str:
        value = _text(self.form, name)
        if not value and required:
            self.errors[name] = "Choose one."
        elif value and value not in choices:
            self.errors[name] = f"{value!r} is not one of the choices."
        return value

    def text(self, name: str, *, required: bool = False, limit: int = 4000) -> str:
        value = _text(self.form, name)
        if not value and required:
            self.errors[name] = "This cannot be empty."
        elif len(value) > limit:
            self.errors[name] = f"At most {limit} characters ({len(value)} given)."
        return value

    def day(self, name: str) -> datetime | None:
        """A date (YYYY-MM-DD), at midnight UTC; empty means now."""
        value = _text(self.form, name)
        if not value:
            return None
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        except ValueError:
            self.errors[name] = f"{value!r} is not a date: write it as 2022-09-18."
            return None

    def stream(self, name: str, prefix: str, *, required: bool = False) -> str:
        value = _text(self.form, name)
        if not value and required:
            self.errors[name] = "Choose one."
        elif value and not (value.startswith(prefix) and is_valid_stream_id(value)):
            self.errors[name] = f"{value!r} is not a {prefix.rstrip('-')} of this log."
        return value


def _placed(error: str, fields: Mapping[str, str]) -> tuple[str, str]:
    """Which form field an error of the event's data concerns ("" when none does)."""
    match = _AT.search(error)
    message = _AT.sub("", error)
    if match is not None:
        path = match.group("path")
        for prefix, name in fields.items():
            if path == prefix or path.startswith(f"{prefix}.") or path.startswith(f"{prefix}["):
                return name, message
    return "", message


async def _store(
    service: LogService,
    stream_id: str,
    event_type: str,
    data: dict[str, Any],
    occurred_at: datetime | None,
    fields: Mapping[str, str],
    values: dict[str, Any],
    actor: str,
    rule_fields: Mapping[str, str] | None = None,
) -> FormResult:
    """Convert the form's data to its event, append it, and place any refusal."""
    try:
        typed = msgspec.convert(data, EVENT_TYPES[event_type])
    except msgspec.ValidationError as error:
        name, message = _placed(str(error), fields)
        return FormResult(values, {name: message})
    event = FormEvent(data=typed, occurred_at=occurred_at, event_id=new_event_id())
    try:
        await service.append(stream_id, [event], actor=actor)
    except RuleViolation as violation:
        name = (rule_fields or {}).get(violation.rule, "")
        return FormResult(values, {name: f"{violation.detail} ({violation.rule})"})
    except ConcurrencyError:
        return FormResult(values, {"": "Someone changed this meanwhile: reload and try again."})
    except StoreError as error:
        return FormResult(values, {"": str(error)})
    return FormResult(values, stream_id=stream_id)


def _described(checks: _Checks, form: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every form ends with: a summary, and the day it happened (as typed)."""
    return {"summary": checks.text("summary"), "occurred_on": _text(form, "occurred_on")}


def _given(values: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The optional values the form was given: an empty one is left out of the event."""
    return {name: values[name] for name in names if values[name]}


async def record_reply(
    service: LogService, note: str, form: Mapping[str, Any], actor: str
) -> FormResult:
    """A ``ReplyReceived`` on the note."""
    checks = _Checks(form)
    values = {
        "from_state": checks.state("from_state"),
        "from_body": checks.text("from_body", limit=300),
        "disposition": checks.choice("disposition", DISPOSITIONS),
        **_described(checks, form),
    }
    occurred_at = checks.day("occurred_on")
    if checks.errors:
        return FormResult(values, checks.errors)
    data: dict[str, Any] = {
        "from": _party(values["from_state"], values["from_body"]),
        "disposition": values["disposition"],
        **_given(values, "summary"),
    }
    fields = {"from.state": "from_state", "from": "from_body", "disposition": "disposition"}
    fields |= {"summary": "summary"}
    rules = {"occurred-before-opening": "occurred_on"}
    return await _store(
        service, note, "ReplyReceived", data, occurred_at, fields, values, actor, rules
    )


async def answer_demand(
    service: LogService, protest: str, form: Mapping[str, Any], actor: str
) -> FormResult:
    """A ``DemandAnswered`` on the protest."""
    checks = _Checks(form)
    values = {
        "demand": checks.choice("demand", DEMANDS),
        "outcome": checks.choice("outcome", OUTCOMES),
        **_described(checks, form),
    }
    occurred_at = checks.day("occurred_on")
    if checks.errors:
        return FormResult(values, checks.errors)
    data = {"demand": values["demand"], "outcome": values["outcome"], **_given(values, "summary")}
    fields = {"demand": "demand", "outcome": "outcome", "summary": "summary"}
    rules = {
        "demand-already-answered": "outcome",
        "demand-not-in-protest": "demand",
        "occurred-before-opening": "occurred_on",
    }
    return await _store(
        service, protest, "DemandAnswered", data, occurred_at, fields, values, actor, rules
    )


def _new_stream_id(category: str, state: str, when: datetime | None) -> str:
    """A fresh stream id: category, state, day and a random tail (unique, readable)."""
    day = (when or datetime.now(UTC)).strftime("%Y-%m-%d")
    return f"{category}-{state.lower()}-{day}-{new_event_id().hex[-8:]}"


async def lodge_protest(service: LogService, form: Mapping[str, Any], actor: str) -> FormResult:
    """A ``ProtestLodged`` opening a new protest stream."""
    checks = _Checks(form)
    demands = [value for value in _list(form, "demands") if value]
    values: dict[str, Any] = {
        "by_state": checks.state("by_state"),
        "by_body": checks.text("by_body", limit=300),
        "to_state": checks.state("to_state"),
        "to_body": checks.text("to_body", limit=300),
        "form": checks.choice("form", PROTEST_FORMS),
        "demands": demands,
        "mission": checks.stream("mission", "mission-"),
        **_described(checks, form),
    }
    occurred_at = checks.day("occurred_on")
    unknown = [demand for demand in demands if demand not in DEMANDS]
    if unknown:
        checks.errors["demands"] = f"Not demands this log knows: {', '.join(unknown)}."
    if checks.errors:
        return FormResult(values, checks.errors)
    data: dict[str, Any] = {
        "by": _party(values["by_state"], values["by_body"]),
        "to": _party(values["to_state"], values["to_body"]),
        "form": values["form"],
        "demands": demands,
        **_given(values, "mission", "summary"),
    }
    fields = {
        "by.state": "by_state",
        "by": "by_body",
        "to.state": "to_state",
        "to": "to_body",
        "form": "form",
        "demands": "demands",
        "mission": "mission",
        "summary": "summary",
    }
    stream_id = _new_stream_id("protest", values["by_state"], occurred_at)
    return await _store(
        service, stream_id, "ProtestLodged", data, occurred_at, fields, values, actor
    )


async def report_incident(service: LogService, form: Mapping[str, Any], actor: str) -> FormResult:
    """An ``IncidentReported`` opening a new incident stream."""
    checks = _Checks(form)
    values: dict[str, Any] = {
        "kind": checks.choice("kind", INCIDENT_KINDS),
        "title": checks.text("title", required=True, limit=300),
        "mission": checks.stream("mission", "mission-"),
        "location_state": checks.state("location_state", required=False),
        **_described(checks, form),
    }
    occurred_at = checks.day("occurred_on")
    if (
        not values["mission"]
        and not values["location_state"]
        and "location_state" not in (checks.errors)
    ):
        checks.errors["location_state"] = "Name the state where it happened, or a mission."
    if checks.errors:
        return FormResult(values, checks.errors)
    data: dict[str, Any] = {
        "kind": values["kind"],
        "title": values["title"],
        **_given(values, "mission", "summary"),
    }
    if values["location_state"]:
        data["location"] = {"state": values["location_state"]}
    fields = {
        "kind": "kind",
        "title": "title",
        "mission": "mission",
        "location": "location_state",
        "summary": "summary",
    }
    state = values["location_state"] or values["mission"].split("-")[1]
    stream_id = _new_stream_id("incident", state, occurred_at)
    return await _store(
        service, stream_id, "IncidentReported", data, occurred_at, fields, values, actor
    )


def _list(form: Mapping[str, Any], name: str) -> list[str]:
    """Every value a multi-valued field (checkboxes) sent."""
    getall = getattr(form, "getall", None)
    if getall is not None:
        return [str(value) for value in getall(name, [])]
    value = form.get(name)
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]
