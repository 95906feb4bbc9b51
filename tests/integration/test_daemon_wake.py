"""A change made on the command line while `leernet run` waits in IDLE is
acted on at once: the command finds the daemon's PID in the lock file and
sends it SIGUSR1, and the daemon's loop runs again (outbox, pages) instead
of waiting for new mail, the end of the 20-minute IDLE or a timer."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time

import pytest

from inbound_util import outbox, sanitizer_clean, wait_idle
from mailstack import address
from meetings_kit import AUTHSERV, SLUG, TITLE, Meet

MEMBERS = ("alice", "bob")
# Well below every timer of the daemon: IDLE is re-issued after 20 minutes,
# polling is every 10 here, the watchdog is off.
PROMPTLY = 5


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV,
                       mailbox_poll_interval="600",
                       publish_dir=str(tmp_path / "www"))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", SLUG, "--title", TITLE,
                "--lead", "lead@school.test")
    return Meet(stack, run_leernet, cfg)


def planned(meet) -> None:
    """alice and bob members, a meeting next month planned with `once`, and
    everyone's invitation read."""
    meet.join(*MEMBERS)
    day = dt.date.today() + dt.timedelta(days=30)
    meet.plan(day.strftime("%d-%m-%Y"), "15:00-17:00", "Lokaal 3")
    for who in MEMBERS + ("lead",):
        [inv] = meet.invites(who)
        assert inv.method == "REQUEST"


def wait_cancels(meet, timeout):
    """Each member's CANCEL, within `timeout` seconds of now."""
    deadline = time.monotonic() + timeout
    for who in MEMBERS:
        left = max(deadline - time.monotonic(), 0.1)
        meet.stack.wait_for(who, 1, timeout=left,
                            predicate=lambda m: _method(m) == "CANCEL")


def _method(msg) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return (part.get_param("method") or "").upper()
    return None


def stopped_cleanly(daemon) -> None:
    code = daemon.stop()
    log = daemon.log()
    assert code == 0, f"leernet run exited {code}:\n{log[-3000:]}"
    assert sanitizer_clean(log), log[-6000:]


def test_network_close_reaches_the_members_at_once(meet, leernet, run_leernet, tmp_path):
    planned(meet)
    page = tmp_path / "www" / SLUG / "index.html"
    daemon = leernet.start(meet.cfg, "-v", "run")
    wait_idle(daemon)
    assert page.exists(), daemon.log()[-3000:]     # published when it started
    assert "gesloten" not in page.read_text()

    mark = len(daemon.log())
    t0 = time.monotonic()
    out = run_leernet(meet.cfg, "network", "close", SLUG).stdout
    assert "sent by the running daemon now, or with the next 'once'" in out, out
    wait_cancels(meet, PROMPTLY)
    # The pages follow the change too, without new mail.
    while "Dit leernetwerk is gesloten." not in page.read_text():
        assert time.monotonic() - t0 < PROMPTLY, daemon.log()[-3000:]
        time.sleep(0.05)
    print(f"network close -> CANCELs delivered and page republished in "
          f"{time.monotonic() - t0:.2f} s")
    assert [r for r in outbox(meet.cfg) if r["state"] == "queued"] == []
    assert daemon.alive()
    # Back in IDLE: the wake-up did not cost the mailbox session.
    wait_idle(daemon, after=mark)
    assert "connection lost" not in daemon.log()
    stopped_cleanly(daemon)


def test_outbox_retry_while_the_server_is_away(meet, leernet, run_leernet):
    """While Postfix is down the daemon backs off (1, 2, 4, 8 ... s).
    `outbox retry` wakes it for one more try, which fails harmlessly; once
    the server is back, `outbox retry` sends at once rather than at the end
    of the backoff."""
    planned(meet)
    daemon = leernet.start(meet.cfg, "-v", "run")
    mark = wait_idle(daemon)
    meet.stack.postfix_stop()
    try:
        run_leernet(meet.cfg, "network", "close", SLUG)
        # Four failed tries: the next one is 16 s away.
        deadline = time.monotonic() + 20
        while len(re.findall(r"smtp: .*wait", daemon.log()[mark:])) < 4:
            assert time.monotonic() < deadline and daemon.alive(), daemon.log()[-3000:]
            time.sleep(0.1)
        tries = len(re.findall(r"smtp: .*wait", daemon.log()[mark:]))

        out = run_leernet(meet.cfg, "outbox", "retry").stdout
        assert re.search(r"\d+ messages? queued for delivery now", out), out
        daemon.wait_log(r"(?s)" + r"smtp: .*wait.*" * (tries + 1), timeout=PROMPTLY)
        assert daemon.alive()
        waiting = {r["rcpt"] for r in outbox(meet.cfg) if r["state"] == "queued"}
        assert waiting >= {address(w) for w in MEMBERS}, outbox(meet.cfg)
    finally:
        meet.stack.postfix_start()

    t0 = time.monotonic()
    run_leernet(meet.cfg, "outbox", "retry")
    wait_cancels(meet, PROMPTLY)
    print(f"outbox retry -> CANCELs delivered in {time.monotonic() - t0:.2f} s")
    deadline = time.monotonic() + PROMPTLY
    while [r for r in outbox(meet.cfg) if r["state"] == "queued"]:
        assert time.monotonic() < deadline, outbox(meet.cfg)
        time.sleep(0.1)
    stopped_cleanly(daemon)


def test_a_pid_left_in_a_free_lock_is_not_signalled(meet, run_leernet):
    """No daemon runs, but the lock file names a live process (a crashed
    leernet's PID, reused): a free lock is never trusted, so that process
    gets no SIGUSR1 (which would end it)."""
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        (meet.cfg.parent / "leernet.db.lock").write_text(f"{bystander.pid}\n")
        out = run_leernet(meet.cfg, "outbox", "retry").stdout
        assert "queued for delivery now" in out
        time.sleep(0.2)
        assert bystander.poll() is None, "a process named by a free lock was signalled"
    finally:
        bystander.kill()
        bystander.wait()
