"""The mail stack itself: what the leernet tests rely on, checked against the
real Postfix and Dovecot."""

import imaplib
import json
import os
import shlex
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from mailstack import SCRIPT, MailStack, pid_alive, read_config


def test_mail_to_alice_arrives_in_her_inbox(stack):
    mid = stack.send("bob", "alice", subject="Koffie?", body="Om drie uur.\n")

    [msg] = stack.wait_for("alice")
    assert msg["Message-ID"] == mid
    assert msg["Subject"] == "Koffie?"
    assert msg["From"] == "bob@school.test"
    assert msg.get_content() == "Om drie uur.\n"
    assert r"\Seen" not in msg.flags
    assert stack.inbox("bob") == []


def test_plus_address_lands_in_the_base_inbox_with_delivered_to(stack):
    stack.send("alice", "lido+rekenen", subject="Vraag over rekenen", body="Hoi")

    [msg] = stack.wait_for("lido")
    assert msg["Delivered-To"] == "lido+rekenen@school.test"
    assert msg["To"] == "lido+rekenen@school.test"
    assert stack.folders("lido") == ["INBOX"]


def test_rejected_address_gets_5xx_at_rcpt(stack):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        stack.send("lido", stack.reject_address, subject="x", body="y")
    code, text = err.value.recipients[stack.reject_address]
    assert code == 550, text


def test_tempfail_address_gets_4xx_at_rcpt(stack):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        stack.send("lido", stack.tempfail_address, subject="x", body="y")
    code, _ = err.value.recipients[stack.tempfail_address]
    assert code == 450


def test_one_refused_recipient_does_not_stop_the_others(stack):
    with smtplib.SMTP(stack.host, stack.smtp_port) as smtp:
        refused = smtp.sendmail("lido@school.test",
                                ["alice@school.test", "nobody@school.test"],
                                b"Subject: twee\r\n\r\nhallo\r\n")
    assert refused["nobody@school.test"][0] == 550
    stack.wait_for("alice")


def test_reject_can_be_switched_on_and_off_for_any_address(stack):
    stack.reject("carol", "552 5.2.2 Mailbox full")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        stack.send("lido", "carol", subject="x", body="y")
    assert err.value.recipients["carol@school.test"][0] == 552

    stack.unreject("carol")
    stack.send("lido", "carol", subject="weer", body="y")
    stack.wait_for("carol")


