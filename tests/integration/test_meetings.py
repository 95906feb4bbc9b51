"""Meetings (issue 5) against the real Postfix + Dovecot: the invitations
people receive, read back by python3-icalendar and zoneinfo property by
property; moves and cancellations; who gets what.

RSVPs: test_meetings_rsvp.py.  Proof of sender, date errors, attendance
and hours: test_meetings_lead.py.
"""

from __future__ import annotations

import re

import pytest

from mailstack import address
from meetings_kit import (AUTHSERV, SLUG, TITLE, Invite, Meet, has_calendar,
                          text)

MEMBERS = ("alice", "bob")


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", SLUG, "--title", TITLE,
                "--lead", "lead@school.test")
    return Meet(stack, run_leernet, cfg)


def test_invitations_on_both_sides_of_both_dst_changes(meet):
    """2027: summer time starts Sunday 28 March, ends Sunday 31 October.
    A meeting on the Saturday before and the Monday after each change:
    the UTC instant moves by an hour, the wall-clock time does not."""
    meet.join(*MEMBERS)
    days = {
        "27-03-2027": ("2027-03-27T15:00", "2027-03-27T16:30", "+01:00"),
        "29-03-2027": ("2027-03-29T15:00", "2027-03-29T16:30", "+02:00"),
        "30-10-2027": ("2027-10-30T15:00", "2027-10-30T16:30", "+02:00"),
        "01-11-2027": ("2027-11-01T15:00", "2027-11-01T16:30", "+01:00"),
    }
    for day in days:
        meet.mail("lead", f"bijeenkomst {SLUG}",
                  f"datum: {day}\ntijd: 15:00-16:30\nlocatie: Lokaal 3\n")
    meet.once()

    # Postfix may deliver the four mails in any order: by start.
    rows = sorted(meet.meetings(), key=lambda r: r["start"])
    assert sorted(r["number"] for r in rows) == ["1", "2", "3", "4"]
    for row, (start, end, off) in zip(rows, days.values()):
        assert row["start"] == f"{start}:00{off}"
        assert row["end"] == f"{end}:00{off}"
        assert (row["status"], row["sequence"]) == ("planned", "0")
        assert row["location"] == "Lokaal 3"
        assert row["needs_action"] == "3"       # alice, bob and the lead
    uids = [meet.uid(int(r["number"])) for r in rows]
    assert len(set(uids)) == 4

    utc_hours = []
    for who in MEMBERS + ("lead",):
        invs = meet.invites(who)
        assert len(invs) == 4, [i.msg["Subject"] for i in invs]
        by_uid = {i.uid: i for i in invs}
        assert set(by_uid) == set(uids)
        for uid, (start, end, _) in zip(uids, days.values()):
            inv = by_uid[uid].check(who, "REQUEST", 0, start, end, uid=uid,
                                    location="Lokaal 3")
            assert inv.msg["From"].addresses[0].addr_spec == address("lido")
            if who == "alice":
                utc_hours.append(inv.start().hour)
    # 15:00 local is 14:00 UTC in winter time and 13:00 UTC in summer time.
    assert utc_hours == [14, 13, 13, 14]
    # The lead was told of each, in mail without a calendar.
    done = meet.new("lead")
    assert [m["Subject"].split(":")[0] for m in done] == ["Gepland"] * 4
    assert not any(has_calendar(m) for m in done)


