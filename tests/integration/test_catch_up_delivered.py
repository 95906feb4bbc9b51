"""The catch-up after a bounce leaves out meetings "delivered since their
last change" (store_calendar_delivered_since).  Which outbox rows really
count as delivered: the review's cases."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path

import pytest

from mailstack import address
from meetings_kit import SLUG, Meet

DSN = Path(__file__).resolve().parents[1] / "fixtures" / "mail" / \
    "dsn_postfix_551.eml"


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    return Meet.network(stack, tmp_path, run_leernet)


def bouncing(meet, who) -> bool:
    out = meet.run(meet.cfg, "person", "show", address(who)).stdout
    return bool(re.search(r"^bouncing:\s+yes", out, re.M))


def invite_msgid(meet, who) -> str:
    with meet.db() as db:
        [(msgid,)] = db.execute(
            "SELECT msgid FROM outbox WHERE rcpt = ? AND kind = 'invite'",
            (address(who),)).fetchall()
    return msgid


def test_an_invitation_returned_by_a_dsn_is_sent_again(meet):
    """The server took Bob's invitation (outbox state 'sent'), then his
    mailbox turned out gone: a DSN returning that very invitation marks him
    bouncing.  When he writes again, the catch-up must send the meeting:
    his calendar never got it."""
    meet.join("alice", "bob")
    n = meet.plan("15-04-2027", "15:00-17:00", "De Regenboog")
    [inv] = meet.invites("bob")
    assert inv.method == "REQUEST"
    msgid = invite_msgid(meet, "bob")
    raw = DSN.read_bytes()
    for old, new in {"piet@school.test": address("bob"),
                     "invite.rekenen.2.0@jl.nu": msgid.strip("<>")}.items():
        raw = re.sub(re.escape(old).encode(), new.encode(), raw, flags=re.I)
    with smtplib.SMTP(meet.stack.host, meet.stack.smtp_port, timeout=30) as s:
        s.sendmail("", [address("lido")], raw)
    meet.once()
    assert bouncing(meet, "bob")

    meet.mail("bob", "hulp")
    meet.once()
    assert not bouncing(meet, "bob")
    got = meet.invites("bob")
    assert [(i.method, i.uid) for i in got] == [("REQUEST", meet.uid(n))], \
        "Bob's only invitation bounced; the catch-up skipped the meeting"


def test_a_change_in_the_same_second_is_not_skipped(meet):
    """leernet's clock counts seconds: Bob's invitation and a later move
    made while he bounced fall in one second (here a fixed clock, in real
    life one batch of mail handled in a second).  The invitation's row is
    'created >= updated', so the catch-up thinks he holds the move."""
    meet.at = "2027-03-01 09:00:00"
    meet.join("alice", "bob")
    n = meet.plan("15-04-2027", "15:00-17:00", "De Regenboog")
    [inv] = meet.invites("bob")
    assert inv.sequence == 0
    meet.stack.reject("bob")
    meet.mail("lead", f"verplaats {SLUG} {n}", "tijd: 16:00-18:00\n")
    meet.once()
    assert bouncing(meet, "bob")
    meet.stack.unreject("bob")
    meet.run(meet.cfg, "person", "reset", address("bob"))
    meet.once()
    got = meet.invites("bob")
    assert [(i.method, i.sequence) for i in got] == [("REQUEST", 1)], \
        "Bob's calendar keeps 15:00, the move never came"


def test_a_bouncing_lead_who_plans_gets_the_meeting_once(meet):
    """A lead whose address bounced writes 'bijeenkomst': writing clears
    the mark, the plan invites everyone (the lead too), and then the
    catch-up finds the lead's fresh invitation still queued (not 'sent')
    and sends it again, saying 'Mail aan jou kwam een tijd niet aan'."""
    meet.join("alice")
    n0 = meet.plan("15-04-2027", "15:00-17:00", "De Regenboog")
    meet.invites("lead")
    meet.run(meet.cfg, "person", "show", address("lead"))
    with meet.db() as db:
        db.execute("UPDATE people SET bouncing = 1, bounce_reason = 'test',"
                   " bounced_at = strftime('%s', 'now') + 1"
                   " WHERE email = ?", (address("lead"),))
    # Meeting 1 reached the lead before the bounce (its row is 'sent'),
    # so only the new one is theirs to get, once.
    n = meet.plan("20-05-2027", "15:00-17:00", "De Regenboog")
    got = meet.invites("lead")
    assert [(i.method, i.uid) for i in got] == [("REQUEST", meet.uid(n))], \
        [(i.method, i.uid, i.msg["Subject"]) for i in got]
    assert n0 != n
