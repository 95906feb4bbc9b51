"""The mail command language of SPEC §4 and the network workflows, in Dutch
and English, as stories of mail between people against the real Postfix +
Dovecot.  Every assertion is on what people receive, the member list, the
database's visible state, or the folders and flags of the coordinator
mailbox."""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import email.utils
import io
import re
import sqlite3
import time

import pytest

from mailstack import address

DONE = "leernet/done"
HUMAN = "leernet-human"
TOKEN = re.compile(r"\(code ([a-z0-9]{12})\)")
FOOTER_NL = 'Stuur "hulp" voor alle opdrachten.'
FOOTER_EN = 'Send "help" for all commands.'


def flat(s: str) -> str:
    return " ".join(s.split())


def text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def check_headers(msg) -> None:
    """Every header of a mail leernet sent is one clean line: nothing from
    a message can add a header or break one."""
    again = email.message_from_bytes(msg.raw.replace(b"\r\n", b"\n"),
                                     policy=email.policy.default)
    for name, value in again.items():
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
    header_block = msg.raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    for line in header_block.split(b"\n"):
        assert len(line) <= 998, line[:80]
        assert line[:1] in (b" ", b"\t") or re.match(rb"^[!-9;-~]+:", line), line[:80]
        assert all(b < 0x80 for b in line), line[:80]   # RFC 2047 encoded
    names = [n.lower() for n in again.keys()]
    for single in ("from", "to", "subject", "message-id", "date"):
        assert names.count(single) == 1, (single, names)
    assert "bcc" not in names and "cc" not in names
    assert again["Message-ID"] and again["Date"]
    assert address("lido") in again["From"]


class Story:
    """The people, the coordinator mailbox and leernet of one test."""

    def __init__(self, stack, run, cfg):
        self.stack = stack
        self.run = run
        self.cfg = cfg
        self.seen: dict[str, set] = {}

    def mail(self, who, subject, body="", **kw) -> str:
        return self.stack.send(who, kw.pop("to", "lido"), subject=subject,
                               body=body, **kw)

    def reply(self, who, msg, body, subject=None, quote=True,
              headers_drop=False) -> str:
        """What "Reply" in a mail client sends (headers_drop: a client
        that sets neither In-Reply-To nor References)."""
        quoted = "\n".join("> " + line for line in text(msg).splitlines())
        refs = (msg.get("References", "") + " " + msg["Message-ID"]).strip()
        return self.mail(who, subject or "Re: " + msg["Subject"],
                         body + ("\n\n" + quoted if quote else "") + "\n",
                         headers={} if headers_drop else
                         {"In-Reply-To": msg["Message-ID"], "References": refs})

    def once(self):
        self.stack.wait_queue_empty()
        out = self.run(self.cfg, "once")
        self.stack.wait_queue_empty()
        return out

    def new(self, who) -> list:
        """Mail `who` received since the last look, every header checked."""
        seen = self.seen.setdefault(address(who), set())
        fresh = [m for m in self.stack.inbox(who) if m.uid not in seen]
        for m in fresh:
            seen.add(m.uid)
            check_headers(m)
        return fresh

    def one(self, who, *phrases, subject=None):
        """Exactly one new mail for `who`, holding every phrase."""
        got = self.new(who)
        assert len(got) == 1, [(m["Subject"], text(m)[:300]) for m in got]
        msg = got[0]
        body = text(msg)
        flat = " ".join(body.split())
        for p in phrases:
            assert " ".join(p.split()) in flat, f"{p!r} not in:\n{body}"
        if subject is not None:
            assert re.search(subject, msg["Subject"]), msg["Subject"]
        return msg

    def nothing(self, *who):
        for w in who:
            got = self.new(w)
            assert got == [], [(m["Subject"], text(m)[:300]) for m in got]

    def members(self, slug="rekenen") -> dict:
        """email -> (role, state), as `member list` shows them (read from
        the database: a process per look would slow every story down;
        member_list() asks `leernet member list` itself)."""
        rows = self.db().execute(
            "SELECT p.email, m.role, m.state FROM memberships m"
            " JOIN people p ON p.id = m.person_id JOIN networks n ON"
            " n.id = m.network_id WHERE n.slug = ?", (slug,)).fetchall()
        return {e: (r, st) for e, r, st in rows}

    def member_list(self, slug="rekenen") -> dict:
        out = self.run(self.cfg, "member", "list", slug, "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0][:4] == ["email", "name", "role", "state"]
        return {r[0]: (r[2], r[3]) for r in rows[1:]}

    def networks(self) -> dict:
        rows = self.db().execute("SELECT slug, title, state FROM networks")
        return {slug: {"slug": slug, "title": title, "state": state}
                for slug, title, state in rows}

    def network_list(self) -> dict:
        out = self.run(self.cfg, "network", "list", "--csv").stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        return {r["slug"]: r for r in rows}

    def db(self):
        return sqlite3.connect(self.cfg.parent / "leernet.db")

    def token(self, msg) -> str:
        m = TOKEN.search(msg["Subject"])
        assert m, msg["Subject"]
        return m.group(1)

    def inbox_left(self):
        """What stays in the coordinator's inbox: (subject, flags)."""
        return [(f.subject, f.flags) for f in self.stack.flags("lido")]


@pytest.fixture
def story(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test", "--question",
                "Hoe automatiseren we in groep 3?")
    return Story(stack, run_leernet, cfg)


def make_story(stack, tmp_path, run_leernet, **overrides):
    cfg = stack.config(tmp_path, **overrides)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    return Story(stack, run_leernet, cfg)


def join_all(story, *people, slug="rekenen"):
    """Each (who, keyword) joins and confirms by replying: two runs for
    everyone together.  Leaves their mailboxes read."""
    for who, keyword in people:
        story.mail(who, f"{keyword} {slug}")
    story.once()
    confirms = {who: story.one(who) for who, _ in people}
    for who, _ in people:
        story.reply(who, confirms[who], "ok")
    story.once()
    members = story.members(slug)
    for who, _ in people:
        story.one(who, subject="^(Welkom bij|Welcome to) ")
        assert members[address(who)] == ("member", "active")


def by_reply(story, *who):
    """The new mail of these people, by the Message-ID it answers."""
    got = {}
    for w in who:
        for m in story.new(w):
            assert m["In-Reply-To"] not in got, m["Subject"]
            got[m["In-Reply-To"]] = m
    return got


AR_PASS = ("mx.school.test; spf=pass smtp.mailfrom=school.test; "
           "dkim=pass header.d=school.test; dmarc=pass header.from=school.test")
AR_FAIL = "mx.school.test; dmarc=fail (p=reject) header.from=school.test"


def raw_mail(frm, subject, ars=(), body="", headers=()):
    """A message as bytes, Authentication-Results on top as an MX adds
    them."""
    lines = [f"Authentication-Results: {a}" for a in ars]
    lines += [f"From: {address(frm)}", f"To: {address('lido')}",
              f"Subject: {subject}",
              f"Message-ID: <{time.monotonic_ns()}.{frm}@school.test>",
              "Date: " + email.utils.formatdate(localtime=True),
              "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
              *headers, "", body]
    return "\r\n".join(lines).encode()


# --- help and networks -------------------------------------------------------

def test_a_link_a_sender_wrote_is_no_link_in_our_answer(story):
    """A forged "aanmelden http://…" (security review): the answer from the
    coordinator address quotes the name, but neither part carries the
    sender's link (a client makes links of a plain-text part too);
    leernet's own links stay."""
    story.mail("alice", "aanmelden http://evil.example/login")
    story.once()
    answer = story.one("alice", 'de naam "[link]"')
    html = answer.get_body(("html",)).get_content()
    assert "evil.example" not in html, html


def test_help_and_networks_in_both_languages(story):
    join_all(story, ("carol", "aanmelden"))
    story.run(story.cfg, "network", "add", "oud", "--title", "Oud netwerk")
    story.run(story.cfg, "network", "close", "oud")
    story.mail("alice", "hulp")
    story.mail("bob", "help", body="Hi, how does this work?")
    story.mail("femme", "Help")
    story.mail("alice", "netwerken")
    story.mail("bob", "Networks")
    story.once()

    got = by_reply(story, "alice", "bob", "femme")

    def answers(who):
        return sorted((m for m in got.values()
                       if m["To"].addresses[0].addr_spec == address(who)),
                      key=lambda m: m["Subject"])

    nl_help, nl_nets = answers("alice")
    assert nl_help["Subject"].startswith("Hulp: ")
    for phrase in ("aanmelden NETWERK", "nieuw netwerk TITEL", "sluit NETWERK",
                   "bevestig CODE", FOOTER_NL):
        assert phrase in text(nl_help)
    assert "Voor coördinatoren" not in text(nl_help)
    assert nl_nets["Subject"] == "Re: netwerken"
    body = flat(text(nl_nets))
    for phrase in ("Rekenen in groep 3 (rekenen)", "trekker(s): lead@school.test",
                   "deelnemers: 1", "leervraag: Hoe automatiseren we in groep 3?",
                   'stuur "aanmelden rekenen"'):
        assert phrase in body, phrase
    assert "Oud netwerk" not in body

    en_help, en_nets = answers("bob")
    assert en_help["Subject"].startswith("Help: ")
    for phrase in ("join NETWORK", "start TITLE", "close NETWORK", "confirm CODE",
                   FOOTER_EN):
        assert phrase in text(en_help)
    assert en_nets["Subject"] == "Re: Networks"
    for phrase in ("The open learning networks", "lead(s): lead@school.test",
                   "members: 1", 'send "join rekenen"'):
        assert phrase in flat(text(en_nets)), phrase
    [coord] = answers("femme")
    assert "For coordinators" in text(coord) and '"approve"' in text(coord)
    assert story.inbox_left() == []

    # With nothing open, the answer says how to propose one.
    story.run(story.cfg, "network", "close", "rekenen")
    story.mail("alice", "netwerken")
    story.mail("bob", "networks")
    story.once()
    story.one("alice", "geen open leernetwerken", "nieuw netwerk TITEL")
    story.one("bob", "no open learning networks", "start TITLE")


# --- join, confirm, leave ----------------------------------------------------

def test_join_confirmed_by_a_new_mail_with_the_code(story):
    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "join rekenen")
    story.once()
    c_nl = story.one("alice", "je aan te melden voor het leernetwerk",
                     "Beantwoord deze mail om dat te bevestigen",
                     subject=r"^Bevestig: aanmelden voor Rekenen in groep 3 \(code ")
    c_en = story.one("bob", "join the learning network", "Reply to this mail to confirm",
                     subject=r"^Confirm: join Rekenen in groep 3 \(code ")
    assert f"bevestig {story.token(c_nl)}" in text(c_nl)
    assert f"confirm {story.token(c_en)}" in text(c_en)
    assert story.members()["alice@school.test"] == ("member", "pending")
    assert story.members()["bob@school.test"] == ("member", "pending")

    # New mails, no thread: the code in the Subject, and in the body.
    story.mail("alice", f"bevestig {story.token(c_nl)}")
    story.mail("bob", "Confirm", body=f"confirm {story.token(c_en)}\n")
    story.once()
    story.one("alice", "Je bent nu deelnemer", "afmelden rekenen",
              subject="^Welkom bij Rekenen in groep 3$")
    story.one("bob", "You are now a member", "leave rekenen",
              subject="^Welcome to Rekenen in groep 3$")
    m = story.members()
    assert m["alice@school.test"] == ("member", "active")
    assert m["bob@school.test"] == ("member", "active")


