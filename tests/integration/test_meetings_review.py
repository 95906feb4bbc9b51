"""Meetings and memberships where a black-box review found leernet doing
the literal thing rather than what people need: a network left without a
lead, a move that changes nothing, an answer to a version never sent, a
member whose mailbox was full while the meeting moved.  Each test failed
before its fix."""

from __future__ import annotations


import pytest

from mailstack import address, pid_alive
from meetings_kit import AUTHSERV, SLUG, TITLE, Meet, fixture_reply, outlook_reply


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV,
                       organization_announce="carol@school.test")
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", SLUG, "--title", TITLE,
                "--lead", "lead@school.test")
    return Meet(stack, run_leernet, cfg)


def alice_and_a_meeting(meet) -> int:
    """alice a member, meeting 14 May 15:00-17:00 in Lokaal 3 planned and
    its invitations read; its number."""
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.invites("alice"), meet.invites("lead"), meet.new("lead")
    return n


def answer(meet, who, n, fixture, sequence):
    """who answers meeting n from Outlook with this fixture's PARTSTAT."""
    ics = fixture_reply(fixture, meet.uid(n), sequence, address(who))
    meet.raw(who, outlook_reply(address(who), ics, "Antwoord: bijeenkomst"))
    meet.once()


def member_state(meet, who):
    with meet.db() as db:
        return db.execute(
            "SELECT m.role, m.state FROM memberships m JOIN people p ON"
            " p.id = m.person_id WHERE p.email = ?", (address(who),)).fetchone()


def test_the_only_lead_cannot_leave_a_co_lead_can(meet):
    meet.join("alice")
    meet.mail("lead", f"afmelden {SLUG}")
    meet.once()
    meet.one("lead", "enige trekker", f"trekker {SLUG}", f"sluit {SLUG}",
             "niets veranderd")
    assert member_state(meet, "lead") == ("lead", "active")
    # The List-Unsubscribe of a digest sends the same: same answer.
    meet.mail("lead", f"afmelden {SLUG}", headers={"Subject": f"afmelden {SLUG}"})
    meet.once()
    meet.one("lead", "enige trekker")

    # With a co-lead, leaving works.
    meet.mail("lead", f"trekker {SLUG} {address('alice')}")
    meet.once()
    meet.new("lead"), meet.new("alice")
    meet.mail("lead", f"afmelden {SLUG}")
    meet.once()
    meet.one("lead", subject="^Afgemeld voor ")
    assert member_state(meet, "lead")[1] == "left"


def test_a_move_to_the_same_time_and_place_changes_nothing(meet):
    n = alice_and_a_meeting(meet)
    answer(meet, "alice", n, "outlook-accept.ics", 0)
    assert meet.counts(n)[0] == 1

    meet.mail("lead", f"verplaats {SLUG} {n}",
              "datum: 14-05-2027\ntijd: 15:00-17:00\nlocatie: Lokaal 3\n")
    meet.once()
    meet.one("lead", "staat al op", "niets veranderd")
    assert meet.invites("alice") == []
    assert meet.meeting(n)["sequence"] == "0"
    assert meet.counts(n)[0] == 1                 # alice's yes is kept


def test_an_answer_to_a_higher_sequence_does_not_block_later_answers(meet):
    n = alice_and_a_meeting(meet)
    answer(meet, "alice", n, "outlook-accept.ics", 5)
    assert meet.counts(n)[0] == 1
    meet.mail("lead", f"verplaats {SLUG} {n}", "tijd: 16:00-18:00\n")
    meet.once()
    meet.new("lead")
    [inv] = meet.invites("alice")
    assert inv.sequence == 1
    answer(meet, "alice", n, "outlook-decline-nl.ics", 1)
    assert meet.counts(n)[:2] == (0, 1)


def test_a_member_who_bounced_gets_what_was_sent_meanwhile(meet):
    meet.join("alice", "bob")
    n1 = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    for who in ("alice", "bob", "lead"):
        meet.invites(who), meet.new(who)
    # alice's mailbox fails (a 5.x.x DSN, as in test_inbound's bounces).
    with meet.db() as db:
        db.execute("UPDATE people SET bouncing = 1, bounce_reason = 'full'"
                   " WHERE email = ?", (address("alice"),))
    meet.mail("lead", f"verplaats {SLUG} {n1}", "tijd: 16:00-18:00\n")
    meet.once()
    n2 = meet.plan("21-05-2027", "15:00-17:00", "Aula")
    meet.new("lead")
    assert meet.invites("alice") == []
    assert sorted(i.sequence for i in meet.invites("bob")) == [0, 1]

    # She answers a calendar mail from before: she is back, and gets both
    # meetings as they stand now.
    answer(meet, "alice", n1, "outlook-accept.ics", 0)
    got = {(i.uid, i.sequence) for i in meet.invites("alice")}
    assert got == {(meet.uid(n1), 1), (meet.uid(n2), 0)}, got
    with meet.db() as db:
        assert db.execute("SELECT bouncing FROM people WHERE email = ?",
                          (address("alice"),)).fetchone() == (0,)


