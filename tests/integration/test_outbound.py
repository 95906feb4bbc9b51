"""Issues 6 and 8, outgoing mail, against the real Postfix + Dovecot: every
answer is an outbox row committed with its cause, sent over [smtp] sessions
reused SMTP connections (3 unless configured) and marked sent only after
the 250; a server that is away, even in the middle of a run, loses
nothing and repeats nothing; a permanent refusal makes the address
bouncing and spares the others; and what arrives is mail that mail
software reads as intended."""

from __future__ import annotations

import email.policy
import os
import email.utils
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from email.message import EmailMessage

import pytest

from mailstack import address, leernet_bin

from outbound_util import (DONE, check_wire, db, discarded_rcpts, html, outbox, person,
                           queue_burst, reparse, sessions_used, states, text,
                           wait_discarded)


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


# --- sessions ----------------------------------------------------------------

def test_fifty_replies_go_over_one_connection_with_one_session(stack, tmp_path,
                                                               run_leernet):
    cfg = stack.config(tmp_path, organization_max_requests_per_hour="1000",
                       smtp_sessions="1")
    run_leernet(cfg, "init")
    people = ["alice", "bob", "carol", "lead", "donna"]
    ask_help(stack, *(people * 10))
    stack.wait_queue_empty()
    stack.mark_logs()
    run_leernet(cfg, "once")

    for who in people:
        stack.wait_for(who, count=10)
    stack.wait_queue_empty()
    assert stack.smtp_connections() == 1, stack.postfix_log()
    assert sessions_used(stack) == [50]
    rows = outbox(run_leernet, cfg, every=True)
    assert len(rows) == 50
    assert {r["state"] for r in rows} == {"sent"}
    assert all(r["attempts"] == "1" for r in rows)
    # Nothing twice.
    for who in people:
        assert len(stack.inbox(who)) == 10


def test_two_hundred_messages_share_three_sessions(stack, cfg, run_leernet):
    # No sessions key in the config: the default is 3.
    rcpts = [f"r{n}@discard.test" for n in range(200)]
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    run_leernet(cfg, "once")

    got = wait_discarded(stack, 200)
    assert got == Counter(rcpts), "each of the 200 exactly once"
    assert states(cfg) == Counter(sent=200)
    # Three sessions, not one per message and not one for all...
    assert stack.smtp_connections() == 3, stack.postfix_log()[-3000:]
    used = sessions_used(stack)
    assert len(used) == 3 and sum(used) == 200, used
    # ... and used side by side: each carried a fair share, and all three
    # were open before the first one closed.
    assert min(used) >= 30, used
    log = stack.postfix_log()
    first_close = log.index("disconnect from")
    assert len(re.findall(r"/smtpd\[\d+\]: connect from ", log[:first_close])) == 3
    conn = db(cfg)
    assert all(a == 1 for (a,) in conn.execute("SELECT attempts FROM outbox"))


def test_the_text_of_sent_mail_is_dropped_after_keep_sent_days(stack, tmp_path,
                                                              run_leernet):
    """[database] keep_sent_days: the text of mail sent longer ago goes (it
    is personal data, and most of the database); the rows stay, and so does
    the text of mail not sent yet."""
    config = stack.config(tmp_path, database_keep_sent_days="1")
    run_leernet(config, "init")
    queue_burst(config, [f"k{n}@discard.test" for n in range(5)])
    run_leernet(config, "once")
    wait_discarded(stack, 5)
    conn = db(config)
    # Sent two days ago, as far as the database knows; one more row waits.
    conn.execute("UPDATE outbox SET sent_at = sent_at - 2 * 86400 WHERE rcpt < 'k2'")
    conn.commit()
    queue_burst(config, ["later@school.test"])
    conn.execute("UPDATE outbox SET next_attempt = next_attempt + 1800 "
                 "WHERE rcpt = 'later@school.test'")
    conn.commit()
    out = run_leernet(config, "once")
    assert "dropped the text of 2 messages sent more than 1 day ago" in out.stderr, out.stderr
    kept = {r for (r,) in conn.execute(
        "SELECT rcpt FROM outbox JOIN outbox_data USING (id)")}
    assert kept == {"k2@discard.test", "k3@discard.test", "k4@discard.test",
                    "later@school.test"}
    assert states(config) == Counter(sent=5, queued=1)
    conn.close()
    every = run_leernet(config, "outbox", "list", "--all", "--csv").stdout
    assert "k0@discard.test" in every and "k1@discard.test" in every