def test_a_code_typed_in_capitals_confirms(story):
    """A code read off a phone and typed over comes in capitals."""
    story.mail("alice", "aanmelden rekenen")
    story.once()
    c = story.one("alice", subject="^Bevestig: aanmelden voor")
    story.mail("alice", f"Bevestig {story.token(c).upper()}")
    story.once()
    story.one("alice", "Je bent nu deelnemer", subject="^Welkom bij Rekenen")
    assert story.members()["alice@school.test"] == ("member", "active")


def test_a_join_waiting_for_its_confirmation_can_be_called_off(story):
    """"Nee" to the confirmation, or afmelden before confirming, withdraws
    the join: the member list no longer shows the person as pending.
    Other commands tell them the join waits for its confirmation."""
    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "join rekenen")
    story.once()
    c_alice = story.one("alice", subject="^Bevestig: aanmelden voor")
    c_bob = story.one("bob", subject="^Confirm: join")
    assert story.members()["alice@school.test"] == ("member", "pending")

    story.reply("alice", c_alice, "Nee, toch niet.")
    story.mail("bob", "status rekenen")
    story.once()
    story.one("alice", 'Je antwoordde "nee"')
    story.one("bob", "Your request to join", "is not confirmed yet",
              "join rekenen")
    m = story.members()
    assert m["alice@school.test"] == ("member", "left")
    assert m["bob@school.test"] == ("member", "pending")

    story.mail("bob", "leave rekenen")
    story.once()
    story.one("bob", "Your request to join", "is now withdrawn")
    assert story.members()["bob@school.test"] == ("member", "left")
    # The confirmation mail cannot undo that.
    story.reply("bob", c_bob, "yes")
    story.once()
    story.one("bob", "You called this request off")
    assert story.members()["bob@school.test"] == ("member", "left")
    # Changing one's mind again: a new join asks again.
    story.mail("bob", "join rekenen")
    story.once()
    story.one("bob", subject="^Confirm: join")
    assert story.members()["bob@school.test"] == ("member", "pending")


def test_a_read_receipt_confirms_nothing(story):
    """A client that sends read receipts unasked ("Gelezen: …", or "Niet
    gelezen: …" for a mail deleted unread) answers the confirmation mail:
    that says nothing about wanting to join."""
    story.mail("alice", "aanmelden rekenen")
    story.once()
    c = story.one("alice", subject="^Bevestig: aanmelden voor")
    for i, (subject, disposition) in enumerate([
            ("Gelezen: ", "displayed"), ("Niet gelezen: ", "deleted")]):
        raw = (f"From: Alice <{address('alice')}>\r\nTo: {address('lido')}\r\n"
               f"Subject: {subject}{c['Subject']}\r\n"
               f"Message-ID: <receipt{i}@school.test>\r\n"
               f"In-Reply-To: {c['Message-ID']}\r\nReferences: {c['Message-ID']}\r\n"
               "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
               "report-type=disposition-notification; boundary=\"b\"\r\n\r\n"
               "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               "Uw bericht is gelezen.\r\n"
               "--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
               f"Final-Recipient: rfc822;{address('alice')}\r\n"
               f"Original-Message-ID: {c['Message-ID']}\r\n"
               f"Disposition: manual-action/MDN-sent-manually; {disposition}\r\n"
               "--b--\r\n")
        story.stack.send("alice", "lido", raw=raw.encode())
    story.once()
    story.nothing("alice")
    assert story.members()["alice@school.test"] == ("member", "pending")


def test_leave_needs_confirmation_in_both_languages(story):
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    story.mail("alice", "afmelden rekenen")
    story.mail("bob", "leave rekenen")
    story.once()
    c_nl = story.one("alice", "af te melden", subject="^Bevestig: afmelden voor")
    c_en = story.one("bob", "leave the learning network", subject="^Confirm: leave")
    # Nothing happens until they confirm.
    assert story.members()["alice@school.test"] == ("member", "active")
    assert story.members()["bob@school.test"] == ("member", "active")

    story.reply("alice", c_nl, "ja")
    story.reply("bob", c_en, "yes")
    story.once()
    story.one("alice", "Je bent afgemeld", "aanmelden rekenen",
              subject="^Afgemeld voor Rekenen")
    story.one("bob", "You have left", "join rekenen", subject="^You left Rekenen")
    m = story.member_list()
    assert m == story.members()
    assert m["alice@school.test"] == ("member", "left")
    assert m["bob@school.test"] == ("member", "left")

    # Coming back works, through a new confirmation.
    join_all(story, ("alice", "aanmelden"))


@pytest.mark.parametrize("how", ["rule", "by hand", "gmail"])
def test_a_forwarded_confirmation_request_confirms_nothing(story, how):
    """Someone else asked to take alice off the network (no proof of
    sender, so she is asked).  Her forwarding rule, or alice herself asking
    the coordinators what this is, sends the request on to the coordinator
    address: its Subject still reads "Bevestig: ... (code ...)", and a
    reply-like Gmail forward even names the request in In-Reply-To.  That
    confirms nothing; it is left for people and the code stays valid."""
    join_all(story, ("alice", "aanmelden"))
    story.mail("alice", "afmelden rekenen")
    story.once()
    request = story.one("alice", subject="^Bevestig: afmelden voor")
    original = ("\n\n-----Oorspronkelijk bericht-----\nVan: " + request["From"]
                + "\nOnderwerp: " + request["Subject"] + "\n\n" + text(request))
    if how == "rule":
        story.mail("alice", "FW: " + request["Subject"], original,
                   headers={"X-MS-Exchange-Inbox-Rules-Loop": address("alice")})
    elif how == "by hand":
        story.mail("alice", "Doorst: " + request["Subject"],
                   "Hoi, wat is dit? Ik wil gewoon lid blijven!" + original)
    else:
        story.mail("alice", "Fwd: " + request["Subject"],
                   "Wat is dit?\n\n---------- Forwarded message ---------\n"
                   + text(request),
                   headers={"In-Reply-To": request["Message-ID"],
                            "References": request["Message-ID"]})
    story.once()
    assert story.members()["alice@school.test"] == ("member", "active")
    story.nothing("alice")
    [(subject, flags)] = story.inbox_left()
    assert subject.endswith(request["Subject"]) and HUMAN in flags

    # The code still works for a real reply.
    story.reply("alice", request, "ja")
    story.once()
    story.one("alice", subject="^Afgemeld voor Rekenen")


# --- follow, unfollow, digest, direct ----------------------------------------

def test_follow_and_unfollow_in_both_languages(story):
    join_all(story, ("carol", "aanmelden"))
    story.mail("alice", "volg rekenen")
    story.mail("bob", "follow rekenen")
    story.mail("carol", "volg rekenen")
    story.once()
    story.one("alice", 'Je volgt nu "Rekenen in groep 3"', "ontvolg rekenen")
    story.one("bob", 'You now follow "Rekenen in groep 3"', "unfollow rekenen")
    story.one("carol", "ontvangt het nieuws dus al")
    m = story.members()
    assert m["alice@school.test"] == ("follower", "active")
    assert m["bob@school.test"] == ("follower", "active")
    assert m["carol@school.test"] == ("member", "active")

    story.mail("alice", "ontvolg rekenen")
    story.mail("bob", "unfollow rekenen")
    story.mail("donna", "ontvolg rekenen")
    story.mail("carol", "ontvolg rekenen")
    story.once()
    story.one("alice", 'Je volgt "Rekenen in groep 3" niet meer')
    story.one("bob", 'You no longer follow "Rekenen in groep 3"')
    story.one("donna", 'Je volgde "Rekenen in groep 3" niet; er is niets veranderd')
    story.one("carol", "Wil je stoppen, stuur dan: afmelden rekenen")
    m = story.members()
    assert m["alice@school.test"] == ("follower", "left")
    assert m["bob@school.test"] == ("follower", "left")
    assert m["carol@school.test"] == ("member", "active")
    assert "donna@school.test" not in m


def test_digest_and_direct_switch_the_delivery(story):
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    db = story.db()
    delivery = ("SELECT m.delivery FROM memberships m JOIN people p ON p.id = "
                "m.person_id WHERE p.email = ?")

    story.mail("alice", "samenvatting rekenen")
    story.mail("bob", "digest rekenen")
    story.once()
    story.one("alice", "alleen in de samenvatting", "direct rekenen")
    story.one("bob", "in the digest only", "direct rekenen")
    assert db.execute(delivery, ("alice@school.test",)).fetchone() == ("digest",)
    assert db.execute(delivery, ("bob@school.test",)).fetchone() == ("digest",)

    story.mail("alice", "direct rekenen")
    story.mail("bob", "Direct rekenen", body="Please send it directly again.")
    story.once()
    story.one("alice", "voortaan direct")
    story.one("bob", "directly")
    assert db.execute(delivery, ("alice@school.test",)).fetchone() == ("direct",)
    assert db.execute(delivery, ("bob@school.test",)).fetchone() == ("direct",)


# --- post, status ------------------------------------------------------------

