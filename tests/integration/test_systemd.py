"""systemd/leernet.service and what it promises about the daemon.

The unit is checked with systemd's own tools (`systemd-analyze verify`, and
the offline `security` review where systemd has it).  No systemd manager
runs here, so the contract between unit and daemon is exercised the way
systemd would: the daemon gets a NOTIFY_SOCKET, a watchdog interval and a
credentials directory, and must say READY, keep the watchdog fed, read its
password from the credential, reload on SIGHUP and say STOPPING on SIGTERM.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from fake_servers import FakeServer
from mailstack import REPO, leernet_bin

ANALYZE = shutil.which("systemd-analyze")
UNIT = REPO / "systemd" / "leernet.service"
SYSUSERS = REPO / "systemd" / "leernet.sysusers"


def unit_for_here(tmp_path: Path) -> Path:
    """The unit with ExecStart= (and ExecStartPre=) pointing at the built
    binary, so verify can check the command exists; the man pages of
    Documentation= in a man tree of their own."""
    text = UNIT.read_text()
    assert "/usr/local/bin/leernet " in text
    unit_dir = tmp_path / "unit"
    unit_dir.mkdir()
    unit = unit_dir / "leernet.service"
    unit.write_text(text.replace("/usr/local/bin/leernet ", f"{leernet_bin()} "))
    for page, section in (("leernet.8", "man8"), ("leernet.conf.5", "man5")):
        (tmp_path / "man" / section).mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "man" / page, tmp_path / "man" / section / page)
    return unit


def analyze(tmp_path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, MANPATH=str(tmp_path / "man"), SYSTEMD_LOG_COLOR="0")
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_verifies(tmp_path):
    unit = unit_for_here(tmp_path)
    p = analyze(tmp_path, "verify", str(unit))
    complaints = [l for l in (p.stdout + p.stderr).splitlines() if "leernet" in l]
    assert p.returncode == 0 and not complaints, p.stdout + p.stderr


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_unit_security_exposure_stays_low(tmp_path):
    if "--offline" not in analyze(tmp_path, "security", "--help").stdout:
        pytest.skip("this systemd-analyze cannot review a unit file offline")
    unit = unit_for_here(tmp_path)
    p = analyze(tmp_path, "security", "--offline=true", "--no-pager", str(unit))
    m = re.search(r"Overall exposure level for leernet\.service: (\d+\.\d+)", p.stdout)
    assert m, p.stdout + p.stderr
    # docs/systemd.md records the score; anything above 2 means hardening was lost.
    assert float(m.group(1)) <= 2.0, p.stdout


def test_unit_promises():
    """What the daemon and the docs rely on, spelled out."""
    s = unit_settings()
    assert s["Type"] == ["notify"]
    assert s["User"] == ["leernet"] and "DynamicUser" not in s
    assert s["StateDirectory"] == ["leernet"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["Restart"] == ["on-failure"] and s["WatchdogSec"]
    # init's 78 in ExecStartPre is not RestartPreventExitStatus's business.
    assert s["StartLimitBurst"] == ["5"] and s["StartLimitIntervalSec"] == ["10min"]
    assert sorted(c.split(":", 1)[0] for c in s["LoadCredential"]) == \
        ["mailbox-password", "smtp-password"]
    assert s["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert s["CapabilityBoundingSet"] == [""] and s["UMask"] == ["0027"]
    for yes in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups",
                "RestrictNamespaces", "LockPersonality", "MemoryDenyWriteExecute"):
        assert s[yes] == ["yes"], yes
    assert s["ProtectSystem"] == ["strict"] and s["SystemCallArchitectures"] == ["native"]
    assert "@system-service" in s["SystemCallFilter"]
    user = [l.split() for l in SYSUSERS.read_text().splitlines()
            if l.strip() and not l.startswith("#")]
    assert user and user[0][:2] == ["u", "leernet"]


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None,
                    reason="systemd-sysusers is not installed")
def test_sysusers_creates_the_user(tmp_path):
    (tmp_path / "etc").mkdir()
    p = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    passwd = (tmp_path / "etc" / "passwd").read_text()
    assert re.search(r"^leernet:x:\d+:\d+:[^:]*:/var/lib/leernet:", passwd, re.M), passwd


class NotifySocket:
    """The receiving end of sd_notify(3), as systemd holds it."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def wait_for(self, pattern: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self.messages:
                if re.search(pattern, msg, re.M):
                    self.messages.remove(msg)
                    return msg
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError(f"no notification matching {pattern!r}; got {self.messages}")

    def close(self):
        self.sock.close()