@pytest.mark.parametrize("sessions", [1, 3, 16])
def test_a_burst_of_a_thousand_opens_as_many_connections_as_sessions(
        stack, tmp_path, run_leernet, sessions):
    cfg = stack.config(tmp_path, smtp_sessions=str(sessions))
    run_leernet(cfg, "init")
    rcpts = [f"r{n}@discard.test" for n in range(1000)]
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    started = time.monotonic()
    run_leernet(cfg, "once", timeout=300)
    took = time.monotonic() - started

    assert wait_discarded(stack, 1000) == Counter(rcpts)
    assert stack.smtp_connections() == sessions
    assert states(cfg) == Counter(sent=1000)
    print(f"\n1000 messages, {stack.smtp_connections()} SMTP connection(s), "
          f"{took:.1f} s ({1000 / took:.0f} msg/s)")


def test_sessions_out_of_range_is_a_config_error(stack, tmp_path, run_leernet):
    for bad in ("0", "17", "drie"):
        cfg = stack.config(tmp_path, smtp_sessions=bad)
        proc = run_leernet(cfg, "check-config", check=False)
        assert proc.returncode == 78, proc
        assert (f"[smtp] sessions: expected a number of sessions from 1 to 16, "
                f"got '{bad}'") in proc.stderr + proc.stdout


def test_a_refusal_among_many_in_flight_fails_only_that_row(stack, cfg, run_leernet):
    # A fan-out with one address that no longer exists (550) and one whose
    # mailbox is busy (450), in the middle of many that are fine.
    rcpts = [f"r{n}@discard.test" for n in range(60)]
    rcpts[20] = stack.reject_address
    rcpts[40] = stack.tempfail_address
    conn = db(cfg)
    now = int(time.time())
    conn.executemany("INSERT INTO people (email, name, created) VALUES (?, ?, ?)",
                     [(r, r.split("@")[0], now) for r in
                      (stack.reject_address, stack.tempfail_address, "r19@discard.test",
                       "r21@discard.test")])
    conn.commit()
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    proc = run_leernet(cfg, "once")
    assert "refused for good" in proc.stderr

    good = [r for r in rcpts if r.endswith("@discard.test")]
    assert wait_discarded(stack, 58) == Counter(good)
    assert states(cfg) == Counter(sent=58, failed=1, queued=1)
    rows = {r["rcpt"]: r for r in outbox(run_leernet, cfg)}
    assert set(rows) == {stack.reject_address, stack.tempfail_address}
    assert rows[stack.reject_address]["state"] == "failed"
    assert "550" in rows[stack.reject_address]["last_error"]
    assert rows[stack.tempfail_address]["state"] == "queued"
    assert rows[stack.tempfail_address]["attempts"] == "1"
    assert "450" in rows[stack.tempfail_address]["last_error"]
    # Only the refused person is bouncing; their neighbours in the queue,
    # in flight at the same time, are not.
    assert person(run_leernet, cfg, stack.reject_address)["bouncing"].startswith("yes")
    for other in (stack.tempfail_address, "r19@discard.test", "r21@discard.test"):
        assert person(run_leernet, cfg, other)["bouncing"] == "no", other
    # libcurl ends a session after a refusal: at most one new one each.
    assert 3 <= stack.smtp_connections() <= 5, stack.postfix_log()[-3000:]


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


