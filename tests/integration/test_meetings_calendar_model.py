"""A lead and a co-lead run a network through a school term, from Gmail
(web and Android) and Outlook on a phone: meetings planned, moved (date
across summer time, time twice in one run and back, location), cancelled,
a co-lead who moves and cancels by replying to invitations, people joining
late and leaving, a member whose mailbox bounced and is reset, the network
closed.  After every step each person's calendar, played from the
iCalendar mail they received as a calendar client does (calendar_model.py),
is compared with `leernet meeting list --csv` and `member list --csv`."""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_model import Calendars
from mail_clients import gmail, outlook_ios
from mailstack import address
from meetings_kit import (SLUG, Invite, Meet, has_calendar,
                          text)

NEW_USERS = ("colead", "dirk", "eva")
PEOPLE = ("lead", "colead", "alice", "bob", "carol", "dirk", "eva", "femme")

TERM = [  # date, time, location
    ("25-03-2027", "15:00-17:00", "De Regenboog"),
    ("15-04-2027", "15:00-17:00", "De Regenboog"),
    ("20-05-2027", "15:30-17:30", "Het Kompas"),
    ("10-06-2027", "15:00-17:00", "De Regenboog"),
    ("01-07-2027", "14:00-16:00", "Het Kompas"),
]


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    return Meet.network(stack, tmp_path, run_leernet, users=NEW_USERS)


def answers(meet, who):
    """The new mail without a calendar of who: (Subject, text)."""
    return [(m["Subject"], text(m)) for m in
            meet.new(who, lambda m: not has_calendar(m))]


def invitation(meet, who, number):
    """The newest calendar mail of who for meeting number."""
    uid = meet.uid(number)
    invs = [Invite(m) for m in meet.stack.inbox(who) if has_calendar(m)]
    invs = [i for i in invs if i.uid == uid and i.method == "REQUEST"]
    return max(invs, key=lambda i: i.sequence).msg


def number_at(meet, date):
    d = dt.datetime.strptime(date, "%d-%m-%Y").date()
    for r in meet.meetings():
        if dt.datetime.fromisoformat(r["start"]).date() == d:
            return int(r["number"])
    return None


