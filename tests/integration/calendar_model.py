"""A calendar client, played: every iCalendar message a person received,
in the order received, applied the way Google and Outlook apply them
(CALENDAR.md): a REQUEST creates the event of its UID, or replaces it when
its SEQUENCE is higher than the one held (Google ignores an update that
does not raise SEQUENCE; Outlook calls a lower one "out of date"); a
CANCEL marks the event of its UID cancelled, unless it is older than what
is held.  Then every calendar is compared with `leernet meeting list
--csv` and `member list --csv`: what people see against what is true.

    cals = Calendars(meet, people)
    cals.step("plan")            # read the new calendar mail, compare
    assert cals.problems == []   # every calendar as the database says
    assert cals.wording == []    # and every mail says what it does
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from mailstack import address
from meetings_kit import AMS, SLUG, Invite, flat, has_calendar, text

DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag",
        "zondag"]
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli",
          "augustus", "september", "oktober", "november", "december"]
MEMBER_CSV = ["email", "name", "role", "state"]


def when_nl(start: dt.datetime, end: dt.datetime) -> str:
    """leernet's Dutch "vrijdag 14 mei 2027, 15:00–17:00"."""
    s, e = start.astimezone(AMS), end.astimezone(AMS)
    day = f"{DAYS[s.weekday()]} {s.day} {MONTHS[s.month - 1]} {s.year}"
    return f"{day}, {s:%H:%M}\u2013{e:%H:%M}"


@dataclass
class Event:
    uid: str
    sequence: int
    status: str             # CONFIRMED | CANCELLED
    start: dt.datetime
    end: dt.datetime
    location: str
    summary: str
    history: list = field(default_factory=list)

    def key(self):
        return (self.status, self.start, self.end, self.location)


class Calendar:
    def __init__(self, who):
        self.who = who
        self.events: dict[str, Event] = {}

    def play(self, inv: Invite, problems: list, wording: list, step: str):
        ev = inv.ev
        new = Event(inv.uid, inv.sequence,
                    "CANCELLED" if inv.method == "CANCEL" else
                    str(ev.get("STATUS", "CONFIRMED")),
                    ev["DTSTART"].dt, ev["DTEND"].dt,
                    str(ev.get("LOCATION", "")), str(ev.get("SUMMARY", "")))
        held = self.events.get(inv.uid)
        tag = f"[{step}] {self.who}: {inv.msg['Subject']!r}"
        if held is None:
            if inv.method == "CANCEL":
                # Google and Outlook show nothing for the cancellation of
                # an event they never had: keep it as cancelled.
                wording.append(f"{tag}: a cancellation of a meeting this "
                                "calendar never held")
            self.events[inv.uid] = new
            new.history.append((inv.method, inv.sequence))
            return "new"
        if inv.sequence < held.sequence:
            # Mail may arrive in any order (two moves in one run): the
            # client ignores the older version, as SEQUENCE is for.
            return "stale"
        if inv.sequence == held.sequence:
            if new.key() != held.key():
                problems.append(f"{tag}: SEQUENCE {inv.sequence} again with "
                                f"other content ({held.key()} -> {new.key()})"
                                ": Google ignores it")
            return "same"
        new.history = held.history + [(inv.method, inv.sequence)]
        self.events[inv.uid] = new
        return "update"

    def live(self) -> dict[str, Event]:
        return {u: e for u, e in self.events.items()
                if e.status != "CANCELLED"}


