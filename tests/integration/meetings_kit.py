"""Helpers for the meeting tests (test_meetings*.py): people mailing
leernet through the real Postfix + Dovecot, and what they get back read by
independent parsers (Python's email package, python3-icalendar, zoneinfo).

    m = Meet(stack, run_leernet, cfg)     # see the `meet` fixture
    m.join("alice", "bob")                # trusted joins, one `once`
    n = m.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    [inv] = m.invites("alice")            # new calendar mail, checked
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import email
import email.policy
import io
import quopri
import re
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from mailstack import address

AMS = ZoneInfo("Europe/Amsterdam")
UTC = dt.timezone.utc
COORD = address("lido")
TITLE = "Rekenen in groep 3"
SLUG = "rekenen"
AUTHSERV = "mx.school.test"
# What the organisation's own MX adds to mail from its people: enough proof
# for commands that change other people's calendars (SPEC §4).
TRUSTED = {"Authentication-Results":
           f"{AUTHSERV}; dmarc=pass header.from=school.test"}
TOKEN = re.compile(r"\(code ([a-z0-9]{12})\)")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imip-replies"
MEETING_CSV = ["number", "start", "end", "location", "status", "sequence",
               "accepted", "declined", "tentative", "needs_action"]
HOURS_CSV = ["email", "name", "network", "meetings_attended", "hours", "budget"]


def text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def flat(s: str) -> str:
    return " ".join(s.split())


def local(iso: str) -> dt.datetime:
    """"2027-03-27T15:00" in Amsterdam, as an aware datetime."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=AMS)


# --- what leernet sent: the calendar parts ---------------------------------

class Invite:
    """One calendar mail leernet sent, checked for the iMIP shape of
    SPEC §5 and CALENDAR.md: multipart/mixed { multipart/alternative {
    text/plain, text/html, text/calendar; method=M }, application/ics
    invite.ics }, both calendars identical and base64."""

    def __init__(self, msg):
        self.msg = msg
        parts = list(msg.walk())
        types = [p.get_content_type() for p in parts]
        assert types == ["multipart/mixed", "multipart/alternative",
                         "text/plain", "text/html", "text/calendar",
                         "application/ics"], types
        cal_part, att = parts[4], parts[5]
        assert cal_part.get_param("charset").upper() == "UTF-8"
        assert cal_part.get_content_disposition() is None
        assert cal_part["Content-Transfer-Encoding"].lower() == "base64"
        assert att["Content-Transfer-Encoding"].lower() == "base64"
        assert att.get_content_disposition() == "attachment"
        assert att.get_filename() == "invite.ics"
        assert att.get_param("name") == "invite.ics"
        self.ct_method = cal_part.get_param("method")
        self.raw = cal_part.get_payload(decode=True)
        assert att.get_payload(decode=True) == self.raw, \
            "invite.ics differs from the text/calendar part"
        self.cal = icalendar.Calendar.from_ical(self.raw)
        self.method = str(self.cal["METHOD"])
        assert self.method == self.ct_method, (self.method, self.ct_method)
        events = self.cal.walk("VEVENT")
        assert len(events) == 1, f"{len(events)} VEVENTs"
        self.ev = events[0]
        self.uid = str(self.ev["UID"])
        self.sequence = int(self.ev["SEQUENCE"])
        to = msg["To"].addresses
        assert len(to) == 1, f"To: {msg['To']}"
        self.to = to[0].addr_spec.lower()

    def start(self) -> dt.datetime:
        return self.ev["DTSTART"].dt.astimezone(UTC)

    def check(self, who, method, sequence, start=None, end=None, uid=None,
              location=None):
        """Every property that matters, against what the test planned.
        start/end: local Amsterdam wall-clock ISO strings."""
        ev = self.ev
        assert self.to == address(who)
        assert self.method == method
        assert self.sequence == sequence, (self.sequence, sequence)
        if uid is not None:
            assert self.uid == uid
        assert str(self.cal["VERSION"]) == "2.0"
        assert self.cal["PRODID"]
        # The zone we send, read by icalendar, must give the same instants
        # as the system tzdata (zoneinfo).
        [vtz] = self.cal.walk("VTIMEZONE")
        assert str(vtz["TZID"]) == "Europe/Amsterdam"
        ours = vtz.to_tz()
        for prop, want in (("DTSTART", start), ("DTEND", end)):
            value = ev[prop]
            assert value.params["TZID"] == "Europe/Amsterdam", prop
            if want is None:
                continue
            wall = value.dt.replace(tzinfo=None)
            assert wall == dt.datetime.fromisoformat(want), (prop, wall, want)
            expect = local(want).astimezone(UTC)
            assert value.dt.astimezone(UTC) == expect, prop
            assert ours.localize(wall).astimezone(UTC) == expect, prop
        assert "DURATION" not in ev and "RRULE" not in ev
        assert ev["DTSTAMP"].dt.tzinfo is not None
        assert ev["DTSTAMP"].dt.utcoffset() == dt.timedelta(0)
        org = ev["ORGANIZER"]
        assert str(org).lower() == f"mailto:{COORD}"
        assert org.params["CN"] == TITLE
        att = ev["ATTENDEE"]
        assert not isinstance(att, list), "exactly one ATTENDEE"
        assert str(att).lower() == f"mailto:{address(who)}"
        assert att.params["RSVP"] == "TRUE"
        assert att.params["PARTSTAT"] == "NEEDS-ACTION"
        assert att.params["ROLE"] == "REQ-PARTICIPANT"
        assert str(ev["STATUS"]) == ("CANCELLED" if method == "CANCEL"
                                     else "CONFIRMED")
        if location is not None:
            assert str(ev["LOCATION"]) == location
        assert str(ev["SUMMARY"]).startswith(TITLE)
        return self


