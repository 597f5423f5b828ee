"""Writes the seed files: the cases of the five documents in seeds/documents/ as events.

Run ``python seeds/build.py`` after editing the cases below; tests/integration/test_seeds.py fails
when a file here is not what this script writes. Each file is the body of ``POST /events``.

Conventions (docs/events.md, "Times"):
- every event cites its document and a verbatim quote in ``data.sources``;
- a local time is converted with the place's zone, kept in ``occurred_zone``;
- a bare day, month or year puts ``occurred_at`` at the calendar date's midnight UTC, with
  ``occurred_precision``;
- where a text gives no date, ``occurred_precision`` is ``unknown`` and ``data`` carries
  the bounds the text supports (``occurred_after``, ``occurred_before``), ``occurred_at``
  being the later bound, or the earlier where only that is known; ``metadata.date_basis``
  says how. Every event has an ``occurred_at``: none is left to the clock of the log;
- a date derived from "Monday", "yesterday" or a year-less day says how in ``date_basis``;
- nothing the texts do not say is filled in: no names, numbers or dates are invented;
- the documents' curly quotes and apostrophes are written as unicode escapes, to keep them
  visible.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEEDS = Path(__file__).resolve().parent
DOCUMENTS = SEEDS / "documents"
# Fixed: event ids are uuid5(NAMESPACE, "<stream id>/<version>"), so reloading stores nothing.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://incidents-log.invalid/seeds")

D000 = "000_5245fc7d70722b6f.txt"
D001 = "001_dac795f56e0e62ef.txt"
D002 = "002_3d55375de4d27916.txt"
D003 = "003_0fc6983f1f719e74.txt"
D004 = "004_822e2b77ddaa0880.txt"

PARIS = "Europe/Paris"
BAKU = "Asia/Baku"

# The derived dates every basis below relies on.
INTERVIEW_001 = (
    "001 is an interview given the day after the attack ('During yesterday's incident', 'I "
    "remembered that yesterday was Sunday') of 'September 18'; 18 September fell on a Sunday "
    "in 2022, the first such year after the 2020 war the interview looks back on: 19 "
    "September 2022"
)
MONDAY_000 = (
    "000 says 'on Monday' after the attack 'on Sunday'; 001 dates that attack September 18 "
    "(2022), so Monday is 19 September 2022"
)
DATE_000 = (
    "000 has no date line; the latest date it establishes is Monday 19 September 2022 (the "
    "protest note), so it was written on or after that day"
)
# The instants the texts fence undated facts with (see docs/events.md, "Bounds").
WAR_2020_BEGAN = datetime(2020, 9, 26, 20, tzinfo=UTC)  # 27 September 2020, 00:00 in Baku
CEASEFIRE_2020 = datetime(2020, 11, 9, 21, tzinfo=UTC)  # 10 November 2020, 00:00 Moscow time
CLASHES_2022_BEGAN = datetime(2022, 9, 11, 20, tzinfo=UTC)  # 12 September 2022, 00:00 in Baku
PARIS_ATTACK_BEGAN = datetime(2022, 9, 18, 12, 20, tzinfo=UTC)  # 14:20 in Paris
INTERVIEW_DAY_BEGAN = datetime(2022, 9, 18, 22, tzinfo=UTC)  # 19 September 2022 in Paris
INTERVIEW_DAY_ENDED = datetime(2022, 9, 19, 22, tzinfo=UTC)
NOTE_DAY_ENDED = datetime(2022, 8, 17, 22, tzinfo=UTC)  # the end of 17 August 2022 in Paris
COP29_OPENED = datetime(2024, 11, 10, 20, tzinfo=UTC)  # 11 November 2024, 00:00 in Baku

WAR_2020 = (
    "the 2020 war ran from 'Sept. 27, 2020' (002; 004 'on Sept. 27') to the ceasefire "
    "'introduced at 00:00 hours (Moscow time) on 10 November 2020' (004), 27 September 00:00 "
    "in Baku to 9 November 21:00 UTC"
)
CLASHES_2022 = (
    "000: 'Attacks by Armenians against Azerbaijan\u2019s embassies followed the recent clashes', "
    "which began 'on September 12' (2022, see the clashes' stream): after 12 September 2022 "
    "00:00 in Baku"
)
DOCUMENT_003 = (
    "003 has no date. It speaks 'after the 2020 war' (so after the ceasefire of 10 November "
    "2020, 00:00 Moscow time, which 004 gives) and of COP29 as 'upcoming'. The texts do not "
    "date COP29: its opening in Baku on 11 November 2024 is a date of record outside the five "
    "texts, used only as the upper bound. 'The last 3.5 years' agrees (3.5 years after the "
    "war is 2024) but gives no bound, the text not saying when they began"
)
THURSDAY_002 = (
    "002 dates the Defense Ministry's Wednesday statement to Nov. 30 (2022, a Wednesday: the "
    "resolution it reports is 'November 30, 2022'), so its Thursday is 1 December 2022"
)


def local(wall_clock: str, zone: str) -> datetime:
    """A wall-clock time in a zone, as UTC."""
    return datetime.fromisoformat(wall_clock).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def day(date: str) -> datetime:
    """A day (YYYY-MM-DD) or a year (YYYY) as the calendar date's midnight UTC."""
    parts = [int(part) for part in date.split("-")] + [1, 1]
    return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)


def stamp(instant: datetime) -> str:
    """An instant as the seeds write it: UTC, to the second, with ``Z``."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def src(document: str, quote: str) -> dict[str, str]:
    """A source: the document's file name and a verbatim quote from it."""
    return {"document": document, "quote": quote}


AZ_MFA = {"state": "AZ", "body": "Ministry of Foreign Affairs"}
AZ_EMBASSY_FR = {"state": "AZ", "body": "Azerbaijani embassy in France"}
MUSTAFAYEV = {
    "state": "AZ",
    "body": "Azerbaijani embassy in France",
    "person": "Rahman Mustafayev",
    "title": "Ambassador to France",
}
FR = {"state": "FR"}
FR_MFA = {"state": "FR", "body": "Ministry of Foreign Affairs"}


