"""bench/run --quick, the benchmarks' smoke test: every step still runs
against a real Postfix and Dovecot with the binary under test.  Speed is not
judged here (that is bench/run's own report); what is checked is that each
step gets the outcome it expects from leernet, which the steps verify
themselves and report as FAILED: every join answered and moved, every
invitation and list copy accepted by Postfix, every confirmation making a
member who is sent the network's meetings.
"""

import json
import os
import subprocess

from mailstack import REPO, leernet_bin

STEPS = ("inbound", "fanout", "list", "latency", "scale")


def test_every_benchmark_step_runs_and_checks_its_outcome(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, LEERNET_BIN=str(leernet_bin()))
    # mlmmj is the references' business, installed by `make bench` only.
    proc = subprocess.run(["/usr/bin/python3", str(REPO / "bench" / "run"), "--quick",
                           "--only", ",".join(STEPS), "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-4000:]
    result = json.loads(out.read_text())
    assert result["failed"] == [], report[-4000:]
    names = [r["name"] for r in result["results"]]
    for prefix in ("inbound: handled into the outbox", "inbound: end to end",
                   "fan-out 100:", "list post 100:", "latency p99",
                   "scale 100,000 people: time per confirmation",
                   "scale: per-confirmation time"):
        assert any(n.startswith(prefix) for n in names), (prefix, names)
    # Every measured figure is a number above zero.
    for r in result["results"]:
        assert r["value"] > 0, r
