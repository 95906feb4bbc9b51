"""Helpers shared by the inbound tests (test_inbound*.py): a leernet set up
against the stack with networks to join, requests sent over SMTP, and the
answers found again in the senders' own mailboxes by In-Reply-To.

Everything observed here is observable by a user: mailboxes, folders,
keywords, exit codes, what the CLI prints and what the daemon logs.
"""

from __future__ import annotations

import contextlib
import email.policy
import email.utils
import re
import smtplib
import time
from email.message import EmailMessage

from mailstack import address, run_leernet

# What a sanitizer prints when it finds something; none may appear.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_clean(text: str) -> bool:
    return not any(mark in text for mark in SANITIZER_MARKS)


def prepare(stack, tmp_path, networks=("rekenen",), **overrides):
    """A config for the stack (IDLE on, polling only every 10 minutes, so a
    test never passes by waiting for a poll), an initialised database and
    the networks, each titled after its slug."""
    overrides.setdefault("mailbox_poll_interval", "600")
    config = stack.config(tmp_path, **overrides)
    run_leernet(config, "init")
    for slug in networks:
        run_leernet(config, "network", "add", slug, "--title", slug.capitalize())
    return config


def request(from_user: str, subject: str, body: str = "", headers: dict | None = None,
            msgid: str | None = None, to: str = "lido") -> EmailMessage:
    """A text/plain mail from a person, as a mail client writes it."""
    sender = address(from_user)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address(to)
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = msgid or email.utils.make_msgid(domain=sender.rpartition("@")[2])
    for name, value in (headers or {}).items():
        del msg[name]
        msg[name] = value
    msg.set_content(body or "Groeten")
    return msg


def submit(stack, messages, envelope_from=None, rcpt: str = "lido") -> list[str]:
    """Send many messages over one SMTP session (stack.send opens one per
    message); returns their Message-IDs.  envelope_from None: the From
    address; "" : the null sender."""
    ids = []
    with smtplib.SMTP(stack.host, stack.smtp_port, timeout=30) as smtp:
        for msg in messages:
            env = envelope_from
            if env is None:
                env = email.utils.parseaddr(msg["From"])[1]
            smtp.sendmail(env, [address(rcpt)], msg.as_bytes(policy=email.policy.SMTP))
            ids.append(msg["Message-ID"])
    return ids


class Mailbox:
    """One IMAP session kept open, for cheap counting while a test waits."""

    def __init__(self, stack, user: str):
        self.stack = stack
        self._cm = stack.imap(user)
        self.conn = self._cm.__enter__()

    def count(self, folder: str = "INBOX") -> int:
        typ, data = self.conn.status('"' + self.stack.folder_name(folder) + '"',
                                     "(MESSAGES)")
        if typ != "OK":
            return 0
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def wait_count(self, n: int, folder: str = "INBOX", timeout: float = 30,
                   exact: bool = False) -> int:
        deadline = time.monotonic() + timeout
        while True:
            got = self.count(folder)
            if got == n or (not exact and got > n):
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"{folder}: wanted {n} message(s) within "
                                     f"{timeout}s, have {got}")
            time.sleep(0.02)

    def close(self):
        with contextlib.suppress(Exception):
            self._cm.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def answers(stack, user: str, msgid: str | None = None) -> list[EmailMessage]:
    """leernet's mail in user's inbox; only the answers to msgid if given."""
    coordinator = address("lido")
    out = []
    for m in stack.inbox(user):
        if coordinator not in (m["From"] or ""):
            continue
        if msgid is not None and (m["In-Reply-To"] or "").strip() != msgid.strip():
            continue
        out.append(m)
    return out


def wait_answer(stack, user: str, msgid: str, timeout: float = 10) -> EmailMessage:
    want = msgid.strip()
    [first, *_] = stack.wait_for(
        user, 1, timeout=timeout,
        predicate=lambda m: (m["In-Reply-To"] or "").strip() == want)
    return first


def wait_idle(daemon, timeout: float = 20, after: int = 0) -> int:
    """Wait until a `-v run` daemon sits in IDLE (for the n-th time, counting
    from the log offset `after`); returns the log length then."""
    deadline = time.monotonic() + timeout
    while True:
        log = daemon.log()
        if re.search(r"-> idle", log[after:]):
            return len(log)
        if time.monotonic() >= deadline or not daemon.alive():
            raise AssertionError(f"the daemon never went into IDLE (alive: "
                                 f"{daemon.alive()}):\n{log[-3000:]}")
        time.sleep(0.02)


def person_show(config, who: str) -> dict[str, str]:
    """`leernet person show` as a dict of its `key: value` lines."""
    out = run_leernet(config, "person", "show", address(who)).stdout
    facts = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            facts[key.strip()] = value.strip()
    return facts


def outbox(config) -> list[dict[str, str]]:
    """Every row of `leernet outbox list --all --csv`: what leernet said,
    delivered or not (answers to outside addresses are refused by the stack
    at RCPT, so a mailbox alone cannot show them)."""
    import csv
    import io
    out = run_leernet(config, "outbox", "list", "--all", "--csv").stdout
    return list(csv.DictReader(io.StringIO(out)))


def deliver_direct(stack, user: str, messages) -> None:
    """Put messages straight into user's Maildir on disk (tmp/, then a
    rename into new/), as a local delivery agent does.  For tests that need
    hundreds of messages in the inbox fast: Postfix and IMAP APPEND each
    fsync every message, ~30 ms apiece here.  Dovecot sees them at its next
    look at the folder, as it sees mail from LMTP."""
    import email.policy
    import os
    import socket
    local, _, domain = address(user).partition("@")
    maildir = stack.maildir_root / domain / local / "Maildir"
    owner = os.stat(maildir)
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    stamp = int(time.time())
    for n, msg in enumerate(messages):
        data = msg if isinstance(msg, bytes) else msg.as_bytes(policy=email.policy.SMTP)
        name = f"{stamp}.M{n}P{os.getpid()}R{time.monotonic_ns()}.{host}"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(data)
        os.chown(tmp, owner.st_uid, owner.st_gid)
        os.chmod(tmp, 0o600)
        os.rename(tmp, maildir / "new" / name)