def test_daemon_keeps_the_units_promises(stack, leernet, tmp_path):
    """Type=notify, WatchdogSec=, LoadCredential= and ExecReload= as the
    daemon sees them."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mailbox-password").write_text(stack.password("lido") + "\n")
    cfg = stack.config(tmp_path, mailbox_password=None,
                       mailbox_password_file="mailbox-password")
    leernet.run(cfg, "init")
    notify = NotifySocket(tmp_path / "notify")
    try:
        daemon = leernet.start(cfg, "run", env={
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "2000000",
            "CREDENTIALS_DIRECTORY": str(creds)})
        notify.wait_for(r"^READY=1$")
        # The password from the credential opened the mailbox.
        assert "mailbox-password" not in daemon.log()
        notify.wait_for(r"^STATUS=watching ")
        # Fed at least every WatchdogSec/2 while it waits.
        start = time.monotonic()
        notify.wait_for(r"^WATCHDOG=1$")
        notify.wait_for(r"^WATCHDOG=1$")
        notify.wait_for(r"^WATCHDOG=1$")
        assert time.monotonic() - start < 6
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(r"configuration and templates reloaded")
        assert daemon.alive()
        daemon.signal(signal.SIGTERM)
        notify.wait_for(r"^STOPPING=1$")
        assert daemon.stop() == 0
    finally:
        notify.close()


class SlowSMTP(FakeServer):
    """A mail server that works, but answers every line a second late."""

    DELAY = 1.0

    def __init__(self):
        self.accepted = 0
        super().__init__()

    def session(self, conn):
        f = conn.makefile("rb")

        def say(line):
            time.sleep(self.DELAY)
            conn.sendall(line.encode() + b"\r\n")
        say("220 slow ESMTP")
        for raw in f:
            verb = raw[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250-slow\r\n250 8BITMIME")
            elif verb == b"DATA":
                say("354 go on")
                for line in f:
                    if line == b".\r\n":
                        break
                self.accepted += 1
                say("250 queued")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


def test_the_watchdog_is_fed_while_the_outbox_drains(stack, leernet, tmp_path):
    """The loop pinged once per turn, and a turn waited for the whole
    outbox: from a slow server a drain of thousands takes longer than
    WatchdogSec, and systemd killed a daemon that was working (found by the
    thread audit: the first ping 22 s after READY with WATCHDOG_USEC 4 s)."""
    from inbound_util import deliver_direct, prepare, request
    server = SlowSMTP()
    n = 9
    config = prepare(stack, tmp_path, smtp_sessions="3",
                     smtp_url=f"smtp://127.0.0.1:{server.port}")
    deliver_direct(stack, "lido", [request(f"carol+w{i}", "aanmelden rekenen")
                                   for i in range(n)])
    notify = NotifySocket(tmp_path / "notify")
    pings = []
    try:
        daemon = leernet.start(config, "-v", "run", env={
            "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "4000000"})
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.accepted < n:
            try:
                msg = notify.sock.recv(4096).decode()
            except socket.timeout:
                continue
            if "READY=1" in msg or "WATCHDOG=1" in msg:
                pings.append(time.monotonic())
        daemon.stop(timeout=30)
    finally:
        notify.close()
        server.close()
    assert server.accepted == n, daemon.log()[-3000:]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert len(pings) > 3 and max(gaps) < 2.5, gaps
