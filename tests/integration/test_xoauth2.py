"""XOAUTH2 against a real server (SPEC §3 `auth = xoauth2`): how Microsoft
365 and Google let a program log in.  The stack's Dovecot checks each token
with an introspection server (its oauth2 passdb, see mailstack.sh); this
test runs that server itself, so it decides which tokens are good.  Postfix
asks Dovecot too (SASL), so the same token opens IMAP and SMTP submission.
"""

import http.server
import json
import re
import threading
import urllib.parse

import pytest

from mailstack import COORDINATOR, address


class Introspection(http.server.ThreadingHTTPServer):
    """RFC 7662-like token introspection: POST token=...; 200 with the
    user for a good token, 401 for any other.  Counts what it was asked."""

    def __init__(self, good: dict):
        self.good = good            # token -> user
        self.asked = []             # tokens, in order
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        token = (form.get("token") or [""])[0]
        self.server.asked.append(token)
        user = self.server.good.get(token)
        body = json.dumps({"active": True, "username": user} if user else
                          {"active": False}).encode()
        self.send_response(200 if user else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def introspection(stack):
    server = Introspection({"tok-good": address(COORDINATOR)})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conf = stack.dir / "dovecot" / "oauth2.conf.ext"
    before = conf.read_text()
    conf.write_text(before.replace("http://127.0.0.1:9/",
                                   f"http://127.0.0.1:{server.server_port}/"))
    stack.dovecot_restart()
    try:
        yield server
    finally:
        conf.write_text(before)
        stack.dovecot_restart()
        server.shutdown()
        server.server_close()


def xoauth2_config(stack, tmp_path, token_script):
    over = stack.tls_overrides()
    over.update(mailbox_auth="xoauth2", mailbox_password=None,
                mailbox_password_command=str(token_script),
                smtp_auth="xoauth2", smtp_password=None,
                smtp_password_command=str(token_script))
    return stack.config(tmp_path, **over)


def token_script(tmp_path, token: str):
    script = tmp_path / "token"
    script.write_text(f"#!/bin/sh\necho {token}\n")
    script.chmod(0o700)
    return script


def test_a_token_opens_imap_and_smtp_and_a_request_is_answered(
        stack, tmp_path, run_leernet, introspection):
    cfg = xoauth2_config(stack, tmp_path, token_script(tmp_path, "tok-good"))
    run_leernet(cfg, "init")
    stack.mark_logs()
    out = run_leernet(cfg, "check-config")
    assert re.search(r"^mailbox imaps://\S+: OK$", out.stdout, re.M), out.stdout
    assert re.search(r"^smtp smtp://\S+: OK$", out.stdout, re.M), out.stdout
    # Dovecot saw XOAUTH2 on IMAP, and Postfix's submission an AUTH (which
    # it hands to the same Dovecot); both asked about the token.
    assert re.search(rf"Login: user=<{address(COORDINATOR)}>, method=XOAUTH2",
                     stack.dovecot_log()), stack.dovecot_log()[-2000:]
    assert re.search(r"submission/smtpd.*auth=1 ", stack.postfix_log()), \
        stack.postfix_log()[-2000:]
    assert introspection.asked.count("tok-good") >= 2, introspection.asked

    stack.clear("carol")
    stack.send("carol", COORDINATOR, subject="help")
    stack.wait_for(COORDINATOR, 1, timeout=30)
    run_leernet(cfg, "once")
    reply = stack.wait_for("carol", 1, timeout=30)[0]
    assert reply["From"] and address(COORDINATOR) in reply["From"]


def test_a_refused_token_is_named_as_such(stack, tmp_path, run_leernet, introspection):
    cfg = xoauth2_config(stack, tmp_path, token_script(tmp_path, "tok-expired"))
    run_leernet(cfg, "init")
    out = run_leernet(cfg, "check-config", check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "tok-expired" not in text, "a token never reaches the log"
    # Each server's line says the token was refused and where it comes
    # from; no base64 error challenge (334 eyJ...) in its place.
    mailbox = re.search(r"^mailbox: .*$", text, re.M)
    smtp = re.search(r"^smtp smtp://.*$", text, re.M)
    assert mailbox and "access token was refused" in mailbox.group(0), text
    assert "[mailbox] password_command" in mailbox.group(0), text
    assert smtp and "XOAUTH2 access token refused" in smtp.group(0), text
    assert "[smtp] password_command" in smtp.group(0), text
    assert "334 " not in text, text
    # An expired token is fetched again once before giving up.
    assert introspection.asked.count("tok-expired") >= 2, introspection.asked


def test_a_token_command_gets_none_of_the_daemons_sessions(
        stack, tmp_path, leernet, run_leernet, introspection):
    """The command ran through popen(3), which hands the child every
    descriptor not marked close-on-exec: the IMAP session it logs in (and
    the SMTP lanes' sockets).  A helper that stays around, an agent, would
    keep those sessions open after the daemon dropped them."""
    from inbound_util import wait_answer, wait_idle
    log = tmp_path / "fds.log"
    script = tmp_path / "token"
    script.write_text("#!/bin/sh\n"
                      f"{{ echo '== call'; ls -l /proc/$$/fd; }} >> {log} 2>&1\n"
                      "echo tok-good\n")
    script.chmod(0o700)
    cfg = xoauth2_config(stack, tmp_path, script)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen")
    daemon = leernet.start(cfg, "-v", "run")
    wait_idle(daemon)
    msgid = stack.send("alice", COORDINATOR, subject="aanmelden rekenen")
    wait_answer(stack, "alice", msgid, timeout=30)
    daemon.stop()
    calls = log.read_text().split("== call")[1:]
    assert len(calls) >= 2, calls     # the mailbox's token, then SMTP's
    for call in calls:
        assert "socket:" not in call, call
