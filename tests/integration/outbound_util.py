"""Helpers shared by the outbound tests (test_outbound.py, test_digest.py):
what a mail leernet sent must look like to mail software, read back with
Python's own email package, the outbox as `leernet outbox list --csv`
shows it, and a burst of rows put straight into the outbox with what
Postfix's log says became of them.
"""

from __future__ import annotations

import csv
import email
import email.policy
import email.utils
import io
import re
import sqlite3
import time
from collections import Counter
from email.message import EmailMessage
from html.parser import HTMLParser

from mailstack import address

DONE = "leernet/done"


def text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def reparse(msg):
    """The raw bytes parsed again with the strict default policy."""
    return email.message_from_bytes(msg.raw.replace(b"\r\n", b"\n"),
                                    policy=email.policy.default)


def check_wire(msg) -> None:
    """What every mail leernet sends looks like on the wire: CRLF, lines of
    at most 998 octets, an ASCII header (RFC 2047 where needed), each of
    From/To/Subject/Date/Message-ID once, no Cc/Bcc, and a readable text
    part next to an HTML one."""
    raw = msg.raw
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF on the wire"
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998, line[:80]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 0x80 for b in head), "8-bit header"
    again = reparse(msg)
    names = [n.lower() for n in again.keys()]
    for single in ("from", "to", "subject", "message-id", "date", "mime-version"):
        assert names.count(single) == 1, (single, names)
    assert "bcc" not in names and "cc" not in names
    for name, value in again.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", again["Message-ID"]), again["Message-ID"]
    assert again["Date"].datetime is not None
    assert again["From"].addresses[0].addr_spec == address("lido")
    assert again.get_content_type() in ("multipart/alternative", "multipart/mixed")
    plain = again.get_body(preferencelist=("plain",))
    markup = again.get_body(preferencelist=("html",))
    assert plain is not None and markup is not None
    assert plain.get_content_charset() == "utf-8"
    assert markup.get_content_charset() == "utf-8"
    for part in (plain, markup):
        assert part["Content-Transfer-Encoding"] in ("7bit", "quoted-printable", "base64")
    assert markup.get_content().lstrip().startswith("<!DOCTYPE html>")
    check_html(markup.get_content())


class _Balance(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "iframe", "object", "form"):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or (name == "href" and value and
                                         not re.match(r"(https?:|mailto:)", value)):
                self.problems.append(f"{tag} {name}={value!r}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def check_html(markup: str) -> None:
    """Every element closed in order; no scripts, handlers or odd links."""
    p = _Balance()
    p.feed(markup)
    p.close()
    assert not p.problems and not p.stack, (p.problems, p.stack)


def outbox(run_leernet, cfg, every: bool = False) -> list[dict]:
    args = ["outbox", "list", "--csv"] + (["--all"] if every else [])
    out = run_leernet(cfg, *args).stdout
    return list(csv.DictReader(io.StringIO(out)))


def person(run_leernet, cfg, who) -> dict:
    out = run_leernet(cfg, "person", "show", address(who)).stdout
    facts = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            facts[key.strip()] = value.strip()
    return facts


def db(cfg):
    return sqlite3.connect(cfg.parent / "leernet.db")


# --- a burst of outbox rows, and what Postfix made of it ------------------------

def burst_message(n: int, rcpt: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = address("lido")
    msg["To"] = rcpt
    msg["Subject"] = f"burst {n}"
    msg["Date"] = email.utils.formatdate()
    msg["Message-ID"] = f"<burst-{n}@school.test>"
    msg.set_content("Een bericht uit een grote stapel.\n" * 20)
    return msg.as_bytes(policy=email.policy.SMTP)


def queue_burst(cfg, rcpts: list[str]) -> None:
    """One queued outbox row per recipient, due now, in this order (as a
    fan-out writes them); row n has Message-ID <burst-n@school.test>."""
    conn = db(cfg)
    now = int(time.time())
    with conn:
        for n, rcpt in enumerate(rcpts):
            row = conn.execute(
                "INSERT INTO outbox (kind, env_from, rcpt, msgid, created, next_attempt)"
                " VALUES ('burst', 'lido@school.test', ?, ?, ?, ?)",
                (rcpt, f"burst-{n}@school.test", now, now)).lastrowid
            conn.execute("INSERT INTO outbox_data (id, data) VALUES (?, ?)",
                         (row, burst_message(n, rcpt)))
    conn.close()


def states(cfg) -> Counter:
    """How many outbox rows are in each state."""
    conn = db(cfg)
    try:
        return Counter(dict(conn.execute(
            "SELECT state, count(*) FROM outbox GROUP BY state").fetchall()))
    finally:
        conn.close()


def discarded_rcpts(stack) -> Counter:
    """How often each recipient was swallowed by the discard.test sink since
    the test's mark_logs(): every accepted message reaches it once."""
    return Counter(re.findall(r"postfix/discard\[\d+\]: \w+: to=<([^>]+)>.* status=sent",
                              stack.postfix_log()))


def wait_discarded(stack, count: int, timeout: float = 60) -> Counter:
    deadline = time.monotonic() + timeout
    while sum(discarded_rcpts(stack).values()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    stack.wait_queue_empty(timeout=timeout)
    return discarded_rcpts(stack)


def sessions_used(stack) -> list[int]:
    """Messages per SMTP session of the test, from Postfix's `disconnect
    from ... mail=N` lines (a session without MAIL counts 0)."""
    counts = []
    for line in re.findall(r"/smtpd\[\d+\]: disconnect from .*", stack.postfix_log()):
        m = re.search(r" mail=(\d+)", line)
        counts.append(int(m.group(1)) if m else 0)
    return counts