class Stream:
    """One stream's seed events, numbered from 1."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.events: list[dict[str, Any]] = []

    def add(
        self,
        type_: str,
        data: dict[str, Any],
        occurred_at: datetime | None,
        basis: str | None = None,
        *,
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> Stream:
        """Append an event. A fact the text only fences in gives its bounds (``after``,
        ``before``) and no ``occurred_at``: it gets the later bound, or the earlier where
        only that is known, so no date comes from the clock."""
        version = len(self.events) + 1
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid5(NAMESPACE, f"{self.stream_id}/{version}")),
            "type": type_,
        }
        if after is not None or before is not None:
            if occurred_at is not None:
                raise ValueError(f"{self.stream_id}/{version}: bounds or occurred_at, not both")
            occurred_at = before or after
            if after is not None:
                data["occurred_after"] = stamp(after)
            if before is not None:
                data["occurred_before"] = stamp(before)
        if occurred_at is None:
            raise ValueError(f"{self.stream_id}/{version}: every seed event needs a date")
        event["occurred_at"] = stamp(occurred_at)
        event["data"] = data
        event["metadata"] = {"source": "seed"} | ({"date_basis": basis} if basis else {})
        self.events.append(event)
        return self

    def body(self) -> dict[str, Any]:
        """This stream's part of a ``POST /events`` body."""
        return {"stream_id": self.stream_id, "expected_version": "any", "events": self.events}