def test_unknown_user_and_foreign_domain_are_refused_nothing_leaves(stack):
    for rcpt in ("nobody@school.test", "someone@example.com"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            stack.send("lido", rcpt, subject="x", body="y")
        assert err.value.recipients[rcpt][0] == 550


def test_bounce_address_gives_the_sender_a_dsn(stack):
    mid = stack.send("lido", stack.bounce_address, subject="Uitnodiging", body="...")

    [dsn] = stack.wait_for("lido")
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    text = status.as_string()
    assert "Status: 5.1.1" in text
    assert "bounce@school.test" in text
    assert mid in dsn.as_string()


def test_discard_domain_accepts_everything(stack):
    with smtplib.SMTP(stack.host, stack.smtp_port) as smtp:
        for i in range(20):
            smtp.sendmail("lido@school.test", [f"member{i}@discard.test"],
                          f"Subject: {i}\r\n\r\nbody\r\n".encode())
    stack.wait_queue_empty()
    # postlogd writes the log after the queue file is gone: give it time.
    deadline = time.monotonic() + 10
    while stack.discarded() < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.discarded() == 20


def test_new_user_can_log_in_and_receive_at_once(stack):
    addr = stack.add_user("erik", "geheim")
    assert addr == "erik@school.test"
    stack.send("alice", addr, subject="welkom", body="hoi")
    assert stack.wait_for("erik")[0]["Subject"] == "welkom"
    with stack.imap("erik") as conn:
        assert conn.select("INBOX")[0] == "OK"


def test_user_in_another_domain(stack):
    addr = stack.add_user("piet@other.test")
    stack.send("lido", addr, subject="buiten", body="hoi")
    assert stack.wait_for(addr)[0]["Subject"] == "buiten"


def test_login_with_the_bare_name_thanks_to_the_default_realm(stack):
    conn = imaplib.IMAP4(stack.host, stack.imap_port)
    try:
        typ, _ = conn.login("alice", stack.password("alice"))
        assert typ == "OK"
    finally:
        conn.logout()


def test_wrong_password_is_refused_without_slowing_later_logins(stack):
    for _ in range(3):
        conn = imaplib.IMAP4(stack.host, stack.imap_port)
        try:
            with pytest.raises(imaplib.IMAP4.error):
                conn.login("alice@school.test", "wrong")
        finally:
            conn.logout()
    t0 = time.monotonic()
    with stack.imap("alice") as conn:
        assert conn.select("INBOX")[0] == "OK"
    assert time.monotonic() - t0 < 1.5  # no auth penalty on the test stack


def test_capabilities_and_dot_separator(stack):
    with stack.imap("lido") as conn:
        typ, data = conn.capability()
        caps = set(data[0].decode().upper().split())
        typ, data = conn.list('""', '""')
        assert typ == "OK"
        typ, _ = conn.create('"leernet/done"')
        assert typ == "NO"  # Dovecot's default separator is ".", not "/"
    assert {"IDLE", "MOVE", "UIDPLUS"} <= caps
    assert b'"."' in data[0]


def test_flags_show_keywords_and_seen(stack):
    stack.send("alice", "lido", subject="een vraag", body="Mag ik iets vragen?")
    [msg] = stack.wait_for("lido")
    stack.set_flags("lido", msg.uid, "leernet-human")
    [flagged] = stack.flags("lido")
    assert "leernet-human" in flagged.flags
    assert r"\Seen" not in flagged.flags
    assert flagged.subject == "een vraag"

    stack.set_flags("lido", msg.uid, r"\Seen")
    assert r"\Seen" in stack.flags("lido")[0].flags


def test_folders_and_clear(stack):
    stack.send("alice", "lido", subject="een", body="1")
    stack.wait_for("lido")
    with stack.imap("lido") as conn:
        assert conn.create("leernet.done")[0] == "OK"
        conn.select("INBOX")
        assert conn.uid("MOVE", "1:*", "leernet.done")[0] == "OK"
    assert stack.folders("lido") == ["INBOX", "leernet.done"]
    assert [m["Subject"] for m in stack.inbox("lido", "leernet/done")] == ["een"]

    stack.clear("lido")
    assert stack.folders("lido") == ["INBOX"]
    assert stack.inbox("lido") == []


def test_raw_message_and_headers(stack):
    raw = (b"From: Alice <alice@school.test>\r\n"
           b"To: lido@school.test\r\n"
           b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
           b"Message-ID: <raw-1@school.test>\r\n"
           b"Auto-Submitted: auto-replied\r\n"
           b"\r\n"
           b"Afwezig.\r\n")
    assert stack.send("alice", "lido", raw=raw) == "<raw-1@school.test>"
    stack.send("bob", "lido", subject="met kop", body="x",
               headers={"In-Reply-To": "<raw-1@school.test>", "Message-ID": "<kop@school.test>"})

    # Postfix delivers the two in parallel, so the order in the mailbox is
    # not the order of sending.
    got = {m["Message-ID"]: m for m in stack.wait_for("lido", count=2)}
    first, second = got["<raw-1@school.test>"], got["<kop@school.test>"]
    assert first["Subject"] == "Café"
    assert first["Auto-Submitted"] == "auto-replied"
    assert second["In-Reply-To"] == "<raw-1@school.test>"
    assert second["Message-ID"] == "<kop@school.test>"


def test_null_sender(stack):
    stack.send("mailer-daemon@school.test", "lido", subject="bounce", body="x",
               envelope_from="")
    [msg] = stack.wait_for("lido")
    assert msg["Return-Path"] == "<>"


def test_log_counts_connections_of_this_test_only(stack):
    assert stack.smtp_connections() == 0
    stack.send("alice", "lido", subject="1", body="1")
    stack.send("alice", "lido", subject="2", body="2")
    assert stack.smtp_connections() == 2
    assert "connect from" in stack.postfix_log()


def test_wait_for_says_what_is_there_when_it_times_out(stack):
    stack.send("alice", "lido", subject="iets anders", body="x")
    with pytest.raises(AssertionError, match="iets anders"):
        stack.wait_for("lido", predicate=lambda m: m["Subject"] == "nooit", timeout=1)


def test_imap_starttls_verifies_with_the_generated_ca(stack):
    conn = imaplib.IMAP4("localhost", stack.imap_port)
    try:
        conn.starttls(ssl_context=ssl.create_default_context(cafile=stack.ca_file))
        assert conn.login("alice@school.test", stack.password("alice"))[0] == "OK"
    finally:
        conn.logout()

    # The IP address is in the certificate too.
    with stack.imap("alice", tls=True) as conn:
        assert conn.select("INBOX")[0] == "OK"


def test_imaps_verifies_with_the_generated_ca_and_not_without(stack):
    conn = imaplib.IMAP4_SSL("localhost", stack.imaps_port,
                             ssl_context=ssl.create_default_context(cafile=stack.ca_file))
    assert conn.login("alice", stack.password("alice"))[0] == "OK"
    conn.logout()

    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("localhost", stack.imaps_port,
                          ssl_context=ssl.create_default_context())


def test_certificate_names_localhost_and_127_0_0_1(stack):
    ctx = ssl.create_default_context(cafile=stack.ca_file)
    with socket.create_connection((stack.host, stack.imaps_port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            cert = tls.getpeercert()
    assert ("DNS", "localhost") in cert["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]

    with socket.create_connection((stack.host, stack.imaps_port)) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="mx.example.org")


def test_submission_needs_starttls_and_auth(stack):
    with smtplib.SMTP("localhost", stack.submission_port) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # only after STARTTLS
        with pytest.raises(smtplib.SMTPSenderRefused):
            smtp.sendmail("lido@school.test", ["alice@school.test"], b"Subject: x\r\n\r\nx\r\n")

    with smtplib.SMTP("localhost", stack.submission_port) as smtp:
        smtp.starttls(context=stack.ssl_context())
        smtp.login("lido@school.test", stack.password("lido"))
        smtp.sendmail("lido@school.test", ["alice@school.test"],
                      b"Subject: via submission\r\n\r\nx\r\n")
    assert stack.wait_for("alice")[0]["Subject"] == "via submission"


def test_smtps_with_auth(stack):
    with smtplib.SMTP_SSL("localhost", stack.smtps_port, context=stack.ssl_context()) as smtp:
        smtp.login("lido", stack.password("lido"))
        smtp.sendmail("lido@school.test", ["bob@school.test"], b"Subject: via smtps\r\n\r\nx\r\n")
    assert stack.wait_for("bob")[0]["Subject"] == "via smtps"


def test_plain_smtp_port_offers_no_tls(stack):
    # leernet's tls=none talks to this port; libcurl must not be tempted.
    with smtplib.SMTP(stack.host, stack.smtp_port) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")


def test_two_stacks_run_at_once(stack, fresh_stack):
    ports = {stack.imap_port, stack.imaps_port, stack.smtp_port,
             stack.submission_port, stack.smtps_port}
    other = {fresh_stack.imap_port, fresh_stack.imaps_port, fresh_stack.smtp_port,
             fresh_stack.submission_port, fresh_stack.smtps_port}
    assert len(ports) == 5 and len(other) == 5 and not ports & other

    stack.send("bob", "alice", subject="in de eerste", body="1")
    fresh_stack.send("bob", "alice", subject="in de tweede", body="2")
    assert [m["Subject"] for m in stack.wait_for("alice")] == ["in de eerste"]
    assert [m["Subject"] for m in fresh_stack.wait_for("alice")] == ["in de tweede"]
    time.sleep(0.3)
    assert len(stack.inbox("alice")) == 1 and len(fresh_stack.inbox("alice")) == 1


def test_postfix_stop_and_start(fresh_stack):
    s = fresh_stack
    s.postfix_stop()
    assert not s.running()
    with pytest.raises(ConnectionRefusedError):
        s.send("alice", "lido", subject="te vroeg", body="x")
    s.postfix_start()
    assert s.running()
    s.send("alice", "lido", subject="weer open", body="x")
    assert s.wait_for("lido")[0]["Subject"] == "weer open"


def test_a_queue_file_left_by_a_stopped_cleanup_does_not_block_the_queue(fresh_stack):
    """A stop can end cleanup(8) between creating a queue file under its
    temporary name (microseconds.pid) and renaming it; the file is never
    delivered, and every later wait for an empty queue would time out (CI,
    stop 17). The next start removes it, also when the killed cleanup is
    still a zombie (stop 18), but not a file whose process lives."""
    s = fresh_stack
    s.postfix_stop()
    incoming = Path(s.env["POSTFIX_QUEUE"]) / "incoming"
    zombie_pid = os.fork()
    if zombie_pid == 0:
        os._exit(0)
    try:
        # Not reaped (this process has not waited): a zombie, still in /proc.
        for _ in range(100):
            if not pid_alive(zombie_pid):
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"{zombie_pid} did not become a zombie")
        assert (Path("/proc") / str(zombie_pid)).exists()
        dead = incoming / "508786.999999999"
        zombie = incoming / f"508787.{zombie_pid}"
        alive = incoming / f"508788.{os.getpid()}"
        for f in (dead, zombie, alive):
            f.write_bytes(b"")
        try:
            s.postfix_start()
            assert not dead.exists()
            assert not zombie.exists()
            assert alive.exists()
        finally:
            alive.unlink(missing_ok=True)
    finally:
        os.waitpid(zombie_pid, 0)
    s.wait_queue_empty()


def test_mail_waits_in_postfix_until_dovecot_is_back(fresh_stack):
    s = fresh_stack
    s.dovecot_stop()
    s.send("alice", "lido", subject="uitgesteld", body="x")
    time.sleep(0.5)
    assert s.queue_ids()  # deferred: LMTP is down
    assert "status=deferred" in s.postfix_log()

    s.dovecot_start()
    t0 = time.monotonic()
    assert s.wait_for("lido", timeout=10)[0]["Subject"] == "uitgesteld"
    assert time.monotonic() - t0 < 5  # the short backoff of the test stack


def test_imap_client_reconnects_after_dovecot_restart(fresh_stack):
    s = fresh_stack
    conn = imaplib.IMAP4(s.host, s.imap_port)
    conn.login("lido", s.password("lido"))
    conn.select("INBOX")
    old_port = s.imap_port

    s.dovecot_restart()
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        conn.noop()
        conn.noop()
    assert s.imap_port == old_port
    s.send("alice", "lido", subject="na de herstart", body="x")
    assert s.wait_for("lido")[0]["Subject"] == "na de herstart"


def test_stack_env_and_json_agree(stack):
    env = {}
    for line in (stack.dir / "stack.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    data = json.loads((stack.dir / "stack.json").read_text())
    assert env.keys() == data.keys()
    for key, value in data.items():
        assert env[key] == str(value), key
    for key in ("IMAP_PORT", "IMAPS_PORT", "SMTP_PORT", "SUBMISSION_PORT", "SMTPS_PORT"):
        assert isinstance(data[key], int)
    for key in ("CA_FILE", "MAILDIR_ROOT", "POSTFIX_LOG", "DOVECOT_LOG", "LMTP_SOCKET"):
        assert Path(data[key]).exists(), key
    # Sourcing it from sh works too.
    out = subprocess.run(["sh", "-c", '. "$1" && echo "$SMTP_PORT $CA_FILE"', "sh",
                          str(stack.dir / "stack.env")], capture_output=True, text=True)
    assert out.stdout.split() == [str(data["SMTP_PORT"]), data["CA_FILE"]]


def test_mail_is_maildir_under_the_stack_directory(stack):
    stack.send("alice", "carol", subject="op schijf", body="x")
    stack.wait_for("carol")
    files = list((stack.maildir_root / "school.test" / "carol" / "Maildir").glob("*/*"))
    assert any(f.parent.name in ("new", "cur") for f in files)


def test_config_has_the_spec_keys_and_overrides(stack, tmp_path):
    path = stack.config(tmp_path, mailbox_idle="no", smtp_tls=None,
                        organization_staff_only="yes", publish_dir=str(tmp_path / "www"))
    cfg = read_config(path)
    assert cfg["mailbox"]["url"] == f"imap://127.0.0.1:{stack.imap_port}/INBOX"
    assert cfg["mailbox"]["user"] == "lido@school.test"
    assert cfg["mailbox"]["password"] == stack.password("lido")
    assert cfg["mailbox"]["tls"] == "none"
    assert cfg["mailbox"]["idle"] == "no"
    assert cfg["smtp"]["url"] == f"smtp://127.0.0.1:{stack.smtp_port}"
    assert "tls" not in cfg["smtp"]
    assert cfg["smtp"]["from"] == "LIDO leernetwerken <lido@school.test>"
    assert cfg["database"]["path"] == str(tmp_path / "leernet.db")
    assert cfg["organization"]["domains"] == "school.test"
    assert cfg["organization"]["coordinators"] == "femme@school.test, donna@school.test"
    assert cfg["organization"]["staff_only"] == "yes"
    assert cfg["digest"]["schedule"] == "off"
    assert cfg["publish"]["dir"] == str(tmp_path / "www")
    assert Path(cfg["paths"]["templates"]).name == "templates"
    with pytest.raises(ValueError):
        stack.config(tmp_path, mailbx_url="typo")


def test_tls_overrides_reach_the_servers(stack, tmp_path):
    cfg = read_config(stack.config(tmp_path, **stack.tls_overrides()))
    assert cfg["mailbox"]["url"].startswith("imaps://localhost:")
    ctx = ssl.create_default_context(cafile=cfg["mailbox"]["ca_file"])
    port = int(cfg["mailbox"]["url"].rsplit(":", 1)[1].split("/")[0])
    conn = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
    assert conn.login(cfg["mailbox"]["user"], cfg["mailbox"]["password"])[0] == "OK"
    conn.logout()


def test_start_fails_loudly_and_stop_leaves_nothing(tmp_path):
    d = Path(subprocess.check_output(["mktemp", "-d", "/tmp/leernet-ms-t.XXXXXX"], text=True).strip())
    s = MailStack(d, owns_directory=True)
    try:
        s.start()
        pids = [int((d / "spool/pid/master.pid").read_text().split()[0]),
                int(Path(s.env["DOVECOT_PID_FILE"]).read_text().split()[0])]
        # A second start of the same directory is refused with a reason.
        again = subprocess.run([str(SCRIPT), "start", str(d)], capture_output=True, text=True)
        assert again.returncode != 0 and "already running" in again.stderr
    finally:
        s.stop()

    for pid in pids:
        assert not pid_alive(pid), f"pid {pid} still runs"
    assert not d.exists()


def test_broken_config_shows_the_real_error(tmp_path):
    d = Path(subprocess.check_output(["mktemp", "-d", "/tmp/leernet-ms-t.XXXXXX"], text=True).strip())
    s = MailStack(d, owns_directory=True)
    try:
        s.start()
        s.dovecot_stop()
        conf = Path(s.env["DOVECOT_CONFIG"])
        conf.write_text(conf.read_text() + "\nno_such_setting = 1\n")
        proc = subprocess.run([str(SCRIPT), "dovecot-start", str(d)], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "no_such_setting" in proc.stderr
    finally:
        s.stop()


def test_run_leernet_helper(tmp_path, monkeypatch, run_leernet, leernet):
    fake = tmp_path / "fake-leernet"
    fake.write_text('#!/bin/sh\n'
                    'case "$3" in\n'
                    'fail) echo "config: no such key" >&2; exit 78 ;;\n'
                    'run) trap "echo stopped; exit 0" TERM; echo running; '
                    'while :; do sleep 0.05; done ;;\n'
                    '*) echo "args: $*" ;;\n'
                    'esac\n')
    fake.chmod(0o755)
    monkeypatch.setenv("LEERNET_BIN", str(fake))
    config = tmp_path / "leernet.conf"

    done = run_leernet(config, "network", "list", "--csv")
    assert done.returncode == 0
    assert done.stdout == f"args: -c {config} network list --csv\n"

    with pytest.raises(subprocess.CalledProcessError) as err:
        run_leernet(config, "fail")
    assert err.value.returncode == 78
    assert "config: no such key" in str(err.value)
    assert run_leernet(config, "fail", check=False).returncode == 78

    daemon = leernet.start(config, "run")
    daemon.wait_log("running")
    assert daemon.stop() == 0
    assert "stopped" in daemon.log()
