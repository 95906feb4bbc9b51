"""The real local mail stack (Postfix + Dovecot on 127.0.0.1) seen from Python.

A MailStack wraps tests/mailstack/mailstack.sh: it starts and stops the
servers, adds users, sends mail over SMTP (smtplib) and reads mailboxes over
IMAP (imaplib).  Nothing here fakes a server.

    stack = MailStack.start_new()        # or the `stack` / `fresh_stack` fixtures
    stack.add_user("erik")               # -> "erik@school.test", password "secret"
    stack.send("alice", "lido", subject="hulp", body="...")
    [msg] = stack.wait_for("lido")       # email.message.EmailMessage, .uid .flags .folder
    stack.stop()

Bare names ("alice") mean name@school.test everywhere an address is taken.
"""

from __future__ import annotations

import configparser
import contextlib
import email
import email.policy
import email.utils
import imaplib
import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
from collections import namedtuple
from email.message import EmailMessage, Message
from pathlib import Path

REPO = Path(os.environ.get("LEERNET_SRC") or Path(__file__).resolve().parents[2])
SCRIPT = REPO / "tests" / "mailstack" / "mailstack.sh"

DOMAIN = "school.test"
OTHER_DOMAIN = "other.test"
DISCARD_DOMAIN = "discard.test"
DEFAULT_PASSWORD = "secret"
COORDINATOR = "lido"
DEFAULT_USERS = ("lido", "alice", "bob", "carol", "lead", "femme", "donna")

Flagged = namedtuple("Flagged", "uid flags subject message_id")


class MailStackError(RuntimeError):
    pass


def address(name: str) -> str:
    """"alice" -> "alice@school.test"; full addresses pass unchanged."""
    return name if "@" in name else f"{name}@{DOMAIN}"


