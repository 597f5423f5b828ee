"""Realistic event bodies for the benchmarks, shaped like the cases in ``seeds/``.

A *world* is a set of missions (sending state, receiving state, city, kind) named from
pycountry. A *case* is what happens around one of them over weeks or months: a note and its
acknowledgement, reply or withdrawal; an incident with the police response, damage,
investigation and closure, the protest it draws (with demands answered one by one) and the
statements about it; a parliament's resolution. Each case is a list of :class:`Planned`
events, every one a typed Struct of :mod:`incidents.domain.events` with its stream, event id
and ``occurred_at``; :func:`encoded` turns one into what the store takes, through
``encode_data`` (the service's canonical encoding). Everything is drawn from a seeded
``random.Random``, so a seed gives the same world and cases.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple
from uuid import UUID

import pycountry

from incidents.domain.events import (
    CasualtiesReported,
    CompensationPaid,
    Count,
    DamageRecorded,
    Demand,
    DemandAnswered,
    EventData,
    HeadOfMissionAppointed,
    HeadOfMissionRecalled,
    HeadOfMissionReturned,
    IncidentClosed,
    IncidentKind,
    IncidentReported,
    InvestigationOpened,
    Location,
    MissionKind,
    MissionRegistered,
    Money,
    NoteAcknowledged,
    NoteCorrected,
    NoteSent,
    NoteWithdrawn,
    Party,
    PoliceResponded,
    ProsecutionStarted,
    ProtestClosed,
    ProtestLodged,
    ProtestResponseReceived,
    ReplyReceived,
    ResolutionAdopted,
    Source,
    StatementIssued,
    encode_data,
    type_name,
)
from incidents.domain.times import is_zone
from incidents.store.ids import new_event_id
from incidents.store.protocol import ProposedEvent

# Capital (where embassies sit) and IANA zone of the states the world uses.
CAPITALS: dict[str, tuple[str, str]] = {
    "AZ": ("Baku", "Asia/Baku"),
    "FR": ("Paris", "Europe/Paris"),
    "AM": ("Yerevan", "Asia/Yerevan"),
    "LB": ("Beirut", "Asia/Beirut"),
    "GB": ("London", "Europe/London"),
    "DE": ("Berlin", "Europe/Berlin"),
    "US": ("Washington", "America/New_York"),
    "RU": ("Moscow", "Europe/Moscow"),
    "TR": ("Ankara", "Europe/Istanbul"),
    "IR": ("Tehran", "Asia/Tehran"),
    "GE": ("Tbilisi", "Asia/Tbilisi"),
    "UA": ("Kyiv", "Europe/Kyiv"),
    "PL": ("Warsaw", "Europe/Warsaw"),
    "IT": ("Rome", "Europe/Rome"),
    "ES": ("Madrid", "Europe/Madrid"),
    "NL": ("The Hague", "Europe/Amsterdam"),
    "BE": ("Brussels", "Europe/Brussels"),
    "SE": ("Stockholm", "Europe/Stockholm"),
    "NO": ("Oslo", "Europe/Oslo"),
    "DK": ("Copenhagen", "Europe/Copenhagen"),
    "AT": ("Vienna", "Europe/Vienna"),
    "CH": ("Bern", "Europe/Zurich"),
    "CZ": ("Prague", "Europe/Prague"),
    "HU": ("Budapest", "Europe/Budapest"),
    "RO": ("Bucharest", "Europe/Bucharest"),
    "GR": ("Athens", "Europe/Athens"),
    "RS": ("Belgrade", "Europe/Belgrade"),
    "IL": ("Tel Aviv", "Asia/Jerusalem"),
    "EG": ("Cairo", "Africa/Cairo"),
    "SA": ("Riyadh", "Asia/Riyadh"),
    "AE": ("Abu Dhabi", "Asia/Dubai"),
    "QA": ("Doha", "Asia/Qatar"),
    "IQ": ("Baghdad", "Asia/Baghdad"),
    "JO": ("Amman", "Asia/Amman"),
    "PK": ("Islamabad", "Asia/Karachi"),
    "IN": ("New Delhi", "Asia/Kolkata"),
    "CN": ("Beijing", "Asia/Shanghai"),
    "JP": ("Tokyo", "Asia/Tokyo"),
    "KR": ("Seoul", "Asia/Seoul"),
    "KZ": ("Astana", "Asia/Almaty"),
    "UZ": ("Tashkent", "Asia/Tashkent"),
    "BR": ("Brasilia", "America/Sao_Paulo"),
    "AR": ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    "MX": ("Mexico City", "America/Mexico_City"),
    "CA": ("Ottawa", "America/Toronto"),
    "AU": ("Canberra", "Australia/Sydney"),
    "ZA": ("Pretoria", "Africa/Johannesburg"),
    "NG": ("Abuja", "Africa/Lagos"),
    "KE": ("Nairobi", "Africa/Nairobi"),
    "MA": ("Rabat", "Africa/Casablanca"),
    "DZ": ("Algiers", "Africa/Algiers"),
    "LY": ("Tripoli", "Africa/Tripoli"),
    "AF": ("Kabul", "Asia/Kabul"),
    "SY": ("Damascus", "Asia/Damascus"),
    "VE": ("Caracas", "America/Caracas"),
}
# A second city with consulates, for the states that have one here.
CONSULATE_CITIES: dict[str, tuple[str, str]] = {
    "FR": ("Marseille", "Europe/Paris"),
    "US": ("Los Angeles", "America/Los_Angeles"),
    "DE": ("Frankfurt", "Europe/Berlin"),
    "GB": ("Edinburgh", "Europe/London"),
    "TR": ("Istanbul", "Europe/Istanbul"),
    "RU": ("Saint Petersburg", "Europe/Moscow"),
    "IT": ("Milan", "Europe/Rome"),
    "ES": ("Barcelona", "Europe/Madrid"),
    "CA": ("Toronto", "America/Toronto"),
    "AU": ("Sydney", "Australia/Sydney"),
    "CN": ("Shanghai", "Asia/Shanghai"),
    "IN": ("Mumbai", "Asia/Kolkata"),
    "BR": ("Sao Paulo", "America/Sao_Paulo"),
}
# Permanent missions to the United Nations: host state, city, zone, office.
UN_OFFICES = (
    ("CH", "Geneva", "Europe/Zurich", "the United Nations Office at Geneva"),
    ("US", "New York", "America/New_York", "the United Nations in New York"),
    ("AT", "Vienna", "Europe/Vienna", "the United Nations Office at Vienna"),
)


def _words(text: str) -> tuple[str, ...]:
    # Space-separated lists read better here than a column of quoted names.
    return tuple(text.split())


# Names for heads of mission.
FIRST_NAMES = _words(
    "Rahman Elchin Anne Brice Olivier Sophie Marek Ewa Hans Ingrid Carlos Lucia Ahmed Leila "
    "Kenji Yuki Priya Arjun Ivan Olga Tomas Jana Mehmet Ayse David Sarah Nikos Eleni Omar Nadia "
    "Pierre Claire Giorgi Nino Sergei Irina Pablo Marta Hiroshi Mei"
)
SURNAMES = _words(
    "Mustafayev Huseynov Dupont Lefebvre Kowalski Nowak Schmidt Larsen Garcia Rossi Haddad "
    "Tanaka Sharma Petrov Novak Yilmaz Cohen Papadopoulos Mansour Martin Beridze Ivanova Lopez "
    "Sato Chen Andersen Moreau Fischer Horvat Silva"
)
NOTE_SUBJECTS = (
    "The security of the embassy building and of its staff",
    "A request for a stationary police post in front of the chancery",
    "Accreditation of a new defence attaché",
    "Visa facilitation for members of the diplomatic staff",
    "Statements by officials of the host state about the sending state",
    "A demonstration announced outside the embassy on the coming weekend",
    "Damage to vehicles with diplomatic plates parked near the residence",
    "The exemption of the mission's premises from local property taxes",
    "Consular access to a detained national",
    "A request for information on the investigation into an attack on the mission",
    "The protection of the residence of the head of mission",
    "An invitation to a bilateral consultation on consular matters",
)
NOTE_SUMMARIES = (
    "The note recalls the host state's duty under Article 22 of the Vienna Convention to take "
    "all appropriate steps to protect the premises of the mission against any intrusion or "
    "damage and to prevent any disturbance of its peace or impairment of its dignity.",
    "The note asks for a written answer within the usual period and lists earlier notes on the "
    "same matter that have had no reply.",
    "The note transmits the documents requested at the last meeting and asks that the matter be "
    "treated as urgent.",
    "The note informs the ministry of the arrival of new members of staff and requests their "
    "accreditation.",
)
QUOTES = (
    "We have raised the issue with the government at all levels regarding security.",
    "The ministry handed a note to the ambassador and demanded an explanation.",
    "A group of people gathered in front of the embassy and threw eggs and stones at the building.",
    "It was not until forty minutes later that a police car arrived.",
    "The ministry said the host state must take all measures to ensure the safety of diplomats.",
    "The embassy confirmed it had received a reply from the ministry on Tuesday.",
    "Officials said an investigation had been opened into the incident.",
    "The protest note demands a thorough investigation and the prosecution of those responsible.",
)
INCIDENT_TITLES: dict[str, str] = {
    "attack": "Attack on the {name}",
    "intrusion": "Intrusion into the premises of the {name}",
    "vandalism": "Vandalism on the façade of the {name}",
    "threat": "Threats against the staff of the {name}",
    "demonstration": "Demonstration outside the {name}",
    "other": "Incident involving a vehicle of the {name}",
}
INCIDENT_KINDS: tuple[IncidentKind, ...] = (
    "demonstration",
    "demonstration",
    "demonstration",
    "vandalism",
    "vandalism",
    "threat",
    "attack",
    "intrusion",
    "other",
)
DEMANDS: tuple[Demand, ...] = (
    "investigation",
    "legal_assessment",
    "prosecution",
    "compensation",
    "apology",
    "security_measures",
)
REPLY_SUMMARIES = (
    "The ministry states that additional police patrols have been assigned to the area.",
    "The ministry takes note of the concerns raised and will revert in due course.",
    "The ministry regrets the incident and informs that an investigation is under way.",
    "The ministry rejects the characterisation of the events in the note.",
)

Direction = Literal["out", "in"]


class Planned(NamedTuple):
    """One event of a case: when it happened, its stream, its id and its typed body."""

    at: datetime
    stream_id: str
    event_id: UUID
    data: EventData


@dataclass(frozen=True)
class Mission:
    """A mission the world's cases concern."""

    stream_id: str
    sending: str
    receiving: str
    city: str
    zone: str | None
    kind: MissionKind
    name: str
    registered_at: datetime

    @property
    def party(self) -> Party:
        """The mission as a party to correspondence."""
        return Party(state=self.sending, body=self.name)

    @property
    def host_ministry(self) -> Party:
        """The receiving state's ministry of foreign affairs."""
        return Party(state=self.receiving, body="Ministry of Foreign Affairs")

    @property
    def home_ministry(self) -> Party:
        """The sending state's ministry of foreign affairs."""
        return Party(state=self.sending, body="Ministry of Foreign Affairs")

    @property
    def slug(self) -> str:
        """The mission id without its category: ``az-paris``."""
        return self.stream_id.removeprefix("mission-")


