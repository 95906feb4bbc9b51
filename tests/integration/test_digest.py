"""Issue 6, the digests, as stories against the real Postfix + Dovecot:
members and followers get what is new in their networks (news, new members,
upcoming meetings with their RSVP counts, new networks), coordinators get
the overview with the delivery problems, nobody is told anything twice,
bouncing addresses get nothing, and the daemon sends them on schedule.
Every digest is read back with Python's email package."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
import urllib.parse
from zoneinfo import ZoneInfo

import pytest

from mailstack import address
from meetings_kit import AUTHSERV, Meet
from outbound_util import check_wire, db, html, outbox, person, reparse, text

AMS = ZoneInfo("Europe/Amsterdam")
NEWS_BODY = ("Beste allemaal,\n\n"
             "Het materiaal voor de eerste bijeenkomst staat op\n"
             "https://intranet.school.test/rekenen?week=1&blad=2 — één map,\n"
             "met <breuken> & zo.\n\nLea")


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV,
                       organization_max_requests_per_hour="1000")
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    run_leernet(cfg, "network", "add", "taal", "--title", "Taal & lezen",
                "--lead", "carol@school.test")
    return Meet(stack, run_leernet, cfg)


def digests(meet, who) -> list:
    return meet.new(who, lambda m: m.get("List-Id", "").startswith("<digest."))


def post(meet, who, subject, body, slug="rekenen"):
    meet.mail(who, f"bericht {slug} {subject}", body)


def in_days(n: int) -> str:
    return (dt.datetime.now(AMS) + dt.timedelta(days=n)).strftime("%d-%m-%Y")


def test_members_and_followers_get_what_is_new_once(meet):
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    time.sleep(1.1)     # times are seconds: Alice joins after the lead did
    meet.join("alice")                               # member
    time.sleep(1.1)     # and Bob after her: joiners of the same second are new to each other
    meet.mail("bob", "follow rekenen")               # follower, in English
    meet.once()
    meet.one("bob", subject="rekenen|Rekenen")
    number = meet.plan(in_days(5), "15:00-17:00", "Lokaal 3")
    post(meet, "lead", "Materiaal voor bijeenkomst één", NEWS_BODY)
    meet.once()
    for who in ("alice", "bob", "lead", "carol", "femme", "donna"):
        meet.new(who)                                # what came before

    # `digest` shows what is due and sends nothing.
    shown = run(cfg, "digest").stdout
    assert "== alice@school.test (nl)" in shown
    assert "== bob@school.test (en)" in shown
    assert "== femme@school.test (nl)" in shown
    assert "nothing sent" in shown
    assert "== carol@school.test" not in shown     # her network has no news
    stack.wait_queue_empty()
    assert digests(meet, "alice") == []

    out = run(cfg, "digest", "--send").stdout
    assert re.search(r"^\d+ digests queued with \d+ items$", out, re.M), out
    stack.wait_queue_empty()

    # Alice: a member, in Dutch.
    [d] = digests(meet, "alice")
    check_wire(d)
    again = reparse(d)
    assert again["Subject"].startswith("Samenvatting van je leernetwerken, ")
    assert again["To"].addresses[0].addr_spec == address("alice")
    assert again["Auto-Submitted"] == "auto-generated"
    assert again["List-Id"] == "<digest.lido.school.test>"
    assert again["List-Unsubscribe"] == \
        "<mailto:lido@school.test?subject=afmelden%20rekenen&body=list-unsubscribe>"
    assert "In-Reply-To" not in again and "References" not in again
    assert again.get_content_type() == "multipart/alternative"
    plain = again.get_body(preferencelist=("plain",))
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    body = text(d)
    assert "Rekenen in groep 3\n==================\n" in body
    assert "Materiaal voor bijeenkomst één\n------------------------------\n" in body
    assert NEWS_BODY in body
    assert "bericht rekenen Materiaal" not in body     # the command is not the headline
    when = re.search(rf"- Bijeenkomst {number}: (.+), Lokaal 3\n"
                     r"  0 komen, 0 niet, 0 misschien, 2 zonder antwoord\n", body)
    assert when, body
    assert "15:00\u201317:00" in when.group(1)
    assert 'stuur "bericht rekenen"' in body
    markup = html(d)
    assert ">Rekenen in groep 3</h2>" in markup
    assert ('<a href="https://intranet.school.test/rekenen?week=1&amp;blad=2">'
            "https://intranet.school.test/rekenen?week=1&amp;blad=2</a>") in markup
    assert "met &lt;breuken&gt; &amp; zo." in markup
    assert "<breuken>" not in markup

    # Bob follows, in English: the news, and how to stop following.
    [d] = digests(meet, "bob")
    check_wire(d)
    assert reparse(d)["Subject"].startswith("Digest of your learning networks, ")
    assert reparse(d)["List-Unsubscribe"] == (
        "<mailto:lido@school.test?subject=unfollow%20rekenen>")
    assert NEWS_BODY in text(d)
    assert 'send "unfollow rekenen"' in text(d)
    assert "New members" not in text(d)                # Alice was there before him

    # The lead wrote the only news: nothing new for him but Alice joining.
    [d] = digests(meet, "lead")
    assert "Materiaal" not in text(d)
    assert "- alice@school.test" in text(d)
    assert digests(meet, "carol") == []

    # The coordinators: one overview each.
    for coordinator in ("femme", "donna"):
        [d] = digests(meet, coordinator)
        check_wire(d)
        again = reparse(d)
        assert again["Subject"].startswith("Overzicht leernetwerken voor coördinatoren")
        assert again["List-Id"] == "<digest.lido.school.test>"
        assert again["List-Unsubscribe"].startswith("<mailto:lido@school.test?subject=")
        c = text(d)
        assert "- Rekenen in groep 3 (rekenen)\n  trekker(s): lead@school.test; " \
               "deelnemers: 1, volgers: 1\n" in c
        assert "- Taal & lezen (taal)\n  trekker(s): carol@school.test; deelnemers: 0" in c
        assert NEWS_BODY in c
        assert "Bezorgproblemen" not in c

    # Nothing new: nothing sent, nothing shown.
    assert "0 digests queued" in run(cfg, "digest", "--send").stdout
    assert "no digest due" in run(cfg, "digest").stdout
    stack.wait_queue_empty()
    for who in ("alice", "bob", "lead", "femme", "donna"):
        assert digests(meet, who) == []

    # One more news item: only that one is new.
    post(meet, "alice", "Een vraag", "Wie heeft er ervaring met rekenrekken?")
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "bob")
    assert "rekenrekken" in text(d)
    assert "Materiaal" not in text(d)
    assert f"Meeting {number}" not in text(d)
    assert digests(meet, "alice") == []                # her own post


def click_unsubscribe(meet, who, digest):
    """What Gmail sends for a mailto List-Unsubscribe: the subject given,
    its own body."""
    m = re.fullmatch(r"<mailto:([^?]+)\?subject=([^&>]*)(?:&body=[^>]*)?>",
                     str(digest["List-Unsubscribe"]))
    assert m, digest["List-Unsubscribe"]
    meet.stack.send(who, m.group(1).split("@")[0],
                    subject=urllib.parse.unquote(m.group(2)),
                    body="This message was automatically generated by Gmail.\n")


def test_unsubscribe_from_a_leads_or_coordinators_digest_says_what_works(meet):
    """A lone lead's digest and the coordinators' overview have nothing one
    click can leave: the answer says how to hand a network over, and that
    the overview follows [organization] coordinators, instead of offering
    a leave that is refused or saying they are no member."""
    meet.join("alice")
    post(meet, "alice", "Nieuws", "Iets nieuws.")
    meet.once()
    for who in ("alice", "lead", "carol", "femme", "donna"):
        meet.new(who)
    meet.run(meet.cfg, "digest", "--send")
    meet.stack.wait_queue_empty()
    [lead_digest] = digests(meet, "lead")
    [overview] = digests(meet, "femme")
    click_unsubscribe(meet, "lead", lead_digest)
    click_unsubscribe(meet, "femme", overview)
    meet.once()

    lead = text(meet.one("lead"))
    assert "Rekenen in groep 3: afmelden rekenen" not in lead, lead
    assert ("Rekenen in groep 3: je bent de enige trekker; maak eerst een "
            "collega trekker\n    (trekker rekenen naam@school.nl)") in lead, lead
    assert "overzicht voor coördinatoren" not in lead

    femme = text(meet.one("femme"))
    assert "Het overzicht voor coördinatoren krijg je zolang je adres" in femme
    assert "([organization] coordinators)" in femme
    assert "Er is niets veranderd." in femme

    # With a co-lead, leaving is possible, and offered as it was.
    meet.mail("lead", "trekker rekenen carol@school.test")
    meet.once()
    meet.new("lead")
    meet.new("carol")
    meet.mail("lead", "afmelden")
    meet.once()
    assert "Rekenen in groep 3: afmelden rekenen" in text(meet.one("lead"))


def test_bouncing_addresses_get_no_digest_and_coordinators_hear_of_it(meet):
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    stack.reject("bob", "550 5.1.1 <bob@school.test>: Recipient address rejected")
    meet.mail("bob", "volg rekenen")
    meet.mail("alice", "volg rekenen")
    meet.once()
    assert person(run, cfg, "bob")["bouncing"].startswith("yes")
    post(meet, "lead", "Nieuws", "Er is nieuws.")
    meet.once()
    for who in ("alice", "lead", "femme", "donna"):
        meet.new(who)

    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    assert len(digests(meet, "alice")) == 1
    assert "bob@school.test" not in [r["rcpt"] for r in outbox(run, cfg, every=True)
                                     if r["kind"] == "digest"]
    [d] = digests(meet, "femme")
    c = text(d)
    assert "Bezorgproblemen\n===============\n" in c
    assert re.search(r"- bob@school\.test, sinds \S+ \d+ \w+ \d{4}: .*550 5\.1\.1", c), c
    assert re.search(r"- antwoord aan bob@school\.test \(.*\): RCPT TO: 550 5\.1\.1", c), c
    assert "leernet outbox retry" in c

    # Reported once: the next overview only counts it.
    post(meet, "lead", "Meer nieuws", "Nog meer.")
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    c = text(d)
    assert "Bezorgproblemen" not in c
    assert "Eerder gemeld en nog niet opgelost: 1 adres(sen) weigeren\nmail, " \
           "1 bericht(en) niet bezorgd." in c

    # A coordinator clears it; Bob gets the next digest.
    stack.unreject("bob")
    run(cfg, "person", "reset", "bob@school.test")
    post(meet, "lead", "Weer nieuws", "Welkom terug.")
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "bob")
    assert "Welkom terug." in text(d)


def test_mail_kept_for_people_is_in_the_coordinators_overview(meet):
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    meet.mail("alice", "Vraagje over subsidie", "Beste LIDO, hoe zit het?", trusted=False)
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    c = text(d)
    assert "Mail voor mensen\n================\n\nleernet heeft deze mail niet " \
           "beantwoord" in c
    assert "Beantwoord ze zelf; ze staat in de inbox van lido@school.test" in " ".join(c.split())
    assert "Bezorgproblemen" not in c
    assert re.search(r"- van alice@school\.test, \S+ \d+ \w+ \d{4}: "
                     r"\"Vraagje over subsidie\"\n", c), c
    assert digests(meet, "alice") == []


def test_unreadable_mail_is_named_in_the_coordinators_overview(meet):
    """Mail without a usable From goes to the failed folder, unanswered;
    the overview says so, once, instead of leaving it to the journal."""
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    meet.raw("alice", b"From: Jan de Vries:;\r\n"
             b"To: lido@school.test\r\nSubject: Vraag van Jan\r\n"
             b"Message-ID: <jan-1@school.test>\r\n\r\nHoe meld ik me aan?\r\n")
    meet.once()
    assert [m["Subject"] for m in stack.inbox("lido", "leernet/failed")] == \
        ["Vraag van Jan"]
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    c = text(d)
    assert "Onleesbare mail\n===============\n" in c, c
    assert "staat in de map leernet/failed van\nlido@school.test:" in c, c
    assert re.search(r"- van Jan de Vries:;, \S+ \d+ \w+ "
                     r"\d{4}: \"Vraag van Jan\"\n", c), c
    assert "Mail voor mensen" not in c

    # Told once: the next overview does not list it again.
    post(meet, "lead", "Nieuws", "Iets nieuws.")
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    assert "Onleesbare mail" not in text(d)


def test_a_kept_mails_long_subject_is_cut_whole_characters(meet):
    """The Subject that names kept mail is cut to a line's worth, never
    inside a character, and the next digest does not list it again."""
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    long = "Één vraag over de begroting " + "ëé" * 100
    meet.mail("bob", long, "Beste LIDO, zie onderwerp.", trusted=False)
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    line = next(ln for ln in text(d).splitlines() if "bob@school.test" in ln)
    shown = line.split(': "', 1)[1].rstrip('"')
    assert long.startswith(shown) and 60 < len(shown) < len(long), line
    assert len(shown.encode()) <= 160, line
    post(meet, "lead", "Nieuws", "Iets nieuws.")
    meet.once()
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d2] = digests(meet, "femme")
    assert "Mail voor mensen" not in text(d2) and "bob@school.test" not in text(d2)


def test_the_daemon_sends_the_digest_at_its_time(stack, tmp_path, run_leernet, leernet):
    cfg = stack.config(tmp_path, digest_schedule="daily 07:00")
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    # The follow first: news older than the follow is not in its digest,
    # and Postfix may deliver two mails sent together the other way round.
    stack.send("alice", "lido", subject="volg rekenen")
    stack.wait_for("lido")
    stack.send("lead", "lido", subject="bericht rekenen Agenda", body="Punt 1")
    stack.wait_for("lido", count=2)
    run_leernet(cfg, "once")
    stack.wait_queue_empty()
    # The last digest went out two days ago: today's 07:00 (or yesterday's)
    # has passed since, so the daemon sends at once, as after a restart
    # that missed the time.
    conn = db(cfg)
    conn.execute("INSERT INTO digest_runs (at, recipients, items, scheduled)"
                 " VALUES (?, 0, 0, 1)", (int(time.time()) - 2 * 86400,))
    conn.commit()

    daemon = leernet.start(cfg, "run")
    daemon.wait_log(r"digest: 3 queued with \d+ items \(scheduled\)", timeout=30)
    [d] = stack.wait_for("alice", predicate=lambda m: "Samenvatting" in m["Subject"],
                         timeout=30)
    check_wire(d)
    assert "Punt 1" in text(d)
    # The digest run holds the lock: `digest --send` from outside waits.
    busy = run_leernet(cfg, "digest", "--send", check=False)
    assert busy.returncode == 75 and "lock" in busy.stderr
    assert f"is held, by pid {daemon.proc.pid})" in busy.stderr, busy.stderr
    # A cron job would fail so every week: the answer says what to do.
    assert "set [digest] schedule rather than sending from cron" in busy.stderr
    # `digest` (show only) works beside the daemon.
    assert "no digest due" in run_leernet(cfg, "digest").stdout
    assert daemon.stop() == 0

    # A restart within the same day sends nothing again.
    daemon = leernet.start(cfg, "run", log_path=tmp_path / "second.log")
    daemon.wait_log(r"watching", timeout=30)
    time.sleep(2)
    assert "digest:" not in daemon.log()
    assert daemon.stop() == 0
    # Nor does `digest --send` in the same slot, with news since: one
    # digest per schedule (SPEC §5); the next slot carries it.
    stack.send("lead", "lido", subject="bericht rekenen Nog iets", body="Punt 2")
    stack.wait_for("lido")
    run_leernet(cfg, "once")
    for args in (("digest", "--send"), ("digest",)):
        out = run_leernet(cfg, *args).stdout
        assert re.fullmatch(r"no digest due: the digest of \S+T07:00:00\S+ went out "
                            r"at \S+; the next is due at \S+T07:00:00\S+\n", out), out
    runs = conn.execute("SELECT count(*), sum(scheduled) FROM digest_runs").fetchone()
    assert runs == (2, 2)
    stack.wait_queue_empty()
    assert len([m for m in stack.inbox("alice") if "Samenvatting" in m["Subject"]]) == 1


def test_digest_usage(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    bad = run_leernet(cfg, "digest", "--now", check=False)
    assert bad.returncode == 64 and "usage: leernet digest [--send]" in bad.stderr
    assert "no digest due" in run_leernet(cfg, "digest").stdout


def test_a_leads_closing_words_reach_the_members_last_digest(stack, tmp_path, run_leernet):
    """"sluit rekenen: klaar voor dit jaar, dank allemaal!" closed the
    network, and the words after its name reached nobody.  They are kept
    with the network and stand in the last digest of its members and in
    the coordinators' overview; the lead's answer says so.  The mail's body
    (greeting, signature) is no part of them."""
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV,
                       digest_schedule="weekly mon 07:00")
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    meet = Meet(stack, run_leernet, cfg)
    meet.join("alice")
    meet.mail("lead", "sluit Rekenen in groep 3: klaar voor dit jaar, dank allemaal!",
              "Hoi Lido,\n\nZie onderwerp.\n\nGroet, Lea")
    meet.once()
    done = meet.one("lead", "is afgesloten", subject="^Afgesloten: Rekenen in groep 3")
    assert ('De deelnemers lezen in hun laatste samenvatting wat je erbij schreef:\n'
            '"klaar voor dit jaar, dank allemaal!"') in text(done)
    for who in ("alice", "femme"):
        meet.new(who)

    run_leernet(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "alice")
    body = text(d)
    assert "Dit leernetwerk is afgesloten." in body
    assert 'De trekker schreef erbij: "klaar voor dit jaar, dank allemaal!"' in body
    assert "Zie onderwerp" not in body and "Groet, Lea" not in body
    [overview] = digests(meet, "femme")
    assert ('De trekker schreef erbij:\n"klaar voor dit jaar, dank allemaal!"'
            in text(overview)), text(overview)
    assert "klaar voor dit jaar" in html(d)


def test_a_close_without_words_says_none(meet):
    meet.join("alice")
    meet.mail("lead", "sluit rekenen")
    meet.once()
    done = meet.one("lead", "is afgesloten")
    assert "schreef" not in text(done)
    meet.new("alice")
    meet.run(meet.cfg, "digest", "--send")
    meet.stack.wait_queue_empty()
    [d] = digests(meet, "alice")
    assert "Dit leernetwerk is afgesloten." in text(d)
    assert "De trekker schreef" not in text(d)