def has_calendar(msg) -> bool:
    return any(p.get_content_type() in ("text/calendar", "application/ics")
               for p in msg.walk())


# --- replies as calendar clients send them ----------------------------------

def fold(line: str) -> str:
    """RFC 5545 folding at 75 octets, never inside a UTF-8 character."""
    out, cur = [], b""
    for ch in line:
        b = ch.encode()
        limit = 75 if not out else 74
        if len(cur) + len(b) > limit:
            out.append(cur)
            cur = b""
        cur += b
    out.append(cur)
    return "\r\n ".join(x.decode() for x in out)


def fixture_reply(name, uid, sequence, attendee, partstat=None,
                  start=None, end=None) -> str:
    """A fixture of tests/fixtures/imip-replies/ (written in the shape each
    client sends) answering our meeting: its UID, SEQUENCE and attendee
    replaced, everything else as the client wrote it.  attendee keeps the
    case given (Outlook writes MAILTO:Mixed@Case)."""
    raw = (FIXTURES / name).read_text()
    lines = re.sub(r"\r?\n[ \t]", "", raw).replace("\r\n", "\n").split("\n")
    out = []
    in_event = False  # DTSTART also opens each VTIMEZONE rule
    for line in lines:
        if line == "BEGIN:VEVENT":
            in_event = True
        elif line == "END:VEVENT":
            in_event = False
        if line.startswith("UID:"):
            line = f"UID:{uid}"
        elif line.startswith("SEQUENCE:"):
            line = f"SEQUENCE:{sequence}"
        elif line.startswith("X-MICROSOFT-CDO-APPT-SEQUENCE:"):
            line = f"X-MICROSOFT-CDO-APPT-SEQUENCE:{sequence}"
        elif line.startswith("ATTENDEE"):
            head, _, _ = line.rpartition(":")
            # ...:mailto:x  or  ...:MAILTO:x
            head = re.sub(r":(?i:mailto)$", "", head)
            scheme = "MAILTO" if "MAILTO:" in line else "mailto"
            head = re.sub(r'EMAIL="[^"]*"', f'EMAIL="{attendee}"', head)
            if partstat:
                head = re.sub(r"PARTSTAT=[A-Z-]+", f"PARTSTAT={partstat}", head)
            line = f"{head}:{scheme}:{attendee}"
        elif line.startswith("DTSTART") and start and in_event:
            line = re.sub(r":[0-9TZ]+$", ":" + start, line)
        elif line.startswith("DTEND") and end and in_event:
            line = re.sub(r":[0-9TZ]+$", ":" + end, line)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\r\n".join(fold(x) for x in out) + "\r\n"