def test_a_term_of_a_network(meet):
    cals = Calendars(meet, PEOPLE)
    said = []

    def step(name, now=None):
        cals.step(name, now)
        for who in ("lead", "colead"):
            for s, t in answers(meet, who):
                said.append(f"[{name}] to {who}: {s}\n{t}")

    meet.join("alice", "bob")
    meet.mail("carol", f"volg {SLUG}")
    meet.once()
    meet.new("carol")
    step("start")

    # Five meetings in one mail, as a lead writes them in Gmail.
    blocks = "\n\n".join(f"datum: {d}\ntijd: {t}\nlocatie: {loc}"
                         for d, t, loc in TERM)
    meet.mail("lead", f"bijeenkomst {SLUG}",
              "Hoi,\n\nDe bijeenkomsten voor dit halfjaar:\n\n" + blocks
              + "\n\nGroet,\nLotte\n")
    meet.once()
    # Only the first was planned, the other four silently dropped, and
    # the answer said "Gepland" as if that was all: one mail plans one
    # meeting, so none is planned and the answer says how.
    assert meet.meetings() == []
    meet.one("lead", "Deze mail noemt meer dan één datum (25-03-2027, "
             "15-04-2027, 20-05-2027, 10-06-2027, 01-07-2027).",
             "stuur voor elke bijeenkomst een eigen mail \"bijeenkomst "
             f"{SLUG}\"", "Er is niets veranderd.")
    step("five in one mail")

    # The rest one by one (what is planned already is said so).
    for d, t, loc in TERM:
        if number_at(meet, d) is None:
            meet.plan(d, t, loc)
    step("one by one")
    nums = [number_at(meet, d) for d, _, _ in TERM]
    assert None not in nums, meet.meetings()
    m1, m2, m3, m4, m5 = nums

    # Dirk joins after the meetings were planned (Gmail on Android).
    meet.join("dirk")
    step("dirk joins")

    # The lead moves meeting 1 by replying to its invitation (Gmail):
    # a week later, across the start of summer time.
    meet.raw("lead", gmail(address("lead"), "datum: 01-04-2027",
                           invitation(meet, "lead", m1)))
    meet.once()
    step("move 1 date")

    # Meeting 2 twice in a row (two mails, one run), then back.
    meet.mail("lead", f"verplaats {SLUG} {m2}", "tijd: 16:00-18:00\n")
    meet.raw("lead", gmail(address("lead"), "tijd: 16:30-18:30",
                           invitation(meet, "lead", m2)))
    meet.once()
    step("move 2 twice")
    meet.mail("lead", f"verplaats {SLUG} {m2}", "tijd: 15:00-17:00\n")
    meet.once()
    step("move 2 back")

    meet.mail("lead", f"verplaats {SLUG} {m3}",
              "locatie: Bibliotheek Het Kompas\n")
    meet.once()
    step("move 3 location")

    meet.mail("lead", f"annuleer {SLUG} {m4}")
    meet.once()
    step("cancel 4")

    # A co-lead, who then moves meeting 5 from Outlook on her phone.
    meet.mail("lead", f"trekker {SLUG} colead@school.test")
    meet.once()
    step("co-lead")
    meet.raw("colead", outlook_ios(address("colead"),
                                   "datum: 08-07-2027\ntijd: 14:00-16:00",
                                   invitation(meet, "colead", m5)))
    meet.once()
    step("co-lead moves 5")

    meet.join("eva")
    step("eva joins")
    meet.mail("eva", f"afmelden {SLUG}")
    meet.once()
    meet.new("eva", lambda m: not has_calendar(m))
    step("eva leaves")

    # Bob's mailbox refuses mail: the next invitation bounces.
    meet.stack.reject("bob")
    meet.mail("lead", f"verplaats {SLUG} {m3}", "tijd: 16:00-18:00\n")
    meet.once()
    step("bob bounces")
    assert cals.members()[address("bob")]["state"] == "bouncing"
    meet.raw("colead", outlook_ios(address("colead"), "annuleer",
                                   invitation(meet, "colead", m2)))
    meet.once()
    step("co-lead cancels 2 while bob bounces")
    m6 = meet.plan("17-06-2027", "15:00-17:00", "De Regenboog")
    step("plan 6 while bob bounces")
    meet.stack.unreject("bob")
    meet.run(meet.cfg, "person", "reset", address("bob"))
    meet.once()
    step("bob reset")

    # The end of the term: meeting 1 was held; the network closes.
    meet.at = "2027-07-02 12:00:00"
    now = dt.datetime(2027, 7, 2, 12, tzinfo=dt.timezone.utc)
    meet.mail("lead", f"sluit {SLUG}: dank allemaal!")
    meet.once()
    step("close", now)
    for who in PEOPLE:
        live = {u for u, e in cals.cals[who].live().items()
                if e.end > now}
        if live:
            cals.problems.append(f"[closed] {who} still holds {live}")

    print("\n".join(cals.log) + "\n\n" + "\n\n".join(said))
    assert m6 == 6
    assert cals.problems == [], "\n".join(cals.problems)
    # The catch-up after the reset sent every meeting as it stands, so Bob
    # was told "Gewijzigd" of meetings that did not change for him and
    # "Vervalt" again of meeting 4, whose cancellation he had.  Now what
    # reached him since its last change is left out, and the rest comes
    # as "Bijgewerkt", saying why.
    assert cals.wording == [], "\n".join(cals.wording)
    caught_up = [line.split("): ", 1)[1] for line in cals.log
                 if line.startswith("[bob reset] bob <- ")]
    assert caught_up and all(s.startswith(("Bijgewerkt:", "Vervalt:"))
                             for s in caught_up), caught_up



@pytest.mark.parametrize("back", ["reset", "writes"])
def test_a_member_back_after_the_network_closed(meet, back):
    """Bob's mailbox refused mail while the lead moved a meeting and closed
    the network.  When his address worked again (a coordinator's `person
    reset`, or his own mail) the catch-up skipped networks no longer open:
    the cancellations of the close never came, and his calendar kept both
    meetings as planned, the first at its old time.  Found by the lead's
    term round (calendar model)."""
    cals = Calendars(meet, ("lead", "alice", "bob"))
    meet.join("alice", "bob")
    n1 = meet.plan("15-04-2027", "15:00-17:00", "De Regenboog")
    meet.plan("20-05-2027", "15:00-17:00", "De Regenboog")
    cals.step("planned")
    meet.stack.reject("bob")
    meet.mail("lead", f"verplaats {SLUG} {n1}", "tijd: 16:00-18:00\n")
    meet.once()
    cals.step("bob bounces")
    assert cals.members()[address("bob")]["state"] == "bouncing"
    meet.mail("lead", f"sluit {SLUG}")
    meet.once()
    cals.step("closed")
    meet.stack.unreject("bob")
    if back == "reset":
        meet.run(meet.cfg, "person", "reset", address("bob"))
    else:
        meet.mail("bob", "hulp")
    meet.once()
    got = cals.step("bob back")["bob"]
    assert [r["status"] for r in meet.meetings()] == ["cancelled"] * 2
    # The cancellations he missed, saying why.
    assert sorted(g[:2] for g in got) == [("CANCEL", 1), ("CANCEL", 2)], got
    assert all(g[3].startswith("Vervalt: ") for g in got), got
    for m in meet.stack.inbox("bob"):
        if has_calendar(m) and m["Subject"].startswith("Vervalt: "):
            assert "is afgesloten" in text(m), text(m)
    assert cals.cals["bob"].live() == {}, {
        u: (e.start, e.sequence) for u, e in cals.cals["bob"].live().items()}
    assert cals.problems == [], "\n".join(cals.problems)
    assert cals.wording == [], "\n".join(cals.wording)
