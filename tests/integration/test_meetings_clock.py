"""Meetings as time goes by, against the real Postfix + Dovecot: leernet
runs on a clock moved with libfaketime (Meet.at, UTC), the mail servers on
the real one.  A meeting that was held (over, with who came recorded) can
no longer be moved or cancelled;
a confirmation that comes in days later is checked against the clock
again; no attendance reminder once the lead sent the list; "14 mei 27".

Found by the time audit of the ninth session: each of these failed on the
binary before it."""

from __future__ import annotations

import csv
import io

import pytest

from meetings_kit import AUTHSERV, HOURS_CSV, SLUG, TITLE, Meet, has_calendar, text


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", SLUG, "--title", TITLE,
                "--lead", "lead@school.test")
    return Meet(stack, run_leernet, cfg)


def hours(meet, year) -> list[dict]:
    out = meet.run(meet.cfg, "report", "hours", "--year", year, "--csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == HOURS_CSV, rows[0]
    return [dict(zip(HOURS_CSV, r)) for r in rows[1:]]


def answer(meet, who="lead") -> str:
    """The one answer `who` got (leaving invitations aside: leads are
    invited too), as one line of text."""
    got = [m for m in meet.new(who) if not has_calendar(m)]
    assert len(got) == 1, [m["Subject"] for m in got]
    return " ".join(text(got[0]).split())


def held_meeting(meet) -> int:
    """Meeting on Saturday 31 July 2027 15:00-17:00, alice and bob there
    (the lead said so on Monday 2 August); leernet's clock then."""
    meet.join("alice", "bob")
    n = meet.plan("31-07-2027", "15:00-17:00", "Lokaal 1")
    for w in ("alice", "bob", "lead"):
        meet.new(w)
    meet.at = "2027-08-02 12:00:00"
    meet.mail("lead", f"presentie {SLUG} {n}", "alice@school.test\nbob@school.test\n")
    meet.once()
    meet.new("lead")
    assert [r["email"] for r in hours(meet, "2026")] == \
        ["alice@school.test", "bob@school.test"]
    return n


def test_a_meeting_that_is_over_cannot_be_cancelled(meet):
    """It was: members got a CANCEL for a day gone by, and the hours of
    those who came vanished from `report hours`."""
    n = held_meeting(meet)
    meet.mail("lead", f"annuleer {SLUG} {n}")
    meet.once()
    said = answer(meet)
    assert f'Bijeenkomst {n} van "{TITLE}" was zaterdag 31 juli 2027' in said, said
    assert "verplaatsen of annuleren kan niet meer" in said, said
    assert f'"presentie {SLUG} {n}"' in said, said
    assert meet.new("alice") == [] and meet.new("bob") == []
    assert meet.meeting(n)["status"] == "planned"
    assert len(hours(meet, "2026")) == 2


def test_a_meeting_that_is_over_cannot_be_moved(meet):
    """By command, with only a new location (no time was checked at all),
    or to a date ahead (its attendance would count for a day to come), or
    by replying to the invitation."""
    n = held_meeting(meet)
    meet.mail("lead", f"verplaats {SLUG} {n}", "locatie: Aula\n")
    meet.once()
    assert "is voorbij" in answer(meet)
    meet.mail("lead", f"verplaats {SLUG} {n}", "datum: 01-09-2027\ntijd: 15:00-17:00\n")
    meet.once()
    assert "is voorbij" in answer(meet)
    invitation = meet.all_invites("lead")[-1].msg
    meet.reply("lead", invitation, "datum: 01-09-2027")
    meet.once()
    assert "is voorbij" in answer(meet)
    assert meet.new("alice") == []
    row = meet.meeting(n)
    assert (row["sequence"], row["location"]) == ("0", "Lokaal 1"), row


def test_a_late_confirmation_does_not_plan_in_the_past(meet):
    """Without DMARC proof the lead confirms by reply (a code lasts 7
    days).  Confirmed after the day it names, the meeting was planned all
    the same, with invitations and at once an attendance reminder."""
    meet.join("alice")
    meet.new("alice")
    meet.mail("lead", f"bijeenkomst {SLUG}",
              "datum: 26-11-2026\ntijd: 15:00-17:00\nlocatie: Lokaal 3\n", trusted=False)
    meet.at = "2026-11-25 12:00:00"
    meet.once()
    [conf] = meet.new("lead")
    assert "(code " in conf["Subject"]
    meet.at = "2026-11-28 12:00:00"
    meet.reply("lead", conf, "ja", trusted=False)
    meet.once()
    said = answer(meet)
    assert "Donderdag 26 november 2026 om 15:00 ligt in het verleden" in said, said
    assert meet.meetings() == []
    assert meet.new("alice") == []


def test_a_late_confirmation_does_not_move_into_the_past(meet):
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("alice"), meet.new("lead")
    meet.at = "2026-11-25 12:00:00"
    meet.mail("lead", f"verplaats {SLUG} {n}", "datum: 26-11-2026\n", trusted=False)
    meet.once()
    [conf] = meet.new("lead")
    meet.at = "2026-11-28 12:00:00"
    meet.reply("lead", conf, "ja", trusted=False)
    meet.once()
    assert "ligt in het verleden" in answer(meet)
    assert meet.new("alice") == []
    assert meet.meeting(n)["start"] == "2027-05-14T15:00:00+02:00"


def test_a_late_confirmation_of_a_cancel_is_refused_once_it_was_held(meet):
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("alice"), meet.new("lead")
    meet.at = "2027-05-13 12:00:00"
    meet.mail("lead", f"annuleer {SLUG} {n}", trusted=False)
    meet.once()
    [conf] = meet.new("lead")
    meet.at = "2027-05-14 16:00:00"           # 18:00: over; the list is sent
    meet.mail("lead", f"presentie {SLUG} {n}", "alice@school.test\n")
    meet.once()
    meet.new("lead")
    meet.at = "2027-05-15 12:00:00"
    meet.reply("lead", conf, "ja", trusted=False)
    meet.once()
    [said] = answers_of(meet)
    assert "is voorbij" in said, said
    assert meet.new("alice") == []
    assert meet.meeting(n)["status"] == "planned"


def test_a_meeting_that_is_over_without_a_list_can_be_cancelled(meet):
    """Over, and nobody said who came: it may not have taken place.  The
    lead can still cancel it (members' calendars then show it so, and no
    attendance reminder follows)."""
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("alice"), meet.new("lead")
    meet.at = "2027-05-14 15:30:00"           # 17:30: over
    meet.mail("lead", f"annuleer {SLUG} {n}")
    meet.once()
    assert meet.meeting(n)["status"] == "cancelled"
    [cancel] = meet.invites("alice")
    assert cancel.method == "CANCEL"
    assert all("presentie" not in m["Subject"] for m in meet.new("lead"))


def answers_of(meet, who="lead") -> list[str]:
    return [" ".join(text(m).split()) for m in meet.new(who)
            if not has_calendar(m) and "presentie" not in m["Subject"]]


def test_no_attendance_reminder_once_the_list_is_in(meet):
    """The lead sends `presentie` at the end of the session; the reminder
    came all the same, with every member listed, and replying to it as it
    was counted everyone."""
    meet.join("alice", "bob")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    for w in ("alice", "bob", "lead"):
        meet.new(w)
    meet.at = "2027-05-14 14:45:00"           # 16:45 in Amsterdam
    meet.mail("lead", f"presentie {SLUG} {n}", "alice@school.test\n")
    meet.once()
    assert "alice" in answer(meet)
    meet.at = "2027-05-14 15:05:00"           # 17:05: over
    meet.once()
    assert meet.new("lead") == []
    assert [r["email"] for r in hours(meet, "2026")] == ["alice@school.test"]


def test_the_reminder_still_comes_without_a_list(meet):
    """The guard of the test above: the same meeting without a list."""
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("alice"), meet.new("lead")
    meet.at = "2027-05-14 15:05:00"
    meet.once()
    [rem] = meet.new("lead")
    assert f"presentie {SLUG} {n}" in rem["Subject"], rem["Subject"]


def test_a_two_digit_year_after_a_month_name(meet):
    """"14-05-27" was 2027, "14 mei 27" was not understood."""
    meet.mail("lead", f"bijeenkomst {SLUG}", "datum: 14 mei 27\ntijd: 15:00-17:00\n")
    meet.once()
    assert "begrijp ik niet" not in answer(meet)
    [row] = meet.meetings()
    assert row["start"] == "2027-05-14T15:00:00+02:00"


def test_a_network_closed_after_its_last_meeting_still_counts_its_hours(meet):
    """The lead closes the network the evening of its last meeting, before
    sending who came: `presentie` was refused ("het netwerk is niet open"),
    the reminder never came, and the meeting's hours were lost for good.
    Found by the coordinators' school-year round (fifteenth session)."""
    meet.join("alice", "bob")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    for w in ("alice", "bob", "lead"):
        meet.new(w)
    meet.at = "2027-05-14 17:00:00"           # 19:00 in Amsterdam
    meet.mail("lead", f"sluit {SLUG}", "Klaar voor dit jaar.\n")
    meet.once()
    got = {m["Subject"]: " ".join(text(m).split())
           for m in meet.new("lead") if not has_calendar(m)}
    [done] = [t for s, t in got.items() if s.startswith("Afgesloten")]
    assert f"presentie {SLUG} {n}" in done, done
    # and the reminder, as for an open network
    assert any(s.startswith(f"presentie {SLUG} {n}") for s in got), list(got)
    [row] = meet.meetings()
    assert row["status"] == "planned", row     # held, not cancelled
    shown = meet.run(meet.cfg, "person", "show", "lead@school.test").stdout
    assert f"{SLUG} (lead, active; network closed)" in shown, shown
    meet.at = "2027-05-15 08:00:00"
    meet.mail("lead", f"presentie {SLUG} {n}", "alice@school.test\n")
    meet.once()
    assert "niet open" not in answer(meet)
    assert [r["email"] for r in hours(meet, "2026")] == ["alice@school.test"]
    # The year as the report names it; and on 5 August, "this year" is
    # empty and says where the year just ended is.
    assert [r["email"] for r in hours(meet, "2026-27")] == ["alice@school.test"]
    meet.at = "2027-08-05 08:00:00"
    out = meet.run(meet.cfg, "report", "hours")
    assert "school year 2027-28" in out.stdout
    assert "no attendance recorded in school year 2027-28 yet; the year before: " \
        "--year 2026" in out.stderr, out.stderr
    bad = meet.run(meet.cfg, "report", "hours", "--year", "2026-28", check=False)
    assert bad.returncode == 64


def test_a_closed_network_takes_no_new_meeting(meet):
    """The guard of the test above: only attendance is taken once closed;
    `bijeenkomst` is still refused, and the answer about a meeting the
    close cancelled does not say to plan a new one."""
    n = meet.plan("21-05-2027", "15:00-17:00", "Lokaal 3")
    meet.at = "2027-05-14 17:00:00"
    meet.mail("lead", f"sluit {SLUG}")
    meet.once()
    meet.new("lead")
    meet.mail("lead", f"presentie {SLUG} {n}", "alice@school.test\n")
    meet.once()
    said = answer(meet)
    assert "geannuleerd" in said and "Een nieuwe bijeenkomst" not in said, said
    meet.mail("lead", f"bijeenkomst {SLUG}", "datum: 21-05-2027\ntijd: 15:00-17:00\n")
    meet.once()
    assert "afgesloten" in answer(meet)
    assert [m["status"] for m in meet.meetings()] == ["cancelled"]


def test_notes_and_senders_are_not_kept_for_ever(meet):
    """Nothing was ever deleted: the notes typed with calendar answers
    ("Ik ben ziek, burn-out") stayed after the meeting, where nobody is
    shown them, and the sender and Subject of every mail handled stayed
    for good.  Storage limitation (AVG); found by the privacy review
    (fifteenth session)."""
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    with meet.db() as db:
        db.execute("INSERT INTO rsvps (meeting_id, person_id, partstat, comment,"
                   " updated) SELECT m.id, p.id, 'declined', 'Ik ben ziek', 0"
                   " FROM meetings m, people p WHERE m.number = ? AND"
                   " p.email = ?", (n, "alice@school.test"))
    with meet.db() as db:
        assert db.execute("SELECT count(*) FROM processed WHERE sender = ?",
                          ("alice@school.test",)).fetchone()[0] > 0
        handled = db.execute("SELECT count(*) FROM processed").fetchone()[0]
    meet.at = "2027-05-14 18:00:00"            # the evening of the meeting
    meet.mail("lead", f"status {SLUG}")
    meet.once()
    with meet.db() as db:
        # the meeting is hours ago: its leads may still look
        assert db.execute("SELECT comment FROM rsvps").fetchall() == [("Ik ben ziek",)]
        # handled in November 2026, more than keep_sent_days (30) ago:
        # the record stays (handled once), sender and Subject go
        rows = db.execute("SELECT sender, subject FROM processed").fetchall()
        assert len(rows) == handled + 1
        assert [r for r in rows if r != ("", "")] == [("lead@school.test", "")], rows
    meet.at = "2027-05-16 08:00:00"            # the day after
    meet.once()
    with meet.db() as db:
        assert db.execute("SELECT comment FROM rsvps").fetchall() == [("",)]
        assert db.execute("SELECT sender FROM processed WHERE sender <> ''"
                          ).fetchall() == [("lead@school.test",)]