class Calendars:
    def __init__(self, meet, people, slug=SLUG):
        self.meet = meet
        self.people = list(people)
        self.slug = slug
        self.cals = {p: Calendar(p) for p in self.people}
        self.problems: list[str] = []    # calendars against the database
        self.wording: list[str] = []     # what the mail says around them
        self.log: list[str] = []

    def add(self, who):
        self.people.append(who)
        self.cals[who] = Calendar(who)

    def members(self) -> dict[str, dict]:
        out = self.meet.run(self.meet.cfg, "member", "list", self.slug,
                            "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0] == MEMBER_CSV, rows[0]
        return {r[0].lower(): dict(zip(MEMBER_CSV, r)) for r in rows[1:]}

    def read(self, step):
        """Play every new calendar mail of everyone; check each mail's
        words against its calendar."""
        got = {}
        for who in self.people:
            msgs = self.meet.new(who, has_calendar)
            msgs.sort(key=lambda m: m.uid)
            got[who] = []
            for m in msgs:
                inv = Invite(m)
                held = self.cals[who].events.get(inv.uid)
                what = self.cals[who].play(inv, self.problems, self.wording,
                                          step)
                self.words(step, who, inv, held)
                got[who].append((inv.method, inv.sequence, what,
                                 m["Subject"]))
                self.log.append(f"[{step}] {who} <- {inv.method} seq "
                                f"{inv.sequence} ({what}): {m['Subject']}")
        return got

    def words(self, step, who, inv, held):
        """What the mail says around the calendar must say what the
        calendar does."""
        subj = " ".join(inv.msg["Subject"].split())
        body = flat(text(inv.msg))
        ev = inv.ev
        when = when_nl(ev["DTSTART"].dt, ev["DTEND"].dt)
        tag = f"[{step}] {who}: {subj!r}"
        if when not in subj:
            self.wording.append(f"{tag}: the Subject does not give the "
                                 f"calendar's time {when!r}")
        live_before = held is not None and held.status != "CANCELLED"
        if inv.method == "REQUEST":
            changed = subj.startswith("Gewijzigd:")
            # After a bounce: the meeting as it stands, a change or not,
            # and said to be that.
            catch_up = subj.startswith("Bijgewerkt:")
            if catch_up and "Mail aan jou kwam een tijd niet aan" not in body:
                self.wording.append(f"{tag}: 'Bijgewerkt' without saying why")
            if changed and not live_before:
                self.wording.append(
                    f"{tag}: says 'Gewijzigd' but this calendar held no "
                    f"version of the meeting ({held and held.key()})")
            if changed and live_before and held.key() == (
                    "CONFIRMED", ev["DTSTART"].dt, ev["DTEND"].dt,
                    str(ev.get("LOCATION", ""))):
                self.wording.append(
                    f"{tag}: says 'Gewijzigd' but nothing changed for this "
                    "calendar (same time and place)")
            if not changed and not catch_up and live_before and held.key() != (
                    "CONFIRMED", ev["DTSTART"].dt, ev["DTEND"].dt,
                    str(ev.get("LOCATION", ""))):
                self.wording.append(
                    f"{tag}: a change of a meeting already in the calendar, "
                    "not said to be one")
            if f"Wanneer: {when}" not in body:
                self.wording.append(f"{tag}: the text does not say "
                                     f"'Wanneer: {when}'")
            loc = str(ev.get("LOCATION", ""))
            if loc and f"Waar: {loc}" not in body:
                self.wording.append(f"{tag}: the text does not say "
                                     f"'Waar: {loc}'")
        else:
            if not subj.startswith("Vervalt:"):
                self.wording.append(f"{tag}: a cancellation not called so")
            if not live_before:
                self.wording.append(f"{tag}: a cancellation of a meeting "
                                     "that was not in this calendar")

    def compare(self, step, now=None):
        """Every calendar against the database."""
        now = now or dt.datetime.now(dt.timezone.utc)
        rows = self.meet.meetings(self.slug)
        members = self.members()
        uids = {self.meet.uid(int(r["number"]), self.slug): r for r in rows}
        for who in self.people:
            cal = self.cals[who]
            live = cal.live()
            m = members.get(address(who).lower())
            tag = f"[{step}] {who}"
            for uid in set(cal.events) - set(uids):
                self.problems.append(f"{tag}: holds an event leernet does "
                                     f"not know: {uid}")
            active = (m is not None and m["state"] == "active"
                      and m["role"] in ("lead", "member"))
            if m is not None and m["state"] == "bouncing":
                continue    # mail does not reach them: checked after reset
            for uid, r in uids.items():
                ev = live.get(uid)
                start = dt.datetime.fromisoformat(r["start"])
                end = dt.datetime.fromisoformat(r["end"])
                n = r["number"]
                if ev is not None and int(cal.events[uid].sequence) > int(
                        r["sequence"]):
                    self.problems.append(f"{tag}: meeting {n} held at "
                                         "a SEQUENCE above the database's")
                if not active or r["status"] == "cancelled":
                    if ev is not None:
                        why = ("is cancelled" if r["status"] == "cancelled"
                               else f"is no active member ({m and m['state']},"
                               f" {m and m['role']})")
                        self.problems.append(
                            f"{tag}: meeting {n} still live in the calendar "
                            f"({ev.start:%d-%m %H:%M}, {ev.location}), but "
                            f"it {why}")
                    continue
                if end <= now:
                    continue    # held before they came, or over
                if ev is None:
                    self.problems.append(
                        f"{tag}: meeting {n} ({r['start']}, {r['location']})"
                        " missing from the calendar"
                        + (" (held cancelled)" if uid in cal.events else ""))
                    continue
                if (ev.start != start or ev.end != end
                        or ev.location != r["location"]):
                    self.problems.append(
                        f"{tag}: meeting {n} shows {ev.start.isoformat()}–"
                        f"{ev.end.isoformat()} at {ev.location!r}; the "
                        f"database has {r['start']}–{r['end']} at "
                        f"{r['location']!r}")

    def step(self, step, now=None):
        got = self.read(step)
        self.compare(step, now)
        return got
