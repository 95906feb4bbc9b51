"""`make demo`, one of the README's two commands (scripts/demo): its story
runs to the end on a throwaway mail stack, and nothing is left behind, also
when Ctrl-C stops it halfway.  The demo finds the binary as the tests do
(LEERNET_BIN), so under `make check` it runs the sanitizer build."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailstack import REPO, pid_alive

DEMO = REPO / "scripts" / "demo"


def start_demo() -> subprocess.Popen:
    # Its own process group, as a terminal's foreground job is: Ctrl-C
    # reaches the demo and the daemon it started.
    return subprocess.Popen([sys.executable, str(DEMO)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            env={**os.environ, "KEEP": "0", "PYTHONUNBUFFERED": "1"})


def work_dir(line: str) -> Path | None:
    m = re.search(r"(/\S*/leernet-demo-[^/\s]+)/", line)
    return Path(m.group(1)) if m else None


def test_the_demo_tells_the_whole_story_and_leaves_nothing(tmp_path):
    proc = start_demo()
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    # join -> confirm -> invite -> move -> RSVP, and a proposal approved
    for step in ("alice got: Bevestig: aanmelden voor Rekenen in groep 3",
                 "alice got: Welkom bij Rekenen in groep 3",
                 "invite: DTSTART TZID=Europe/Amsterdam:20270514T150000  SEQUENCE 0",
                 "invite: DTSTART TZID=Europe/Amsterdam:20270521T153000  SEQUENCE 1",
                 "bob got:   Goedgekeurd: Taal & lezen in de onderbouw"):
        assert step in out, out
    # the RSVP: alice's accept counted for the moved meeting
    row = re.search(r"^1\s+2027-05-21T15:30:00\+02:00\s.*$", out, re.M)
    assert row and row.group(0).split()[-4:] == ["1", "0", "0", "1"], out
    work = work_dir(out)
    assert work is not None, out
    assert not work.exists(), f"{work} left behind"


def test_ctrl_c_halfway_stops_the_servers_and_removes_everything():
    proc = start_demo()
    work = None
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            work = work or work_dir(line)
            if "== 2." in line:
                break
            assert time.monotonic() < deadline, "the demo did not get to step 2"
        assert work is not None
        env = json.loads(next(work.glob("leernet-ms-*/stack.json")).read_text())
        masters = [int(Path(env[k]).read_text().split()[0])
                   for k in ("POSTFIX_PID_FILE", "DOVECOT_PID_FILE")]
        assert all(pid_alive(pid) for pid in masters)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted; the mail servers are stopped" in out, out
    assert not work.exists(), f"{work} left behind"
    assert not any(pid_alive(pid) for pid in masters), masters
