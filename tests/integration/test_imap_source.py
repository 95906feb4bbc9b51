"""The IMAP source (src/imap.c) against the real Dovecot of the mail stack,
and against a scripted peer for the one libetpan bug Dovecot will not show
on cue (the IDLE start hang, libetpan#393).

Driven through tests/tools/source-probe (the Makefile builds it next to
leernet as tools/source-probe; LEERNET_SOURCE_PROBE overrides).
"""

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fake_imap_idle import FakeIdlePeer
from mailstack import REPO, leernet_bin


def probe_bin() -> Path:
    env = os.environ.get("LEERNET_SOURCE_PROBE")
    if env:
        return Path(env)
    return leernet_bin().parent / "tools" / "source-probe"


@pytest.fixture(scope="module")
def probe():
    binary = probe_bin()
    if not binary.exists():
        pytest.skip(f"{binary} is not built")

    def run(config, *commands, timeout=60, check=None):
        proc = subprocess.run([str(binary), str(config), *map(str, commands)],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check is not None and proc.returncode != check:
            raise AssertionError(f"source-probe {' '.join(map(str, commands))} exited "
                                 f"{proc.returncode}, wanted {check}\n--- stdout\n"
                                 f"{proc.stdout}--- stderr\n{proc.stderr}")
        return proc
    run.binary = binary
    return run


def fetched(stdout: str) -> list[tuple[int, str, str]]:
    """(uid, key, subject) of each `fetch` line."""
    out = []
    for line in stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 3 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1], parts[3].strip() if len(parts) > 3 else ""))
    return out


def waited(stdout: str) -> list[tuple[str, int]]:
    """(new|timeout|error, elapsed ms) of each `wait` line."""
    return [(w, int(ms)) for w, ms in
            (line.split() for line in stdout.splitlines()
             if line.split()[:1] in (["new"], ["timeout"], ["error"]))]


# --- the scripted peer: libetpan's IDLE start ------------------------------

def peer_config(tmp_path: Path, port: int, **mailbox) -> Path:
    lines = {
        "url": f"imap://127.0.0.1:{port}/INBOX",
        "user": "lido@school.test",
        "password": "secret",
        "tls": "none",
        "auth": "login",
        "idle": "yes",
        "poll_interval": "60",
    }
    lines.update(mailbox)
    text = "[mailbox]\n" + "".join(f"{k} = {v}\n" for k, v in lines.items())
    text += ("[smtp]\nurl = smtp://127.0.0.1:25\ntls = none\n"
             "from = LIDO <lido@school.test>\n"
             f"[database]\npath = {tmp_path / 'db'}\n"
             "[organization]\nname = Test\ndomains = school.test\n"
             "coordinators = femme@school.test\n"
             f"[paths]\ntemplates = {REPO / 'templates'}\n")
    path = tmp_path / "peer.conf"
    path.write_text(text)
    return path


def test_idle_untagged_line_before_continuation(probe, tmp_path):
    """`* 3 EXISTS` before `+ idling`: libetpan's own mailimap_idle() waits
    for a tagged answer until the 30 s read timeout; ours sees new mail."""
    script = [("line", "* 3 EXISTS"), ("cont",)]
    with FakeIdlePeer(idle=script) as peer:
        t0 = time.monotonic()
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 20000, check=0)
        elapsed = time.monotonic() - t0
    [(what, ms)] = waited(proc.stdout)
    assert what == "new" and ms < 3000, proc.stdout + proc.stderr
    assert elapsed < 5, proc.stderr
    assert "IDLE" in peer.commands and "DONE" in peer.commands
    assert not peer.errors


def test_idle_several_untagged_lines_before_continuation(probe, tmp_path):
    script = [("line", "* FLAGS (\\Seen \\Deleted leernet-human)"),
              ("line", "* 1 FETCH (UID 7 FLAGS (\\Seen))"),
              ("line", "* OK [HIGHESTMODSEQ 9] still here"),
              ("line", "* 2 EXISTS"), ("line", "* 1 RECENT"), ("cont",)]
    with FakeIdlePeer(idle=script) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 20000, check=0)
    [(what, ms)] = waited(proc.stdout)
    assert what == "new" and ms < 3000, proc.stderr