def test_post_by_members_becomes_news(story):
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    story.mail("alice", "bericht rekenen", body="Volgende week: rekenspelletjes!")
    story.mail("bob", "post rekenen", body="Slides are on the intranet.")
    story.mail("lead", "bericht rekenen", body="")
    story.once()
    story.one("alice", 'Je bericht staat bij het nieuws van "Rekenen in groep 3"')
    story.one("bob", 'Your item is in the news of "Rekenen in groep 3"')
    story.one("lead", "was leeg", "bericht rekenen")
    # (sorted: the two arrive together, in either order)
    news = story.db().execute("SELECT subject, body FROM news ORDER BY subject").fetchall()
    assert news == [("bericht rekenen", "Volgende week: rekenspelletjes!"),
                    ("post rekenen", "Slides are on the intranet.")]

    # Files do not go into the news: the answer says so, and where to send
    # them instead.
    post = email.message.EmailMessage()
    post["From"] = address("alice")
    post["To"] = address("lido")
    post["Subject"] = "bericht rekenen"
    post.set_content("Hierbij het werkblad.\n")
    post.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf",
                        filename="werkblad.pdf")
    story.stack.send("alice", "lido", raw=bytes(post))
    story.once()
    story.one("alice", "Je bijlagen (werkblad.pdf) staan er niet bij",
              "stuur je mail dan naar de lijst van het netwerk, "
              "lido+rekenen@school.test")


