"""Issue 6, outgoing mail, against the real Postfix + Dovecot: every answer
is an outbox row committed with its cause, sent over one reused SMTP
connection and marked sent only after the 250; a server that is away loses
nothing; a permanent refusal makes the address bouncing and spares the
others; and what arrives is mail that mail software reads as intended."""

from __future__ import annotations

import email.policy
import email.utils
import re
import signal
import sqlite3
import time
from email.message import EmailMessage

import pytest

from mailstack import address
from outbound_util import DONE, check_wire, db, html, outbox, person, reparse, text


@pytest.fixture
def cfg(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, organization_max_requests_per_hour="1000")
    run_leernet(config, "init")
    run_leernet(config, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    return config


def ask_help(stack, *who):
    """A "hulp" mail from each; returns their Message-IDs; waits until the
    coordinator mailbox holds them all."""
    before = len(stack.inbox("lido"))
    mids = [stack.send(w, "lido", subject="hulp", body="") for w in who]
    stack.wait_for("lido", count=before + len(who))
    return mids


# --- what people receive -----------------------------------------------------

def test_a_reply_reads_well_in_mail_software(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_name="Stichting Jong Leren — Zwolle")
    run_leernet(cfg, "init")
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr(("Ayşe Ünal", address("alice")))
    msg["To"] = address("lido")
    msg["Subject"] = "hulp"
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = "<vraag-1@school.test>"
    msg["References"] = "<eerder@school.test>"
    msg.set_content("Hoe werkt het?")
    stack.send("alice", "lido", raw=msg)
    stack.wait_for("lido")
    run_leernet(cfg, "once")

    [reply] = stack.wait_for("alice")
    check_wire(reply)
    again = reparse(reply)
    # Threads: the answer hangs under the question.
    assert again["In-Reply-To"] == "<vraag-1@school.test>"
    assert again["References"].split() == ["<eerder@school.test>", "<vraag-1@school.test>"]
    assert again["Auto-Submitted"] == "auto-replied"
    assert "List-Id" not in again
    # RFC 2047 both ways: the name we were given and our own.
    assert again["To"].addresses[0].display_name == "Ayşe Ünal"
    assert again["To"].addresses[0].addr_spec == address("alice")
    assert again["Subject"] == "Hulp: zo werkt Stichting Jong Leren — Zwolle leernetwerken"
    assert b"=?UTF-8?" in reply.raw.split(b"\r\n\r\n", 1)[0]
    assert again["From"].addresses[0].display_name == "LIDO leernetwerken"
    # The text part, and an HTML part made from it: escaped, with links.
    body = text(reply)
    assert "Beste Ayşe Ünal," in body
    assert "aanmelden NETWERK" in body
    markup = html(reply)
    assert "<p>Beste Ayşe Ünal,</p>" in markup
    assert '<a href="mailto:lido@school.test">lido@school.test</a>' in markup
    assert "&quot;hulp&quot;" in markup
    assert "<pre " in markup and "aanmelden NETWERK" in markup
    assert "<script" not in markup


def test_nothing_from_a_message_becomes_a_header(stack, cfg, run_leernet):
    # A display name and a subject that decode to CR LF + Bcc.
    raw = ("From: =?UTF-8?Q?Evil=0D=0ABcc:_bob@school.test?= <alice@school.test>\r\n"
           "To: lido@school.test\r\n"
           "Subject: =?UTF-8?Q?netwerken=0D=0ABcc:_bob@school.test?=\r\n"
           f"Date: {email.utils.formatdate(localtime=True)}\r\n"
           "Message-ID: <evil-1@school.test>\r\n"
           "\r\n"
           "netwerken\r\n")
    stack.send("alice", "lido", raw=raw)
    stack.wait_for("lido")
    run_leernet(cfg, "once")
    [reply] = stack.wait_for("alice")
    check_wire(reply)
    again = reparse(reply)
    assert "Bcc" not in again
    assert again["To"].addresses[0].addr_spec == address("alice")
    assert again["Subject"].startswith("Re: netwerken")
    stack.wait_queue_empty()
    assert stack.inbox("bob") == []
    assert "bob@school.test" not in [r["rcpt"] for r in outbox(run_leernet, cfg, every=True)]


# --- one connection ----------------------------------------------------------

def test_fifty_replies_go_over_one_connection(stack, cfg, run_leernet):
    people = ["alice", "bob", "carol", "lead", "donna"]
    ask_help(stack, *(people * 10))
    stack.wait_queue_empty()
    stack.mark_logs()
    run_leernet(cfg, "once")

    for who in people:
        stack.wait_for(who, count=10)
    stack.wait_queue_empty()
    assert stack.smtp_connections() == 1, stack.postfix_log()
    rows = outbox(run_leernet, cfg, every=True)
    assert len(rows) == 50
    assert {r["state"] for r in rows} == {"sent"}
    assert all(r["attempts"] == "1" for r in rows)
    # Nothing twice.
    for who in people:
        assert len(stack.inbox(who)) == 10


def _bench_message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = address("lido")
    msg["To"] = f"r{n}@discard.test"
    msg["Subject"] = f"burst {n}"
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = f"<burst-{n}@school.test>"
    msg.set_content("Een bericht uit een grote stapel.\n" * 20)
    return msg.as_bytes(policy=email.policy.SMTP)


def test_a_burst_of_a_thousand_opens_one_connection(stack, cfg, run_leernet):
    conn = db(cfg)
    now = int(time.time())
    conn.executemany(
        "INSERT INTO outbox (kind, env_from, rcpt, msgid, data, created, next_attempt)"
        " VALUES ('burst', 'lido@school.test', ?, ?, ?, ?, ?)",
        [(f"r{n}@discard.test", f"burst-{n}@school.test", _bench_message(n), now, now)
         for n in range(1000)])
    conn.commit()
    stack.mark_logs()
    started = time.monotonic()
    run_leernet(cfg, "once", timeout=300)
    took = time.monotonic() - started

    deadline = time.monotonic() + 60
    while stack.discarded() < 1000 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.discarded() == 1000
    assert stack.smtp_connections() == 1
    left = conn.execute("SELECT count(*) FROM outbox WHERE state != 'sent'").fetchone()[0]
    assert left == 0
    print(f"\n1000 messages, {stack.smtp_connections()} SMTP connection, "
          f"{took:.1f} s ({1000 / took:.0f} msg/s)")


# --- a server that is away ---------------------------------------------------

def test_postfix_down_loses_nothing_and_sends_nothing_twice(stack, cfg, run_leernet):
    people = ["alice", "bob", "carol"]
    ask_help(stack, *people)
    stack.wait_queue_empty()
    stack.postfix_stop()
    try:
        proc = run_leernet(cfg, "once", check=False)
        assert proc.returncode == 75, proc.stderr
        assert "kept and retried" in proc.stderr
        # Handled (the requests are done), the answers wait in the outbox.
        assert stack.inbox("lido") == []
        assert len(stack.inbox("lido", DONE)) == 3
        rows = outbox(run_leernet, cfg)
        assert sorted(r["rcpt"] for r in rows) == [address(p) for p in people]
        for r in rows:
            assert r["state"] == "queued"
            assert r["attempts"] == "0"        # not the messages' fault
            assert re.search(r"connect|refused|Couldn't", r["last_error"], re.I), r
        # A second try while it is still away: still nothing lost.
        assert run_leernet(cfg, "once", check=False).returncode == 75
        assert len(outbox(run_leernet, cfg)) == 3
    finally:
        stack.postfix_start()

    out = run_leernet(cfg, "outbox", "retry").stdout
    assert "3 messages queued for delivery now" in out
    run_leernet(cfg, "once")
    for who in people:
        [reply] = stack.wait_for(who)
        assert reply["Subject"].startswith("Hulp")
    assert outbox(run_leernet, cfg) == []
    assert {r["state"] for r in outbox(run_leernet, cfg, every=True)} == {"sent"}
    # Once more: nothing is sent twice.
    run_leernet(cfg, "once")
    stack.wait_queue_empty()
    for who in people:
        assert len(stack.inbox(who)) == 1


def test_the_daemon_drains_the_backlog_when_the_server_returns(stack, cfg, leernet):
    people = ["alice", "bob", "carol", "lead"]
    ask_help(stack, *people)
    stack.wait_queue_empty()
    stack.postfix_stop()
    try:
        daemon = leernet.start(cfg, "run")
        daemon.wait_log(r"handled|queued hulp|from alice", timeout=20)
        daemon.wait_log(r"smtp: .*wait", timeout=20)
        time.sleep(2)
        assert all(stack.inbox(p) == [] for p in people)
    finally:
        stack.postfix_start()
    # No `outbox retry`: the daemon's reconnect backoff finds the server.
    for who in people:
        [reply] = stack.wait_for(who, timeout=60)
        assert reply["Subject"].startswith("Hulp")
    assert daemon.alive()
    daemon.signal(signal.SIGTERM)
    assert daemon.stop() == 0
    stack.wait_queue_empty()
    for who in people:
        assert len(stack.inbox(who)) == 1


# --- refusals ----------------------------------------------------------------

def test_a_permanent_refusal_makes_the_address_bouncing(stack, cfg, run_leernet):
    stack.reject("carol", "550 5.1.1 <carol@school.test>: Recipient address rejected")
    ask_help(stack, "alice", "carol", "bob")
    proc = run_leernet(cfg, "once")
    assert "refused for good" in proc.stderr

    # The others got their answer; carol's row failed, and she is bouncing.
    stack.wait_for("alice")
    stack.wait_for("bob")
    rows = outbox(run_leernet, cfg)
    [failed] = rows
    assert failed["rcpt"] == address("carol")
    assert failed["state"] == "failed"
    assert "550 5.1.1" in failed["last_error"]
    facts = person(run_leernet, cfg, "carol")
    assert facts["bouncing"].startswith("yes")
    assert "550 5.1.1" in facts["bouncing"]
    assert person(run_leernet, cfg, "alice")["bouncing"] == "no"
    # It is not retried by itself.
    run_leernet(cfg, "once")
    assert outbox(run_leernet, cfg)[0]["attempts"] == "1"

    # Once the address works again, a coordinator releases it.
    stack.unreject("carol")
    assert "1 message queued" in run_leernet(cfg, "outbox", "retry").stdout
    run_leernet(cfg, "once")
    [reply] = stack.wait_for("carol")
    assert reply["Subject"].startswith("Hulp")
    assert outbox(run_leernet, cfg) == []
    # She writes again: no longer bouncing.
    ask_help(stack, "carol")
    run_leernet(cfg, "once")
    assert person(run_leernet, cfg, "carol")["bouncing"] == "no"


def test_a_temporary_refusal_backs_off_and_is_not_bouncing(stack, cfg, run_leernet):
    stack.reject("carol", "450 4.2.0 <carol@school.test>: try again later")
    ask_help(stack, "carol", "alice")
    started = int(time.time())
    run_leernet(cfg, "once")
    stack.wait_for("alice")

    [row] = outbox(run_leernet, cfg)
    assert row["state"] == "queued" and row["attempts"] == "1"
    assert "450 4.2.0" in row["last_error"]
    conn = db(cfg)
    (next_attempt,) = conn.execute(
        "SELECT next_attempt FROM outbox WHERE rcpt = 'carol@school.test'").fetchone()
    # The first retry after 30 s, plus at most 20% jitter.
    assert started + 30 <= next_attempt <= int(time.time()) + 36
    assert person(run_leernet, cfg, "carol")["bouncing"] == "no"
    # Not due yet: a run now does not try it.
    run_leernet(cfg, "once")
    assert outbox(run_leernet, cfg)[0]["attempts"] == "1"

    stack.unreject("carol")
    run_leernet(cfg, "outbox", "retry")
    run_leernet(cfg, "once")
    stack.wait_for("carol")
    assert outbox(run_leernet, cfg) == []


def test_a_refusal_for_days_is_given_up_without_bouncing(stack, cfg, run_leernet):
    stack.reject("carol", "451 4.3.0 <carol@school.test>: temporary trouble")
    ask_help(stack, "carol")
    run_leernet(cfg, "once")
    conn = db(cfg)
    # Five days on the queue, as Postfix would hold it.
    conn.execute("UPDATE outbox SET created = created - 5 * 86400, next_attempt = 0")
    conn.commit()
    run_leernet(cfg, "once")
    [row] = outbox(run_leernet, cfg)
    assert row["state"] == "failed" and "451 4.3.0" in row["last_error"]
    assert person(run_leernet, cfg, "carol")["bouncing"] == "no"


# --- TLS and login -----------------------------------------------------------

@pytest.mark.parametrize("how", ["starttls-plain", "starttls-login", "smtps"])
def test_submission_with_tls_and_login(stack, tmp_path, run_leernet, how):
    over = {k: v for k, v in stack.tls_overrides().items() if k.startswith("smtp_")}
    if how == "starttls-login":
        over["smtp_auth"] = "login"
    if how == "smtps":
        over["smtp_url"] = f"smtps://localhost:{stack.smtps_port}"
    cfg = stack.config(tmp_path, **over)
    run_leernet(cfg, "init")
    ask_help(stack, "alice", "bob")
    stack.mark_logs()
    run_leernet(cfg, "once")
    stack.wait_for("alice")
    stack.wait_for("bob")
    log = stack.postfix_log()
    method = "LOGIN" if how == "starttls-login" else "PLAIN"
    assert len(re.findall(rf"sasl_method={method}, sasl_username=lido@school.test", log)) == 2
    assert stack.smtp_connections() == 1
    # The port that demands TLS before AUTH (encrypt + tls_auth_only), or
    # TLS from the first byte.
    port = "smtps" if how == "smtps" else "submission"
    assert re.search(rf"postfix/{port}/smtpd\[\d+\]: connect from", log), log[-2000:]


def test_a_wrong_password_waits_instead_of_bouncing(stack, tmp_path, run_leernet):
    over = {k: v for k, v in stack.tls_overrides().items() if k.startswith("smtp_")}
    over["smtp_password"] = "wrong"
    cfg = stack.config(tmp_path, **over)
    run_leernet(cfg, "init")
    ask_help(stack, "alice")
    proc = run_leernet(cfg, "once", check=False)
    assert proc.returncode == 75
    [row] = outbox(run_leernet, cfg)
    assert row["state"] == "queued" and row["attempts"] == "0"
    assert "login refused" in row["last_error"]
    assert person(run_leernet, cfg, "alice")["bouncing"] == "no"