def test_invitation_text_and_one_message_per_attendee(meet, stack):
    meet.join(*MEMBERS)
    meet.mail("lead", f"bijeenkomst {SLUG}",
              "datum: 14 mei 2027\ntijd: 15.00 tot 17.00\n"
              "locatie: De Regenboog, lokaal 3\nonderwerp: Automatiseren\n")
    meet.once()
    uid = meet.uid(1)
    for who in MEMBERS + ("lead",):
        got = [m for m in meet.new(who) if has_calendar(m)]
        assert len(got) == 1
        msg = got[0]
        # One person per message; nobody sees another school's address.
        assert msg["To"].addresses[0].addr_spec == address(who)
        assert msg["Cc"] is None and msg["Bcc"] is None
        assert msg["Auto-Submitted"] == "auto-generated"
        raw = msg.raw.decode(errors="replace")
        for other in MEMBERS + ("lead",):
            if other != who:
                assert address(other) not in raw
        body = " ".join(text(msg).split())
        assert "vrijdag 14 mei 2027, 15:00–17:00" in body
        assert "De Regenboog, lokaal 3" in body
        assert "Automatiseren" in body
        inv = Invite(msg).check(who, "REQUEST", 0, "2027-05-14T15:00",
                                "2027-05-14T17:00", uid=uid,
                                location="De Regenboog, lokaal 3")
        assert str(inv.ev["DESCRIPTION"]) == "Automatiseren"
        assert "bijeenkomst 1" in str(inv.ev["SUMMARY"])
    # Postfix saw one recipient per message leernet sent: three
    # invitations and the lead's "planned" answer.
    ours = re.findall(r"from=<lido@school\.test>, size=\d+, nrcpt=(\d+)",
                      stack.postfix_log())
    assert len(ours) >= 4 and set(ours) == {"1"}, ours


def test_three_moves_then_cancel(meet):
    """Every member's inbox ends with REQUEST 0, 1, 2, 3 and CANCEL 4 for
    one UID; moves by `verplaats SLUG N` and by replying to the invitation
    with datum:/tijd:/locatie: lines."""
    meet.join(*MEMBERS)
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    uid = meet.uid(n)
    steps = [("REQUEST", 0, "2027-05-14T15:00", "2027-05-14T17:00", "Lokaal 3")]

    # 1. verplaats SLUG N with new datum and tijd lines
    meet.mail("lead", f"verplaats {SLUG} {n}", "datum: 21-05-2027\ntijd: 15:30-17:30\n")
    meet.once()
    steps.append(("REQUEST", 1, "2027-05-21T15:30", "2027-05-21T17:30", "Lokaal 3"))

    # 2. a plain reply to the invitation with a datum: line (the time and
    #    the duration stay)
    invitation = _latest_invite(meet, "lead", uid)
    meet.reply("lead", invitation, "datum: 28-05-2027")
    meet.once()
    steps.append(("REQUEST", 2, "2027-05-28T15:30", "2027-05-28T17:30", "Lokaal 3"))

    # 3. a reply to the newest invitation in English, new time and room
    invitation = _latest_invite(meet, "lead", uid)
    meet.reply("lead", invitation, "time: 09:00-10:00\nlocation: Aula")
    meet.once()
    steps.append(("REQUEST", 3, "2027-05-28T09:00", "2027-05-28T10:00", "Aula"))

    # 4. annuleer SLUG N
    meet.mail("lead", f"annuleer {SLUG} {n}")
    meet.once()
    steps.append(("CANCEL", 4, "2027-05-28T09:00", "2027-05-28T10:00", None))

    for who in MEMBERS + ("lead",):
        invs = meet.all_invites(who)
        assert [(i.method, i.sequence) for i in invs] == \
            [(s[0], s[1]) for s in steps], who
        for inv, (method, seq, start, end, loc) in zip(invs, steps):
            inv.check(who, method, seq, start, end, uid=uid, location=loc)
        assert "Vervalt" in invs[-1].msg["Subject"]
        assert "Gewijzigd" in invs[2].msg["Subject"]
        meet.new(who)
    row = meet.meeting(n)
    assert (row["status"], row["sequence"]) == ("cancelled", "4")
    assert row["start"] == "2027-05-28T09:00:00+02:00"
    assert row["location"] == "Aula"
    # The lead got one answer per change: planned, 3 x moved (the one in
    # English in English), cancelled.
    # (Sorted: IMAP UIDs are no delivery order here, see all_invites.)
    answers = [m["Subject"] for m in meet.stack.inbox("lead") if not has_calendar(m)]
    assert sorted(a.split(":")[0] for a in answers if not a.startswith("Welkom")) == \
        ["Geannuleerd", "Gepland", "Moved", "Verplaatst", "Verplaatst"], answers
    # A cancelled meeting cannot be moved any more.
    meet.new("lead")
    meet.mail("lead", f"verplaats {SLUG} {n}", "datum: 04-06-2027\n")
    meet.once()
    meet.one("lead", "is geannuleerd; daar kan niets meer aan veranderen",
             f'plan je met "bijeenkomst {SLUG}"', "Er is niets veranderd")
    meet.nothing(*MEMBERS)