def test_writing_again_after_bouncing_brings_the_cancellation(meet):
    n1 = alice_and_a_meeting(meet)
    with meet.db() as db:
        db.execute("UPDATE people SET bouncing = 1 WHERE email = ?", (address("alice"),))
    meet.mail("lead", f"annuleer {SLUG} {n1}")
    meet.once()
    meet.new("lead")
    assert meet.invites("alice") == []
    meet.mail("alice", "hulp")
    meet.once()
    [cancel] = meet.invites("alice")
    assert cancel.method == "CANCEL"
    # Said as what happened: the lead cancelled it, not "off for you".
    words = " ".join(cancel.msg.get_body(preferencelist=("plain",)).get_content().split())
    assert "de netwerktrekker heeft haar geannuleerd" in words, words
    meet.one("alice", subject="Hulp|Help")


def test_attendance_for_a_meeting_still_to_come_is_flagged(meet):
    n = alice_and_a_meeting(meet)
    meet.mail("lead", f"presentie {SLUG} {n}", f"{address('alice')}\n")
    meet.once()
    meet.one("lead", "Aanwezig (1)", "nog niet geweest", f"status {SLUG}")


def test_a_proposal_with_the_title_of_an_open_network_points_to_it(meet):
    meet.mail("alice", f"nieuw netwerk {TITLE}", "Hoe automatiseren we?")
    meet.mail("bob", "start " + TITLE.upper(), "How do we automate?")
    meet.once()
    meet.one("alice", f'al een leernetwerk met de titel "{TITLE}"', f"aanmelden {SLUG}")
    meet.one("bob", "already a learning network", f"join {SLUG}")
    meet.nothing("femme", "donna")
    with meet.db() as db:
        assert db.execute("SELECT count(*) FROM networks").fetchone() == (1,)


def test_person_reset_sends_what_was_missed(meet):
    meet.join("alice")
    with meet.db() as db:
        db.execute("UPDATE people SET bouncing = 1 WHERE email = ?", (address("alice"),))
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("lead"), meet.invites("lead")
    assert meet.invites("alice") == []
    out = meet.run(meet.cfg, "person", "reset", address("alice")).stdout
    assert "bouncing cleared" in out
    meet.once()
    [inv] = meet.invites("alice")
    assert (inv.uid, inv.sequence, inv.method) == (meet.uid(n), 0, "REQUEST")


def test_a_proposal_goes_out_without_the_signature(meet):
    meet.mail("alice", "nieuw netwerk Samen lezen",
              "Hoe lezen kinderen beter samen?\n\nMet vriendelijke groet, Piet Jansen,"
              " Leerkracht groep 5 | De Regenboog\nTel. 06-12345678\n")
    meet.once()
    meet.one("alice", subject="^Voorstel ontvangen")
    mod = meet.one("femme", "Hoe lezen kinderen beter samen?")
    body = mod.get_body(preferencelist=("plain",)).get_content()
    assert "Piet Jansen" not in body and "06-12345678" not in body
    assert f"\n<{address('alice')}> stelt een nieuw leernetwerk voor" in body


def test_an_answer_to_mail_without_a_subject_has_one(meet):
    meet.mail("alice", "", "aanmelden rekene\n")
    meet.once()
    msg = meet.one("alice", "aanmelden rekenen")
    assert msg["Subject"] == "Re: je bericht"


def test_a_zone_calendars_cannot_carry_is_refused_up_front(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_timezone="Africa/Casablanca")
    proc = run_leernet(cfg, "check-config", check=False)
    assert proc.returncode == 78, proc.stdout + proc.stderr
    assert "[organization] timezone" in proc.stderr and "Africa/Casablanca" in proc.stderr
    assert run_leernet(cfg, "once", check=False).returncode == 78


def test_a_password_command_that_does_not_exist_is_a_config_error(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, mailbox_password=None,
                       mailbox_password_command="/nonexistent/token-helper --for lido")
    run_leernet(cfg, "init")
    proc = run_leernet(cfg, "once", check=False)
    assert proc.returncode == 78, proc.stdout + proc.stderr
    assert "/nonexistent/token-helper" in proc.stderr