def country_name(code: str) -> str:
    """The short English name pycountry gives a state (its common name where it has one)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"pycountry knows no state {code!r}")
    return str(getattr(country, "common_name", None) or country.name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _zone(zone: str) -> str | None:
    # The system's zone list may lack a recent name; then the event carries no zone.
    return zone if is_zone(zone) else None


def make_missions(count: int, rng: random.Random, start: datetime) -> list[Mission]:
    """``count`` distinct missions: mostly embassies, some consulates and UN missions."""
    states = sorted(CAPITALS)
    senders = states[: max(2, min(len(states), count // 8 + 2))]
    missions: dict[str, Mission] = {}
    attempts = 0
    while len(missions) < count and attempts < count * 50:
        attempts += 1
        sending = rng.choice(senders)
        draw = rng.random()
        if draw < 0.08:
            receiving, city, zone, office = rng.choice(UN_OFFICES)
            kind: MissionKind = "permanent_mission"
            name = f"Permanent Mission of {country_name(sending)} to {office}"
            stream_id = f"mission-{sending.lower()}-{_slug(city)}-un"
        elif draw < 0.2:
            receiving = rng.choice(sorted(CONSULATE_CITIES))
            city, zone = CONSULATE_CITIES[receiving]
            kind = "consulate"
            name = f"Consulate General of {country_name(sending)} in {city}"
            stream_id = f"mission-{sending.lower()}-{_slug(city)}"
        else:
            receiving = rng.choice(states)
            city, zone = CAPITALS[receiving]
            kind = "embassy"
            name = f"Embassy of {country_name(sending)} in {city}"
            stream_id = f"mission-{sending.lower()}-{_slug(city)}"
        if receiving == sending or stream_id in missions:
            continue
        registered = start - timedelta(days=rng.randint(30, 3650))
        missions[stream_id] = Mission(
            stream_id,
            sending,
            receiving,
            city,
            _zone(zone),
            kind,
            name,
            registered.replace(hour=0, minute=0, second=0, microsecond=0),
        )
    return list(missions.values())


def _day(moment: datetime) -> datetime:
    """The calendar day of a moment, midnight UTC, as day-precision events are dated."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class CaseMaker:
    """Draws the cases of a world; stream ids are unique across everything it makes."""

    def __init__(self, rng: random.Random, missions: list[Mission]) -> None:
        self.rng = rng
        self.missions = missions
        self._serial = 0

    # --- small parts ----------------------------------------------------------------------

    def _id(self, category: str, mission: Mission, at: datetime) -> str:
        self._serial += 1
        return f"{category}-{mission.slug}-{at:%Y-%m-%d}-{self._serial}"

    def _person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"

    def _sources(self, count: int = 1) -> list[Source]:
        rng = self.rng
        document = f"{rng.randrange(1000):03d}_{rng.getrandbits(64):016x}.txt"
        return [Source(document=document, quote=rng.choice(QUOTES)) for _ in range(count)]

    def _planned(self, at: datetime, stream_id: str, data: EventData) -> Planned:
        return Planned(at, stream_id, new_event_id(), data)

    # --- missions -------------------------------------------------------------------------

    def mission_history(self, mission: Mission, until: datetime) -> list[Planned]:
        """Registration, then a head of mission every few years, now and then recalled."""
        rng = self.rng
        at = mission.registered_at
        events = [
            self._planned(
                at,
                mission.stream_id,
                MissionRegistered(
                    sending_state=mission.sending,
                    receiving_state=mission.receiving,
                    city=mission.city,
                    kind=mission.kind,
                    name=mission.name,
                    address=f"{rng.randint(1, 120)} {rng.choice(SURNAMES)} Street, {mission.city}",
                    reply_window_days=rng.choice((None, None, None, 30, 45, 60)),
                    sources=self._sources(),
                    occurred_precision="day",
                ),
            )
        ]
        title = "Ambassador" if mission.kind == "embassy" else "Head of mission"
        at += timedelta(days=rng.randint(5, 60))
        while at < until:
            name = self._person()
            events.append(
                self._planned(
                    at,
                    mission.stream_id,
                    HeadOfMissionAppointed(
                        name=name,
                        title=f"{title} to {country_name(mission.receiving)}",
                        sources=self._sources(),
                        occurred_precision="day",
                    ),
                )
            )
            if rng.random() < 0.15:
                recalled = at + timedelta(days=rng.randint(100, 700))
                if recalled < until:
                    events.append(
                        self._planned(
                            recalled,
                            mission.stream_id,
                            HeadOfMissionRecalled(
                                name=name,
                                reason="Recalled for consultations after a diplomatic row.",
                                by=mission.home_ministry,
                                sources=self._sources(),
                                occurred_precision="day",
                            ),
                        )
                    )
                    returned = recalled + timedelta(days=rng.randint(20, 120))
                    if returned < until:
                        events.append(
                            self._planned(
                                returned,
                                mission.stream_id,
                                HeadOfMissionReturned(
                                    name=name,
                                    reason="Returned to the post.",
                                    sources=self._sources(),
                                    occurred_precision="day",
                                ),
                            )
                        )
            at += timedelta(days=rng.randint(900, 1500))
        return events

    # --- notes ----------------------------------------------------------------------------

    def note(
        self,
        mission: Mission,
        at: datetime,
        direction: Direction | None = None,
        about_incident: str | None = None,
        fate: str | None = None,
    ) -> list[Planned]:
        """A note, then (perhaps) its acknowledgement, and its reply, withdrawal or silence.

        ``fate`` forces the ending: ``answered``, ``withdrawn`` or ``open``.
        """
        rng = self.rng
        at = _day(at)
        direction = direction or ("out" if rng.random() < 0.6 else "in")
        ours, theirs = mission.party, mission.host_ministry
        sender, recipient = (ours, theirs) if direction == "out" else (theirs, ours)
        stream_id = self._id("note", mission, at)
        sent_id = new_event_id()
        due = at + timedelta(days=rng.choice((14, 30, 45))) if rng.random() < 0.3 else None
        events = [
            Planned(
                at,
                stream_id,
                sent_id,
                NoteSent(
                    from_=sender,
                    to=recipient,
                    subject=rng.choice(NOTE_SUBJECTS),
                    mission=mission.stream_id,
                    reference=f"No. {rng.randint(100, 9999)}/{at:%y}",
                    form=rng.choice(("note_verbale", "note_verbale", "first_person_note")),
                    summary=rng.choice(NOTE_SUMMARIES),
                    reply_due_at=due,
                    about_incident=about_incident,
                    sources=self._sources(rng.randint(1, 2)),
                    occurred_precision="day",
                ),
            )
        ]
        if rng.random() < 0.005:
            events.append(
                self._planned(
                    at + timedelta(days=1),
                    stream_id,
                    NoteCorrected(
                        corrects=sent_id,
                        changes={"subject": rng.choice(NOTE_SUBJECTS)},
                        reason="The first report gave the subject of another note.",
                        sources=self._sources(),
                        occurred_precision="day",
                    ),
                )
            )
        if rng.random() < 0.35:
            events.append(
                self._planned(
                    at + timedelta(days=rng.randint(1, 10)),
                    stream_id,
                    NoteAcknowledged(by=recipient, occurred_precision="day"),
                )
            )
        if fate is None:
            draw = rng.random()
            fate = "answered" if draw < 0.93 else "withdrawn" if draw < 0.95 else "open"
        if fate == "answered":
            answered = at + timedelta(days=rng.randint(11, 90))
            events.append(
                self._planned(
                    answered,
                    stream_id,
                    ReplyReceived(
                        from_=recipient,
                        disposition=rng.choice(
                            ("accepted", "partially_accepted", "rejected", "noncommittal")
                        ),
                        summary=rng.choice(REPLY_SUMMARIES),
                        reference=f"No. {rng.randint(100, 9999)}/{answered:%y}",
                        sources=self._sources(),
                        occurred_precision="day",
                    ),
                )
            )
        elif fate == "withdrawn":
            events.append(
                self._planned(
                    at + timedelta(days=rng.randint(11, 60)),
                    stream_id,
                    NoteWithdrawn(
                        reason="Superseded by a meeting between the two ministers.",
                        occurred_precision="day",
                    ),
                )
            )
        return events

    # --- protests -------------------------------------------------------------------------

    def protest(
        self, mission: Mission, at: datetime, about_incident: str | None = None
    ) -> list[Planned]:
        """A protest by the sending state, its demands answered over months, maybe closed."""
        rng = self.rng
        at = _day(at)
        stream_id = self._id("protest", mission, at)
        demands = rng.sample(DEMANDS, rng.randint(1, 4))
        events = [
            self._planned(
                at,
                stream_id,
                ProtestLodged(
                    by=mission.home_ministry,
                    to=Party(
                        state=mission.receiving,
                        title=f"ambassador in {country_name(mission.sending)}",
                    ),
                    form=rng.choice(("note", "summons", "statement")),
                    demands=demands,
                    summary="A note of protest handed to the ambassador after the incident.",
                    about_incident=about_incident,
                    mission=mission.stream_id,
                    demand_details={demands[0]: "a thorough investigation by law enforcement"}
                    if demands[0] == "investigation"
                    else {},
                    sources=self._sources(2),
                    occurred_precision="day",
                ),
            )
        ]
        last = at
        for demand in demands:
            if rng.random() < 0.7:
                answered = at + timedelta(days=rng.randint(10, 300))
                last = max(last, answered)
                events.append(
                    self._planned(
                        answered,
                        stream_id,
                        DemandAnswered(
                            demand=demand,
                            outcome=rng.choice(("met", "met", "partially_met", "rejected")),
                            by=mission.host_ministry,
                            summary="The ministry informed the embassy of the steps taken.",
                            occurred_precision="day",
                        ),
                    )
                )
        if rng.random() < 0.5:
            responded = at + timedelta(days=rng.randint(2, 30))
            last = max(last, responded)
            events.append(
                self._planned(
                    responded,
                    stream_id,
                    ProtestResponseReceived(
                        from_=mission.host_ministry,
                        summary=rng.choice(REPLY_SUMMARIES),
                        sources=self._sources(),
                        occurred_precision="day",
                    ),
                )
            )
        if rng.random() < 0.45:
            events.append(
                self._planned(
                    last + timedelta(days=rng.randint(5, 60)),
                    stream_id,
                    ProtestClosed(reason="The sending state considers the matter settled."),
                )
            )
        events.sort(key=lambda planned: planned.at)
        return events

    # --- incidents ------------------------------------------------------------------------

    def incident(self, mission: Mission, at: datetime) -> list[Planned]:
        """An incident at the mission, what followed it, and the protest, notes and
        statements it drew."""
        rng = self.rng
        at = at.replace(second=0, microsecond=0)
        kind = rng.choice(INCIDENT_KINDS)
        stream_id = self._id("incident", mission, at)
        police = Party(state=mission.receiving, body="police")
        events = [
            self._planned(
                at,
                stream_id,
                IncidentReported(
                    kind=kind,
                    title=INCIDENT_TITLES.get(kind, "Incident at the {name}").format(
                        name=mission.name
                    ),
                    mission=mission.stream_id,
                    location=Location(state=mission.receiving, city=mission.city),
                    summary="A group gathered in front of the building; the embassy reported "
                    "damage and asked the police for protection.",
                    participants_estimate=Count(
                        value=rng.choice((10, 20, 50, 100, 150, 300)),
                        qualifier=rng.choice(("about", "up_to", "at_least", "exact")),
                    ),
                    perpetrators=rng.choice((None, "Unidentified individuals", "Activists")),
                    reported_by=mission.party,
                    ended_at=at + timedelta(minutes=rng.randint(20, 240)),
                    sources=self._sources(2),
                    occurred_precision="minute",
                    occurred_zone=mission.zone,
                ),
            )
        ]
        if rng.random() < 0.7:
            arrived = at + timedelta(minutes=rng.randint(5, 120))
            events.append(
                self._planned(
                    arrived,
                    stream_id,
                    PoliceResponded(
                        arrived_at=arrived,
                        by=police,
                        summary="A police car arrived at the scene.",
                        sources=self._sources(),
                        occurred_precision="minute",
                        occurred_zone=mission.zone,
                    ),
                )
            )
        if rng.random() < 0.5:
            events.append(
                self._planned(
                    _day(at + timedelta(days=1)),
                    stream_id,
                    DamageRecorded(
                        description="The lock and door of the building were broken; windows "
                        "and the façade were damaged.",
                        documented_by=Party(state=mission.receiving, body="prefecture"),
                        sources=self._sources(),
                        occurred_precision="day",
                    ),
                )
            )
        if rng.random() < 0.1:
            events.append(
                self._planned(
                    _day(at + timedelta(days=1)),
                    stream_id,
                    CasualtiesReported(
                        killed=0,
                        injured=rng.randint(1, 6),
                        among="embassy staff",
                        reported_by=mission.home_ministry,
                        occurred_precision="day",
                    ),
                )
            )
        investigation = Party(state=mission.receiving, body="Prosecutor's Office")
        if rng.random() < 0.4:
            events.append(
                self._planned(
                    _day(at + timedelta(days=rng.randint(2, 30))),
                    stream_id,
                    InvestigationOpened(by=investigation, occurred_precision="day"),
                )
            )
            if rng.random() < 0.25:
                events.append(
                    self._planned(
                        _day(at + timedelta(days=rng.randint(40, 200))),
                        stream_id,
                        ProsecutionStarted(by=investigation, occurred_precision="day"),
                    )
                )
        if rng.random() < 0.05:
            events.append(
                self._planned(
                    _day(at + timedelta(days=rng.randint(60, 300))),
                    stream_id,
                    CompensationPaid(
                        by=mission.host_ministry,
                        to=mission.party,
                        amount=Money(amount=f"{rng.randint(1, 90) * 500}.00", currency="EUR"),
                        occurred_precision="day",
                    ),
                )
            )
        if rng.random() < 0.6:
            events.append(
                self._planned(
                    _day(at + timedelta(days=rng.randint(301, 400))),
                    stream_id,
                    IncidentClosed(reason="The investigation was completed."),
                )
            )
        if rng.random() < 0.6:
            events.extend(self.protest(mission, at + timedelta(days=rng.randint(1, 3)), stream_id))
        for _ in range(rng.choice((0, 1, 1, 2))):
            events.extend(
                self.note(mission, at + timedelta(days=rng.randint(0, 5)), "out", stream_id)
            )
        for _ in range(rng.choice((0, 0, 1, 2))):
            events.append(
                self.statement(mission, at + timedelta(days=rng.randint(0, 3)), stream_id)
            )
        return events

    # --- statements -----------------------------------------------------------------------

    def statement(self, mission: Mission, at: datetime, about: str | None = None) -> Planned:
        """A statement by one side about the mission or an incident."""
        rng = self.rng
        at = _day(at)
        ours = rng.random() < 0.7
        return self._planned(
            at,
            self._id("statement", mission, at),
            StatementIssued(
                by=mission.home_ministry if ours else mission.host_ministry,
                stance=rng.choice(("condemns", "rejects", "calls_for", "notes"))
                if ours
                else rng.choice(("rejects", "notes", "supports")),
                summary="The ministry's spokesperson said the host state must take all measures "
                "to ensure the safety of diplomats and bring those responsible to justice.",
                title="Comment of the Press Service of the Ministry of Foreign Affairs",
                about=about,
                mission=mission.stream_id,
                sources=self._sources(2),
                occurred_precision="day",
            ),
        )

    def resolution(self, mission: Mission, at: datetime) -> Planned:
        """A parliament's resolution about relations between the mission's two states."""
        at = _day(at)
        return self._planned(
            at,
            self._id("statement", mission, at),
            ResolutionAdopted(
                body=Party(state=mission.receiving, body="Parliament"),
                title=f"Resolution on relations with {country_name(mission.sending)}",
                adopted_on=f"{at:%Y-%m-%d}",
                calls_for=["sanctions against officials responsible", "the release of detainees"],
                summary="The resolution was adopted by a large majority.",
                sources=self._sources(),
                occurred_precision="day",
            ),
        )

    # --- any case -------------------------------------------------------------------------

    def case(self, at: datetime) -> list[Planned]:
        """One case at a random mission: mostly correspondence, some incidents and protests."""
        rng = self.rng
        mission = rng.choice(self.missions)
        draw = rng.random()
        if draw < 0.62:
            events = self.note(mission, at)
        elif draw < 0.82:
            events = self.incident(mission, at)
        elif draw < 0.9:
            events = self.protest(mission, at)
        elif draw < 0.99:
            events = [self.statement(mission, at)]
        else:
            events = [self.resolution(mission, at)]
        return events


META = b'{"source":"bench"}'


def encoded(planned: Planned) -> ProposedEvent:
    """The event as the store takes it: canonical ``data`` from ``encode_data``."""
    return ProposedEvent(
        planned.event_id, type_name(planned.data), encode_data(planned.data), META, planned.at
    )


def default_now() -> datetime:
    """The generator's "now": the current time, to the second."""
    return datetime.now(UTC).replace(microsecond=0)
