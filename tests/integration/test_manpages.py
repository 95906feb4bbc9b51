"""man/leernet.8 and man/leernet.conf.5: they format without a warning and
name every command of SPEC §2, every exit status, and every key of SPEC §3."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from mailstack import REPO

GROFF = shutil.which("groff")

COMMANDS = ["init", "run", "once", "check-config", "network add", "network list",
            "show", "close", "member list", "meeting list", "staff import",
            "report hours", "person show", "reset", "outbox list", "retry",
            "digest", "publish"]
OPTIONS = ["-c", "-v", "--csv", "--title", "--lead", "--question", "--network",
           "--year", "--all", "--send"]
EXIT_CODES = ["0", "64", "65", "69", "70", "73", "75", "78"]
KEYS = {
    "mailbox": ["url", "user", "password", "password_file", "password_command", "auth",
                "tls", "ca_file", "idle", "poll_interval", "done_folder", "failed_folder"],
    "smtp": ["url", "user", "password", "auth", "tls", "ca_file", "from"],
    "database": ["path"],
    "organization": ["name", "domains", "coordinators", "timezone", "language",
                     "announce", "hours_per_network", "trusted_authserv_id",
                     "staff_only", "max_requests_per_hour"],
    "digest": ["schedule"],
    "lists": ["max_size"],
    "publish": ["dir", "base_url"],
    "paths": ["templates"],
}


def render(page: str) -> str:
    if GROFF is None:
        pytest.skip("groff is not installed")
    p = subprocess.run([GROFF, "-man", "-Tutf8", "-ww", str(REPO / "man" / page)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()
    # Plain text: drop overstrike bold/underline and the hyphen groff uses.
    text = re.sub(r".\x08", "", p.stdout.decode()).replace("\u2010", "-").replace("\u2212", "-")
    return text


def sections(text: str) -> dict[str, str]:
    """Top-level sections (lines at column 0) to their bodies."""
    out, name = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("LEERNET"):
            name = line.strip()
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


def test_leernet_8_names_every_command_option_and_status():
    text = render("leernet.8")
    sec = sections(text)
    for name in ("NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "EXIT STATUS", "SIGNALS",
                 "ENVIRONMENT", "FILES"):
        assert name in sec, (name, list(sec))
    for cmd in COMMANDS:
        assert re.search(rf"^\s{{7}}{re.escape(cmd)}\b", sec["COMMANDS"], re.M) or \
            re.search(rf"\|\s{re.escape(cmd)}\b", sec["COMMANDS"]), cmd
    for opt in OPTIONS:
        assert re.search(rf"(^|\W){re.escape(opt)}\b", text, re.M), opt
    for code in EXIT_CODES:
        assert re.search(rf"^\s+{code}\s", sec["EXIT STATUS"], re.M), code
    for sig in ("SIGTERM", "SIGHUP"):
        assert sig in sec["SIGNALS"]


def test_leernet_conf_5_names_every_key():
    sec = sections(render("leernet.conf.5"))
    for section, keys in KEYS.items():
        body = sec.get(f"[{section}]")
        assert body is not None, (section, list(sec))
        for key in keys:
            assert re.search(rf"^\s{{7}}(\w+, )*{key}\b", body, re.M), (section, key)
    # Defaults are given where there are any.
    assert "Default: 60." in " ".join(sec["[mailbox]"].split())
    assert "Default: weekly mon 07:00." in " ".join(sec["[digest]"].split())
