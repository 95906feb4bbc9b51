"""The digest and status texts as teachers read them, against the real
Postfix + Dovecot: a closed network's status says so in Dutch and promises
no meetings, a refused address is named once, in words, and "afmelden"
without a network (what a digest's List-Unsubscribe sends when it names
none) says how to leave each network."""

from __future__ import annotations

from outbound_util import outbox, text
from test_digest import digests, in_days, meet  # noqa: F401  (meet: a fixture)


def test_the_status_of_a_closed_network_is_in_dutch(meet):
    meet.join("alice")
    meet.run(meet.cfg, "network", "close", "rekenen")
    meet.once()
    meet.new("alice")
    meet.mail("alice", "status rekenen")
    meet.once()
    got = meet.one("alice", "Rekenen in groep 3 (rekenen): gesloten", "(geen)")
    body = text(got)
    assert "closed" not in body
    assert "nog niets gepland" not in body
    assert "\n\n\n" not in body


def test_a_refused_invitation_is_told_once_and_in_words(meet):
    stack, run, cfg = meet.stack, meet.run, meet.cfg
    meet.join("alice", "bob")
    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    stack.reject("bob", "550 5.1.1 User unknown")
    meet.plan(in_days(9), "15:00-17:00")
    for who in ("femme", "lead", "alice"):
        meet.new(who)
    [row] = [r for r in outbox(run, cfg, every=True) if r["state"] == "failed"]
    assert row["kind"] == "invite"
    assert "550 5.1.1" in row["last_error"]
    assert "RCPT failed" not in row["last_error"], row["last_error"]

    run(cfg, "digest", "--send")
    stack.wait_queue_empty()
    [d] = digests(meet, "femme")
    c = text(d)
    assert "- uitnodiging aan bob@school.test (" in c, c
    assert c.count("User unknown") == 2, c      # bouncing, and the invitation
    assert "RCPT failed" not in c
    assert "\n\n\n" not in c


def test_leave_without_a_network_says_how_to_leave_each(meet):
    meet.join("alice")
    meet.mail("alice", "afmelden")
    meet.once()
    got = meet.one("alice", 'Bij "afmelden" hoort de naam van een netwerk',
                   "Jouw netwerken", "Rekenen in groep 3: afmelden rekenen")
    assert "Taal & lezen" not in text(got)            # not hers
    assert "\n\n\n" not in text(got)
    meet.mail("bob", "leave")
    meet.once()
    meet.one("bob", "Your networks", "(you are not a member or follower of an open network)")