def test_a_password_command_that_hangs_is_given_up_after_30_seconds(
        stack, tmp_path, run_leernet):
    """A token helper whose own server is away hung `once` for ever, holding
    the database lock: every later run exited 75.  It is stopped (with what
    it started) after 30 s, as a failure for now."""
    import time
    pidfile = tmp_path / "started"
    helper = tmp_path / "token-helper"
    helper.write_text(f"#!/bin/sh\nsleep 120 &\necho $! > {pidfile}\nsleep 120\n"
                      "echo late\n")
    helper.chmod(0o755)
    cfg = stack.config(tmp_path, mailbox_password=None,
                       mailbox_password_command=str(helper))
    run_leernet(cfg, "init")
    began = time.monotonic()
    proc = run_leernet(cfg, "once", check=False, timeout=90)
    took = time.monotonic() - began
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert f"password_command: '{helper}' did not finish within 30 s" in proc.stderr
    assert 29 < took < 60, took
    # The lock is free again, and what the helper started is gone.
    assert run_leernet(cfg, "digest", check=False).returncode == 0
    assert not pid_alive(int(pidfile.read_text().strip()))


def test_a_database_directory_not_made_yet_is_named(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, database_path=str(tmp_path / "state" / "leernet.db"))
    proc = run_leernet(cfg, "check-config", check=False)
    assert proc.returncode == 78
    assert f"the directory {tmp_path / 'state'} does not exist" in proc.stderr
    assert "install -d -o leernet -g leernet" in proc.stderr


def test_a_forged_display_name_is_not_kept(meet):
    """A From header's name is anyone's to write: one forged mail named a
    lead on every page and invitation, for good (found by a security
    review).  A name is kept only from mail that proves its sender, or
    from the answer to a confirmation code; the lead's own proven mail
    sets hers."""
    def name(who):
        with meet.db() as db:
            return db.execute("SELECT name FROM people WHERE email = ?",
                              (address(who),)).fetchone()[0]

    meet.mail("lead", "hulp", trusted=False,
              headers={"From": f'"Bel 0900-1234 voor je uren" <{address("lead")}>'})
    meet.once()
    assert name("lead") == ""
    meet.mail("lead", f"status {SLUG}",
              headers={"From": f"Lea de Trekker <{address('lead')}>"})
    meet.once()
    assert name("lead") == "Lea de Trekker"
    meet.mail("lead", "hulp", trusted=False,
              headers={"From": f'"Bel 0900-1234" <{address("lead")}>'})
    meet.once()
    assert name("lead") == "Lea de Trekker"
    assert "0900" not in meet.run(meet.cfg, "member", "list", SLUG, "--csv").stdout

    # Without proof, joining takes a confirmation: its answer names her.
    meet.mail("alice", f"aanmelden {SLUG}", trusted=False,
              headers={"From": f"Alice Jansen <{address('alice')}>"})
    meet.once()
    assert name("alice") == ""
    code = meet.one("alice", subject="Bevestig")
    refs = (code.get("References", "") + " " + code["Message-ID"]).strip()
    meet.mail("alice", "Re: " + code["Subject"], "ja\n", trusted=False,
              headers={"From": f"Alice Jansen <{address('alice')}>",
                       "In-Reply-To": code["Message-ID"], "References": refs})
    meet.once()
    meet.one("alice", subject="Welkom")
    assert name("alice") == "Alice Jansen"


def test_who_joined_after_a_cancellation_is_not_waited_for(meet):
    """meeting list counted carol as needs_action for a meeting cancelled
    before she joined: she was never asked."""
    n1 = alice_and_a_meeting(meet)
    n2 = meet.plan("21-05-2027", "15:00-17:00")
    meet.invites("alice"), meet.invites("lead"), meet.new("lead")
    dave = meet.stack.add_user("counts-dave")
    meet.mail(dave, f"volg {SLUG}")            # a follower, not asked
    meet.mail("lead", f"annuleer {SLUG} {n1}")
    meet.once()
    meet.invites("alice"), meet.invites("lead"), meet.new("lead"), meet.new(dave)
    assert meet.counts(n1) == (0, 0, 0, 2)
    with meet.db() as db:     # they joined, then it was cancelled, a while ago
        db.execute("UPDATE memberships SET since = since - 120")
        db.execute("UPDATE meetings SET updated = updated - 60 WHERE number = ?",
                   (n1,))
    meet.join("carol", dave)                   # dave: from follower to member
    assert meet.counts(n1) == (0, 0, 0, 2)     # alice and the lead
    assert meet.counts(n2) == (0, 0, 0, 4)     # carol and dave were invited