def _latest_invite(meet, who, uid):
    return [i for i in meet.all_invites(who) if i.uid == uid][-1].msg


def test_a_member_replying_to_an_invitation_cannot_move_it(meet):
    meet.join(*MEMBERS)
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    [inv] = meet.invites("alice")
    for who in ("bob", "lead"):
        meet.new(who)
    meet.reply("alice", inv.msg, "datum: 21-05-2027")
    meet.once()
    meet.one("alice", '"verplaats" kan alleen een trekker',
             "Er is niets veranderd", "bewaard voor de coördinatoren")
    row = meet.meeting(n)
    assert (row["sequence"], row["start"]) == ("0", "2027-05-14T15:00:00+02:00")
    meet.nothing("bob", "lead")
    # Her wish for another time reaches people: it was filed as answered.
    assert [f.flags for f in meet.stack.flags("lido")] == [frozenset({"leernet-human"})]


def test_joining_after_a_move_is_an_invitation_not_a_change(meet):
    """A member who joins (or comes back) after the meeting moved gets the
    meeting at its current SEQUENCE, worded as an invitation: it said
    "Gewijzigd: ... is gewijzigd. Dit is de nieuwe afspraak" of a meeting
    they never had.  Those who had it are told of the change."""
    meet.join("alice", "bob")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.mail("lead", f"verplaats {SLUG} {n}", "tijd: 15:30-17:30\n")
    meet.once()
    for who in ("alice", "bob"):
        moved = max(meet.invites(who), key=lambda i: i.sequence)
        assert str(moved.msg["Subject"]).startswith("Gewijzigd: "), who
    meet.mail("bob", f"afmelden {SLUG}")
    meet.once()
    meet.one("bob", subject="^Afgemeld")
    meet.join("carol", "bob")
    for who in ("carol", "bob"):
        [inv] = [i for i in meet.invites(who) if i.method == "REQUEST"]
        assert inv.sequence >= 1, who
        subject, body = str(inv.msg["Subject"]), text(inv.msg)
        assert subject.startswith(f"{TITLE} — bijeenkomst {n}, "), subject
        assert "is gewijzigd" not in body, body


