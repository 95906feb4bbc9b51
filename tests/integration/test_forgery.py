"""What a forger can make leernet send from the coordinator address.
From the security review of the fourteenth session; each test failed on
the binary before its fix."""

from __future__ import annotations

import email
import email.policy

from meetings_kit import AUTHSERV, SLUG, text
from test_meetings_lead import meet  # noqa: F401  (a fixture)


def html_of(msg) -> str:
    part = msg.get_body(("html",))
    return part.get_content() if part else ""


def queued(meet, kind):
    with meet.db() as db:
        return [(r[0], r[1]) for r in db.execute(
            "SELECT o.rcpt, d.data FROM outbox o JOIN outbox_data d ON d.id = o.id "
            "WHERE o.kind = ? ORDER BY o.id", (kind,))]


def test_a_quoted_envelope_sender_proves_nothing(meet):
    """RFC 8601 lets smtp.mailfrom be quoted, and the sender chooses it:
    its ';' made a dmarc=pass clause of its own, and the meeting was
    planned for everyone without a confirmation."""
    meet.join("alice")
    forged = (f"{AUTHSERV}; spf=pass "
              'smtp.mailfrom="x;dmarc=pass header.from=school.test x"'
              "@evil.example; dkim=none; dmarc=fail header.from=school.test")
    meet.mail("lead", f"bijeenkomst {SLUG}",
              "datum: 15-05-2027\ntijd: 15:00-17:00\nlocatie: Lokaal 2\n",
              trusted=False, headers={"Authentication-Results": forged})
    meet.once()
    assert meet.invites("alice") == []
    assert meet.meetings() == []
    meet.one("lead", subject="^Bevestig")


def test_a_link_as_display_name_is_no_greeting(meet):
    meet.stack.send("mallory@elsewhere.example", "lido", subject="aanmelden rekenen",
                    body="aanmelden rekenen",
                    headers={"From": '"Log in op https://evil.example/login om te '
                                     'bevestigen" <alice@school.test>'},
                    envelope_from="mallory@elsewhere.example")
    meet.once()
    [got] = meet.new("alice")
    assert "evil.example" not in html_of(got) + text(got)
    assert "Beste alice@school.test" in text(got)
    assert "evil" not in got["To"]


def test_a_link_in_an_echoed_name_is_no_link(meet):
    """The answer's quotes around the name kept a link out of the HTML
    part; a quote in the name itself broke out of them."""
    meet.mail("alice", 'aanmelden x" https://evil.example/login "y', trusted=False)
    meet.once()
    [got] = meet.new("alice")
    assert 'href="https://evil.example' not in html_of(got)
    assert "evil.example" not in text(got)
    assert "[link]" in text(got)


def test_no_refusal_to_a_forged_outsider_and_no_link_in_one(meet):
    """A refusal goes where the From says, from the organisation's own
    domain: spam with forged senders was answered, its link in the
    Subject and its name in To."""
    meet.stack.send("spam@bad.example", "lido", subject="CHEAP PILLS http://evil.example/buy",
                    body="hello", headers={
                        "From": "Visit evil.example now <victim1@elsewhere.example>",
                        "Authentication-Results": f"{AUTHSERV}; spf=fail "
                        "smtp.mailfrom=bad.example; dmarc=fail header.from=elsewhere.example"},
                    envelope_from="spam@bad.example")
    meet.stack.send("victim2@elsewhere.example", "lido",
                    subject="CHEAP PILLS http://evil.example/buy", body="hello",
                    headers={"From": "Visit http://evil.example now <victim2@elsewhere.example>"})
    meet.once()
    rows = queued(meet, "refusal")
    assert [r[0] for r in rows] == ["victim2@elsewhere.example"], rows
    msg = email.message_from_bytes(rows[0][1], policy=email.policy.default)
    assert "evil" not in msg["Subject"] and "[link]" in msg["Subject"], msg["Subject"]
    assert "evil" not in msg["To"], msg["To"]