def _b64(data: bytes) -> str:
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def _headers(frm, subject, extra=None) -> str:
    h = {
        "From": frm,
        "To": COORD,
        "Subject": subject,
        "Date": email.utils.formatdate(localtime=True),
        "Message-ID": email.utils.make_msgid(domain="school.test"),
        "MIME-Version": "1.0",
    }
    h.update(extra or {})
    return "".join(f"{k}: {v}\r\n" for k, v in h.items())


def outlook_reply(frm, ics, subject) -> bytes:
    """Outlook/Exchange: multipart/alternative, the calendar base64 in
    text/calendar; method=REPLY, no attachment."""
    b = "----_=_NextPart_001_01DB3C2A.5F1E2B40"
    body = (
        _headers(frm, subject, {"Content-Type":
                                f'multipart/alternative; boundary="{b}"',
                                "Thread-Topic": subject,
                                "X-MS-Has-Attach": "",
                                "X-MS-TNEF-Correlator": ""})
        + f"\r\n--{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64("Ik kom, maar iets later.\r\n".encode()) + "\r\n"
        f"--{b}\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(ics.encode()) + f"\r\n--{b}--\r\n")
    return body.encode()


def google_reply(frm, ics, subject) -> bytes:
    """Google Calendar: text/calendar; method=REPLY inside the alternative
    and the same as application/ics invite.ics."""
    b1, b2 = "000000000000c1a2b305f0aa0001", "000000000000c1a2b205f0aa0002"
    return (
        _headers(frm, subject, {"Content-Type":
                                f'multipart/mixed; boundary="{b1}"',
                                "Reply-To": frm, "Sender": "Google Calendar "
                                "<calendar-notification@google.com>"})
        + f"\r\n--{b1}\r\nContent-Type: multipart/alternative; boundary=\"{b2}\"\r\n\r\n"
        f"--{b2}\r\nContent-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(b"Sanne heeft deze uitnodiging geaccepteerd.\r\n") + "\r\n"
        f"--{b2}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "<p>Geaccepteerd</p>\r\n"
        f"--{b2}\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        + ics + f"--{b2}--\r\n"
        f"--{b1}\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
        "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(ics.encode()) + f"\r\n--{b1}--\r\n").encode()


def apple_reply(frm, ics, subject) -> bytes:
    """Apple Mail/Calendar: nested multiparts, the .ics a quoted-printable
    text/calendar attachment WITHOUT method=."""
    b1 = "Apple-Mail=_6E4A1D2C-1111-4A4A-9C9C-000000000001"
    b2 = "Apple-Mail=_6E4A1D2C-1111-4A4A-9C9C-000000000002"
    qp = quopri.encodestring(ics.encode()).decode().replace("\n", "\r\n")
    qp = qp.replace("\r\r\n", "\r\n")
    return (
        _headers(frm, subject, {"Content-Type":
                                f'multipart/alternative; boundary="{b1}"',
                                "X-Mailer": "Apple Mail (2.3774.600.62)"})
        + f"\r\n--{b1}\r\nContent-Transfer-Encoding: 7bit\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nMisschien.\r\n\r\n"
        f"--{b1}\r\nContent-Type: multipart/mixed; boundary=\"{b2}\"\r\n\r\n"
        f"--{b2}\r\nContent-Transfer-Encoding: 7bit\r\n"
        "Content-Type: text/html; charset=us-ascii\r\n\r\n<html><body>Misschien.</body></html>\r\n"
        f"--{b2}\r\nContent-Disposition: attachment; filename=iCal-20271020-091233.ics\r\n"
        "Content-Type: text/calendar; name=iCal-20271020-091233.ics; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + qp + f"\r\n--{b2}--\r\n\r\n--{b1}--\r\n").encode()


def thunderbird_reply(frm, ics, subject) -> bytes:
    """Thunderbird: text/calendar; method=REPLY in 8bit beside the text,
    and invite.ics as a base64 attachment."""
    b1, b2 = "------------mixed1A2B3C4D5E6F7A8B", "------------alt1A2B3C4D5E6F7A8B"
    return (
        _headers(frm, subject, {"Content-Type":
                                f'multipart/mixed; boundary="{b1}"',
                                "User-Agent": "Mozilla Thunderbird"})
        + f"\r\nThis is a multi-part message in MIME format.\r\n"
        f"--{b1}\r\nContent-Type: multipart/alternative; boundary=\"{b2}\"\r\n\r\n"
        f"--{b2}\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nBérénice heeft geaccepteerd.\r\n"
        f"--{b2}\r\nContent-Type: text/calendar; method=REPLY; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        + ics + f"\r\n--{b2}--\r\n"
        f"--{b1}\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
        "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + _b64(ics.encode()) + f"\r\n--{b1}--\r\n").encode()


# --- the story of one test ---------------------------------------------------

class Meet:
    @classmethod
    def network(cls, stack, tmp_path, run, users=(), slug=SLUG, title=TITLE,
                reset=True):
        """A fresh database with one network (led by lead@), sender
        proof trusted, and `users` added to the stack; mailboxes emptied
        first unless reset=False."""
        have = set(stack.users())
        for u in users:
            if address(u) not in have:
                stack.add_user(u)
        if reset:
            stack.reset()
        cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV)
        run(cfg, "init")
        run(cfg, "network", "add", slug, "--title", title,
            "--lead", "lead@school.test")
        return cls(stack, run, cfg)

    def __init__(self, stack, run, cfg):
        self.stack = stack
        self._run = run
        self.cfg = cfg
        self.seen: dict[str, set] = {}
        self.at = None          # leernet's clock (UTC) when set: see run_leernet

    def run(self, *args, **kwargs):
        if self.at is not None:
            kwargs.setdefault("at", self.at)
        return self._run(*args, **kwargs)

    # mail
    def mail(self, who, subject, body="", trusted=True, headers=None) -> str:
        h = dict(TRUSTED) if trusted else {}
        h.update(headers or {})
        return self.stack.send(who, "lido", subject=subject, body=body,
                               headers=h)

    def reply(self, who, msg, body, trusted=True, quote=True,
              subject=None) -> str:
        """What "Reply" in a mail client sends: the new text on top, the
        original quoted with "> " below an attribution line."""
        quoted = ""
        if quote:
            quoted = ("\n\nOp ma 1 feb 2027 om 10:00 schreef LIDO "
                      f"leernetwerken <{COORD}>:\n"
                      + "\n".join("> " + line for line in text(msg).splitlines()))
        refs = (msg.get("References", "") + " " + msg["Message-ID"]).strip()
        return self.mail(who, subject or "Re: " + msg["Subject"],
                         body + quoted + "\n", trusted=trusted,
                         headers={"In-Reply-To": msg["Message-ID"],
                                  "References": refs})

    def raw(self, who, data: bytes) -> str:
        return self.stack.send(who, "lido", raw=data)

    def once(self):
        self.stack.wait_queue_empty()
        out = self.run(self.cfg, "once")
        self.stack.wait_queue_empty()
        return out

    # what people got
    def new(self, who, pred=None) -> list:
        """Mail `who` received since the last look (only that matching
        pred, when given: the rest stays new)."""
        seen = self.seen.setdefault(address(who), set())
        fresh = [m for m in self.stack.inbox(who) if m.uid not in seen
                 and (pred is None or pred(m))]
        for m in fresh:
            seen.add(m.uid)
        return fresh

    def invites(self, who) -> list[Invite]:
        """New calendar mail of `who`, each checked for its shape; other
        new mail stays new."""
        return [Invite(m) for m in self.new(who, has_calendar)]

    def all_invites(self, who) -> list[Invite]:
        """Every calendar mail in the inbox of `who`, oldest first: by
        SEQUENCE, as calendar clients order them.  IMAP UIDs are not a
        delivery order here: Dovecot may number mail that LMTP delivered
        within one second in directory order (seen with parallel SMTP
        sessions), and SMTP never promised an order anyway."""
        invs = [Invite(m) for m in self.stack.inbox(who) if has_calendar(m)]
        return sorted(invs, key=lambda i: i.sequence)

    def one(self, who, *phrases, subject=None):
        """Exactly one new mail without a calendar for `who` (calendar
        mail is read with invites()), holding every phrase."""
        got = self.new(who, lambda m: not has_calendar(m))
        assert len(got) == 1, [(m["Subject"], text(m)[:400]) for m in got]
        body = flat(text(got[0]))
        for p in phrases:
            assert flat(p) in body, f"{p!r} not in:\n{text(got[0])}"
        if subject is not None:
            assert re.search(subject, got[0]["Subject"]), got[0]["Subject"]
        return got[0]

    def nothing(self, *who):
        for w in who:
            got = self.new(w)
            assert got == [], (w, [(m["Subject"], text(m)[:300]) for m in got])

    # commands
    def join(self, *who, slug=SLUG):
        for w in who:
            self.mail(w, f"aanmelden {slug}")
        self.once()
        for w in who:
            self.one(w, subject="Welkom|Welcome")

    def plan(self, date, time=None, location=None, who="lead", slug=SLUG,
             topic=None, english=False) -> int:
        """Plan with trusted proof; returns the new meeting's number."""
        before = self._numbers(slug)
        lines = [f"{'date' if english else 'datum'}: {date}"]
        if time:
            lines.append(f"{'time' if english else 'tijd'}: {time}")
        if location:
            lines.append(f"{'location' if english else 'locatie'}: {location}")
        if topic:
            lines.append(f"onderwerp: {topic}")
        self.mail(who, f"{'meeting' if english else 'bijeenkomst'} {slug}",
                  "\n".join(lines) + "\n")
        self.once()
        after = self._numbers(slug) - before
        assert len(after) == 1, (after, self.run(self.cfg, "meeting", "list", slug).stdout)
        return after.pop()

    def _numbers(self, slug) -> set:
        with self.db() as db:
            return {r[0] for r in db.execute(
                "SELECT m.number FROM meetings m JOIN networks n ON n.id ="
                " m.network_id WHERE n.slug = ?", (slug,))}

    # state
    def meetings(self, slug=SLUG) -> list[dict]:
        out = self.run(self.cfg, "meeting", "list", slug, "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0] == MEETING_CSV, rows[0]
        return [dict(zip(MEETING_CSV, r)) for r in rows[1:]]

    def meeting(self, number, slug=SLUG) -> dict:
        [row] = [r for r in self.meetings(slug) if r["number"] == str(number)]
        return row

    def counts(self, number, slug=SLUG) -> tuple:
        r = self.meeting(number, slug)
        return (int(r["accepted"]), int(r["declined"]), int(r["tentative"]),
                int(r["needs_action"]))

    def db(self):
        return sqlite3.connect(self.cfg.parent / "leernet.db")

    def uid(self, number, slug=SLUG) -> str:
        with self.db() as db:
            (uid,) = db.execute(
                "SELECT m.uid FROM meetings m JOIN networks n ON n.id ="
                " m.network_id WHERE n.slug = ? AND m.number = ?",
                (slug, number)).fetchone()
        return uid

    def token(self, msg) -> str:
        m = TOKEN.search(msg["Subject"])
        assert m, msg["Subject"]
        return m.group(1)