def _sent_count(cfg) -> int:
    conn = sqlite3.connect(cfg.parent / "leernet.db", timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE state = 'sent'").fetchone()[0]
    finally:
        conn.close()


def _wait_sent(cfg, count: int, proc=None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _sent_count(cfg) < count:
        assert proc is None or proc.poll() is None, "leernet ended before the test could act"
        assert time.monotonic() < deadline, f"{_sent_count(cfg)} sent, waited for {count}"
        time.sleep(0.02)


def test_postfix_killed_mid_run_loses_nothing_and_resends_only_unconfirmed(stack, cfg,
                                                                           run_leernet):
    rcpts = [f"r{n}@discard.test" for n in range(3000)]
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    once = subprocess.Popen([str(leernet_bin()), "-c", str(cfg), "once"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_sent(cfg, 300, once)
        stack.postfix_stop()      # three sessions cut off, mid-message or not
        out, err = once.communicate(timeout=120)
    finally:
        if once.poll() is None:
            once.kill()
            once.wait()
        stack.postfix_start()
    assert once.returncode == 75, err
    assert "kept and retried" in err
    left = states(cfg)
    assert left["sent"] < 3000 and set(left) <= {"sent", "queued"}, left
    # What did not get its 250 waits: those cut off in a transaction count
    # one attempt (their session broke after MAIL FROM), the rest none.
    conn = db(cfg)
    waiting = conn.execute("SELECT attempts, count(*) FROM outbox WHERE state = 'queued' "
                           "GROUP BY attempts").fetchall()
    assert dict(waiting).keys() <= {0, 1}, waiting
    assert dict(waiting).get(1, 0) <= 3, waiting

    sent_at_before = dict(conn.execute(
        "SELECT rcpt, sent_at FROM outbox WHERE state = 'sent'").fetchall())
    sent_before = set(sent_at_before)
    cut_after_data = {r for (r,) in conn.execute(
        "SELECT rcpt FROM outbox WHERE state = 'queued' AND last_error LIKE 'end of data:%'")}

    out = run_leernet(cfg, "outbox", "retry").stdout
    assert f"{3000 - left['sent']} messages queued" in out
    run_leernet(cfg, "once", timeout=120)
    assert states(cfg) == Counter(sent=3000)
    got = _settled_discards(stack, 3000)
    # Nothing twice: a row is marked sent only after its 250, and the 250s
    # of the sessions in flight were all recorded.  The one exception is
    # SMTP's own (RFC 5321 section 6.1): Postfix, killed, may have stored a
    # message whose 250 never reached us; only a message cut off after its
    # data may come twice.
    twice = {r for r, n in got.items() if n > 1}
    assert max(got.values()) <= 2, twice
    # leernet sent nothing again that it had recorded as sent ...
    again = {r for r, t in conn.execute("SELECT rcpt, sent_at FROM outbox")
             if r in sent_at_before and t != sent_at_before[r]}
    assert again == set(), again
    # ... so a message twice in the log is one cut off after its data, or
    # (seen once in a clean-clone CI run, fifteenth session) one that
    # Postfix's own delivery agent, killed with it, delivered and then
    # delivered again from its queue after the restart.
    assert twice - cut_after_data <= sent_before and \
        len(twice - cut_after_data) <= 3, (twice, cut_after_data)
    # Nothing lost.  What Postfix delivered while it was being stopped may
    # be missing from its own log (its log daemon goes first): only such a
    # message may be absent from the log, never one sent after the restart.
    missing = set(rcpts) - set(got)
    assert missing <= sent_before and len(missing) <= 10, missing


def _settled_discards(stack, count: int, timeout: float = 120) -> Counter:
    """The discard sink's recipients once (nearly) `count` arrived and the
    log stopped growing.  Not wait_queue_empty: a cleanup(8) killed with
    Postfix leaves an empty file in its incoming queue for hours."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        got = discarded_rcpts(stack)
        if got == last and len(got) >= count - 10:
            return got
        last = got
        time.sleep(1.5)
    return discarded_rcpts(stack)


def test_sigterm_waits_for_the_messages_in_flight(stack, cfg, leernet):
    rcpts = [f"r{n}@discard.test" for n in range(3000)]
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    daemon = leernet.start(cfg, "run")
    _wait_sent(cfg, 200, daemon.proc)
    daemon.signal(signal.SIGTERM)
    assert daemon.stop() == 0
    left = states(cfg)
    assert 200 <= left["sent"] < 3000 and set(left) <= {"sent", "queued"}, left
    # What Postfix accepted is exactly what is marked sent: no message in
    # flight was dropped after its 250 without being recorded.
    conn = db(cfg)
    sent = Counter(r for (r,) in conn.execute(
        "SELECT rcpt FROM outbox WHERE state = 'sent'"))
    assert wait_discarded(stack, left["sent"]) == sent
    # The rest were not tried, and nothing is counted against them.
    assert conn.execute("SELECT count(*) FROM outbox WHERE state = 'queued' "
                        "AND (attempts != 0 OR last_error != '')").fetchone()[0] == 0


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


def test_a_retry_set_by_a_clock_that_ran_fast_is_not_waited_for(stack, cfg, run_leernet):
    """A backoff is at most an hour (and its jitter).  A retry set a day
    ahead was set by a clock a day fast, corrected since: sent at the next
    run, not a day later.  One due within the hour keeps waiting."""
    queue_burst(cfg, ["a@discard.test", "b@discard.test"])
    now = int(time.time())
    with db(cfg) as conn:
        conn.execute("UPDATE outbox SET attempts = 1, next_attempt = ? WHERE rcpt = 'a@discard.test'",
                     (now + 86400,))
        conn.execute("UPDATE outbox SET attempts = 1, next_attempt = ? WHERE rcpt = 'b@discard.test'",
                     (now + 1800,))
    proc = run_leernet(cfg, "once")
    assert "1 message waited for a retry later than any backoff sets" in proc.stderr, proc.stderr
    with db(cfg) as conn:
        assert dict(conn.execute("SELECT rcpt, state FROM outbox")) == {
            "a@discard.test": "sent", "b@discard.test": "queued"}


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
    # Two messages at once: two of the three sessions, each with its own
    # TLS and login.
    assert stack.smtp_connections() == 2
    assert len(re.findall(r"/smtpd\[\d+\]: disconnect from .* auth=1 ", log)) == 2, log
    # The port that demands TLS before AUTH (encrypt + tls_auth_only), or
    # TLS from the first byte.
    port = "smtps" if how == "smtps" else "submission"
    assert re.search(rf"postfix/{port}/smtpd\[\d+\]: connect from", log), log[-2000:]


def test_a_renewed_token_is_used_by_every_session(stack, tmp_path, run_leernet):
    # An OAuth-style helper whose first answer has expired by the time it is
    # used: all three sessions are refused (535), and each tries once more
    # with the renewed secret, which is fetched once, not once per session.
    counter = tmp_path / "count"
    script = tmp_path / "token.sh"
    script.write_text("#!/bin/sh\n"
                      f"echo x >> {counter}\n"
                      f"if [ $(wc -l < {counter}) -eq 1 ]; then echo expired; "
                      f"else echo {stack.password('lido')}; fi\n")
    script.chmod(0o755)
    over = {k: v for k, v in stack.tls_overrides().items() if k.startswith("smtp_")}
    over["smtp_password"] = None
    over["smtp_password_command"] = str(script)
    cfg = stack.config(tmp_path, **over)
    run_leernet(cfg, "init")
    rcpts = [f"t{n}@discard.test" for n in range(12)]
    queue_burst(cfg, rcpts)
    stack.mark_logs()
    proc = run_leernet(cfg, "once")

    assert proc.stderr.count("login refused, retrying with a fresh secret") == 3, proc.stderr
    assert states(cfg) == Counter(sent=12)
    assert wait_discarded(stack, 12) == Counter(rcpts)
    conn = db(cfg)
    assert all(a == 1 for (a,) in conn.execute("SELECT attempts FROM outbox"))
    log = stack.postfix_log()
    assert len(re.findall(r"SASL PLAIN authentication failed", log)) == 3, log[-3000:]
    # The expired one, the renewal, and one more after the failures (a new
    # session may follow a failure): not one per message or per session.
    assert counter.read_text().count("x") <= 4


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


def test_a_relay_that_refuses_this_host_marks_nobody_bouncing(stack, tmp_path, run_leernet):
    """The submission port without a login answers every RCPT with "554
    5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied" (as a
    relay does after the host's address changed): every recipient was
    marked bouncing and got nothing more after the fix."""
    over = {k: v for k, v in stack.tls_overrides().items() if k.startswith("smtp_")}
    over["smtp_user"] = over["smtp_password"] = None
    cfg = stack.config(tmp_path, **over)
    run_leernet(cfg, "init")
    ask_help(stack, "alice", "bob")
    proc = run_leernet(cfg, "once", check=False)
    assert proc.returncode == 75, proc.stderr
    assert "refuses this host or sender, not the recipient" in proc.stderr, proc.stderr
    rows = outbox(run_leernet, cfg)
    assert [r["state"] for r in rows] == ["queued"] * 2, rows
    assert all("Client host rejected" in r["last_error"] for r in rows), rows
    for who in ("alice", "bob"):
        assert person(run_leernet, cfg, who)["bouncing"] == "no"
    # With the login back, both answers go out.
    cfg = stack.config(tmp_path, **{k: v for k, v in stack.tls_overrides().items()
                                    if k.startswith("smtp_")})
    run_leernet(cfg, "outbox", "retry")
    run_leernet(cfg, "once")
    stack.wait_queue_empty()
    for who in ("alice", "bob"):
        stack.wait_for(who)


def stalling_smtp_server(hang_up=False):
    """A server that takes a message's data and never answers the final
    ".": a hung mail server (or, with hang_up, one that closes the
    connection there: a crash).  Returns (port, an Event set when the data
    is in, a function to close it)."""
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    got_data = threading.Event()
    conns = []

    def serve(conn):
        f = conn.makefile("rwb", buffering=0)
        f.write(b"220 stall.test ESMTP\r\n")
        in_data = False
        for line in f:
            if in_data:
                if line == b".\r\n":
                    got_data.set()          # and never a reply
                    in_data = False
                    if hang_up:
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                f.write(b"250 stall.test\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                f.write(b"250 ok\r\n")
            elif verb == b"DATA":
                f.write(b"354 go\r\n")
                in_data = True
            # QUIT: no answer either

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()

    def close():
        listener.close()
        for c in conns:
            c.close()
    return listener.getsockname()[1], got_data, close


def test_sigterm_does_not_wait_for_a_hung_smtp_server(stack, leernet, tmp_path, run_leernet):
    """A server that stopped answering after the data held a SIGTERM for two
    minutes (the reply timeout, then QUIT's), past systemd's TimeoutStopSec:
    now a message in flight gets 10 s more, QUIT 5 s, and the message stays
    in the outbox for the next start."""
    port, got_data, close = stalling_smtp_server()
    try:
        cfg = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}",
                           mailbox_poll_interval="600")
        run_leernet(cfg, "init")
        daemon = leernet.start(cfg, "-v", "run")
        stack.send("alice", "lido", subject="hulp")
        assert got_data.wait(30), daemon.log()[-3000:]
        t0 = time.monotonic()
        assert daemon.stop(timeout=40) == 0, daemon.log()[-3000:]
        took = time.monotonic() - t0
        assert took < 25, (took, daemon.log()[-3000:])
        assert "stopping, and the server did not answer within 10 s; the message " \
               "stays queued" in daemon.log()
        [row] = outbox(run_leernet, cfg)
        assert row["state"] == "queued" and row["kind"] == "reply", row
    finally:
        close()


def test_a_server_gone_after_the_data_is_not_reported_as_354(stack, tmp_path, run_leernet):
    """The outbox kept the server's last reply, "354 go", as the reason a
    message waits when the server went away after the data: a reply that
    said nothing about it.  The reason is now what libcurl saw."""
    port, got_data, close = stalling_smtp_server(hang_up=True)
    try:
        cfg = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
        run_leernet(cfg, "init")
        stack.send("alice", "lido", subject="hulp")
        stack.wait_for("lido")
        run_leernet(cfg, "once", check=False)
        assert got_data.is_set()
        [row] = outbox(run_leernet, cfg)
        assert row["state"] == "queued", row
        assert row["last_error"].startswith("end of data: response reading failed"), row
        assert "354" not in row["last_error"], row
    finally:
        close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a file system")
def test_a_full_disk_while_sending_sends_nothing_twice(stack, leernet, run_leernet, tmp_path):
    """The database's file system fills up while the daemon sends a
    fan-out: the 250s of the messages in flight could not be noted, the
    rows stayed in flight, and each of those went again once the disk had
    room (three copies of three messages, one per session).  Now the
    daemon keeps those 250s and notes them before anything else goes."""
    base = tmp_path / "dbfs"
    base.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(base)], check=True)
    try:
        config = stack.config(base)
        run_leernet(config, "init")
        rcpts = [f"full{n}@discard.test" for n in range(600)]
        queue_burst(config, rcpts)
        stack.mark_logs()
        daemon = leernet.start(config, "run", log_path=tmp_path / "run.log")
        _wait_sent(config, 100, daemon.proc)
        with open(base / "fill", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        daemon.wait_log(r"disk is full", timeout=30)
        time.sleep(3)
        (base / "fill").unlink()
        _wait_sent(config, 600, daemon.proc, timeout=120)
        got = _settled_discards(stack, 600)
        assert daemon.alive()
        daemon.signal(signal.SIGTERM)
        assert daemon.stop() == 0
        assert states(config) == Counter(sent=600)
        assert {r for r, n in got.items() if n > 1} == set()
        assert "sent that the server had accepted" in daemon.log()
        assert set(rcpts) == set(got)
    finally:
        for d in leernet.daemons:
            if d.alive():
                d.proc.kill()
                d.proc.wait()
        subprocess.run(["umount", "-l", str(base)])