def test_reset_and_retry_send_a_bounced_invitation_once(meet):
    """The coordinators' digest names both `outbox retry` and `person
    reset`; doing both sent the same invitation twice, and a retry alone
    sent it to an address still marked bouncing.  Found by the coordinators'
    school-year round (fifteenth session)."""
    meet.join("alice", "bob")
    meet.stack.reject("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    with meet.db() as db:
        assert db.execute("SELECT bouncing FROM people WHERE email = ?",
                          (address("alice"),)).fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM outbox WHERE rcpt = ? AND state = 'failed'",
                          (address("alice"),)).fetchone() == (1,)
    out = meet.run(meet.cfg, "outbox", "retry").stdout
    assert "1 invitation to addresses marked bouncing stays as it is" in out, out
    meet.once()
    meet.stack.unreject("alice")
    meet.run(meet.cfg, "person", "reset", address("alice"))
    meet.run(meet.cfg, "outbox", "retry")
    meet.once()
    got = [(i.uid, i.sequence) for i in meet.invites("alice")]
    assert got == [(meet.uid(n), 0)], got


def test_an_admin_removes_a_lead_who_left(meet):
    """A lead who left the foundation stayed "lead active": reminders and
    invitations kept coming, a coordinator's `afmelden` was "je bent geen
    deelnemer", and the command line had no way.  Found by the
    coordinators' school-year round (fifteenth session)."""
    meet.join("alice")
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    for who in ("alice", "lead"):
        meet.invites(who), meet.new(who)
    out = meet.run(meet.cfg, "member", "remove", SLUG, "lead@school.test", check=False)
    assert out.returncode == 65 and "the only lead of" in out.stderr, out.stderr
    with meet.db() as db:       # a co-lead, as `trekker` makes one
        db.execute("UPDATE memberships SET role = 'lead' WHERE person_id ="
                   " (SELECT id FROM people WHERE email = ?)", (address("alice"),))
    out = meet.run(meet.cfg, "member", "remove", SLUG, "LEAD@school.test")
    assert f"lead@school.test removed from {SLUG}" in out.stdout, out.stdout
    meet.once()
    [cancel] = meet.invites("lead")
    assert (cancel.method, cancel.uid) == ("CANCEL", meet.uid(n))
    meet.nothing("alice")
    rows = meet.run(meet.cfg, "member", "list", SLUG, "--csv").stdout.splitlines()
    assert [r.split(",")[2:] for r in rows if r.startswith("lead@")] == [["member", "left"]], rows
    again = meet.run(meet.cfg, "member", "remove", SLUG, "lead@school.test")
    assert "is not in" in again.stdout


def test_a_member_made_lead_is_not_invited_again(meet):
    """`trekker rekenen alice@…` for a member: every future meeting's
    invitation came a second time.  Found by the coordinators' school-year
    round (fifteenth session)."""
    meet.join("alice")
    meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    assert len(meet.invites("alice")) == 1
    meet.new("alice"), meet.new("lead")
    meet.mail("lead", f"trekker {SLUG} alice@school.test")
    meet.once()
    assert meet.invites("alice") == []
    meet.one("alice", "trekker")
    rows = meet.run(meet.cfg, "member", "list", SLUG, "--csv").stdout.splitlines()
    assert [r.split(",")[2:] for r in rows if r.startswith("alice@")] == [["lead", "active"]]


def test_member_remove_calls_off_a_pending_join_and_cancels_only_invitations(meet):
    """`member remove` of someone whose join waited for its confirmation:
    their later "ja" made them a member after all; and a follower, or that
    pending member, got a cancellation for a meeting never sent to them.
    Found by the upgrade round (fifteenth session)."""
    meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    meet.new("lead")
    meet.mail("alice", f"aanmelden {SLUG}", trusted=False)     # a code to confirm
    meet.mail("carol", f"volg {SLUG}")
    meet.once()
    got = meet.new("alice")
    confirms = [m for m in got if m["Subject"].startswith("Bevestig")]
    assert len(confirms) == 1, [m["Subject"] for m in got]
    confirm = confirms[0]
    meet.new("carol")
    for who in ("alice", "carol"):
        out = meet.run(meet.cfg, "member", "remove", SLUG, f"{who}@school.test")
        assert "removed" in out.stdout, out.stdout
    meet.once()
    meet.nothing("alice", "carol")
    meet.reply("alice", confirm, "ja")
    meet.once()
    assert meet.invites("alice") == []
    rows = meet.run(meet.cfg, "member", "list", SLUG, "--csv").stdout
    assert [r.split(",")[2:] for r in rows.splitlines() if r.startswith(("alice", "carol"))] \
        == [["member", "left"], ["follower", "left"]], rows