def pid_alive(pid: int) -> bool:
    """The process exists and is no zombie (a killed child stays one until
    it is reaped, and nothing here may reap it soon)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _dead_temp_file(name: str) -> bool:
    """cleanup(8)'s temporary queue file name, microseconds.pid, of a
    process that is gone."""
    m = re.fullmatch(r"\d+\.(\d+)", name)
    return m is not None and not pid_alive(int(m.group(1)))


def _run_script(*args: str, timeout: float = 60) -> str:
    proc = subprocess.run(
        [str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise MailStackError(
            f"mailstack.sh {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stderr}{proc.stdout}"
        )
    return proc.stdout


class MailStack:
    """One running stack in `directory`; see the module docstring."""

    def __init__(self, directory: str | os.PathLike, owns_directory: bool = False):
        self.dir = Path(directory)
        self.owns_directory = owns_directory
        self.passwords: dict[str, str] = {}
        self.env: dict = {}
        self._log_mark = 0
        self._dovecot_log_mark = 0
        self._reaper = None

    # --- lifecycle -----------------------------------------------------------

    @classmethod
    def start_new(cls, parent: str | os.PathLike | None = None,
                  users=DEFAULT_USERS) -> "MailStack":
        """A new stack in a fresh directory (short, so socket paths fit),
        with the default users created."""
        directory = tempfile.mkdtemp(prefix="leernet-ms-", dir=parent)
        os.chmod(directory, 0o755)
        stack = cls(directory, owns_directory=True)
        try:
            stack._start_reaper()
            stack.start()
            stack.add_users(*users)
        except BaseException:
            stack.stop()
            raise
        return stack

    def start(self) -> None:
        _run_script("start", str(self.dir))
        self.env = json.loads((self.dir / "stack.json").read_text())
        self._default_access = self._access_rules()

    def _access_rules(self) -> str:
        return (Path(self.env["POSTFIX_CONFIG"]) / "recipient_access").read_text()

    def stop(self, remove: bool | None = None) -> None:
        """Stop both servers; remove the directory when we made it (unless
        LEERNET_KEEP_STACK is set, for looking at logs and mail afterwards)."""
        _run_script("stop", str(self.dir))
        if remove is None:
            remove = self._remove_default()
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._reaper is not None:
            self._reaper.kill()  # our own child; SIGKILL ends its sleep at once
            self._reaper.wait()
            self._reaper = None

    def _remove_default(self) -> bool:
        return self.owns_directory and not os.environ.get("LEERNET_KEEP_STACK")

    def _start_reaper(self) -> None:
        """A sleeping watcher that stops the stack if this process dies
        without doing so (pytest killed by a timeout, CI cancelled), so no
        Postfix or Dovecot outlives its test run."""
        script = (
            'while { read -r s </proc/"$1"/stat; } 2>/dev/null; do\n'
            '  s=${s##*) }; [ "${s%% *}" = Z ] && break; sleep 1\n'
            'done\n'
            '"$2" stop "$3" >/dev/null 2>&1\n'
            '[ "$4" = yes ] && rm -rf "$3"\n'
        )
        self._reaper = subprocess.Popen(
            ["bash", "-c", script, "mailstack-reaper", str(os.getpid()), str(SCRIPT),
             str(self.dir), "yes" if self._remove_default() else "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    def postfix_stop(self) -> None:
        _run_script("postfix-stop", str(self.dir))

    def postfix_start(self) -> None:
        _run_script("postfix-start", str(self.dir))

    def dovecot_stop(self) -> None:
        _run_script("dovecot-stop", str(self.dir))

    def dovecot_start(self) -> None:
        _run_script("dovecot-start", str(self.dir))

    def dovecot_restart(self) -> None:
        _run_script("dovecot-restart", str(self.dir))

    def running(self) -> bool:
        proc = subprocess.run([str(SCRIPT), "status", str(self.dir)],
                              capture_output=True, text=True)
        return proc.returncode == 0

    def _master_alive(self, pid_file: str) -> bool:
        try:
            pid = int(Path(pid_file).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return pid_alive(pid)

    def ensure_running(self) -> None:
        """Start whichever server a test left stopped."""
        if not self._master_alive(self.env["POSTFIX_PID_FILE"]):
            self.postfix_start()
        if not self._master_alive(self.env["DOVECOT_PID_FILE"]):
            self.dovecot_start()

    def flush(self) -> None:
        """Ask Postfix to try every queued message now (postqueue -f)."""
        subprocess.run(["postqueue", "-c", self.env["POSTFIX_CONFIG"], "-f"],
                       stdin=subprocess.DEVNULL, capture_output=True)

    # --- facts ---------------------------------------------------------------

    host = "127.0.0.1"
    domain = DOMAIN

    @property
    def imap_port(self) -> int:
        return self.env["IMAP_PORT"]

    @property
    def imaps_port(self) -> int:
        return self.env["IMAPS_PORT"]

    @property
    def smtp_port(self) -> int:
        return self.env["SMTP_PORT"]

    @property
    def submission_port(self) -> int:
        """SMTP with STARTTLS required and AUTH (any stack user)."""
        return self.env["SUBMISSION_PORT"]

    @property
    def smtps_port(self) -> int:
        """SMTP over TLS from the first byte, AUTH required."""
        return self.env["SMTPS_PORT"]

    @property
    def ca_file(self) -> str:
        return self.env["CA_FILE"]

    @property
    def maildir_root(self) -> Path:
        return Path(self.env["MAILDIR_ROOT"])

    reject_address = f"rejected@{DOMAIN}"    # 550 at RCPT
    tempfail_address = f"tempfail@{DOMAIN}"  # 450 at RCPT
    bounce_address = f"bounce@{DOMAIN}"      # accepted, then a 5.1.1 DSN

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only this stack's CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    # --- users and recipient rules ------------------------------------------

    def add_user(self, name: str, password: str = DEFAULT_PASSWORD) -> str:
        """Create a mailbox (usable at once); returns its address.  A user in
        a new domain makes that domain local."""
        addr = _run_script("adduser", str(self.dir), name, password).strip()
        self.passwords[addr] = password
        return addr

    def add_users(self, *names: str) -> list[str]:
        """Several users at once, password "secret"."""
        if not names:
            return []
        addrs = _run_script("addusers", str(self.dir), *names).split()
        for addr in addrs:
            self.passwords[addr] = DEFAULT_PASSWORD
        return addrs

    def users(self) -> list[str]:
        """Every mailbox address of the stack."""
        return sorted(p.name for p in Path(self.env["USERS_DIR"]).iterdir()
                      if not p.name.startswith("."))

    def password(self, user: str) -> str:
        addr = address(user).lower()
        if addr in self.passwords:
            return self.passwords[addr]
        # A user made by someone else (the demo, another process).
        path = Path(self.env["USERS_DIR"]) / addr
        try:
            line = path.read_text().split("\n", 1)[0]
        except FileNotFoundError:
            raise MailStackError(f"no such user in the stack: {addr}") from None
        return line.split(":", 2)[1].removeprefix("{PLAIN}")

    def reject(self, addr: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Make Postfix answer `reply` (4xx or 5xx) at RCPT for `addr`."""
        _run_script("access", str(self.dir), address(addr), reply)

    def unreject(self, addr: str) -> None:
        _run_script("access", str(self.dir), address(addr))

    def reset_rejections(self) -> None:
        """Back to rejected@ (550) and tempfail@ (450) only."""
        _run_script("access", str(self.dir), "reset")

    # --- SMTP ----------------------------------------------------------------

    def send(self, from_addr: str, to_addr, subject: str = "", body: str = "",
             headers: dict | None = None, raw=None, cc=None,
             envelope_from: str | None = None, envelope_to=None,
             port: int | None = None) -> str:
        """Send one message through the stack's Postfix; returns its Message-ID.

        Without `raw`, a text/plain message is built from subject, body and
        `headers` (which may also replace From, To, Date, Message-ID...).
        `raw` may be bytes, str or an email Message and is sent as is.
        The envelope defaults to from_addr and to_addr (+ cc); pass
        envelope_from="" for the null sender (bounces).  Raises
        smtplib.SMTPRecipientsRefused / SMTPResponseException on refusal.
        """
        to_list = [to_addr] if isinstance(to_addr, str) else list(to_addr)
        cc_list = [] if cc is None else ([cc] if isinstance(cc, str) else list(cc))
        to_list = [address(a) for a in to_list]
        cc_list = [address(a) for a in cc_list]
        sender = address(from_addr) if from_addr else ""
        if raw is None:
            msg = EmailMessage()
            msg["From"] = sender
            msg["To"] = ", ".join(to_list)
            if cc_list:
                msg["Cc"] = ", ".join(cc_list)
            msg["Subject"] = subject
            msg["Date"] = email.utils.formatdate(localtime=True)
            msg["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or DOMAIN)
            for name, value in (headers or {}).items():
                del msg[name]
                msg[name] = value
            msg.set_content(body)
            data = msg.as_bytes(policy=email.policy.SMTP)
        elif isinstance(raw, Message):
            data = raw.as_bytes(policy=email.policy.SMTP)
        elif isinstance(raw, str):
            data = raw.encode()
        else:
            data = bytes(raw)
        if envelope_from is None:
            envelope_from = sender
        if envelope_to is None:
            envelope_to = to_list + cc_list
        elif isinstance(envelope_to, str):
            envelope_to = [envelope_to]
        rcpts = [address(a) for a in envelope_to]
        with smtplib.SMTP(self.host, port or self.smtp_port, timeout=30) as smtp:
            smtp.sendmail(envelope_from, rcpts, data)
        parsed = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
        return parsed.get("Message-ID", "")

    # --- IMAP ----------------------------------------------------------------

    @contextlib.contextmanager
    def imap(self, user: str, tls: bool = False):
        """A logged-in imaplib connection (STARTTLS with this stack's CA when
        `tls`)."""
        conn = imaplib.IMAP4(self.host, self.imap_port, timeout=30)
        try:
            if tls:
                conn.starttls(ssl_context=self.ssl_context())
            conn.login(address(user), self.password(user))
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def folder_name(self, folder: str) -> str:
        """leernet's "leernet/done" as Dovecot names it ("leernet.done")."""
        return folder.replace("/", ".")

    def folders(self, user: str) -> list[str]:
        """Every folder of `user`, as the server names them (`.` separated)."""
        with self.imap(user) as conn:
            return _list_folders(conn)

    def inbox(self, user: str, folder: str = "INBOX") -> list[EmailMessage]:
        """Every message in the folder, oldest first, read with BODY.PEEK (so
        \\Seen is left alone), line ends as "\\n".  Each has .uid, .flags
        (frozenset of str), .folder and .raw (the bytes as IMAP gave them).  A folder that does not exist gives []."""
        folder = self.folder_name(folder)
        with self.imap(user) as conn:
            typ, data = conn.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            if int(data[0] or 0) == 0:
                return []
            flags = _fetch_flags(conn)
            typ, data = conn.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            _check(typ, data, "FETCH")
        messages = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            m = re.search(rb"UID (\d+)", item[0])
            uid = int(m.group(1))
            # IMAP speaks CRLF; tests compare text with "\n".
            msg = email.message_from_bytes(item[1].replace(b"\r\n", b"\n"),
                                           policy=email.policy.default)
            msg.raw = item[1]
            msg.uid = uid
            msg.flags = flags.get(uid, frozenset())
            msg.folder = folder
            messages.append(msg)
        messages.sort(key=lambda m: m.uid)
        return messages

    def flags(self, user: str, folder: str = "INBOX") -> list[Flagged]:
        """(uid, flags, subject, message_id) of every message, oldest first;
        flags hold system flags (\\Seen) and keywords (leernet-human)."""
        return [Flagged(m.uid, m.flags, m["Subject"], m["Message-ID"])
                for m in self.inbox(user, folder)]

    def wait_for(self, user: str, count: int = 1, timeout: float = 10,
                 predicate=None, folder: str = "INBOX") -> list[EmailMessage]:
        """Poll until at least `count` messages (matching `predicate`, a
        function of an EmailMessage) are in the folder; returns them all.
        Fails with what is there and the Postfix log when time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.inbox(user, folder)
            if predicate is not None:
                msgs = [m for m in msgs if predicate(m)]
            if len(msgs) >= count:
                return msgs
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        there = [f"{m.uid}: {m['From']} | {m['Subject']}" for m in self.inbox(user, folder)]
        raise AssertionError(
            f"{address(user)} {folder}: wanted {count} message(s)"
            f"{' matching' if predicate else ''} within {timeout}s, found {len(msgs)}.\n"
            f"In the folder: {there}\n"
            f"Postfix log (this test):\n{self.postfix_log()[-3000:]}"
        )

    def wait_empty(self, user: str, timeout: float = 10, folder: str = "INBOX") -> None:
        """Poll until the folder holds no message (leernet moved it away)."""
        deadline = time.monotonic() + timeout
        while self.inbox(user, folder):
            if time.monotonic() >= deadline:
                there = [m["Subject"] for m in self.inbox(user, folder)]
                raise AssertionError(f"{address(user)} {folder} still holds {there}")
            time.sleep(0.1)

    def clear(self, user: str, folder: str | None = None) -> None:
        """Delete every message of `user` (of one folder, if given) and every
        folder but INBOX (when no folder is given)."""
        with self.imap(user) as conn:
            if folder is None:
                names = _list_folders(conn)
            else:
                names = [self.folder_name(folder)]
            for name in names:
                typ, data = conn.select(_quote(name))
                if typ != "OK":
                    continue
                if int(data[0] or 0):
                    conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    conn.expunge()
            conn.select("INBOX")
            if folder is None:
                # Children first: "a.b" before "a".
                for name in sorted(names, key=len, reverse=True):
                    if name.upper() != "INBOX":
                        conn.delete(_quote(name))

    def set_flags(self, user: str, uid: int, *flags: str, folder: str = "INBOX") -> None:
        """Add flags/keywords to one message (for tests that prepare state)."""
        with self.imap(user) as conn:
            typ, data = conn.select(_quote(self.folder_name(folder)))
            _check(typ, data, "SELECT")
            typ, data = conn.uid("STORE", str(uid), "+FLAGS", "(" + " ".join(flags) + ")")
            _check(typ, data, "STORE")

    # --- logs and queue ------------------------------------------------------

    def mark_logs(self) -> None:
        """postfix_log() / dovecot_log() show only what comes after this."""
        self._log_mark = _size(self.env["POSTFIX_LOG"])
        self._dovecot_log_mark = _size(self.env["DOVECOT_LOG"])

    def postfix_log(self, everything: bool = False) -> str:
        """Postfix's log since the test began (since mark_logs())."""
        return _read_from(self.env["POSTFIX_LOG"], 0 if everything else self._log_mark)

    def dovecot_log(self, everything: bool = False) -> str:
        return _read_from(self.env["DOVECOT_LOG"], 0 if everything else self._dovecot_log_mark)

    def smtp_connections(self) -> int:
        """SMTP sessions Postfix accepted since the test began (the
        `postfix/smtpd[..]: connect from` lines; `disconnect from` is not one)."""
        return len(re.findall(r"/smtpd\[\d+\]: connect from ", self.postfix_log()))

    def discarded(self) -> int:
        """Recipients swallowed by the discard.test sink since the test began."""
        return len(re.findall(r"postfix/discard\[\d+\]: .* status=sent", self.postfix_log()))

    def queue_ids(self) -> list[str]:
        """Messages still in Postfix's queue (incoming, active or deferred).
        A file under cleanup(8)'s temporary name (microseconds.pid) whose
        cleanup is gone was never accepted and will never leave: a stop
        killed it mid-message (the next start removes the file)."""
        ids = []
        spool = Path(self.env["POSTFIX_QUEUE"])
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _root, _dirs, files in os.walk(spool / sub):
                ids.extend(f for f in files
                           if not (sub == "incoming" and _dead_temp_file(f)))
        return ids

    def wait_queue_empty(self, timeout: float = 10) -> None:
        """Wait until Postfix has delivered (or bounced) everything it took."""
        deadline = time.monotonic() + timeout
        while self.queue_ids():
            if time.monotonic() >= deadline:
                raise AssertionError(f"Postfix queue still holds {self.queue_ids()}\n"
                                     f"{self.postfix_log()[-3000:]}")
            time.sleep(0.05)

    def reset(self, users=None) -> None:
        """Make a shared stack look new to the next test: both servers up, the
        queue drained, every mailbox emptied (or those of `users`), default
        recipient rules, logs marked."""
        self.ensure_running()
        with contextlib.suppress(AssertionError):
            self.wait_queue_empty(timeout=10)
        if self._access_rules() != self._default_access:
            self.reset_rejections()
        for user in users or self.users():
            self.clear(user)
        self.mark_logs()

    # --- leernet config ------------------------------------------------------

    def config(self, tmp_path, name: str = "leernet.conf", **overrides) -> Path:
        """Write a leernet config for this stack into tmp_path; returns its path.

        Override any key as section_key=value (mailbox_idle="no",
        smtp_url=..., organization_staff_only="yes"); value None drops the
        key.  A section of SPEC §3 that is not there yet is added.
        """
        return write_config(self, Path(tmp_path), name, overrides)

    def tls_overrides(self) -> dict:
        """Overrides for config(): imaps and submission (STARTTLS + AUTH),
        both verified with this stack's CA."""
        return {
            "mailbox_url": f"imaps://localhost:{self.imaps_port}/INBOX",
            "mailbox_tls": "required",
            "mailbox_ca_file": self.ca_file,
            "smtp_url": f"smtp://localhost:{self.submission_port}",
            "smtp_tls": "required",
            "smtp_ca_file": self.ca_file,
            "smtp_user": address(COORDINATOR),
            "smtp_password": self.password(COORDINATOR),
        }


SECTIONS = ("mailbox", "smtp", "database", "organization", "digest", "lists",
            "publish", "paths")


def write_config(stack: MailStack, tmp_path: Path, name: str, overrides: dict) -> Path:
    cfg = {
        "mailbox": {
            "url": f"imap://127.0.0.1:{stack.imap_port}/INBOX",
            "user": address(COORDINATOR),
            "password": stack.password(COORDINATOR),
            "tls": "none",
        },
        "smtp": {
            "url": f"smtp://127.0.0.1:{stack.smtp_port}",
            "tls": "none",
            "from": f"LIDO leernetwerken <{address(COORDINATOR)}>",
        },
        "database": {"path": str(tmp_path / "leernet.db")},
        "organization": {
            "name": "Stichting Test",
            "domains": DOMAIN,
            "coordinators": f"femme@{DOMAIN}, donna@{DOMAIN}",
            "language": "nl",
            "timezone": "Europe/Amsterdam",
        },
        "digest": {"schedule": "off"},
        "paths": {"templates": str(REPO / "templates")},
    }
    for key, value in overrides.items():
        section, sep, option = key.partition("_")
        if not sep or section not in SECTIONS or not option:
            raise ValueError(f"config override {key!r}: want SECTION_KEY with SECTION "
                             f"one of {', '.join(SECTIONS)}")
        if value is None:
            cfg.get(section, {}).pop(option, None)
        else:
            cfg.setdefault(section, {})[option] = str(value)
    lines = []
    for section, options in cfg.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}" for k, v in options.items())
        lines.append("")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text("\n".join(lines))
    return path