def test_idle_untagged_lines_without_news(probe, tmp_path):
    """Flag changes before `+ idling` are no new mail: idle on to the timeout."""
    script = [("line", "* 1 FETCH (UID 7 FLAGS (\\Seen))"), ("cont",)]
    with FakeIdlePeer(idle=script) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 800, check=0)
    [(what, ms)] = waited(proc.stdout)
    assert what == "timeout" and 700 <= ms < 3000, proc.stdout + proc.stderr


def test_idle_exists_while_idling(probe, tmp_path):
    script = [("cont",), ("sleep", 0.5), ("line", "* 1 EXISTS")]
    with FakeIdlePeer(idle=script) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 20000, check=0)
    [(what, ms)] = waited(proc.stdout)
    assert what == "new" and 400 <= ms < 3000, proc.stdout + proc.stderr


def test_idle_keepalive_is_not_news(probe, tmp_path):
    """Dovecot's `* OK Still here` wakes us; we idle again until the time is up."""
    first = [("cont",), ("sleep", 0.3), ("line", "* OK Still here")]
    with FakeIdlePeer(idle_scripts=[first, [("cont",)]]) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 1500, check=0)
    [(what, ms)] = waited(proc.stdout)
    assert what == "timeout" and 1400 <= ms < 4000, proc.stdout + proc.stderr
    assert peer.idles == 2
    assert peer.commands.count("DONE") == 2


def test_idle_timeout(probe, tmp_path):
    with FakeIdlePeer(idle=[("cont",)]) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 700, check=0)
    [(what, ms)] = waited(proc.stdout)
    assert what == "timeout" and 650 <= ms < 3000


def test_idle_connection_lost(probe, tmp_path):
    script = [("cont",), ("sleep", 0.3), ("close",)]
    with FakeIdlePeer(idle=script) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 20000)
    assert proc.returncode == 1
    [(what, ms)] = waited(proc.stdout)
    assert what == "error" and ms < 5000, proc.stdout + proc.stderr
    assert "IDLE DONE" in proc.stderr


def test_idle_connection_lost_before_continuation(probe, tmp_path):
    with FakeIdlePeer(idle=[("line", "* 1 EXISTS"), ("close",)]) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 20000)
    [(what, ms)] = waited(proc.stdout)
    assert what == "error" and ms < 5000, proc.stdout + proc.stderr