def test_an_outlook_signature_logo_is_no_attachment_and_no_code(story):
    """Outlook puts image001.png under every signature, inline, and
    "[cid:image001.png@…]" in its text part: the answer said the
    attachment was missing, and the code stood in the news."""
    join_all(story, ("alice", "aanmelden"))
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 60
    cid = "image001.png@01DB4C1E.6A9F2B10"
    logo = base64.b64encode(png).decode()
    post = (f"From: {address('alice')}\r\nTo: {address('lido')}\r\n"
            "Subject: bericht rekenen\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/related; boundary="rel"; type="multipart/alternative"\r\n'
            '\r\n--rel\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            '--alt\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
            f"Volgende keer nemen we rekenspellen mee.\r\n\r\nGroet, Alice\r\n[cid:{cid}]\r\n"
            '--alt\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n'
            "<p>Volgende keer nemen we rekenspellen mee.</p><p>Groet, Alice<br>"
            f'<img src="cid:{cid}"></p>\r\n--alt--\r\n'
            '--rel\r\nContent-Type: image/png; name="image001.png"\r\n'
            f"Content-ID: <{cid}>\r\n"
            'Content-Disposition: inline; filename="image001.png"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{logo}\r\n--rel--\r\n").encode()
    story.stack.send("alice", "lido", raw=post)
    # A real picture in the post is still named: it does not reach digests.
    photo = email.message.EmailMessage()
    photo["From"] = address("alice")
    photo["To"] = address("lido")
    photo["Subject"] = "bericht rekenen Foto"
    photo.set_content("De foto van de spellen.\n")
    photo.add_attachment(png + b"\1" * 80000, maintype="image", subtype="jpeg",
                         filename="spellen.jpg")
    story.stack.send("alice", "lido", raw=bytes(photo))
    story.once()
    answers = story.stack.wait_for("alice", 3)
    said = [" ".join(m.get_body(("plain",)).get_content().split()) for m in answers
            if "nieuws" in m.get_body(("plain",)).get_content()]
    assert len(said) == 2, said
    assert sum("spellen.jpg" in s for s in said) == 1, said
    assert not any("image001" in s for s in said), said
    bodies = [r[0] for r in story.db().execute("SELECT body FROM news ORDER BY id")]
    assert bodies[0].startswith("Volgende keer nemen we rekenspellen mee."), bodies
    assert "cid:" not in bodies[0], bodies


def test_status_shows_members_meetings_rsvps_and_hours(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_trusted_authserv_id="mx.school.test")
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    # A meeting that ended an hour ago, two hours long, which alice
    # attended (meetings can only be planned ahead, so it is put in the
    # database directly).
    now = int(time.time())
    db = story.db()
    db.execute("INSERT INTO meetings (network_id, number, uid, start, end, location,"
               " created, updated, reminded) VALUES (1, 1, 'past@test', ?, ?, 'X',"
               " ?, ?, 1)", (now - 3 * 3600, now - 3600, now, now))
    db.execute("INSERT INTO attendance (meeting_id, person_id) SELECT 1, id FROM"
               " people WHERE email = 'alice@school.test'")
    db.commit()
    day = time.strftime("%d-%m-%Y", time.localtime(now + 30 * 86400))
    stack.send("lead", "lido", raw=raw_mail(
        "lead", "bijeenkomst rekenen", [AR_PASS],
        f"datum: {day}\ntijd: 15:00-17:00\nlocatie: De Regenboog\n"))
    story.once()
    for who in ("lead", "alice", "bob"):
        story.new(who)                       # the plan's answer and invitations

    story.mail("alice", "status rekenen", body="Hoe staat het ervoor?")
    story.mail("bob", "status Rekenen in groep 3", body="How is it going?")
    story.mail("carol", "status rekenen", body="Hello, please tell me.")
    story.once()
    nl = story.one("alice", "Bijeenkomsten die nog komen:", "2.", "De Regenboog",
                   "komt: 0, misschien: 0, komt niet: 0, nog geen antwoord: 3",
                   "lead@school.test, trekker: 0 uur", "alice@school.test: 2 uur",
                   "bob@school.test: 0 uur", "(budget 25 uur)",
                   subject="^Status: Rekenen in groep 3$")
    assert "carol" not in text(nl)
    assert "15:00" in text(nl)
    story.one("bob", "Meetings to come:", "no answer yet: 3",
              "alice@school.test: 2 hours", "Members, with their hours")
    story.one("carol", "You are not a member", "join rekenen")


# --- proposal, moderation, call ----------------------------------------------

def test_network_add_tell_welcomes_the_leads_and_sends_the_call(stack, tmp_path,
                                                                run_leernet):
    """An admin opens the year's networks from the command line.  Without
    --tell nothing is sent (as always); with it, each lead hears what an
    approved proposal's lead hears, and the call goes to announce, whose
    single-word answer joins."""
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    story.once()
    story.nothing("lead", "carol")
    question = "Hoe maken we rekenen zichtbaar in de klas?"
    out = run_leernet(story.cfg, "network", "add", "zichtbaar", "--title",
                      "Zichtbaar rekenen", "--question", question, "--lead",
                      "Lea <lead@school.test>", "--lead", "bob@school.test",
                      "--lead", "LEAD@school.test", "--tell")   # Lea twice: told once
    assert out.stdout.splitlines() == [
        "network zichtbaar added: Zichtbaar rekenen",
        "told: 2 leads, and the call to [organization] announce (sent by the "
        "running daemon now, or with the next 'once')"], out.stdout
    story.once()
    for who in ("lead", "bob"):
        story.one(who, 'Je bent nu trekker van het leernetwerk "Zichtbaar rekenen"',
                  "bijeenkomst zichtbaar", subject="^Je bent trekker van Zichtbaar rekenen")
    call = story.one("carol", "Zichtbaar rekenen", question,
                     "lead@school.test, bob@school.test",
                     subject="^Nieuw leernetwerk: Zichtbaar rekenen")
    story.reply("carol", call, "aanmelden")
    story.once()
    story.one("carol", subject="^Bevestig: aanmelden voor Zichtbaar rekenen")

    bad = run_leernet(story.cfg, "network", "add", "leeg", "--title", "Leeg",
                      "--tell", check=False)
    assert bad.returncode == 64
    assert "--tell tells the leads: name them with --lead EMAIL" in bad.stderr
    assert "leeg" not in story.networks()


def test_network_add_tell_without_a_question_has_no_empty_heading(stack, tmp_path,
                                                                run_leernet):
    """--question is optional in `network add`, and the call to all of
    [organization] announce said "De leervraag:" over an empty line."""
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    story.once()
    run_leernet(story.cfg, "network", "add", "zonder", "--title", "Zonder vraag",
                "--lead", "lead@school.test", "--tell")
    story.once()
    story.one("lead", subject="^Je bent trekker van Zonder vraag")
    call = story.one("carol", "Zonder vraag", subject="^Nieuw leernetwerk: Zonder vraag")
    assert "leervraag" not in text(call), text(call)


def test_proposal_approval_call_and_join(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    question = "Hoe leren kinderen beter lezen met elkaar?"
    story.mail("alice", "nieuw netwerk Samen lezen", body=question)
    story.once()

    story.one("alice", "Bedankt voor je voorstel", question,
              subject="^Voorstel ontvangen: Samen lezen")
    mods = {}
    for c in ("femme", "donna"):
        mods[c] = story.one(c, "alice@school.test", "Samen lezen", question,
                            "goedkeuren", "afwijzen REDEN",
                            subject=r"^Voorstel nieuw leernetwerk: Samen lezen \(code ")
        assert mods[c]["To"] == f"{c}@school.test"
    assert story.token(mods["femme"]) != story.token(mods["donna"])
    assert story.networks()["samen-lezen"]["state"] == "proposed"

    # Asked again: the coordinators are not mailed twice.
    story.mail("alice", "nieuw netwerk Samen lezen", body=question)
    # While proposed, nobody can join it.
    story.mail("bob", "aanmelden samen-lezen")
    story.once()
    story.one("alice", "al bij de coördinatoren")
    story.one("bob", "wacht nog op goedkeuring")
    story.nothing("femme", "donna")
    assert sorted(story.networks()) == ["rekenen", "samen-lezen"]
    assert "bob@school.test" not in story.members("samen-lezen")

    story.reply("femme", mods["femme"], "goedkeuren\ntrekker: lead@school.test")
    story.once()
    story.one("femme", '"Samen lezen" is goedgekeurd', "lead@school.test")
    story.one("alice", "is goedgekeurd en staat nu open", "lead@school.test",
              "Zelf meedoen, met de uitnodigingen voor de bijeenkomsten? "
              "Stuur dan: aanmelden samen-lezen", subject="^Goedgekeurd: Samen lezen")
    # The lead learns whose question it is.
    story.one("lead", 'Je bent nu trekker van het leernetwerk "Samen lezen"',
              "alice@school.test heeft het voorgesteld.", question)
    call = story.one("carol", "Samen lezen", question, "aanmelden",
                     subject="^Nieuw leernetwerk: Samen lezen")
    # Its unsubscribe button writes "ontvolg": the answer says where the
    # call went.
    story.mail("carol", "ontvolg samen-lezen")
    story.once()
    story.one("carol", 'Je volgde "Samen lezen" niet',
              "Die ging naar carol@school.test")
    assert call["Auto-Submitted"] == "auto-generated"
    assert call["List-Id"] and "samen-lezen" in call["List-Id"]
    assert call["List-Unsubscribe"].startswith("<mailto:")
    nets = story.network_list()
    assert nets["samen-lezen"]["state"] == "open"
    assert nets["samen-lezen"]["leads"] == "lead@school.test"
    assert story.member_list("samen-lezen") == {"lead@school.test": ("lead", "active")}

    # The second coordinator is told the first already decided.
    story.reply("donna", mods["donna"], "afwijzen Te weinig belangstelling")
    # Carol answers the call with a single word.
    story.reply("carol", call, "aanmelden")
    story.once()
    story.one("donna", "al beslist door femme@school.test", "goedgekeurd",
              "niets veranderd")
    story.nothing("alice", "femme")
    assert story.networks()["samen-lezen"]["state"] == "open"
    confirm = story.one("carol", subject="^Bevestig: aanmelden voor Samen lezen")
    story.reply("carol", confirm, "")
    # femme's moderation code worked once: she cannot decide again.
    story.reply("femme", mods["femme"], "afwijzen toch niet")
    story.once()
    story.one("carol", subject="^Welkom bij Samen lezen")
    assert story.members("samen-lezen")["carol@school.test"] == ("member", "active")
    story.one("femme", "al beslist")
    assert story.networks()["samen-lezen"]["state"] == "open"


def test_quotes_around_a_proposed_title_are_no_part_of_it(story):
    story.mail("alice", 'nieuw netwerk " Samen rekenen "', body="Hoe?")
    story.mail("bob", "start \u201cCoding club \u2013 groep 8\u201d", body="How?")
    story.mail("carol", 'nieuw netwerk "Rekenen" en "Taal"', body="Beide?")
    story.once()
    story.one("alice", "Samen rekenen")
    story.one("bob", "Coding club")
    story.one("carol")
    nets = story.networks()
    assert nets["samen-rekenen"]["title"] == "Samen rekenen"
    assert nets["coding-club-groep-8"]["title"] == "Coding club \u2013 groep 8"
    # Quotes inside the title, not around it, stay.
    assert [n["title"] for n in nets.values() if "Taal" in n["title"]] == [
        '"Rekenen" en "Taal"']


def test_proposal_in_english_rejected_with_a_reason(story):
    story.mail("bob", "start Coding club", body="How do we teach coding to toddlers?")
    story.mail("alice", "nieuw netwerk", body="Hoe doen we dat?")
    story.mail("carol", "start Something", body="")
    story.once()
    story.one("bob", "Thank you for proposing", subject="^Proposal received: Coding club")
    story.one("alice", "heb ik een titel nodig", "Onderwerp: nieuw netwerk")
    story.one("carol", "I need the learning question", "Subject: start")
    mod = story.one("femme", subject="Coding club")
    assert sorted(story.networks()) == ["coding-club", "rekenen"]

    # A lead from outside the organisation: refused, the proposal waits.
    mod_donna = story.one("donna", subject="Coding club")
    story.reply("donna", mod_donna, "goedkeuren\ntrekker: Piet <piet@other.test>")
    story.once()
    story.one("donna", '"piet@other.test" kan geen trekker worden',
              "het voorstel wacht nog", "trekker: naam@school.nl")
    assert story.networks()["coding-club"]["state"] == "proposed"
    story.nothing("bob")

    # femme's client drops In-Reply-To: the code in the Subject decides.
    story.reply("femme", mod, "afwijzen Dit past beter bij het netwerk rekenen.",
                headers_drop=True)
    story.once()
    story.one("femme", '"Coding club" is afgewezen')
    story.one("bob", "was not approved",
              "The reason: Dit past beter bij het netwerk rekenen.",
              subject="^Not approved: Coding club")
    assert story.networks()["coding-club"]["state"] == "rejected"

    story.mail("alice", "aanmelden coding-club")
    story.once()
    story.one("alice", "niet goedgekeurd")


def test_a_mailed_title_is_cut_at_120_characters_as_the_cli_allows(story):
    """`network add` allows 120 characters; a mailed `start` keeps as many,
    not 120 bytes (60 characters of é)."""
    long = "Één taal " + "é" * 150
    story.mail("alice", f"nieuw netwerk {long}", body="Hoe doen we dat?")
    story.once()
    story.one("alice", subject="^Voorstel ontvangen")
    [title] = [n["title"] for n in story.networks().values() if n["state"] == "proposed"]
    assert title == long[:120], (len(title), title)
    # The same length passes the CLI's rule.
    story.run(story.cfg, "network", "add", "kort", "--title", title[:-1] + "x")
    # A C1 control (NEL) never reaches a title, which the CLI would refuse:
    # the Subject's decoding reads it as the Windows-1252 "…" it almost
    # always is.
    story.stack.send("bob", "lido", raw=(
        "From: bob@school.test\r\nTo: lido@school.test\r\n"
        "Subject: =?utf-8?q?nieuw_netwerk_Lezen=C2=85met_plezier?=\r\n"
        "Message-ID: <nel.title@school.test>\r\n\r\nHoe?\r\n").encode())
    story.stack.wait_for("lido")
    story.once()
    story.one("bob", subject="^Voorstel ontvangen")
    [nel] = [n["title"] for n in story.networks().values() if n["title"].startswith("Lezen")]
    assert nel == "Lezen\u2026met plezier", nel


def test_naming_networks_slugs_titles_and_near_misses(story):
    story.run(story.cfg, "network", "add", "rekenen-groep-3", "--title", "Rekenen groep 3")
    story.mail("alice", "nieuw netwerk Taal & Lezen: één aanpak",
               body="Hoe pakken we taal en lezen samen aan?")
    story.mail("bob", "join rekenen-groep3")
    story.mail("carol", "aanmelden rekenen-groep3")
    story.mail("donna", "aanmelden rekenen in GROEP 3")      # a title, any case
    story.mail("lead", "join Rekenen")                       # the slug, capitalised
    story.once()

    got = story.one("alice", "Taal & Lezen: één aanpak")
    slug = re.search(r"\(([^)]+)\)", text(got)).group(1)
    assert slug == "taal-lezen-een-aanpak"
    assert story.networks()[slug]["title"] == "Taal & Lezen: één aanpak"
    story.one("femme", "Taal & Lezen: één aanpak")
    donna = {m["Subject"].split(":")[0]: m for m in story.new("donna")}
    assert sorted(donna) == ["Bevestig", "Voorstel nieuw leernetwerk"]
    assert donna["Bevestig"]["Subject"].startswith(
        "Bevestig: aanmelden voor Rekenen in groep 3")
    story.one("bob", 'There is no network called "rekenen-groep3"',
              'Did you mean "rekenen-groep-3"', "join rekenen-groep-3")
    story.one("carol", 'Er is geen netwerk met de naam "rekenen-groep3"',
              'Bedoelde je "rekenen-groep-3"', "aanmelden rekenen-groep-3")
    assert "carol@school.test" not in story.members("rekenen-groep-3")
    story.one("lead", "You are already a lead of")


# --- leads, closing and trust ------------------------------------------------

def test_lead_adds_a_co_lead_after_confirmation(story):
    story.mail("lead", "trekker rekenen bob@school.test")
    story.once()
    confirm = story.one("lead", "bob@school.test mede-trekker",
                        subject="^Bevestig: bob@school.test trekker van")
    assert "bob@school.test" not in story.members()
    story.nothing("bob")

    story.reply("lead", confirm, "")
    story.once()
    story.one("lead", "bob@school.test is nu trekker")
    story.one("bob", 'Je bent nu trekker van het leernetwerk "Rekenen in groep 3"')
    assert story.members()["bob@school.test"] == ("lead", "active")

    # bob, now a lead, in English: an outsider cannot lead; the address
    # is needed; the title works too.
    story.mail("bob", "lead rekenen someone@other.test")
    story.mail("bob", "lead rekenen")
    story.mail("bob", "lead Rekenen in groep 3 carol@school.test")
    story.mail("bob", "lead rekenen Lead@School.test")
    story.once()
    got = by_reply(story, "bob")
    texts = sorted(flat(text(m)) for m in got.values())
    assert any("cannot become a lead" in t for t in texts), texts
    assert any("needs the network and the address" in t and
               "lead rekenen name@" in t for t in texts), texts
    assert any("make carol@school.test co-lead" in t for t in texts), texts
    assert any("lead@school.test is already a lead of" in t for t in texts), texts
    assert len(texts) == 4
    assert "carol@school.test" not in story.members()


def test_close_needs_confirmation_then_the_network_is_closed(story):
    join_all(story, ("alice", "aanmelden"))
    story.mail("lead", "sluit rekenen - tot volgend jaar")
    story.mail("donna", "aanmelden rekenen")      # she will confirm too late
    story.once()
    confirm = story.one("lead", "af te sluiten", subject="^Bevestig: Rekenen in groep 3 sluiten")
    late = story.one("donna", subject="^Bevestig: aanmelden")
    assert story.networks()["rekenen"]["state"] == "open"

    story.mail("lead", f"bevestig {story.token(confirm)}")
    story.once()
    story.one("lead", "is afgesloten", subject="^Afgesloten: Rekenen in groep 3")
    assert story.networks()["rekenen"]["state"] == "closed"
    # The words with the close survive the confirmation, for the last digest.
    [(reason,)] = story.db().execute(
        "SELECT reason FROM networks WHERE slug = 'rekenen'").fetchall()
    assert reason == "tot volgend jaar"

    # Commands for a closed network, in both languages.
    story.mail("bob", "aanmelden rekenen")
    story.mail("carol", "follow rekenen")
    story.mail("alice", "bericht rekenen", body="Nog iets")
    story.once()
    story.one("bob", 'Het netwerk "Rekenen in groep 3" is niet open', "afgesloten")
    story.one("carol", 'The network "Rekenen in groep 3" is not open', "closed")
    story.one("alice", "is niet open")
    assert "bob@school.test" not in story.members()

    # A join confirmed after the network closed does not happen.
    story.reply("donna", late, "")
    story.once()
    story.one("donna", 'Het netwerk "Rekenen in groep 3" is niet open', "afgesloten")
    assert story.members()["donna@school.test"] == ("member", "pending")


def test_forged_lead_command_only_asks_the_real_lead(story):
    # alice writes as the lead (From: lead@), without proof of sender.
    story.mail("lead", "sluit rekenen", envelope_from="alice@school.test")
    story.mail("bob", "aanmelden rekenen", envelope_from="alice@school.test")
    story.once()
    confirm = story.one("lead", "Heb je hier niet om gevraagd? Dan hoef je niets te doen",
                        subject="sluiten")
    assert confirm["To"] == "lead@school.test"
    story.one("bob", subject="^Bevestig: aanmelden")
    story.nothing("alice")
    assert story.networks()["rekenen"]["state"] == "open"
    assert story.members()["bob@school.test"] == ("member", "pending")


def test_authentication_results_only_the_topmost_trusted_header_counts(
        stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_trusted_authserv_id="mx.school.test")
    # Topmost says fail; a forged pass below it changes nothing.
    stack.send("alice", "lido", raw=raw_mail("alice", "aanmelden rekenen",
                                             [AR_FAIL, AR_PASS]))
    # A pass from another server is not ours to trust.
    stack.send("carol", "lido", raw=raw_mail(
        "carol", "aanmelden rekenen", [AR_PASS.replace("mx.school.test", "mx.evil.test")]))
    # A pass for another domain than the sender's is no proof either.
    stack.send("lead", "lido", raw=raw_mail(
        "lead", "sluit rekenen", [AR_PASS.replace("=school.test", "=evil.test")]))
    # Topmost pass from our own server: the join happens at once.
    stack.send("bob", "lido", raw=raw_mail("bob", "join rekenen", [AR_PASS, AR_FAIL]))
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden")
    story.one("carol", subject="^Bevestig: aanmelden")
    story.one("lead", subject="sluiten")
    story.one("bob", "You are now a member", subject="^Welcome to Rekenen")
    m = story.members()
    assert m["alice@school.test"] == ("member", "pending")
    assert m["carol@school.test"] == ("member", "pending")
    assert m["bob@school.test"] == ("member", "active")
    assert story.networks()["rekenen"]["state"] == "open"

    # With a trusted pass a lead closes at once.
    stack.send("lead", "lido", raw=raw_mail("lead", "sluit rekenen", [AR_PASS]))
    story.once()
    story.one("lead", subject="^Afgesloten")
    assert story.networks()["rekenen"]["state"] == "closed"


# --- tokens ------------------------------------------------------------------

def test_expired_reused_and_stolen_tokens(story):
    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "join rekenen")
    story.once()
    t_alice = story.token(story.one("alice"))
    c_bob = story.one("bob")
    t_bob = story.token(c_bob)

    # carol uses alice's code: it is not hers.  alice's own code expired
    # (7 days; here by hand).  bob confirms by replying.
    db = story.db()
    db.execute("UPDATE tokens SET expires = ? WHERE token = ?",
               (int(time.time()) - 60, t_alice))
    db.commit()
    story.mail("carol", f"bevestig {t_alice}")
    story.mail("alice", f"bevestig {t_alice}")
    story.reply("bob", c_bob, "")
    story.once()
    story.one("carol", "geen geldige bevestigingscode voor jou")
    story.one("alice", "verlopen", "Stuur je verzoek opnieuw")
    story.one("bob", subject="^Welcome")
    m = story.members()
    assert m["alice@school.test"] == ("member", "pending")
    assert "carol@school.test" not in m
    assert m["bob@school.test"] == ("member", "active")

    # A code works once; a made-up one not at all.
    story.mail("bob", f"confirm {t_bob}")
    story.mail("bob", "confirm zzzzzzzzzzzz")
    story.once()
    got = sorted(flat(text(m)) for m in story.new("bob"))
    assert len(got) == 2
    assert any("has been used already" in t for t in got), got
    assert any("I found no valid confirmation code" in t for t in got), got
    assert story.members()["bob@school.test"] == ("member", "active")

    # alice asks again and gets a fresh code that works.
    join_all(story, ("alice", "aanmelden"))

    # carol asks twice and confirms both codes: she joins once.
    story.mail("carol", "aanmelden rekenen")
    story.mail("carol", "aanmelden rekenen")
    story.once()
    for confirm in story.new("carol"):
        story.reply("carol", confirm, "")
    story.once()
    got = sorted(flat(text(m))[:60] for m in story.new("carol"))
    assert len(got) == 2
    assert got[0].startswith("Beste carol@school.test, Je bent al deelnemer"), got
    assert got[1].startswith("Beste carol@school.test, Je bent nu deelnemer"), got
    assert story.members()["carol@school.test"] == ("member", "active")


# --- limits and hostile input ------------------------------------------------

def test_rate_limit_keeps_the_fourth_request_for_people(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_max_requests_per_hour="3")
    sent = {story.mail("alice", "hulp", body=f"poging {i}") for i in range(4)}
    story.once()
    answered = {m["In-Reply-To"] for m in story.new("alice")}
    assert len(answered) == 3 and answered < sent
    # The one not answered is kept for the coordinators.
    assert story.inbox_left() == [("hulp", frozenset({HUMAN}))]
    assert {stack.inbox("lido")[0]["Message-ID"]} == sent - answered
    # The next run leaves it alone; others are not limited by alice.
    story.mail("bob", "help")
    story.once()
    story.one("bob", "join NETWORK")
    story.nothing("alice")
    assert story.inbox_left() == [("hulp", frozenset({HUMAN}))]


HOSTILE = [
    # (From display name, Subject) as raw header bytes
    (b"=?utf-8?q?Evil=0D=0ABcc:_bob@school.test?= ",
     b"=?utf-8?b?" + base64.b64encode(b"aanmelden nergens\r\nBcc: bob@school.test") + b"?="),
    (b"\"O'Brien; \\\"de baas\\\"\" ",
     b"aanmelden \"nergens\"; DROP TABLE people; --"),
    (b"=?utf-8?b?" + base64.b64encode("Ä".encode() * 400) + b"?= ",
     b"aanmelden " + b"x" * 1500),
    (b"\xe9l\xe8ve ", b"aanmelden ni\xc3\xabtbestaand \xe9\xe8"),
    (b"", b"aanmelden =?utf-8?q?a=0Ab?= =?iso-8859-1?q?=E9?="),
]


def test_hostile_names_subjects_and_titles_never_break_headers(story):
    for i, (name, subj) in enumerate(HOSTILE):
        # Bytes as they come: latin-1 undeclared, CR/LF inside encoded words.
        story.stack.send("alice", "lido", raw=(
            b"From: " + name + b"<alice@school.test>\r\n"
            b"To: lido@school.test\r\n"
            b"Subject: " + subj + b"\r\n"
            b"Message-ID: <hostile" + str(i).encode() + b"." +
            str(time.monotonic_ns()).encode() + b"@school.test>\r\n"
            b"Date: " + email.utils.formatdate(localtime=True).encode() + b"\r\n"
            b"\r\n"
            b"tekst met \xe9\xe8 latin-1\r\n"))
    title = "=?utf-8?b?" + base64.b64encode(
        "nieuw netwerk Lezen\r\nBcc: bob@school.test; \"x\" ≠ y".encode()).decode() + "?="
    story.mail("carol", title, body="Een vraag\r\nBcc: bob@school.test")
    story.once()
    got = story.new("alice")          # every header checked in new()
    assert len(got) == len(HOSTILE)
    for m in got:
        assert m["To"].addresses[0].addr_spec == "alice@school.test"
        assert "geen netwerk met de naam" in text(m)
        assert m["Subject"].startswith("Re: aanmelden")
    story.one("carol", subject="^Voorstel ontvangen: Lezen")
    [(title,)] = story.db().execute(
        "SELECT title FROM networks WHERE slug != 'rekenen'").fetchall()
    assert title == 'Lezen Bcc: bob@school.test; "x" ≠ y'     # one clean line
    story.one("femme", subject="^Voorstel nieuw leernetwerk: Lezen")
    story.one("donna")
    story.nothing("bob")
    assert story.members() == {"lead@school.test": ("lead", "active")}


# --- every error answer, in both languages -----------------------------------

# (who, subject, body, phrases, english).  alice and bob are members, carol
# and donna are not (donna and femme are coordinators).
ERRORS = [
    ("carol", "aanmelden nergens", "", ['Er is geen netwerk met de naam "nergens"',
                                        "rekenen: Rekenen in groep 3",
                                        "aanmelden rekenen"], False),
    ("donna", "join nowhere", "", ['There is no network called "nowhere"',
                                   "rekenen: Rekenen in groep 3", "join rekenen"], True),
    ("carol", "volg", "", ['Bij "volg" hoort de naam van een netwerk', "volg rekenen"],
     False),
    ("donna", "follow", "", ['"follow" needs the name of a network', "follow rekenen"],
     True),
    ("carol", "goedkeuren rekenen", "", ["Alleen coördinatoren"], False),
    ("carol", "afwijzen rekenen", "", ["Alleen coördinatoren"], False),
    ("bob", "approve rekenen", "", ["Only coordinators"], True),
    ("bob", "reject rekenen", "", ["Only coordinators"], True),
    ("femme", "goedkeuren rekenen", "", ["beantwoord je de mail over dat voorstel"],
     False),
    ("donna", "approve rekenen", "", ["reply to the mail about that proposal"], True),
    ("alice", "sluit rekenen", "", ['"sluit" kan alleen een trekker van']
     , False),
    ("alice", "trekker rekenen alice@school.test", "",
     ['"trekker" kan alleen een trekker van'], False),
    ("bob", "close rekenen", "", ['Only a lead of "Rekenen in groep 3"', '"close"'], True),
    ("bob", "lead rekenen bob@school.test", "", ["Only a lead of"], True),
    ("carol", "status nergens", "", ['geen netwerk met de naam "nergens"'], False),
    ("carol", "status rekenen", "", ['Je bent geen deelnemer van "Rekenen in groep 3"'],
     False),
    ("carol", "afmelden rekenen", "", ["Je bent geen deelnemer", "aanmelden rekenen"],
     False),
    ("donna", "leave rekenen", "", ["You are not a member", "join rekenen"], True),
    ("carol", "bericht rekenen", "Hallo allemaal", ['"bericht" kan niet'], False),
    ("carol", "post rekenen", "Hello all", ['"post" is not possible'], True),
    ("carol", "samenvatting rekenen", "", ["Je bent geen deelnemer"], False),
    ("donna", "digest rekenen", "", ["You are not a member"], True),
    ("carol", "bevestig", "", ["geen geldige bevestigingscode"], False),
    ("donna", "confirm", "", ["no valid confirmation code"], True),
    ("alice", "aanmelden rekenen", "", ['Je bent al deelnemer van "Rekenen in groep 3"'],
     False),
    ("bob", "join rekenen", "", ['You are already a member of "Rekenen in groep 3"'],
     True),
    ("lead", "join rekenen", "", ["You are already a lead of"], True),
]


def test_every_error_answer_in_both_languages(story):
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    before = story.members()
    sent = {}
    for who, subject, body, phrases, english in ERRORS:
        sent[story.mail(who, subject, body=body)] = (who, subject, phrases, english)
    # No keyword: mail for people, not answered.
    story.mail("carol", "aanmeldne rekenen")
    story.mail("bob", "Question", body="Could you tell me more about rekenen?")
    story.once()

    got = by_reply(story, "alice", "bob", "carol", "donna", "femme", "lead")
    for mid, (who, subject, phrases, english) in sent.items():
        msg = got.pop(mid, None)
        assert msg is not None, f"no answer to {who}: {subject}"
        assert msg["To"].addresses[0].addr_spec == address(who)
        assert msg["Subject"] == "Re: " + subject
        body = flat(text(msg))
        for p in phrases:
            assert flat(p) in body, f"{who} {subject!r}: {p!r} not in:\n{text(msg)}"
        assert (FOOTER_EN if english else FOOTER_NL) in body, (subject, body)
    assert got == {}, [m["Subject"] for m in got.values()]
    assert story.members() == before
    assert story.networks()["rekenen"]["state"] == "open"
    assert story.db().execute("SELECT count(*) FROM news").fetchone() == (0,)
    assert sorted(story.inbox_left()) == [("Question", frozenset({HUMAN})),
                                          ("aanmeldne rekenen", frozenset({HUMAN}))]


# --- staff -------------------------------------------------------------------

def test_staff_only_lets_staff_act_and_refuses_others(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet, organization_staff_only="yes")
    staff = tmp_path / "staff.csv"
    staff.write_bytes("\ufeffemail;name;school;function\r\n"
                      "alice@school.test;Alice Jansen;De Regenboog;leerkracht\r\n"
                      "lead@school.test;\"Lea; de trekker\";De Regenboog;ib'er\r\n"
                      .encode())
    out = run_leernet(story.cfg, "staff", "import", str(staff))
    assert "1 person added, 1 updated" in out.stdout    # lead@ was known

    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "aanmelden rekenen")
    story.mail("carol", "networks")
    story.mail("femme", "netwerken")      # a coordinator, not in the list
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden")
    story.one("bob", "staat niet in de personeelslijst", "bob@school.test")
    story.one("carol", "is not in Stichting Test's staff directory")
    story.one("femme", "Rekenen in groep 3")
    m = story.members()
    assert m["alice@school.test"] == ("member", "pending")
    assert "bob@school.test" not in m
    # One refusal a day, as for outsiders.
    story.mail("bob", "aanmelden rekenen")
    story.once()
    story.nothing("bob")
    # A lead may only name staff as co-lead.
    stack.send("lead", "lido", raw=raw_mail("lead", "trekker rekenen carol@school.test"))
    story.once()
    story.one("lead", "alleen medewerkers van Stichting Test kunnen trekker zijn")


