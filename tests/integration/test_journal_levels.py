"""Under systemd, stderr is the journal's stream: each line carries its
priority as "<N>" so that `journalctl -p warning` finds the warnings
(sd-daemon.h).  Anywhere else the lines stay as they were."""

from __future__ import annotations

import os
import subprocess

from mailstack import leernet_bin


def run_once(cfg, tmp_path, journal: bool) -> str:
    err = tmp_path / ("journal" if journal else "plain")
    with open(err, "wb") as f:
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        if journal:
            st = os.fstat(f.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        subprocess.run([str(leernet_bin()), "-c", str(cfg), "once"], stderr=f,
                       env=env, check=True, timeout=60)
    return err.read_text()


def test_priorities_only_when_stderr_is_the_journal(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    stack.send("alice", "lido", subject="hulp")
    stack.send("outsider@elsewhere.test", "lido", subject="hulp")
    stack.wait_queue_empty()
    lines = run_once(cfg, tmp_path, journal=True).splitlines()
    assert lines and all(l[:3] in ("<6>", "<4>", "<3>", "<7>") for l in lines), lines
    assert any(l.startswith("<6>leernet: info: ") for l in lines), lines
    stack.send("bob", "lido", subject="hulp")
    stack.wait_queue_empty()
    plain = run_once(cfg, tmp_path, journal=False).splitlines()
    assert plain and all(l.startswith("leernet: ") for l in plain), plain