def test_idle_signal_ends_the_wait(probe, tmp_path):
    """The daemon's SIGTERM/SIGHUP must not wait for the IDLE period."""
    with FakeIdlePeer(idle=[("cont",)]) as peer:
        proc = subprocess.Popen(
            [str(probe.binary), str(peer_config(tmp_path, peer.port)), "fetch", "wait",
             "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while peer.idles == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    [(what, ms)] = waited(out)
    assert what == "timeout" and ms < 3000, out + err
    assert "DONE" in peer.commands


def test_idle_refused_falls_back_to_polling(probe, tmp_path):
    with FakeIdlePeer(idle=[("refuse",)]) as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 300, "wait", 300,
                     check=0)
    assert [w for w, _ in waited(proc.stdout)] == ["timeout", "timeout"]
    assert peer.idles == 1
    assert "NOOP" in peer.commands
    assert "IDLE" in proc.stderr


def test_no_idle_capability_polls(probe, tmp_path):
    with FakeIdlePeer(caps="IMAP4rev1 UIDPLUS") as peer:
        proc = probe(peer_config(tmp_path, peer.port), "fetch", "wait", 300, check=0)
    assert [w for w, _ in waited(proc.stdout)] == ["timeout"]
    assert peer.idles == 0 and "NOOP" in peer.commands


# --- the real Dovecot -------------------------------------------------------

def test_fetch_done_failed_human(probe, stack, tmp_path):
    config = stack.config(tmp_path)
    for n in range(4):
        stack.send("alice", "lido", subject=f"bericht {n}", body=f"tekst {n}")
    inbox = stack.wait_for("lido", 4)
    uids = [m.uid for m in inbox]
    # Postfix delivers in parallel: UID order is arrival order, not ours.
    subjects = [m["Subject"] for m in inbox]
    # A coordinator read the question already: it must look unread again.
    stack.set_flags("lido", uids[2], "\\Seen")

    proc = probe(config, "fetch", check=0)
    got = fetched(proc.stdout)
    assert [u for u, _, _ in got] == uids                # oldest first
    assert [s for _, _, s in got] == subjects
    validity = {k.split(":")[0] for _, k, _ in got}
    assert len(validity) == 1
    assert [k.split(":")[1] for _, k, _ in got] == [str(u) for u in uids]

    proc = probe(config, "done", uids[0], uids[1], "human", uids[2],
                 "failed", uids[3], "fetch", check=0)
    assert "done 2 ok" in proc.stdout and "human 1 ok" in proc.stdout
    assert "failed 1 ok" in proc.stdout
    assert fetched(proc.stdout) == []                    # nothing pending any more

    assert "leernet.done" in stack.folders("lido")      # `/` became Dovecot's `.`
    assert sorted(m["Subject"] for m in stack.inbox("lido", "leernet/done")) == \
        sorted(subjects[:2])
    assert [m["Subject"] for m in stack.inbox("lido", "leernet/failed")] == [subjects[3]]
    [left] = stack.flags("lido")
    assert left.subject == subjects[2]
    assert "leernet-human" in left.flags and "\\Seen" not in left.flags
    # Fetching never marks mail read (BODY.PEEK).
    assert all("\\Seen" not in m.flags for m in stack.inbox("lido", "leernet/done"))


def test_many_messages_in_batches(probe, stack, tmp_path):
    config = stack.config(tmp_path)
    for n in range(120):
        stack.send("alice", "lido", subject=f"m{n:03}", body="x")
    msgs = stack.wait_for("lido", 120, timeout=30)
    uids = sorted(m.uid for m in msgs)
    # Gaps in the UIDs make many ranges in one command.
    proc = probe(config, "fetch", "human", *uids[1::2], check=0)
    proc = probe(config, "fetch", 50, "wait", 5000, check=0)
    got = fetched(proc.stdout)
    assert [u for u, _, _ in got] == uids[0::2][:50]
    # A full batch: the next wait must not sleep.
    [(what, ms)] = waited(proc.stdout)
    assert what == "new" and ms < 1000
    proc = probe(config, "done", *uids[0::2], "fetch", check=0)
    assert "done 60 ok" in proc.stdout and fetched(proc.stdout) == []
    assert len(stack.inbox("lido", "leernet/done")) == 60


class Background:
    """source-probe in the background, its stderr (debug log) collected as
    it comes, so a test can wait for a state ("selected -> idle")."""

    def __init__(self, binary, config, *commands):
        self.proc = subprocess.Popen(
            [str(binary), str(config), *map(str, commands)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
            env={**os.environ, "LEERNET_DEBUG": "1"})
        self.err: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_log(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.err):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(self.err)}"
            time.sleep(0.02)

    def finish(self, timeout: float = 60) -> tuple[str, str]:
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return out, "".join(self.err)


def test_idle_sees_new_mail(probe, stack, tmp_path):
    config = stack.config(tmp_path)
    bg = Background(probe.binary, config, "fetch", "wait", 20000)
    bg.wait_log("selected -> idle")
    t0 = time.monotonic()
    stack.send("alice", "lido", subject="nieuw", body="x")
    out, err = bg.finish()
    assert bg.proc.returncode == 0, err
    [(what, _)] = waited(out)
    assert what == "new", out + err
    # Dovecot notifies ~0.5 s after delivery.
    assert time.monotonic() - t0 < 5


def test_polling_without_idle(probe, stack, tmp_path):
    config = stack.config(tmp_path, mailbox_idle="no", mailbox_poll_interval="5")
    proc = probe(config, "fetch", "wait", 1000, "wait", 20000, check=0)
    # The caller's timeout first; then "look again" when poll_interval is up,
    # counted from the fetch, not from the start of the second wait.
    [(first, ms1), (second, ms2)] = waited(proc.stdout)
    assert first == "timeout" and 900 <= ms1 < 2000, proc.stdout + proc.stderr
    assert second == "new" and 3000 <= ms2 < 5500, proc.stdout + proc.stderr


def test_imaps_verified_with_ca_file(probe, stack, tmp_path):
    o = stack.tls_overrides()
    config = stack.config(tmp_path, mailbox_url=o["mailbox_url"], mailbox_tls="required",
                          mailbox_ca_file=o["mailbox_ca_file"])
    stack.send("alice", "lido", subject="over tls", body="x")
    stack.wait_for("lido")
    proc = probe(config, "name", "fetch", check=0)
    assert proc.stdout.startswith(f"imaps://localhost:{stack.imaps_port}/INBOX")
    assert [s for _, _, s in fetched(proc.stdout)] == ["over tls"]


def test_starttls_verified_with_ca_file(probe, stack, tmp_path):
    config = stack.config(tmp_path, mailbox_url=f"imap://localhost:{stack.imap_port}/INBOX",
                          mailbox_tls="required", mailbox_ca_file=stack.ca_file)
    probe(config, "fetch", check=0)


def test_unknown_issuer_refused(probe, stack, tmp_path):
    for url in (f"imaps://localhost:{stack.imaps_port}/INBOX",
                f"imap://localhost:{stack.imap_port}/INBOX"):
        config = stack.config(tmp_path, mailbox_url=url, mailbox_tls="required",
                              mailbox_ca_file=None)
        proc = probe(config, "fetch", check=78)
        port = url.split(":")[2].split("/")[0]
        assert (f"imap localhost:{port}: certificate not trusted: issuer unknown"
                in proc.stderr), proc.stderr


def test_wrong_name_refused(probe, stack, tmp_path):
    """The stack's certificate is for localhost and 127.0.0.1 only."""
    other = socket.gethostname()
    try:
        ok = other not in ("localhost",) and socket.gethostbyname(other) == "127.0.0.1"
    except OSError:
        ok = False
    if not ok:
        pytest.skip("no second name for 127.0.0.1 here")
    config = stack.config(tmp_path, mailbox_url=f"imaps://{other}:{stack.imaps_port}/INBOX",
                          mailbox_tls="required", mailbox_ca_file=stack.ca_file)
    proc = probe(config, "fetch", check=78)
    assert (f"imap {other}:{stack.imaps_port}: certificate not trusted: name does not match"
            in proc.stderr), proc.stderr


def test_login_failure_is_named(probe, stack, tmp_path):
    config = stack.config(tmp_path, mailbox_password="wrong")
    proc = probe(config, "fetch", check=78)
    assert f"imap 127.0.0.1:{stack.imap_port}: login failed for lido@school.test" \
        in proc.stderr, proc.stderr


def test_password_command_runs_at_each_login(probe, stack, tmp_path):
    counter = tmp_path / "count"
    script = tmp_path / "pw.sh"
    script.write_text(f"#!/bin/sh\necho x >> {counter}\necho {stack.password('lido')}\n")
    script.chmod(0o755)
    config = stack.config(tmp_path, mailbox_password=None, mailbox_password_command=script)
    probe(config, "fetch", check=0)
    probe(config, "fetch", check=0)
    assert counter.read_text().count("x") == 2


def test_connection_refused_is_temporary(probe, stack, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = stack.config(tmp_path, mailbox_url=f"imap://127.0.0.1:{port}/INBOX")
    proc = probe(config, "fetch", check=75)
    assert f"imap 127.0.0.1:{port}: cannot connect" in proc.stderr


def test_missing_inbox_is_a_config_error(probe, stack, tmp_path):
    config = stack.config(tmp_path,
                          mailbox_url=f"imap://127.0.0.1:{stack.imap_port}/Nergens")
    proc = probe(config, "fetch", check=78)
    assert "SELECT Nergens" in proc.stderr, proc.stderr


def test_folder_created_again_when_deleted(probe, stack, tmp_path):
    """TRYCREATE: a coordinator deletes leernet/done while we run."""
    config = stack.config(tmp_path)
    stack.send("alice", "lido", subject="a", body="x")
    [m] = stack.wait_for("lido")
    bg = Background(probe.binary, config, "fetch", "wait", 1500, "done", m.uid)
    bg.wait_log("selected -> idle")
    with stack.imap("lido") as conn:
        typ, _ = conn.delete("leernet.done")
        assert typ == "OK"
    out, err = bg.finish()
    assert bg.proc.returncode == 0, out + err
    assert "done 1 ok" in out
    assert "TRYCREATE" in err
    assert [x["Subject"] for x in stack.inbox("lido", "leernet/done")] == ["a"]