def test_someone_no_longer_staff_may_still_leave(stack, tmp_path, run_leernet):
    """With staff_only, a teacher HR dropped from the directory was refused
    `afmelden` ("staat niet in de personeelslijst") and kept getting the
    network's mail.  The confirmation of a leave goes through too; a join
    is still refused.  Found by the privacy review (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet, organization_staff_only="yes")
    staff = tmp_path / "staff.csv"
    staff.write_text("email,name,school\nalice@school.test,Alice,A\n"
                     "bob@school.test,Bob,B\nlead@school.test,Lea,A\n")
    run_leernet(story.cfg, "staff", "import", str(staff))
    join_all(story, ("alice", "aanmelden"), ("bob", "aanmelden"))
    staff.write_text("email,name,school\nlead@school.test,Lea,A\n")
    out = run_leernet(story.cfg, "staff", "import", "--replace", str(staff))
    # Leaving the foundation ends no membership: the admin is told whom.
    assert "no longer staff but still in networks" in out.stderr, out.stderr
    assert "alice@school.test (rekenen), bob@school.test (rekenen)" in out.stderr
    # Confirmed by replying to the code, as anyone's leave.
    story.mail("alice", "afmelden rekenen")
    story.mail("bob", "leave rekenen")
    story.once()
    confirms = {w: story.one(w, subject="^(Bevestig|Confirm): ") for w in ("alice", "bob")}
    story.reply("alice", confirms["alice"], "ja")
    story.reply("bob", confirms["bob"], "yes")
    story.once()
    story.one("alice", subject="^Afgemeld")
    story.one("bob", subject="^(Left|Unsubscribed|You left)")
    m = story.members()
    assert m["alice@school.test"] == ("member", "left")
    assert m["bob@school.test"] == ("member", "left")
    # Anything else is refused as before.
    story.mail("bob", "aanmelden rekenen")
    story.once()
    story.one("bob", "staat niet in de personeelslijst")
    # "bevestig CODE" in a mail of its own, as the confirmation offers.
    staff.write_text("email,name,school\nlead@school.test,Lea,A\ncarol@school.test,C,A\n")
    run_leernet(story.cfg, "staff", "import", "--replace", str(staff))
    join_all(story, ("carol", "aanmelden"))
    staff.write_text("email,name,school\nlead@school.test,Lea,A\n")
    run_leernet(story.cfg, "staff", "import", "--replace", str(staff))
    story.mail("carol", "afmelden rekenen")
    story.once()
    code = re.search(r"code (\w+)", story.one("carol")["Subject"]).group(1)
    story.mail("carol", f"bevestig {code}")
    story.once()
    story.one("carol", subject="^Afgemeld")


def test_staff_import_replace_drops_whoever_the_new_directory_leaves_out(
        stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    old = tmp_path / "oud.csv"
    old.write_text("email,name,school\n"
                   "alice@school.test,Alice,A\nbob@school.test,Bob,B\n"
                   "carol@school.test,Carol,C\n")
    run_leernet(cfg, "staff", "import", str(old))
    db = sqlite3.connect(tmp_path / "leernet.db")

    def staff():
        return {e for (e,) in db.execute("SELECT email FROM people WHERE in_staff")}

    # Without --replace nobody is removed.
    new = tmp_path / "nieuw.csv"
    new.write_text("email,name,school\nalice@school.test,Alice,A\n"
                   "dave@school.test,Dave,D\n")
    run_leernet(cfg, "staff", "import", str(new))
    assert staff() == {"alice@school.test", "bob@school.test", "carol@school.test",
                       "dave@school.test"}
    # A bad row with --replace: nothing changes, and it says why.
    typo = tmp_path / "typo.csv"
    typo.write_text("email,name,school\nalice@school.test,Alice,A\nbob@school,Bob,B\n")
    out = run_leernet(cfg, "staff", "import", "--replace", str(typo), check=False)
    assert out.returncode == 65
    assert "fix the 1 bad row first" in out.stderr, out.stderr
    assert len(staff()) == 4
    # An export with nobody in it is a mistake, not an empty foundation.
    empty = tmp_path / "leeg.csv"
    empty.write_text("email,name,school\n")
    out = run_leernet(cfg, "staff", "import", "--replace", str(empty), check=False)
    assert out.returncode == 65
    assert f"{empty} names nobody; nothing was changed" in out.stderr, out.stderr
    assert len(staff()) == 4
    # The whole directory: bob and carol have left.
    out = run_leernet(cfg, "staff", "import", "--replace", str(new))
    assert "0 people added, 2 updated, 0 bad rows skipped, 2 no longer staff" in out.stdout
    assert staff() == {"alice@school.test", "dave@school.test"}
    shown = run_leernet(cfg, "person", "show", "bob@school.test").stdout
    assert re.search(r"^staff:\s+no$", shown, re.M), shown
    # Usage errors name the option.
    for args in (("import", "--replace"), ("import", "--replace", "--replace", str(new)),
                 ("import", "--bogus", str(new))):
        out = run_leernet(cfg, "staff", *args, check=False)
        assert out.returncode == 64 and "--replace" in out.stderr, args


def test_someone_at_two_schools_is_no_bad_row(stack, tmp_path, run_leernet):
    """An HR export names a teacher at two schools twice: the second row
    was a bad row (exit 65 every night from cron), and --replace refused
    the whole file "with --replace everyone a skipped row names would stop
    being staff", though she is on line 2.  Found by the coordinators'
    school-year round (fifteenth session)."""
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    hr = tmp_path / "hr.csv"
    hr.write_text("email,name,school\nalice@school.test,Alice,De Klimop\n"
                  "bob@school.test,Bob,De Klimop\nALICE@school.test,Alice,De Wereld\n")
    out = run_leernet(cfg, "staff", "import", "--replace", str(hr), check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [
        f"{hr}:4: note: alice@school.test is already on line 2; that row counts, "
        "this one is left out"], out.stderr
    assert "2 people added, 0 updated, 0 bad rows skipped" in out.stdout
    shown = run_leernet(cfg, "person", "show", "alice@school.test").stdout
    assert "De Klimop" in shown, shown


def test_staff_import_reports_bad_rows_keeps_good_ones_and_is_idempotent(
        stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    staff = tmp_path / "personeel.csv"
    staff.write_bytes(b"email,name,school,function\n"
                      b"alice@school.test,Alice,De Regenboog,leerkracht\n"
                      b"not-an-address,X,Y,Z\n"
                      b"bob@school.test,\"Vries, Bob de\",De Wereld,\n"
                      b"carol@school.test,Carol \"C\" Smit,S,\n")
    out = run_leernet(cfg, "staff", "import", str(staff), check=False)
    assert out.returncode == 65
    assert out.stderr.splitlines() == [
        f'{staff}:3: "not-an-address" is not a mail address',
        f"{staff}:5: a quote inside field 2, which is not quoted: put the whole "
        'field in quotes and write the quote twice ("")',
    ]
    assert "2 people added, 0 updated, 2 bad rows skipped" in out.stdout
    shown = run_leernet(cfg, "person", "show", "bob@school.test").stdout
    assert "Vries, Bob de" in shown and "De Wereld" in shown

    again = run_leernet(cfg, "staff", "import", str(staff), check=False)
    assert again.returncode == 65
    assert "0 people added, 2 updated" in again.stdout
    db = sqlite3.connect(tmp_path / "leernet.db")
    assert db.execute("SELECT count(*) FROM people WHERE in_staff").fetchone() == (2,)

    # Thousands of rows: progress every 1,000, all good, exit 0.
    big = tmp_path / "groot.csv"
    big.write_text("email;name;school\n" + "".join(
        f"p{i}@school.test;Persoon {i};School {i % 30}\n" for i in range(2500)))
    out = run_leernet(cfg, "staff", "import", str(big))
    assert out.stderr.splitlines() == [f"{big}: 1000 lines read", f"{big}: 2000 lines read"]
    assert "2500 people added" in out.stdout
    assert db.execute("SELECT count(*) FROM people WHERE in_staff").fetchone() == (2502,)
    # Without a header and with a bad first line the count is the same:
    # it counts lines, not rows after a header.
    bare = tmp_path / "zonder-kop.csv"
    bare.write_text('q0@school.test;Per"soon 0;School 0\n' + "".join(
        f"q{i}@school.test;Persoon {i};School {i % 30}\n" for i in range(1, 2000)))
    out = run_leernet(cfg, "staff", "import", str(bare), check=False)
    assert out.returncode == 65, out
    assert [l for l in out.stderr.splitlines() if "lines read" in l] == [
        f"{bare}: 1000 lines read", f"{bare}: 2000 lines read"], out.stderr
    assert "1999 people added" in out.stdout

    for bad_args, code in (((), 64), (("import",), 64),
                           (("import", str(tmp_path / "missing.csv")), 66)):
        assert run_leernet(cfg, "staff", *bad_args, check=False).returncode == code


def test_a_bidi_override_in_a_name_is_dropped(stack, tmp_path, run_leernet):
    """A display name "\u202emoc.liame@ssob" (RIGHT-TO-LEFT OVERRIDE, never
    closed) turned the rest of every line it was put in around: the
    coordinators read "boss@email.com" and a mirrored real address in the
    proposal they judge (found by the publishing audit)."""
    story = make_story(stack, tmp_path, run_leernet)
    raw = ("From: =?utf-8?q?=E2=80=AEmoc=2Eliame=40ssob?= <alice@school.test>\r\n"
           "To: lido@school.test\r\nSubject: nieuw netwerk Samen lezen\r\n"
           f"Message-ID: {email.utils.make_msgid(domain='school.test')}\r\n"
           f"Date: {email.utils.formatdate()}\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Hoe leren kinderen beter lezen?\r\n").encode()
    stack.send("alice", "lido", raw=raw)
    story.once()
    mod = story.one("femme", "alice@school.test", "Samen lezen")
    for part in ("plain", "html"):
        body = mod.get_body((part,)).get_content()
        assert "\u202e" not in body, body
        assert "moc.liame@ssob" in body and "alice@school.test" in body, body


@pytest.mark.parametrize("subject,body", [
    ("Help, ik krijg geen uitnodigingen", "Sinds vorige week komt er niets meer."),
    ("Re: Uitnodiging: Rekenen", "Annuleren, ik kan helaas niet komen."),
])
def test_prose_that_starts_with_a_keyword_is_kept_for_people(stack, tmp_path, run_leernet,
                                                            subject, body):
    """"Help, ik krijg …" got the help text and was filed away: the
    question never reached a coordinator (found by the coordinator audit).
    A command that takes nothing, or an infinitive followed by a comma,
    starts a sentence, not a command."""
    story = make_story(stack, tmp_path, run_leernet)
    story.mail("alice", subject, body=body)
    story.once()
    story.nothing("alice")
    assert story.inbox_left() == [(subject, frozenset({HUMAN}))]


# --- a coordinator's week (the coordinator audit of the ninth session) ------

def _proposed(story, who="alice", title="Samen lezen", question="Hoe lezen we samen?"):
    story.mail(who, f"nieuw netwerk {title}", body=question)
    story.once()
    story.new(who)
    return (story.one("femme", subject="^Voorstel"),
            story.one("donna", subject="^Voorstel"))


@pytest.mark.parametrize("body", [
    "goedkeuren trekker: bob@school.test",
    "goedkeuren, trekker wordt bob@school.test.",
    "Goedkeuren met bob@school.test als trekker",
    # the lead named first: approve's detail, not the `trekker` command
    "Trekker: bob@school.test\ngoedkeuren",
])
def test_a_lead_named_on_the_approve_line_leads(stack, tmp_path, run_leernet, body):
    """The network opened with the proposer as lead and the named address
    dropped without a word; there is no way to remove a lead after."""
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, _ = _proposed(story)
    story.reply("femme", mail_femme, body)
    story.once()
    net = story.network_list()["samen-lezen"]
    assert (net["state"], net["leads"]) == ("open", "bob@school.test"), net


def test_a_rejection_reason_comes_without_the_coordinators_signature(stack, tmp_path,
                                                                    run_leernet):
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, _ = _proposed(story)
    story.reply("femme", mail_femme, "afwijzen\nDit past beter bij het netwerk rekenen."
                "\n\nMet vriendelijke groet,\nFemme de Vries\nCoördinator LIDO\n06-12345678")
    story.once()
    said = text(story.one("alice", "Dit past beter bij het netwerk rekenen."))
    assert "06-12345678" not in said and "Coördinator LIDO" not in said, said


def test_a_rejection_reason_on_two_lines_reaches_the_proposer_whole(stack, tmp_path,
                                                                   run_leernet):
    """"afwijzen Dit past beter bij Rekenen." and a second line under it:
    the proposer got the first line only, and the coordinator's answer did
    not say what was sent.  Found by the coordinators' school-year round
    (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, _ = _proposed(story)
    story.reply("femme", mail_femme, "afwijzen Dit past beter bij Rekenen in groep 3.\n"
                "Daar zijn nog plekken vrij, meld je daar aan.\n\n"
                "Met vriendelijke groet,\nFemme de Vries\n06-12345678")
    story.once()
    said = " ".join(text(story.one("alice")).split())
    assert "Dit past beter bij Rekenen in groep 3. Daar zijn nog plekken vrij" in said, said
    assert "06-12345678" not in said
    done = story.one("femme", "De reden die de voorsteller kreeg:",
                     "Daar zijn nog plekken vrij, meld je daar aan.")
    assert "06-12345678" not in text(done)


def test_a_title_ending_a_sentence_is_the_network_of_that_title(stack, tmp_path,
                                                                run_leernet):
    """"nieuw netwerk Rekenen in groep 3." (a full stop) was a second
    network of that name; "nieuw netwerk Rekenen" was told the title
    "Rekenen in groep 3" was taken, when its short name was.  Found by the
    coordinators' school-year round (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet)
    story.mail("alice", "nieuw netwerk Rekenen in groep 3.", body="Hoe rekenen we?")
    story.mail("bob", "nieuw netwerk Rekenen", body="Hoe rekenen we?")
    story.once()
    story.one("alice", 'met de titel "Rekenen in groep 3"', "aanmelden rekenen")
    story.one("bob", 'met de korte naam "rekenen": "Rekenen in groep 3"')
    assert sorted(story.networks()) == ["rekenen"]
    story.nothing("femme")


def test_a_coordinator_decides_from_the_digest(stack, tmp_path, run_leernet):
    """A coordinator who deleted the moderation mail could not decide: the
    digest said "wacht op een besluit", and `afwijzen samen-lezen` without
    a trusted Authentication-Results was "beantwoord de mail over dat
    voorstel".  The digest now gives each coordinator their code.  Found by
    the coordinators' school-year round (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet)
    _proposed(story)
    run_leernet(story.cfg, "digest", "--send")
    stack.wait_queue_empty()
    [digest] = [m for m in story.new("femme") if (m["List-Id"] or "").startswith("<digest.")]
    body = text(digest)
    m = re.search(r'"afwijzen (\w+) REDEN"', body)
    assert m, body
    story.mail("femme", f"afwijzen {m.group(1)} Past beter bij rekenen.")
    story.once()
    said = " ".join(text(story.one("alice")).split())
    assert "Past beter bij rekenen." in said and m.group(1) not in said, said
    story.one("femme", "is afgewezen")
    assert story.networks()["samen-lezen"]["state"] == "rejected"
    # Each coordinator has a code of their own.
    [d] = [x for x in story.new("donna") if (x["List-Id"] or "").startswith("<digest.")]
    assert m.group(1) not in text(d)


def test_a_reply_to_the_digest_decides_nothing_by_the_codes_it_quotes(
        stack, tmp_path, run_leernet):
    """The digest holds a code per waiting proposal; a reply quoting it
    rejected the first proposal whose code was found in the quote, not the
    one named.  Found by the code review (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet)
    _proposed(story, who="alice", title="Anders rekenen")
    _proposed(story, who="bob", title="Samen lezen")
    run_leernet(story.cfg, "digest", "--send")
    stack.wait_queue_empty()
    [digest] = [m for m in story.new("femme") if (m["List-Id"] or "").startswith("<digest.")]
    story.reply("femme", digest, "afwijzen samen-lezen Past niet.")
    story.once()
    nets = story.networks()
    assert nets["anders-rekenen"]["state"] == "proposed"
    assert nets["samen-lezen"]["state"] == "proposed"
    story.nothing("alice", "bob")
    story.one("femme", "beantwoord je de mail over dat voorstel")   # how to decide


def test_a_bare_rejection_tells_the_coordinator_no_reason_went(stack, tmp_path,
                                                               run_leernet):
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, _ = _proposed(story)
    story.reply("femme", mail_femme, "afwijzen")
    story.once()
    story.one("femme", "De voorsteller kreeg geen reden")


def test_a_greeting_is_not_part_of_the_learning_question(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    story.mail("alice", "nieuw netwerk Samen lezen",
               body="Beste LIDO,\n\nHoe lezen kinderen beter samen?\n\n"
                    "Met vriendelijke groet,\nAlice")
    story.once()
    story.new("alice"), story.new("donna")
    mail_femme = story.one("femme", "Hoe lezen kinderen beter samen?", subject="^Voorstel")
    assert "Beste LIDO" not in text(mail_femme)
    story.reply("femme", mail_femme, "goedkeuren")
    story.once()
    call = story.one("carol", "Hoe lezen kinderen beter samen?")
    assert "Beste LIDO" not in text(call)


def test_an_outlook_signature_is_not_part_of_the_learning_question(stack, tmp_path,
                                                                   run_leernet):
    """Outlook's signature has no closing: the name, a function, a school
    and a disclaimer went to the coordinators and the call as part of the
    question.  Found by the coordinators' school-year round (fifteenth
    session)."""
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    story.mail("bob", "nieuw netwerk Rekenspel",
               body="Hoe zetten we spel in bij rekenen?\n\nBob Jansen\n"
                    "IB-er De Klimop\n\nDit bericht is vertrouwelijk en "
                    "uitsluitend bestemd voor de geadresseerde.\n",
               headers={"From": "Bob Jansen <bob@school.test>"})
    story.once()
    story.new("bob"), story.new("donna")
    mod = story.one("femme", "Hoe zetten we spel in bij rekenen?", subject="^Voorstel")
    for gone in ("IB-er De Klimop", "vertrouwelijk", "Bob Jansen\n"):
        assert gone not in text(mod), text(mod)


def test_a_first_name_under_the_question_is_no_part_of_it(stack, tmp_path, run_leernet):
    """"How do we get children to read together?" and, after a blank line,
    "Lucy": her first name stood in the question of the call, the welcome
    and the moderation mail (found by the English round)."""
    story = make_story(stack, tmp_path, run_leernet)
    story.mail("bob", "nieuw netwerk Samen lezen in groep 5",
               body="How do we get children to read together?\n\nLucy\n",
               headers={"From": "Lucy Smith <bob@school.test>"})
    story.once()
    story.new("bob"), story.new("donna")
    mod = story.one("femme", "How do we get children to read together?",
                    subject="^Voorstel")
    assert "Lucy\n" not in text(mod).split("read together?", 1)[1], text(mod)


def test_a_title_proposed_again_after_a_rejection_is_one_proposal(stack, tmp_path,
                                                                 run_leernet):
    """After a rejection the title was proposed twice more as two networks
    (samen-lezen-2 and -3), each with its moderation mails."""
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, _ = _proposed(story)
    story.reply("femme", mail_femme, "afwijzen Nee")
    story.once()
    story.new("femme"), story.new("alice")
    story.mail("alice", "nieuw netwerk Samen lezen", body="Nu beter?")
    story.once()
    story.new("alice"), story.new("femme"), story.new("donna")
    story.mail("bob", "nieuw netwerk Samen lezen", body="Ik wil dit ook")
    story.once()
    story.one("bob", "Samen lezen")
    story.nothing("femme", "donna")
    states = sorted(n["state"] for n in story.networks().values()
                    if n["title"] == "Samen lezen")
    assert states == ["proposed", "rejected"], states


def test_a_waiting_proposal_is_brought_up_in_every_coordinators_digest(stack, tmp_path,
                                                                      run_leernet):
    """A proposal alone made no coordinators' digest: a moderation mail
    each coordinator left to the other was never brought up again."""
    story = make_story(stack, tmp_path, run_leernet)

    def digests(who):
        return [m for m in story.new(who) if m.get("List-Id", "").startswith("<digest.")]

    run_leernet(story.cfg, "digest", "--send")
    stack.wait_queue_empty()
    digests("femme"), digests("donna")
    run_leernet(story.cfg, "digest", "--send")     # nothing new: no digest
    stack.wait_queue_empty()
    assert digests("femme") == []
    _proposed(story)
    for _ in range(2):                              # and again next time
        run_leernet(story.cfg, "digest", "--send")
        stack.wait_queue_empty()
        [d] = digests("femme")
        assert "Samen lezen (samen-lezen): voorstel van alice@school.test, wacht op " \
            "een besluit" in " ".join(text(d).split()), text(d)


# --- erasure -----------------------------------------------------------------

def test_person_forget_erases_a_person_and_keeps_the_rest_working(
        stack, tmp_path, run_leernet):
    """The right to erasure: nothing in leernet could do it, and by hand a
    DELETE failed on foreign keys, or, done in order, left the other list
    copies of a post pointing at a text that was gone: never sent, never
    failed, the daemon spinning.  Found by the privacy review (fifteenth
    session)."""
    story = make_story(stack, tmp_path, run_leernet)
    join_all(story, ("alice", "aanmelden"), ("bob", "aanmelden"), ("carol", "aanmelden"))
    story.mail("alice", "Werkbladen", "Zie de bijlage in de gang.\n", to="lido+rekenen")
    story.once()
    for w in ("bob", "carol", "lead"):
        [copy] = [m for m in story.new(w) if "Werkbladen" in m["Subject"]]
    db = sqlite3.connect(tmp_path / "leernet.db")
    # The copies back in the queue, as when the SMTP server was away; bob
    # co-lead, as `trekker` makes one.
    with db:
        db.execute("UPDATE outbox SET state = 'queued', next_attempt = 0 WHERE kind = 'list'")
        db.execute("UPDATE memberships SET role = 'lead' WHERE person_id ="
                   " (SELECT id FROM people WHERE email = 'bob@school.test')")
    [(owner,)] = db.execute("SELECT rcpt FROM outbox WHERE kind = 'list'"
                            " AND data_id IS NULL").fetchall()
    leads = {"lead@school.test", "bob@school.test"}
    others = {r for (r,) in db.execute(
        "SELECT rcpt FROM outbox WHERE kind = 'list' AND rcpt <> ?", (owner,))}

    dry = run_leernet(story.cfg, "person", "forget", "--dry-run", owner)
    assert f"would forget {owner}: 1 membership," in dry.stdout, dry.stdout
    assert "mail to them" in dry.stdout
    assert db.execute("SELECT count(*) FROM people WHERE email = ?", (owner,)).fetchone() == (1,)

    out = run_leernet(story.cfg, "person", "forget", owner.upper())
    assert f"forgot {owner}: 1 membership," in out.stdout, out.stdout
    assert "and the person record" in out.stdout
    assert "leernet/done" in out.stdout          # what it cannot reach, named
    out = run_leernet(story.cfg, "person", "forget", "alice@school.test")
    assert "1 news item" in out.stdout, out.stdout
    assert db.execute("SELECT count(*) FROM news").fetchone() == (0,)
    for who in (owner, "alice@school.test"):
        assert db.execute("SELECT count(*) FROM people WHERE email = ?", (who,)).fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM outbox WHERE rcpt = ?", (who,)).fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM processed WHERE sender = ?", (who,)).fetchone() == (0,)
    assert run_leernet(story.cfg, "person", "show", owner, check=False).returncode == 65

    # The other copies still go, text and all.
    story.once()
    assert {r: s for r, s in db.execute(
        "SELECT rcpt, state FROM outbox WHERE kind = 'list'")} == {r: "sent" for r in others}
    for w in others:
        [copy] = [m for m in story.new(w.split("@")[0]) if "Werkbladen" in m["Subject"]]
        assert "Zie de bijlage in de gang." in text(copy)
    # What would leave a network without a lead, or the configuration
    # naming someone gone, is refused.
    if owner in leads:
        [last] = leads - {owner}
    else:
        run_leernet(story.cfg, "person", "forget", "bob@school.test")
        last = "lead@school.test"
    out = run_leernet(story.cfg, "person", "forget", last, check=False)
    assert out.returncode == 65
    assert "the only lead of rekenen" in out.stderr and "trekker rekenen" in out.stderr
    out = run_leernet(story.cfg, "person", "forget", "femme@school.test", check=False)
    assert out.returncode == 65 and "is a coordinator" in out.stderr, out.stderr
    out = run_leernet(story.cfg, "person", "forget", check=False)
    assert out.returncode == 64


def test_a_proposal_whose_proposer_was_forgotten(stack, tmp_path, run_leernet):
    """`person forget` of someone whose proposal waits said nothing of it;
    "goedkeuren" was then refused with '"" kan geen trekker worden', and a
    rejection said "De voorsteller is ingelicht" with nobody told.  Found
    by the upgrade round (fifteenth session)."""
    story = make_story(stack, tmp_path, run_leernet)
    mail_femme, mail_donna = _proposed(story, who="alice", title="Samen lezen")
    out = run_leernet(story.cfg, "person", "forget", "alice@school.test")
    assert 'their proposal "Samen lezen" (samen-lezen) still waits' in out.stdout, out.stdout
    story.reply("femme", mail_femme, "goedkeuren")
    story.once()
    said = story.one("femme", "niet meer bij leernet bekend", "noem een trekker")
    assert '""' not in text(said)
    story.reply("donna", mail_donna, "afwijzen Past niet.\nGroet, Donna")
    story.once()
    done = text(story.one("donna", '"Samen lezen" is afgewezen.'))
    assert "ingelicht" not in done and "Groet, Donna" not in done, done


def test_person_forget_leaves_no_code_or_text_naming_them(stack, tmp_path, run_leernet):
    """After `person forget bob`, a lead's pending `trekker rekenen bob@…`
    code stayed: answered "ja", it made bob an active lead again; and the
    texts of mail sent to others naming him (a list copy's Reply-To)
    stayed in the database.  Found by the code review (fifteenth
    session)."""
    story = make_story(stack, tmp_path, run_leernet)
    join_all(story, ("bob", "aanmelden"), ("carol", "aanmelden"))
    story.mail("bob", "Werkbladen", "Zie de gang.\n", to="lido+rekenen")
    story.mail("lead", "trekker rekenen bob@school.test")
    story.once()
    [confirm] = [m for m in story.new("lead")
                 if m["Subject"].startswith("Bevestig: bob@school.test trekker")]
    story.new("carol")
    out = run_leernet(story.cfg, "person", "forget", "bob@school.test")
    assert "2 codes" in out.stdout and "the text of 2 sent to others" in out.stdout, out.stdout
    db = sqlite3.connect(tmp_path / "leernet.db")
    for table, col in (("tokens", "arg"), ("outbox_data", "CAST(data AS TEXT)"),
                       ("processed", "sender"), ("networks", "decided_by"),
                       ("outbox", "rcpt"), ("people", "email")):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE"
                          f" instr(lower({col}), 'bob@school.test') > 0").fetchone() == (0,), table
    # The lead's yes to the code finds no code: bob is not made again.
    story.reply("lead", confirm, "ja")
    story.once()
    story.one("lead", "geen geldige bevestigingscode")
    assert db.execute("SELECT count(*) FROM people WHERE email = 'bob@school.test'"
                      ).fetchone() == (0,)