def missions() -> list[Stream]:
    """The five missions the documents name, their heads and their bulk correspondence."""
    paris = Stream("mission-az-paris").add(
        "MissionRegistered",
        {
            "sending_state": "AZ",
            "receiving_state": "FR",
            "city": "Paris",
            "kind": "embassy",
            "name": "Azerbaijani embassy in Paris",
            "sources": [
                src(
                    D001,
                    "Armenian radicals stormed the building of the Azerbaijani embassy in Paris",
                ),
                src(
                    D001,
                    "Since 2017, we have raised the issue with the French government at all "
                    "levels regarding security, that the Azerbaijani Embassy and the House of "
                    "Culture of Azerbaijan are not protected.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "no founding date in the texts; they show the embassy at work in 2017 ('Since 2017, "
        "we have raised the issue'), so it was registered by the end of 2017 in Paris",
        before=datetime(2017, 12, 31, 23, tzinfo=UTC),
    )
    paris.add(
        "HeadOfMissionAppointed",
        {
            "name": "Rahman Mustafayev",
            "title": "Ambassador to France",
            "sources": [
                src(D000, "Azerbaijani Ambassador to France, Rahman Mustafayev"),
                src(D001, "Interview of the ambassador of Azerbaijan in France Rahman Mustafayev"),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "no date of appointment in the texts; he speaks as ambassador in the interview, so "
        f"he was appointed by the end of its day ({INTERVIEW_001})",
        before=INTERVIEW_DAY_ENDED,
    )
    paris.add(
        "CorrespondenceSummarized",
        {
            "from": AZ_EMBASSY_FR,
            "to": [
                FR_MFA,
                {"state": "FR", "body": "Ministry of Internal Affairs"},
                {"state": "FR", "body": "police department"},
            ],
            "subject": "The security of the Azerbaijani embassy and the House of Culture of "
            "Azerbaijan in France, which are not protected; a stationary post in front of "
            "the embassy",
            "count": {"value": 50, "qualifier": "about"},
            "since": "2017",
            "replies": [
                {
                    "from": FR,
                    "disposition": "noncommittal",
                    "summary": "Don't worry: there is a mobile post in the block where the "
                    "embassy is located and a security car around; if something happens, call "
                    "the mobile post.",
                },
                {
                    "from": FR,
                    "disposition": "noncommittal",
                    "summary": "The same answer when the embassy raised the issue again during "
                    "the 2020 war.",
                },
            ],
            "sources": [
                src(
                    D001,
                    "We have written about 50 notes and letters to the French side - to the "
                    "Ministries of Foreign and Internal Affairs, to the police department.",
                ),
                src(
                    D001,
                    "Since 2017, we have raised the issue with the French government at all "
                    "levels regarding security",
                ),
                src(
                    D001,
                    "Although we want such a post to be created, since 2017 this issue has "
                    "been neglected.",
                ),
                src(
                    D001,
                    "We were always told \"don't worry, if something happens, there is a "
                    "mobile post in the block where the embassy is located, a security car is "
                    "around, and if something happens, call the mobile post, they will come "
                    'and there will be no problem".',
                ),
                src(
                    D001,
                    "Our note was also answered earlier: \"Don't worry, there is a mobile post "
                    'in that area, if needed, you will contact them."',
                ),
                src(
                    D001,
                    "As I mentioned, at that time we raised this issue and received the same "
                    "answer.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the count is as the ambassador gave it in the interview; the notes and letters are "
        "not dated one by one, so none is invented; they run from 2017 ('Since 2017', from "
        "its first day in Paris) to the interview's day, at the latest "
        f"({INTERVIEW_001})",
        after=datetime(2016, 12, 31, 23, tzinfo=UTC),
        before=INTERVIEW_DAY_ENDED,
    )
    paris.add(
        "HeadOfMissionAppointed",
        {
            "name": "Leyla Abdullayeva",
            "title": "Ambassador to France",
            "sources": [
                src(D002, "Azerbaijan's Ambassador to France Leyla Abdullayeva"),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "no date of appointment in the texts: she succeeded Rahman Mustafayev, who still "
        f"speaks as ambassador in the interview ({INTERVIEW_001}), so after that day began "
        "in Paris; 002 does not date her tweet as ambassador, so no later bound is given",
        after=INTERVIEW_DAY_BEGAN,
    )
    paris.add(
        "CorrespondenceSummarized",
        {
            "from": AZ_EMBASSY_FR,
            "to": [FR],
            "subject": "The radical groups Dashnaksutun and ASALA in France, with facts; the "
            "attacks against the embassy and the threatening letters it received",
            "sources": [
                src(
                    D001,
                    "All these cases are seen and we have explained the situation to the French "
                    'side with facts regarding the radical groups "Dashnaksutun" and ASALA in '
                    "France.",
                ),
                src(D001, "These are reflected in the written notes we sent."),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the written notes are not counted or dated one by one; the last note before the "
        "interview was sent 'On August 17' (2022), so these were sent by the end of that day in "
        "Paris; no earlier bound is given",
        before=NOTE_DAY_ENDED,
    )
    beirut = Stream("mission-az-beirut").add(
        "MissionRegistered",
        {
            "sending_state": "AZ",
            "receiving_state": "LB",
            "city": "Beirut",
            "kind": "embassy",
            "name": "Azerbaijani embassy in Beirut",
            "sources": [src(D000, "Azerbaijani embassy located in Beirut")],
            "occurred_precision": "unknown",
        },
        None,
        "no founding date in the texts; 000 names the embassy in an attack 'Earlier' than "
        "the one of 18 September 2022 at 14:20 in Paris, so it existed by then",
        before=PARIS_ATTACK_BEGAN,
    )
    tbilisi = Stream("mission-az-tbilisi").add(
        "MissionRegistered",
        {
            "sending_state": "AZ",
            "receiving_state": "GE",
            "city": "Tbilisi",
            "kind": "embassy",
            "name": "Azerbaijani embassy in Tbilisi",
            "sources": [src(D000, "the Azerbaijani embassy in the capital Tbilisi")],
            "occurred_precision": "unknown",
        },
        day("2022-09-19"),
        f"no founding date in the texts; occurred_at is 000's date ({DATE_000})",
    )
    london = Stream("mission-az-london").add(
        "MissionRegistered",
        {
            "sending_state": "AZ",
            "receiving_state": "GB",
            "city": "London",
            "kind": "embassy",
            "name": "Azerbaijani embassy in London",
            "sources": [src(D001, "the incident at the Azerbaijani embassy in London")],
            "occurred_precision": "unknown",
        },
        None,
        "no founding date in the texts; 001 names the embassy in an incident before the note "
        "of 17 August 2022, so it existed by the end of that day in Paris",
        before=NOTE_DAY_ENDED,
    )
    baku = Stream("mission-fr-baku").add(
        "MissionRegistered",
        {
            "sending_state": "FR",
            "receiving_state": "AZ",
            "city": "Baku",
            "kind": "embassy",
            "name": "French embassy in Baku",
            "sources": [
                src(
                    D001,
                    "there has been a stationary post in front of the French embassy in Baku "
                    "for a long time",
                ),
                src(D000, "the French ambassador in Azerbaijan"),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "no founding date in the texts; the interview says there has been a post in front of "
        f"it 'for a long time', so it existed by the end of the interview's day ({INTERVIEW_001})",
        before=INTERVIEW_DAY_ENDED,
    )
    baku.add(
        "HeadOfMissionRecalled",
        {
            "reason": "Official Paris accused Baku of unilateral actions damaging bilateral "
            "relations.",
            "by": FR,
            "sources": [
                src(
                    D003,
                    "The Azerbaijani Foreign Ministry has rejected accusations of official "
                    "Paris about unilateral actions of Baku damaging bilateral relations, due "
                    "to which the French Ambassador was recalled.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"{DOCUMENT_003}; the recall comes before Baku's answer to it, within the same bounds. "
        "The ambassador's name is not given",
        after=CEASEFIRE_2020,
        before=COP29_OPENED,
    )
    return [paris, beirut, tbilisi, london, baku]


def document_000() -> list[Stream]:
    """000: the attack in France seen from Baku, the protest note, Beirut, Tbilisi, the border."""
    beirut = Stream("incident-az-beirut-2022-attack").add(
        "IncidentReported",
        {
            "kind": "attack",
            "title": "Attack on the Azerbaijani embassy in Beirut",
            "mission": "mission-az-beirut",
            "perpetrators": "Armenians living in Lebanon",
            "sources": [
                src(
                    D000,
                    "Earlier, Armenians living in Lebanon committed similar attack on "
                    "Azerbaijani embassy located in Beirut.",
                ),
                src(
                    D000,
                    "Attacks by Armenians against Azerbaijan\u2019s embassies followed the "
                    "recent clashes between the militaries of the two countries on the state "
                    "border.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"no date in the text: after the clashes began ({CLASHES_2022}) and 'Earlier' than "
        "the attack in France, which began on 18 September 2022 at 14:20 in Paris",
        after=CLASHES_2022_BEGAN,
        before=PARIS_ATTACK_BEGAN,
    )
    tbilisi = Stream("incident-az-tbilisi-attempt").add(
        "IncidentReported",
        {
            "kind": "attack",
            "title": "Attempt to march on the Azerbaijani embassy in Tbilisi, thwarted by police",
            "mission": "mission-az-tbilisi",
            "summary": "Attackers' attempts were thwarted by police before they managed to "
            "march toward the embassy.",
            "attempted": True,
            "sources": [
                src(
                    D000,
                    "In Georgia, attackers' attempts were thwarted by police before they "
                    "managed to march toward the Azerbaijani embassy in the capital Tbilisi.",
                ),
                src(
                    D000,
                    "Attacks by Armenians against Azerbaijan\u2019s embassies followed the "
                    "recent clashes between the militaries of the two countries on the state "
                    "border.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"no date in the text: after the clashes began ({CLASHES_2022}); 000 gives no later "
        "bound and is itself undated, so none is set and the stream id carries no year",
        after=CLASHES_2022_BEGAN,
    )
    border = Stream("incident-am-az-border-2022-09-12-clashes").add(
        "IncidentReported",
        {
            "kind": "armed_clash",
            "title": "Clashes between the militaries of Armenia and Azerbaijan on the state border",
            "location": {
                "state": "AZ",
                "description": "the state border; military and civilian positions in "
                "Azerbaijan, the Kalbajar and Lachin directions",
            },
            "summary": "As 000 gives it: Armenian troops shelled military and civilian "
            "positions in Azerbaijan and deployed sabotage groups on September 12 and 13; "
            "renewed fire on the night of September 13; a truce on September 14.",
            "sources": [
                src(
                    D000,
                    "The situation escalated after the Armenian troops shelled military and "
                    "civilian positions in Azerbaijan, and deployed sabotage groups to mine the "
                    "territories and supply routes used by the Azerbaijani army on September "
                    "12 and 13.",
                ),
                src(
                    D000,
                    "The situation on the Armenia-Azerbaijan border has remained stable since "
                    "the two sides agreed to a truce on September 14.",
                ),
            ],
            "occurred_precision": "day",
        },
        day("2022-09-12"),
        "'September 12 and 13' with no year: 000 has the attacks on the embassies follow "
        "these 'recent clashes', and 001 dates the attack in France 18 September 2022",
    )
    border.add(
        "CasualtiesReported",
        {
            "killed": 80,
            "injured": 282,
            "among": "Azerbaijani servicemen",
            "reported_by": {"state": "AZ", "body": "Ministry of Defense"},
            "sources": [
                src(
                    D000,
                    "The Azerbaijani Defense Ministry confirmed that 80 Azerbaijani servicemen "
                    "were killed in the clashes, while the number of injured servicemen "
                    "reached 282.",
                )
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the text does not date the report, only that it counts those 'killed in the "
        f"clashes' ({CLASHES_2022}); 000 is undated, so no later bound is set",
        after=CLASHES_2022_BEGAN,
    )
    border.add(
        "CasualtiesReported",
        {
            "killed": 135,
            "injured": None,
            "among": "Armenian servicemen",
            "reported_by": {"state": "AM", "person": "Nikol Pashinyan", "title": "Prime Minister"},
            "sources": [
                src(
                    D000,
                    "According to Armenia\u2019s Prime Minister Nikol Pashinyan, 135 Armenian "
                    "servicemen were reported dead.",
                )
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the text does not date the report nor give the injured; the dead are of the clashes "
        f"({CLASHES_2022}); 000 is undated, so no later bound is set",
        after=CLASHES_2022_BEGAN,
    )
    border.add(
        "IncidentClosed",
        {
            "reason": "The two sides agreed to a truce; the situation on the border has "
            "remained stable since.",
            "sources": [
                src(
                    D000,
                    "The situation on the Armenia-Azerbaijan border has remained stable since "
                    "the two sides agreed to a truce on September 14.",
                )
            ],
            "occurred_precision": "day",
        },
        day("2022-09-14"),
        "'a truce on September 14', with no year: the clashes of September 12 and 13 are of "
        "2022 (see the stream's opening event)",
    )
    protest = Stream("protest-az-2022-09-19-paris-embassy-attack").add(
        "ProtestLodged",
        {
            "by": AZ_MFA,
            "to": {"state": "FR", "title": "ambassador in Azerbaijan"},
            "form": "note",
            "demands": ["investigation", "legal_assessment", "prosecution", "compensation"],
            "summary": "A note of protest handed to the French ambassador in Azerbaijan after "
            "the attack on the embassy in Paris.",
            "about_incident": "incident-az-paris-2022-09-18-attack",
            "mission": "mission-az-paris",
            "via_mission": "mission-fr-baku",
            "demand_details": {
                "investigation": "a thorough investigation by French law enforcement agencies "
                "into the incident",
                "legal_assessment": "an appropriate legal assessment",
                "prosecution": "the prosecution of responsible individuals",
                "compensation": "compensation for the damages caused to the embassy's building",
            },
            "sources": [
                src(
                    D000,
                    "The ministry submitted a note of protest to the French ambassador in "
                    "Azerbaijan on Monday to demand a thorough investigation by French law "
                    "enforcement agencies into the incident, an appropriate legal assessment, "
                    "the prosecution of responsible individuals and compensation for the "
                    "damages caused to the embassy's building.",
                )
            ],
            "occurred_precision": "day",
        },
        day("2022-09-19"),
        MONDAY_000,
    )
    ambassador = Stream("statement-az-mustafayev-paris-attack").add(
        "StatementIssued",
        {
            "by": MUSTAFAYEV,
            "stance": "condemns",
            "summary": "The ambassador said the inaction of the French law enforcement "
            "services enabled the attack, and wrote that France does not protect the embassies "
            "and ignores Azerbaijan's fundamental requests related to their security.",
            "about": "incident-az-paris-2022-09-18-attack",
            "mission": "mission-az-paris",
            "sources": [
                src(
                    D000,
                    "said the inaction of the French law enforcement services enabled the "
                    "fanatics to attack the embassy.",
                ),
                src(
                    D000,
                    "shame on France, which does not protect the embassies and ignores our "
                    "fundamental requests related to our security,\u201d he wrote on Twitter.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the text does not date the tweet; it is about the storming of the embassy, which "
        "began on 18 September 2022 at 14:20 in Paris; 000 is undated, so no later bound is set",
        after=PARIS_ATTACK_BEGAN,
    )
    ministry = Stream("statement-az-mfa-vienna-convention").add(
        "StatementIssued",
        {
            "by": {**AZ_MFA, "person": "Leyla Abdullayeva", "title": "spokesperson"},
            "stance": "calls_for",
            "summary": "The host states have a special obligation under the Vienna Convention "
            "to ensure the safety of diplomats and missions; the ministry called on them to "
            "take the necessary measures.",
            "about": "incident-az-paris-2022-09-18-attack",
            "related": ["incident-az-beirut-2022-attack", "incident-az-tbilisi-attempt"],
            "sources": [
                src(
                    D000,
                    "A spokesperson for Azerbaijan\u2019s Foreign Ministry, Leyla Abdullayeva, "
                    "said the recent attacks of Armenian radicals on the embassies were nothing "
                    "new for Azerbaijan.",
                ),
                src(
                    D000,
                    "We called on these countries to take the necessary measures for the proper "
                    "implementation of the Convention.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the text does not date the statement; 000 gives it in its account of the attack in "
        "France, among 'the recent attacks', so after that attack began (18 September 2022, "
        "14:20 in Paris); 000 is undated, so no later bound is set",
        after=PARIS_ATTACK_BEGAN,
    )
    return [beirut, tbilisi, border, protest, ambassador, ministry]


def document_001() -> list[Stream]:
    """001: the ambassador's interview: the attack of 18 September 2022, the notes, 2020."""
    attack = Stream("incident-az-paris-2022-09-18-attack").add(
        "IncidentReported",
        {
            "kind": "attack",
            "title": "Attack on the Azerbaijani embassy in Paris",
            "mission": "mission-az-paris",
            "summary": "Up to 150 representatives of the Armenian diaspora came to the "
            "embassy building and committed acts of violence; they tried to enter the building "
            "and failed when the officer on duty closed the door; they stayed in the area for "
            "an hour.",
            "participants_estimate": {"value": 150, "qualifier": "up_to"},
            "perpetrators": "representatives of the Armenian diaspora",
            "reported_by": MUSTAFAYEV,
            "ended_at": stamp(local("2022-09-18T15:20", PARIS)),
            "sources": [
                src(D001, "The action started on September 18 at 14:20 local time,"),
                src(
                    D001,
                    "up to 150 representatives of the Armenian diaspora came to the embassy "
                    "building and started committing acts of violence.",
                ),
                src(
                    D001,
                    "Although there was an attempt to enter the embassy building, they did not "
                    "succeed.",
                ),
                src(
                    D001,
                    "The protestors stayed in the area for an hour and were forced to leave "
                    "after their efforts failed.",
                ),
                src(
                    D000,
                    "furious Armenians overthrew iron barriers in front of the embassy\u2019s "
                    "building in an attempt to storm the front door of the building and get "
                    "inside.",
                ),
            ],
            "occurred_precision": "minute",
            "occurred_zone": PARIS,
        },
        local("2022-09-18T14:20", PARIS),
        "'September 18 at 14:20 local time' in Paris (UTC+2 in September); the year: "
        "'yesterday was Sunday', and 18 September fell on a Sunday in 2022. ended_at: 'The "
        "protestors stayed in the area for an hour' from the start, 15:20 in Paris; the text "
        "gives the hour only as 'an hour'",
    )
    attack.add(
        "PoliceResponded",
        {
            "arrived_at": local("2022-09-18T14:50", PARIS).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "by": {"state": "FR", "body": "police"},
            "summary": "A police car arrived; the police did not actually play a role in "
            "preventing the incident.",
            "sources": [
                src(
                    D001,
                    "We called the police and it wasn't until 2:50 PM that a police car arrived.",
                ),
                src(
                    D001,
                    "although the police did come, they did not actually play a role in "
                    "preventing the incident.",
                ),
            ],
            "occurred_precision": "minute",
            "occurred_zone": PARIS,
        },
        local("2022-09-18T14:50", PARIS),
        "'2:50 PM' on the day of the attack, Paris time",
    )
    attack.add(
        "DamageRecorded",
        {
            "description": "The lock and door of the embassy building were broken; eggs and "
            "stones were thrown at the embassy building, windows and balcony.",
            "documented_by": {"state": "FR", "body": "prefecture", "title": "clerk of the court"},
            "sources": [
                src(
                    D001,
                    "During yesterday's incident, the lock and door of the embassy building "
                    "were broken, eggs and stones were thrown at the embassy building, "
                    "windows, balcony, in short, the embassy building was damaged.",
                ),
                src(
                    D001,
                    "After the incident, the clerk of the court, the person investigating the "
                    "facts, came from the prefecture.",
                ),
                src(
                    D001,
                    "He collected facts about the damage to the embassy building, took "
                    "pictures and recorded facts about the consequences of the incident.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the clerk came 'After the incident', undated: after the attack began (18 September "
        "2022, 14:20 in Paris) and by the end of the interview's day, which reports it "
        f"({INTERVIEW_001})",
        after=PARIS_ATTACK_BEGAN,
        before=INTERVIEW_DAY_ENDED,
    )
    attack.add(
        "CasualtiesReported",
        {
            "killed": None,
            "injured": 0,
            "among": "employees of the embassy",
            "reported_by": MUSTAFAYEV,
            "sources": [src(D001, "There are no injuries among the employees of the embassy.")],
            "occurred_precision": "day",
        },
        day("2022-09-19"),
        f"reported in the interview ({INTERVIEW_001}); the text gives no count of dead",
    )
    damage_2020 = Stream("incident-az-paris-2020-diaspora-damage").add(
        "IncidentReported",
        {
            "kind": "vandalism",
            "title": "Embassy building damaged by members of the Armenian diaspora during the "
            "2020 war",
            "mission": "mission-az-paris",
            "perpetrators": "members of the Armenian diaspora",
            "repeated": True,
            "sources": [
                src(
                    D001,
                    "During the Patriotic War in 2020, this issue happened again, members of "
                    "the Armenian diaspora repeatedly came to the embassy and damaged the "
                    "embassy building.",
                )
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"'During the Patriotic War in 2020': within the war ({WAR_2020})",
        after=WAR_2020_BEGAN,
        before=CEASEFIRE_2020,
    )
    damage_2020.add(
        "DamageRecorded",
        {
            "description": "The embassy building was damaged.",
            "sources": [
                src(D001, "repeatedly came to the embassy and damaged the embassy building")
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"'During the Patriotic War in 2020': within the war ({WAR_2020})",
        after=WAR_2020_BEGAN,
        before=CEASEFIRE_2020,
    )
    threats = Stream("incident-az-paris-threatening-letters").add(
        "IncidentReported",
        {
            "kind": "threat",
            "title": "Threatening letters to the Azerbaijani embassy in Paris",
            "mission": "mission-az-paris",
            "repeated": True,
            "sources": [
                src(D001, "Threatening letters have arrived at the mail of our embassy."),
                src(D001, "These are reflected in the written notes we sent."),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "undated; 'These are reflected in the written notes we sent', and the last of them was "
        "sent 'On August 17' (2022), so the letters came by the end of that day in Paris; no "
        "earlier bound is given",
        before=NOTE_DAY_ENDED,
    )
    london = Stream("incident-az-london-embassy").add(
        "IncidentReported",
        {
            "kind": "other",
            "title": "Incident at the Azerbaijani embassy in London",
            "mission": "mission-az-london",
            "sources": [
                src(
                    D001,
                    "Because after the incident at the Azerbaijani embassy in London, we once "
                    "again brought to the attention of the French Ministry of Foreign Affairs "
                    "that there are attacks against the embassy, and this is not only in "
                    "London, but also in France.",
                )
            ],
            "occurred_precision": "unknown",
        },
        None,
        "undated; 001 places it before the note of 17 August 2022 ('after the incident at the "
        "Azerbaijani embassy in London, we once again brought...'), so by the end of that day "
        "in Paris; no earlier bound is given, so the stream id carries no year",
        before=NOTE_DAY_ENDED,
    )
    note = Stream("note-az-paris-2022-08-17").add(
        "NoteSent",
        {
            "from": AZ_EMBASSY_FR,
            "to": FR_MFA,
            "subject": "Attacks against the embassy, not only in London but also in France; "
            "the security of the embassy",
            "mission": "mission-az-paris",
            "summary": "The latest written request for stronger security measures before the "
            "attack of 18 September 2022.",
            "sources": [
                src(D001, "On August 17, we sent the next written note."),
                src(
                    D001,
                    "When was the last time you applied for the strengthening of security "
                    "measures?",
                ),
                src(
                    D001,
                    "we once again brought to the attention of the French Ministry of Foreign "
                    "Affairs that there are attacks against the embassy, and this is not only "
                    "in London, but also in France.",
                ),
            ],
            "occurred_precision": "day",
        },
        day("2022-08-17"),
        "'On August 17', with no year: the last note before the attack of 18 September 2022 "
        f"({INTERVIEW_001}), so 17 August 2022. No reply is recorded: 001 says 'Our note was "
        "also answered earlier' without saying which note, so that answer is kept with the "
        "bulk correspondence on mission-az-paris",
    )
    return [attack, damage_2020, threats, london, note]


def document_002() -> list[Stream]:
    """002: the French Senate's and National Assembly's resolutions and Baku's rejections."""
    senate = Stream("statement-fr-senate-resolution").add(
        "ResolutionAdopted",
        {
            "body": {"state": "FR", "body": "Senate"},
            "title": "Resolution adopted in the Senate",
            "calls_for": [
                "sanctions against Baku",
                "Azerbaijan's withdrawal from territory liberated from Armenian occupation in 2020",
            ],
            "sources": [
                src(D002, "similar to the recent resolution adopted in the Senate"),
                src(
                    D002,
                    "a French Senate resolution calling for sanctions against Baku and its "
                    "withdrawal from territory liberated from Armenian occupation in 2020.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the text does not date the adoption: the resolution calls for a withdrawal from "
        f"territory liberated in 2020, so after the war began ({WAR_2020}), and Azerbaijan "
        "rebuffed it 'On Nov. 16' (2022), so by the end of that day in Baku",
        after=WAR_2020_BEGAN,
        before=datetime(2022, 11, 16, 20, tzinfo=UTC),
    )
    rebuff = Stream("statement-az-2022-11-16-senate-resolution").add(
        "StatementIssued",
        {
            "by": {"state": "AZ"},
            "stance": "rejects",
            "summary": "Azerbaijan rebuffed the French Senate resolution calling for sanctions "
            "against Baku.",
            "about": "statement-fr-senate-resolution",
            "sources": [
                src(
                    D002,
                    "On Nov. 16, Azerbaijan rebuffed a French Senate resolution calling for "
                    "sanctions against Baku",
                )
            ],
            "occurred_precision": "day",
        },
        day("2022-11-16"),
        "'On Nov. 16', with no year: the Senate resolution is 'the recent resolution' when "
        "the National Assembly adopts its own on 'November 30, 2022', so 16 November 2022",
    )
    assembly = Stream("statement-fr-national-assembly-resolution-2022-11-30").add(
        "ResolutionAdopted",
        {
            "body": {"state": "FR", "body": "National Assembly"},
            "title": "Resolution adopted in the National Assembly on November 30, 2022",
            "adopted_on": "2022-11-30",
            "summary": 'A resolution designed to counter what Paris calls "aggression" against '
            "Armenia.",
            "sources": [
                src(
                    D002,
                    "resolution adopted in the lower chamber (National Assembly) of the French "
                    "Parliament on November 30, 2022",
                ),
                src(
                    D002,
                    'a new French resolution designed to counter what Paris calls "aggression" '
                    "against Armenia",
                ),
            ],
            "occurred_precision": "day",
        },
        day("2022-11-30"),
    )
    ministry = Stream("statement-az-mfa-2022-12-01-national-assembly-resolution").add(
        "StatementIssued",
        {
            "by": AZ_MFA,
            "stance": "rejects",
            "summary": "The ministry called the resolution false, slanderous and another "
            "provocation by France that aims to undermine the normalization of relations "
            "between Azerbaijan and Armenia, showing France's biased position and its "
            "inability to act as an impartial mediator.",
            "about": "statement-fr-national-assembly-resolution-2022-11-30",
            "related": ["statement-fr-senate-resolution"],
            "sources": [
                src(
                    D002,
                    "The Azerbaijani Foreign Ministry on Thursday said that a new French "
                    "resolution designed to counter what Paris calls",
                ),
                src(
                    D002,
                    "is another provocation by France against Azerbaijan, similar to the "
                    "recent resolution adopted in the Senate",
                ),
                src(
                    D002,
                    "once again clearly demonstrates France's biased political position, and "
                    "its inability to act as an impartial and fair mediator",
                ),
                src(D002, "Rejecting the resolutions in both French chambers"),
            ],
            "occurred_precision": "day",
        },
        day("2022-12-01"),
        THURSDAY_002,
    )
    ambassador = Stream("statement-az-abdullayeva-tweet").add(
        "StatementIssued",
        {
            "by": {"state": "AZ", "person": "Leyla Abdullayeva", "title": "Ambassador to France"},
            "stance": "condemns",
            "summary": "The ambassador wrote that Armenia occupied Azerbaijani territory for 30 "
            "years while France remained silent, and that France now hinders peace by talking.",
            "mission": "mission-az-paris",
            "sources": [
                src(D002, "Armenia occupied the territory of Azerbaijan for 30 years"),
                src(
                    D002,
                    "You, on the other hand, remain silent, (and) now you are hindering peace "
                    "by talking.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        "the tweet is not dated; she wrote it as ambassador, so after Rahman Mustafayev still "
        f"spoke as ambassador ({INTERVIEW_001}); 002 is undated, so no later bound is set",
        after=INTERVIEW_DAY_BEGAN,
    )
    fire = Stream("incident-az-shusha-aghdam-2022-11-30-fire").add(
        "IncidentReported",
        {
            "kind": "armed_clash",
            "title": "Fire on Azerbaijan Army positions in the Shusha and Aghdam directions",
            "location": {
                "state": "AZ",
                "description": "Azerbaijan Army positions stationed in the directions of the "
                "Shusha and Aghdam regions",
            },
            "perpetrators": "members of an illegal Armenian armed detachment, as the "
            "Azerbaijani Defense Ministry put it",
            "reported_by": {"state": "AZ", "body": "Ministry of Defense"},
            "ended_at": local("2022-11-30T15:50", BAKU).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sources": [
                src(
                    D002,
                    "On Nov. 30, starting from 14:40 to 15:50, members of an illegal Armenian "
                    "armed detachment in the territory of Azerbaijan",
                ),
                src(
                    D002,
                    "subjected to fire the Azerbaijan Army positions stationed in the "
                    "directions of the Shusha and Aghdam regions",
                ),
            ],
            "occurred_precision": "minute",
            "occurred_zone": BAKU,
        },
        local("2022-11-30T14:40", BAKU),
        "'On Nov. 30, starting from 14:40 to 15:50' as the Azerbaijani Defense Ministry gives "
        "it, read as Baku time; the year from 'Wednesday' (30 November 2022 was a Wednesday)",
    )
    midnight = Stream("incident-az-kalbajar-lachin-midnight-fire").add(
        "IncidentReported",
        {
            "kind": "armed_clash",
            "title": "Fire on positions in the Kalbajar and Lachin districts at midnight",
            "location": {
                "state": "AZ",
                "description": "positions in the Kalbajar and Lachin districts",
            },
            "perpetrators": "Armenian forces, as the Azerbaijani Defense Ministry put it",
            "reported_by": {"state": "AZ", "body": "Ministry of Defense"},
            "sources": [
                src(
                    D002,
                    "Earlier, the Azerbaijani Defense Ministry said that Armenian forces opened "
                    "fire at positions in the Kalbajar and Lachin districts at midnight.",
                )
            ],
            "occurred_precision": "unknown",
            "occurred_zone": BAKU,
        },
        None,
        "'at midnight', on a day the text does not give: the ministry said so 'Earlier' than "
        f"its statement of Wednesday 30 November 2022 ({THURSDAY_002}), so at a midnight in "
        "Baku no later than the one that began that Wednesday; no earlier bound is given, so "
        "the stream id carries no year",
        before=datetime(2022, 11, 29, 20, tzinfo=UTC),
    )
    tuesday = Stream("incident-az-aghdam-2022-11-29-fire").add(
        "IncidentReported",
        {
            "kind": "armed_clash",
            "title": "Attack on the Aghdam district with weapons of various calibers",
            "location": {"state": "AZ", "description": "the Aghdam district"},
            "perpetrators": 'an "Armenian armed detachment", as the Azerbaijani Defense '
            "Ministry put it",
            "reported_by": {"state": "AZ", "body": "Ministry of Defense"},
            "sources": [
                src(
                    D002,
                    'It said that the Aghdam district was also attacked by an "Armenian armed '
                    'detachment" with various caliber weapons on Tuesday.',
                )
            ],
            "occurred_precision": "day",
        },
        day("2022-11-29"),
        "'on Tuesday', said 'Earlier' than the ministry's statement of Wednesday 30 November "
        f"2022 ({THURSDAY_002}): the Tuesday before it, 29 November 2022",
    )
    return [senate, rebuff, assembly, ministry, ambassador, fire, midnight, tuesday]


def document_003() -> list[Stream]:
    """003 (undated): Baku's answer to the recall of France's ambassador; the Natavan monument."""
    answer = Stream("statement-az-mfa-hajizadeh-ambassador-recall").add(
        "StatementIssued",
        {
            "by": {**AZ_MFA, "person": "Aykhan Hajizadeh", "title": "official spokesman"},
            "stance": "rejects",
            "summary": "The ministry rejected Paris's accusations that Baku's unilateral "
            "actions damaged bilateral relations, over which the French ambassador was "
            "recalled; Azerbaijan's steps were a logical response to France's destructive "
            "activities.",
            "about": "accusations of official Paris about unilateral actions of Baku",
            "related": ["mission-fr-baku"],
            "sources": [
                src(
                    D003,
                    "The Azerbaijani Foreign Ministry has rejected accusations of official "
                    "Paris about unilateral actions of Baku damaging bilateral relations, due "
                    "to which the French Ambassador was recalled.",
                ),
                src(
                    D003,
                    "Given this, the Azerbaijan's steps and statements were a logical response "
                    "to France's destructive activities.",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        DOCUMENT_003,
        after=CEASEFIRE_2020,
        before=COP29_OPENED,
    )
    monument = Stream("incident-fr-natavan-monument-vandalism").add(
        "IncidentReported",
        {
            "kind": "vandalism",
            "title": "Monument to Khurshid Banu Natavan vandalized",
            "location": {
                "state": "FR",
                "description": "the monument to Azerbaijani poetess Khurshid Banu Natavan",
            },
            "sources": [
                src(
                    D003,
                    "the monument to Azerbaijani poetess Khurshid Banu Natavan was vandalized",
                ),
                src(
                    D003,
                    "After the 2020 war, as a result of the Azerbaijanophobic environment "
                    "fuelled in France",
                ),
            ],
            "occurred_precision": "unknown",
        },
        None,
        f"'After the 2020 war', and before 003 reports it: {DOCUMENT_003}. No city is given",
        after=CEASEFIRE_2020,
        before=COP29_OPENED,
    )
    return [answer, monument]


def document_004() -> list[Stream]:
    """004 (2020-11-11): Le Drian's statement of 10 November 2020 and Baku's comment."""
    france = Stream("statement-fr-le-drian-2020-11-10").add(
        "StatementIssued",
        {
            "by": {
                "state": "FR",
                "body": "Ministry for Europe and Foreign Affairs",
                "person": "Jean-Yves Le Drian",
                "title": "Minister for Europe and Foreign Affairs",
            },
            "stance": "notes",
            "summary": "A statement regarding the declaration signed by the president of "
            "Azerbaijan, the prime minister of Armenia and the president of Russia on the "
            "cessation of all military operations; 004 does not quote it.",
            "about": "the declaration on the cessation of all military operations",
            "sources": [
                src(D004, "the French foreign minister\u2019s statement dated November 10, 2020"),
                src(
                    D004,
                    "Jean-Yves Le Drian\u2019s statement regarding the declaration signed by the "
                    "president of Azerbaijan, the prime minister of Armenia, and the president "
                    "of Russia on the cessation of all military operations",
                ),
            ],
            "occurred_precision": "day",
        },
        day("2020-11-10"),
    )
    baku = Stream("statement-az-mfa-2020-11-11-le-drian").add(
        "StatementIssued",
        {
            "by": AZ_MFA,
            "stance": "rejects",
            "summary": "The French minister's statement does not correspond to France's "
            "mandate as a co-chair of the OSCE Minsk Group, is biased, reflects a one-sided and "
            "openly pro-Armenian position, and he has no authority to speak for the other "
            "co-chairs.",
            "about": "statement-fr-le-drian-2020-11-10",
            "sources": [
                src(
                    D004,
                    "The Azerbaijani Foreign Ministry has commented on the French foreign "
                    "minister\u2019s statement dated November 10, 2020, the Azerbaijani Foreign "
                    "Ministry told Trend on Nov. 11.",
                ),
                src(
                    D004,
                    "does not correspond to the mandate of France as a co-chair of the OSCE "
                    "Minsk Group and is biased",
                ),
                src(
                    D004,
                    "does not have the authority to speak on behalf of other co-chairs",
                ),
            ],
            "occurred_precision": "day",
        },
        day("2020-11-11"),
        "'told Trend on Nov. 11'; 004 is dated 2020-11-11",
    )
    ceasefire = Stream("statement-az-am-ru-2020-11-10-ceasefire").add(
        "StatementIssued",
        {
            "by": {
                "body": "the president of Azerbaijan, the prime minister of Armenia and the "
                "president of Russia",
                "title": "joint statement",
            },
            "stance": "notes",
            "title": "Declaration on the cessation of all military operations",
            "summary": "A complete ceasefire and a cessation of all hostilities in the zone of "
            "the Nagorno-Karabakh conflict, introduced at 00:00 Moscow time on 10 November "
            "2020.",
            "sources": [
                src(
                    D004,
                    "A complete ceasefire and a cessation of all hostilities in the zone of the "
                    "Nagorno-Karabakh conflict is introduced at 00:00 hours (Moscow time) on 10 "
                    "November 2020.",
                ),
                src(
                    D004,
                    "A joint statement on the matter was made by the Azerbaijani president, "
                    "Armenia's PM, and the president of Russia.",
                ),
                src(
                    D004,
                    "the declaration signed by the president of Azerbaijan, the prime minister "
                    "of Armenia, and the president of Russia on the cessation of all military "
                    "operations",
                ),
            ],
            "occurred_precision": "minute",
            "occurred_zone": "Europe/Moscow",
        },
        local("2020-11-10T00:00", "Europe/Moscow"),
        "'introduced at 00:00 hours (Moscow time) on 10 November 2020': the time the ceasefire "
        "took effect, which the text gives; it does not time the signature",
    )
    return [france, baku, ceasefire]


FILES: dict[str, Any] = {
    "00_missions.json": missions,
    "01_document_000.json": document_000,
    "02_document_001.json": document_001,
    "03_document_002.json": document_002,
    "04_document_003.json": document_003,
    "05_document_004.json": document_004,
}


def render(streams: list[Stream]) -> str:
    """A seed file's text: the ``POST /events`` body, indented, non-ASCII kept readable."""
    return json.dumps({"appends": [s.body() for s in streams]}, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """Every seed file's name and text, and index.json giving the load order."""
    files = {name: render(build()) for name, build in FILES.items()}
    files["index.json"] = json.dumps(list(FILES), indent=2) + "\n"
    return files


def unquoted(files: dict[str, str]) -> list[str]:
    """Quotes that do not appear verbatim (whitespace collapsed) in their document."""
    texts = {
        p.name: " ".join(p.read_text(encoding="utf-8").split()) for p in DOCUMENTS.glob("*.txt")
    }
    missing = []
    for name, text in files.items():
        if name == "index.json":
            continue
        for append in json.loads(text)["appends"]:
            for event in append["events"]:
                for source in event["data"]["sources"]:
                    if " ".join(source["quote"].split()) not in texts[source["document"]]:
                        missing.append(f"{append['stream_id']}: {source['quote']!r}")
    return missing


def main() -> int:
    """Write the seed files; refuse when a quote is not verbatim in its document."""
    files = rendered()
    missing = unquoted(files)
    if missing:
        print("not verbatim:", *missing, sep="\n  ", file=sys.stderr)
        return 1
    for name, text in files.items():
        (SEEDS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files in {SEEDS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