def read_config(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser


# --- leernet itself ----------------------------------------------------------

def leernet_bin() -> Path:
    return Path(os.environ.get("LEERNET_BIN") or REPO / "build" / "leernet")


class LeernetError(subprocess.CalledProcessError):
    def __str__(self):
        return (f"{' '.join(map(str, self.cmd))} exited {self.returncode}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


def sanitizer_env(env: dict | None) -> dict:
    """The environment for leernet: ours, env on top, and LeakSanitizer's
    suppressions of leaks outside leernet (tests/lsan.supp) unless set."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("LSAN_OPTIONS", f"suppressions={REPO}/tests/lsan.supp:"
                        "print_suppressions=0")
    return full_env


def run_leernet(config, *args, check: bool = True, timeout: float = 60,
                env: dict | None = None, input: str | None = None,
                at: str | None = None) -> subprocess.CompletedProcess:
    """Run `$LEERNET_BIN -c config args...`; text output captured.  With
    check, a non-zero exit raises LeernetError showing both streams.  With
    at ("2027-08-02 12:00:00", UTC), leernet alone runs on a clock started
    then (libfaketime); the mail servers keep the real one."""
    binary = leernet_bin()
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is not built (run make, or set LEERNET_BIN)")
    cmd = [str(binary)]
    if config is not None:
        cmd += ["-c", str(config)]
    cmd += [str(a) for a in args]
    full_env = sanitizer_env(env)
    if at is not None:
        cmd = ["faketime", at] + cmd
        full_env["TZ"] = "UTC"
        # Timeouts run on the real monotonic clock.
        full_env["DONT_FAKE_MONOTONIC"] = "1"
        # ASan wants to be the first library; libfaketime is preloaded.
        full_env["ASAN_OPTIONS"] = ":".join(
            filter(None, [full_env.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=full_env, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LeernetError(proc.returncode, cmd, proc.stdout, proc.stderr)
    return proc


class LeernetDaemon:
    """`leernet -c config run` in the background, output to a log file
    (never a pipe: a full pipe would stall it)."""

    def __init__(self, config, *args, log_path=None, env: dict | None = None):
        binary = leernet_bin()
        if not binary.exists():
            raise FileNotFoundError(f"{binary} is not built (run make, or set LEERNET_BIN)")
        self.log_path = Path(log_path or Path(config).with_suffix(".run.log"))
        full_env = sanitizer_env(env)
        args = args or ("run",)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(binary), "-c", str(config), *map(str, args)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=full_env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10) -> re.Match:
        """Wait until the daemon's output matches the regular expression."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log())
            if m:
                return m
            if time.monotonic() >= deadline or not self.alive():
                raise AssertionError(f"leernet output never matched {pattern!r}"
                                     f" (alive: {self.alive()}):\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, wait; SIGKILL after `timeout`. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


# --- helpers -----------------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ, data, what):
    if typ != "OK":
        raise MailStackError(f"IMAP {what} failed: {typ} {data}")


def _list_folders(conn) -> list[str]:
    typ, data = conn.list()
    _check(typ, data, "LIST")
    names = []
    for line in data:
        if not line:
            continue
        m = re.match(rb'\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$', line)
        if not m or re.search(rb"\\(Noselect|NonExistent)", m.group("flags"), re.I):
            continue  # "leernet" above "leernet.done" is only a name
        name = m.group("name").decode()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        names.append(name)
    return sorted(names)


def _fetch_flags(conn) -> dict[int, frozenset]:
    typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
    _check(typ, data, "FETCH FLAGS")
    flags = {}
    for line in data:
        if isinstance(line, tuple):
            line = line[0]
        if not line:
            continue
        uid = re.search(rb"UID (\d+)", line)
        fl = re.search(rb"FLAGS \(([^)]*)\)", line)
        if uid and fl:
            # \Recent only says which session looked first: left out.
            flags[int(uid.group(1))] = frozenset(
                f for f in fl.group(1).decode().split() if f != "\\Recent")
    return flags


def _size(path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