def test_who_gets_what(meet, run_leernet):
    """Join after planning: every future meeting.  Leave: cancellations.
    A move: all current members.  Bouncing: nothing.  Closing: CANCEL for
    what is left.  Leads are invited like members."""
    stack = meet.stack
    meet.join("alice", "bob")
    n1 = meet.plan("14-05-2027", "15:00-17:00")
    n2 = meet.plan("11-06-2027", "15:00-17:00")
    n3 = meet.plan("18-06-2027", "15:00-17:00")
    n4 = meet.plan("25-06-2027", "15:00-17:00")
    meet.mail("lead", f"annuleer {SLUG} {n3}")
    meet.once()
    # n4 lies in the past now (moved there in the database): no
    # invitation for it any more.
    with meet.db() as db:
        db.execute("UPDATE meetings SET start = start - 400 * 86400,"
                   " end = end - 400 * 86400, reminded = 1 WHERE number = ?", (n4,))
    uids = {n: meet.uid(n) for n in (n1, n2, n3, n4)}
    for who in ("alice", "bob", "lead"):
        invs = meet.invites(who)
        got = sorted((i.uid, i.method, i.sequence) for i in invs)
        assert got == sorted([(uids[n1], "REQUEST", 0), (uids[n2], "REQUEST", 0),
                              (uids[n3], "REQUEST", 0), (uids[n4], "REQUEST", 0),
                              (uids[n3], "CANCEL", 1)]), who

    # carol joins late: the future planned meetings only, at their
    # current SEQUENCE.
    meet.mail("carol", f"aanmelden {SLUG}")
    meet.once()
    meet.one("carol", subject="^Welkom")
    invs = meet.invites("carol")
    assert sorted((i.uid, i.method, i.sequence) for i in invs) == \
        sorted([(uids[n1], "REQUEST", 0), (uids[n2], "REQUEST", 0)])
    for i in invs:
        i.check("carol", "REQUEST", 0)
    meet.nothing("alice", "bob")

    # bob leaves: a CANCEL (a higher SEQUENCE) for him alone.
    meet.mail("bob", f"afmelden {SLUG}")
    meet.once()
    meet.one("bob", subject="^Afgemeld")
    invs = meet.invites("bob")
    assert sorted((i.uid, i.method, i.sequence) for i in invs) == \
        sorted([(uids[n1], "CANCEL", 1), (uids[n2], "CANCEL", 1)])
    for i in invs:
        i.check("bob", "CANCEL", 1)
    meet.nothing("alice", "carol")

    # ...and comes back: only a SEQUENCE above his cancellation puts the
    # meetings back into his calendar.
    meet.mail("bob", f"aanmelden {SLUG}")
    meet.once()
    meet.one("bob", subject="^Welkom")
    invs = meet.invites("bob")
    assert sorted((i.uid, i.method, i.sequence) for i in invs) == \
        sorted([(uids[n1], "REQUEST", 2), (uids[n2], "REQUEST", 2)])
    meet.nothing("alice", "carol")

    # A bouncing member gets nothing: a 5.x.x DSN from the mail stack.
    bouncer = stack.bounce_address
    meet.mail(bouncer, f"aanmelden {SLUG}")
    meet.once()             # joins; the welcome and the invitations bounce
    meet.once()             # reads the DSNs
    shown = run_leernet(meet.cfg, "person", "show", bouncer).stdout
    assert "bouncing:  yes" in shown, shown
    sent_before = stack.postfix_log().count(f"to=<{bouncer}>")
    assert sent_before >= 3             # welcome and two invitations

    # A move goes to every current member and lead.
    meet.mail("lead", f"verplaats {SLUG} {n1}", "tijd: 16:00-18:00\n")
    meet.once()
    for who in ("alice", "bob", "carol", "lead"):
        invs = meet.invites(who)
        assert [(i.uid, i.method, i.sequence) for i in invs] == \
            [(uids[n1], "REQUEST", 3)], who
        invs[0].check(who, "REQUEST", 3, "2027-05-14T16:00", "2027-05-14T18:00")
    assert stack.postfix_log().count(f"to=<{bouncer}>") == sent_before
    assert meet.meeting(n1)["sequence"] == "3"

    # Closing the network cancels what is left, for everyone current.
    meet.mail("lead", f"sluit {SLUG}")
    meet.once()
    for who in ("alice", "bob", "carol", "lead"):
        invs = meet.invites(who)
        assert sorted((i.uid, i.method, i.sequence) for i in invs) == \
            sorted([(uids[n1], "CANCEL", 4), (uids[n2], "CANCEL", 3)]), who
        for i in invs:
            i.check(who, "CANCEL", i.sequence)
    assert stack.postfix_log().count(f"to=<{bouncer}>") == sent_before
    # The past meeting stays as it was: only what is left is cancelled.
    assert [(r["number"], r["status"]) for r in meet.meetings()] == [
        (str(n1), "cancelled"), (str(n2), "cancelled"),
        (str(n3), "cancelled"), (str(n4), "planned")]
