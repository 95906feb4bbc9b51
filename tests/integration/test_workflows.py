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

    def reply(self, who, msg, body, subject=None, quote=True) -> str:
        """What "Reply" in a mail client sends."""
        quoted = "\n".join("> " + line for line in text(msg).splitlines())
        refs = (msg.get("References", "") + " " + msg["Message-ID"]).strip()
        return self.mail(who, subject or "Re: " + msg["Subject"],
                         body + ("\n\n" + quoted if quote else "") + "\n",
                         headers={"In-Reply-To": msg["Message-ID"],
                                  "References": refs})

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
        out = self.run(self.cfg, "member", "list", slug, "--csv").stdout
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[0][:4] == ["email", "name", "role", "state"]
        return {r[0]: (r[2], r[3]) for r in rows[1:]}

    def networks(self) -> dict:
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


def join(story, who, slug="rekenen", keyword="aanmelden"):
    """Join and confirm by replying; leaves the mailboxes read."""
    story.mail(who, f"{keyword} {slug}")
    story.once()
    confirm = story.one(who)
    story.reply(who, confirm, "ok")
    story.once()
    story.one(who, subject="Welkom|Welcome")
    assert story.members(slug)[address(who)] == ("member", "active")


# --- help and networks -------------------------------------------------------

def test_help_and_hulp_answer_in_the_language_of_the_keyword(story):
    story.mail("alice", "hulp")
    story.mail("bob", "help", body="Hi, how does this work?")
    story.mail("femme", "Help")
    story.once()

    nl = story.one("alice", "aanmelden NETWERK", "nieuw netwerk TITEL",
                   "sluit NETWERK", FOOTER_NL, subject="^Hulp: ")
    assert "Voor coördinatoren" not in text(nl)
    story.one("bob", "join NETWORK", "start TITLE", "close NETWORK", FOOTER_EN,
              subject="^Help: ")
    coord = story.one("femme", "For coordinators", '"approve"')
    assert coord["To"] == "femme@school.test"
    assert story.inbox_left() == []


def test_networks_lists_the_open_networks_with_leads_and_members(story):
    join(story, "carol")
    story.run(story.cfg, "network", "add", "oud", "--title", "Oud netwerk")
    story.run(story.cfg, "network", "close", "oud")
    story.mail("alice", "netwerken")
    story.mail("bob", "networks")
    story.once()

    nl = story.one("alice", "Rekenen in groep 3 (rekenen)",
                   "trekker(s): lead@school.test", "deelnemers: 1",
                   "Hoe automatiseren we in groep 3?")
    assert "Oud netwerk" not in text(nl)
    story.one("bob", "The open learning networks", "lead(s): lead@school.test",
              "members: 1")


def test_networks_when_none_is_open(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet)
    story.run(story.cfg, "network", "close", "rekenen")
    story.mail("alice", "netwerken")
    story.mail("bob", "networks")
    story.once()
    story.one("alice", "geen open leernetwerken", "nieuw netwerk TITEL")
    story.one("bob", "no open learning networks", "start TITLE")


# --- join, confirm, leave ----------------------------------------------------

def test_join_confirmed_by_bevestig_token_in_a_new_mail(story):
    story.mail("alice", "aanmelden rekenen")
    story.once()
    confirm = story.one("alice", "aan te melden voor het leernetwerk",
                        subject=r"^Bevestig: aanmelden voor Rekenen in groep 3")
    token = story.token(confirm)
    assert story.members()["alice@school.test"] == ("member", "pending")

    story.mail("alice", f"bevestig {token}")        # a new mail, no thread
    story.once()
    story.one("alice", "Je bent nu deelnemer", subject="^Welkom bij Rekenen")
    assert story.members()["alice@school.test"] == ("member", "active")


def test_join_in_english_confirmed_by_confirm_token(story):
    story.mail("bob", "join rekenen")
    story.once()
    confirm = story.one("bob", "join the learning network", "confirm ",
                        subject=r"^Confirm: join Rekenen in groep 3")
    token = story.token(confirm)

    story.mail("bob", "Confirm", body=f"confirm {token}\n")   # keyword in the body
    story.once()
    story.one("bob", "You are now a member", "leave rekenen",
              subject="^Welcome to Rekenen")
    assert story.members()["bob@school.test"] == ("member", "active")


def test_leave_needs_confirmation_in_both_languages(story):
    join(story, "alice")
    join(story, "bob", keyword="join")

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
    m = story.members()
    assert m["alice@school.test"] == ("member", "left")
    assert m["bob@school.test"] == ("member", "left")

    # Coming back works, through a new confirmation.
    join(story, "alice")


def test_leave_when_not_a_member(story):
    story.mail("alice", "afmelden rekenen")
    story.mail("bob", "leave rekenen")
    story.once()
    story.one("alice", 'Je bent geen deelnemer van "Rekenen in groep 3"',
              "aanmelden rekenen")
    story.one("bob", 'You are not a member of "Rekenen in groep 3"', "join rekenen")
    assert "alice@school.test" not in story.members()


# --- follow, unfollow, digest, direct ----------------------------------------

def test_follow_and_unfollow_in_both_languages(story):
    story.mail("alice", "volg rekenen")
    story.mail("bob", "follow rekenen")
    story.once()
    story.one("alice", 'Je volgt nu "Rekenen in groep 3"', "ontvolg rekenen")
    story.one("bob", 'You now follow "Rekenen in groep 3"', "unfollow rekenen")
    m = story.members()
    assert m["alice@school.test"] == ("follower", "active")
    assert m["bob@school.test"] == ("follower", "active")

    story.mail("alice", "ontvolg rekenen")
    story.mail("bob", "unfollow rekenen")
    story.mail("carol", "ontvolg rekenen")
    story.once()
    story.one("alice", 'Je volgt "Rekenen in groep 3" niet meer')
    story.one("bob", 'You no longer follow "Rekenen in groep 3"')
    story.one("carol", 'Je volgde "Rekenen in groep 3" niet; er is niets veranderd')
    m = story.members()
    assert m["alice@school.test"] == ("follower", "left")
    assert "carol@school.test" not in m


def test_a_member_who_follows_stays_a_member(story):
    join(story, "alice")
    story.mail("alice", "volg rekenen")
    story.once()
    story.one("alice", "ontvangt het nieuws dus al")
    assert story.members()["alice@school.test"] == ("member", "active")


def test_digest_and_direct_switch_the_delivery(story):
    join(story, "alice")
    join(story, "bob", keyword="join")
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
    story.mail("carol", "samenvatting rekenen")
    story.once()
    story.one("alice", "voortaan direct")
    story.one("bob", "directly")
    story.one("carol", "Je bent geen deelnemer", "aanmelden rekenen")
    assert db.execute(delivery, ("alice@school.test",)).fetchone() == ("direct",)
    assert db.execute(delivery, ("bob@school.test",)).fetchone() == ("direct",)


# --- post, status ------------------------------------------------------------

def test_post_by_members_becomes_news(story):
    join(story, "alice")
    join(story, "bob", keyword="join")
    story.mail("alice", "bericht rekenen", body="Volgende week: rekenspelletjes!")
    story.mail("bob", "post rekenen", body="Slides are on the intranet.")
    story.mail("carol", "bericht rekenen", body="Mag ik ook iets zeggen?")
    story.mail("lead", "bericht rekenen", body="")
    story.once()
    story.one("alice", 'Je bericht staat bij het nieuws van "Rekenen in groep 3"')
    story.one("bob", 'Your item is in the news of "Rekenen in groep 3"')
    story.one("carol", "Je bent geen deelnemer", '"bericht" kan niet')
    story.one("lead", "was leeg", "bericht rekenen")
    news = story.db().execute("SELECT body FROM news ORDER BY id").fetchall()
    assert news == [("Volgende week: rekenspelletjes!",),
                    ("Slides are on the intranet.",)]


def test_status_for_members_only(story):
    join(story, "alice")
    story.mail("alice", "status rekenen", body="Hoe staat het ervoor?")
    story.mail("lead", "status rekenen", body="How is it going?")
    story.mail("bob", "status rekenen", body="Hello, please tell me.")
    story.once()
    nl = story.one("alice", "Deelnemers:", "lead@school.test, trekker",
                   "alice@school.test", subject="^Status: Rekenen in groep 3")
    assert "bob@school.test" not in text(nl)
    story.one("lead", "Members:", "lead@school.test", "alice@school.test")
    story.one("bob", "You are not a member")


# --- proposal, moderation, call ----------------------------------------------

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
    story.once()
    story.one("alice", "al bij de coördinatoren")
    story.nothing("femme", "donna")
    assert list(story.networks()) == ["rekenen", "samen-lezen"]

    # While proposed, nobody can join it.
    story.mail("bob", "aanmelden samen-lezen")
    story.once()
    story.one("bob", "wacht\nnog op goedkeuring")
    assert "bob@school.test" not in story.members("samen-lezen")

    story.reply("femme", mods["femme"], "goedkeuren\ntrekker: lead@school.test")
    story.once()
    story.one("femme", '"Samen lezen" is goedgekeurd', "lead@school.test")
    story.one("alice", "is goedgekeurd en staat nu open", "lead@school.test",
              "aanmelden samen-lezen", subject="^Goedgekeurd: Samen lezen")
    story.one("lead", 'Je bent nu trekker van het leernetwerk "Samen lezen"')
    call = story.one("carol", "Samen lezen", question, "aanmelden",
                     subject="^Nieuw leernetwerk: Samen lezen")
    assert call["Auto-Submitted"] == "auto-generated"
    assert call["List-Id"] and "samen-lezen" in call["List-Id"]
    assert call["List-Unsubscribe"].startswith("<mailto:")
    assert story.networks()["samen-lezen"]["state"] == "open"
    assert story.members("samen-lezen") == {"lead@school.test": ("lead", "active")}

    # The second coordinator is told the first already decided.
    story.reply("donna", mods["donna"], "afwijzen Te weinig belangstelling")
    story.once()
    story.one("donna", "al beslist door femme@school.test", "goedgekeurd",
              "niets veranderd")
    story.nothing("alice", "femme")
    assert story.networks()["samen-lezen"]["state"] == "open"

    # Carol answers the call with a single word.
    story.reply("carol", call, "aanmelden")
    story.once()
    confirm = story.one("carol", "Samen lezen", subject="^Bevestig: aanmelden voor Samen lezen")
    story.reply("carol", confirm, "")
    story.once()
    story.one("carol", subject="^Welkom bij Samen lezen")
    assert story.members("samen-lezen")["carol@school.test"] == ("member", "active")

    # The moderation token worked once: femme cannot decide again.
    story.reply("femme", mods["femme"], "afwijzen toch niet")
    story.once()
    story.one("femme", "al beslist")
    assert story.networks()["samen-lezen"]["state"] == "open"


def test_proposal_in_english_rejected_with_a_reason(story):
    story.mail("bob", "start Coding club", body="How do we teach coding to toddlers?")
    story.once()
    story.one("bob", "Thank you for proposing", subject="^Proposal received: Coding club")
    mod = story.one("femme", subject="Coding club")
    story.one("donna", subject="Coding club")

    story.reply("femme", mod, "afwijzen Dit past beter bij het netwerk rekenen.")
    story.once()
    story.one("femme", '"Coding club" is afgewezen')
    story.one("bob", "was not approved", "The reason: Dit past beter bij het netwerk rekenen.",
              subject="^Not approved: Coding club")
    assert story.networks()["coding-club"]["state"] == "rejected"

    story.mail("alice", "aanmelden coding-club")
    story.once()
    story.one("alice", "niet goedgekeurd")


def test_start_without_title_or_question(story):
    story.mail("alice", "nieuw netwerk", body="Hoe doen we dat?")
    story.mail("bob", "start Something", body="")
    story.once()
    story.one("alice", "heb ik een titel nodig", "Onderwerp: nieuw netwerk")
    story.one("bob", "I need the learning question", "Subject: start")
    story.nothing("femme", "donna")
    assert list(story.networks()) == ["rekenen"]


def test_slug_from_a_title_with_diacritics(story):
    story.mail("alice", "nieuw netwerk Taal & Lezen: één aanpak",
               body="Hoe pakken we taal en lezen samen aan?")
    story.once()
    got = story.one("alice", "Taal & Lezen: één aanpak")
    slug = re.search(r"\(([^)]+)\)", text(got)).group(1)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
    assert slug == "taal-lezen-een-aanpak"
    assert story.networks()[slug]["title"] == "Taal & Lezen: één aanpak"
    story.one("femme", "Taal & Lezen: één aanpak")


def test_near_miss_gets_did_you_mean(story):
    story.run(story.cfg, "network", "add", "rekenen-groep-3", "--title", "Rekenen groep 3")
    story.mail("alice", "aanmelden rekenen-groep3")
    story.mail("bob", "join rekenen-groep3")
    story.once()
    story.one("alice", 'Er is geen netwerk met de naam "rekenen-groep3"',
              'Bedoelde je "rekenen-groep-3"')
    story.one("bob", 'There is no network called "rekenen-groep3"',
              'Did you mean "rekenen-groep-3"')
    assert "alice@school.test" not in story.members("rekenen-groep-3")


def test_a_network_may_be_named_by_its_title_in_any_case(story):
    story.mail("alice", "aanmelden rekenen in GROEP 3")
    story.mail("bob", "join Rekenen")          # the slug, capitalised
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden voor Rekenen in groep 3")
    story.one("bob", subject="^Confirm: join Rekenen in groep 3")


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

    # And in English, bob (now a lead) names an outsider: refused.
    story.mail("bob", "lead rekenen someone@other.test")
    story.once()
    story.one("bob", "cannot become a lead", "Nothing has changed")
    story.mail("bob", "lead rekenen")
    story.once()
    story.one("bob", "needs the network and the address", "lead rekenen name@")


def test_lead_commands_from_a_non_lead_are_refused(story):
    join(story, "alice")
    story.mail("alice", "trekker rekenen alice@school.test")
    story.mail("alice", "sluit rekenen")
    story.mail("bob", "close rekenen")
    story.once()
    got = story.new("alice")
    assert len(got) == 2
    for m in got:
        assert "kan alleen een trekker van" in text(m)
        assert "niets veranderd" in text(m)
    story.one("bob", 'Only a lead of "Rekenen in groep 3"', '"close"')
    story.nothing("lead")
    assert story.members()["alice@school.test"] == ("member", "active")
    assert story.networks()["rekenen"]["state"] == "open"


def test_close_needs_confirmation_then_the_network_is_closed(story):
    join(story, "alice")
    story.mail("lead", "sluit rekenen")
    story.once()
    confirm = story.one("lead", "af te sluiten", subject="^Bevestig: Rekenen in groep 3 sluiten")
    assert story.networks()["rekenen"]["state"] == "open"

    story.mail("lead", f"bevestig {story.token(confirm)}")
    story.once()
    story.one("lead", "is afgesloten", subject="^Afgesloten: Rekenen in groep 3")
    assert story.networks()["rekenen"]["state"] == "closed"

    # Commands for a closed network, in both languages.
    story.mail("bob", "aanmelden rekenen")
    story.mail("carol", "follow rekenen")
    story.once()
    story.one("bob", 'Het netwerk "rekenen" is niet open', "afgesloten")
    story.one("carol", 'The network "rekenen" is not open', "closed")
    assert "bob@school.test" not in story.members()


def test_forged_lead_command_only_asks_the_real_lead(story):
    # alice writes as the lead; no proof of sender.
    story.mail("lead", "sluit rekenen", envelope_from="alice@school.test")
    story.once()
    confirm = story.one("lead", "Heb je hier niet om gevraagd? Dan hoef je niets te doen",
                        subject="sluiten")
    assert confirm["To"] == "lead@school.test"
    story.nothing("alice")
    assert story.networks()["rekenen"]["state"] == "open"
    # The same forged From on a join asks the real person too.
    story.mail("bob", "aanmelden rekenen", envelope_from="alice@school.test")
    story.once()
    story.one("bob", subject="^Bevestig: aanmelden")
    assert story.members()["bob@school.test"] == ("member", "pending")


AR_FAIL = "mx.school.test; dmarc=fail (p=reject) header.from=school.test"
AR_PASS = "mx.school.test; spf=pass smtp.mailfrom=school.test; dkim=pass header.d=school.test; dmarc=pass header.from=school.test"


def _raw(frm, subject, ars, body="\n"):
    lines = [f"Authentication-Results: {a}" for a in ars]
    lines += [f"From: {address(frm)}", f"To: {address('lido')}", f"Subject: {subject}",
              f"Message-ID: <{time.monotonic_ns()}.{frm}@school.test>",
              "Date: " + email.utils.formatdate(localtime=True),
              "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body]
    return "\r\n".join(lines).encode()


def test_authentication_results_only_the_topmost_trusted_header_counts(
        stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_trusted_authserv_id="mx.school.test")
    # Topmost says fail; a forged pass below it changes nothing.
    stack.send("alice", "lido", raw=_raw("alice", "aanmelden rekenen", [AR_FAIL, AR_PASS]))
    # A pass from another server is not ours to trust.
    stack.send("carol", "lido", raw=_raw("carol", "aanmelden rekenen",
                                         [AR_PASS.replace("mx.school.test", "mx.evil.test")]))
    # Topmost pass from our own server: the join happens at once.
    stack.send("bob", "lido", raw=_raw("bob", "join rekenen", [AR_PASS, AR_FAIL]))
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden")
    story.one("carol", subject="^Bevestig: aanmelden")
    story.one("bob", "You are now a member", subject="^Welcome to Rekenen")
    m = story.members()
    assert m["alice@school.test"] == ("member", "pending")
    assert m["carol@school.test"] == ("member", "pending")
    assert m["bob@school.test"] == ("member", "active")

    # A pass for another domain than the sender's is no proof either.
    stack.send("lead", "lido", raw=_raw("lead", "sluit rekenen",
               [AR_PASS.replace("header.from=school.test", "header.from=evil.test")
                .replace("header.d=school.test", "header.d=evil.test")]))
    story.once()
    story.one("lead", subject="sluiten")
    assert story.networks()["rekenen"]["state"] == "open"
    # With a trusted pass a lead closes at once.
    stack.send("lead", "lido", raw=_raw("lead", "sluit rekenen", [AR_PASS]))
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

    # carol uses alice's token: not hers.
    story.mail("carol", f"bevestig {t_alice}")
    story.once()
    story.one("carol", "geen geldige bevestigingscode voor jou")
    assert story.members()["alice@school.test"] == ("member", "pending")
    assert "carol@school.test" not in story.members()

    # alice's token expires (7 days; here by hand).
    db = story.db()
    db.execute("UPDATE tokens SET expires = ? WHERE token = ?",
               (int(time.time()) - 60, t_alice))
    db.commit()
    story.mail("alice", f"bevestig {t_alice}")
    story.once()
    story.one("alice", "verlopen", "Stuur je verzoek opnieuw")
    assert story.members()["alice@school.test"] == ("member", "pending")

    # bob confirms, then confirms again: the second time is "used".
    story.reply("bob", c_bob, "")
    story.once()
    story.one("bob", subject="^Welcome")
    story.mail("bob", f"confirm {t_bob}")
    story.once()
    story.one("bob", "has been used already")
    story.mail("bob", "confirm zzzzzzzzzzzz")
    story.once()
    story.one("bob", "I found no valid confirmation code")
    assert story.members()["bob@school.test"] == ("member", "active")


# --- limits and hostile input ------------------------------------------------

def test_rate_limit_keeps_the_fourth_request_for_people(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_max_requests_per_hour="3")
    for i in range(4):
        story.mail("alice", "hulp", body=f"poging {i}")
    story.once()
    got = story.new("alice")
    assert len(got) == 3
    assert story.inbox_left() == [("hulp", frozenset({HUMAN}))]
    assert [text(m) for m in stack.inbox("lido")][0].startswith("poging 3")
    # Others are not limited by alice's requests.
    story.mail("bob", "help")
    story.once()
    story.one("bob", "join NETWORK")


HOSTILE_SUBJECTS = [
    "=?utf-8?b?" + base64.b64encode(
        b"aanmelden nietbestaand\r\nBcc: bob@school.test").decode() + "?=",
    'aanmelden "nietbestaand"; DROP TABLE people; --',
    "aanmelden " + "x" * 1500,
    "aanmelden ni\xc3\xabtbestaand \xe9\xe8",      # raw bytes, not declared
]


def test_hostile_names_and_subjects_never_break_headers(story):
    names = [
        "=?utf-8?q?Evil=0D=0ABcc:_bob@school.test?=",
        '"O\'Brien; \\"de baas\\"" ',
        "=?utf-8?b?" + base64.b64encode(("Ä" * 400).encode()).decode() + "?=",
        "\xe9l\xe8ve ",
    ]
    for i, (name, subj) in enumerate(zip(names, HOSTILE_SUBJECTS)):
        # Bytes as they come: latin-1 text undeclared, CR/LF encoded.
        data = (b"From: " + name.encode("latin-1") + b"<alice@school.test>\r\n"
                b"To: lido@school.test\r\n"
                b"Subject: " + subj.encode("latin-1") + b"\r\n"
                b"Message-ID: <hostile" + str(i).encode() + b"." +
                str(time.monotonic_ns()).encode() + b"@school.test>\r\n"
                b"Date: " + email.utils.formatdate(localtime=True).encode() + b"\r\n"
                b"\r\n"
                b"tekst met \xe9\xe8 latin-1\r\n")
        story.stack.send("alice", "lido", raw=data)
    story.once()
    got = story.new("alice")          # every header checked in new()
    assert len(got) == len(names)
    for m in got:
        assert m["To"].addresses[0].addr_spec == "alice@school.test"
        assert "geen netwerk met de naam" in text(m)
        assert m["Subject"].startswith("Re: aanmelden")
    story.nothing("bob")
    assert story.members() == {"lead@school.test": ("lead", "active")}


def test_hostile_title_in_a_proposal_reaches_coordinators_safely(story):
    subj = "=?utf-8?b?" + base64.b64encode(
        "nieuw netwerk Lezen\r\nBcc: bob@school.test; \"x\" ≠ y".encode()).decode() + "?="
    story.mail("alice", subj, body="Een vraag\r\nBcc: bob@school.test")
    story.once()
    story.one("alice", subject="^Voorstel ontvangen: Lezen")
    story.one("femme", subject="^Voorstel nieuw leernetwerk: Lezen")
    story.one("donna")
    story.nothing("bob")


# --- every error answer, in both languages -----------------------------------

def test_unknown_command_is_mail_for_people(story):
    story.mail("alice", "aanmeldne rekenen")
    story.mail("bob", "Question", body="Could you tell me more about rekenen?")
    story.once()
    story.nothing("alice", "bob")
    left = story.inbox_left()
    assert left == [("aanmeldne rekenen", frozenset({HUMAN})),
                    ("Question", frozenset({HUMAN}))]


ENGLISH_WORDS = {"join", "follow", "approve", "reject", "close", "confirm"}


@pytest.mark.parametrize("who, subject, phrases", [
    ("alice", "aanmelden nergens", ['Er is geen netwerk met de naam "nergens"',
                                    "rekenen: Rekenen in groep 3"]),
    ("bob", "join nowhere", ['There is no network called "nowhere"',
                             "rekenen: Rekenen in groep 3", "join rekenen"]),
    ("alice", "volg", ['Bij "volg" hoort de naam van een netwerk', "volg rekenen"]),
    ("bob", "follow", ['"follow" needs the name of a network', "follow rekenen"]),
    ("alice", "goedkeuren rekenen", ["Alleen coördinatoren"]),
    ("bob", "approve rekenen", ["Only coordinators"]),
    ("alice", "afwijzen rekenen", ["Alleen coördinatoren"]),
    ("bob", "reject rekenen", ["Only coordinators"]),
    ("femme", "goedkeuren rekenen", ["beantwoord je de mail over dat\nvoorstel"]),
    ("donna", "approve rekenen", ["reply to the mail about that proposal"]),
    ("alice", "sluit rekenen", ['"sluit" kan alleen een trekker']),
    ("bob", "close rekenen", ['Only a lead of "Rekenen in groep 3"']),
    ("alice", "status nergens", ['geen netwerk met de naam "nergens"']),
    ("alice", "bevestig", ["geen geldige bevestigingscode"]),
    ("bob", "confirm", ["no valid confirmation code"]),
])
def test_error_answers(story, who, subject, phrases):
    story.mail(who, subject)
    story.once()
    msg = story.one(who, *phrases)
    assert msg["Subject"] == "Re: " + subject
    english = subject.split()[0] in ENGLISH_WORDS
    assert (FOOTER_EN if english else FOOTER_NL) in text(msg)
    assert story.members() == {"lead@school.test": ("lead", "active")}
    assert story.networks()["rekenen"]["state"] == "open"
    assert story.inbox_left() == []


def test_joining_twice(story):
    join(story, "alice")
    join(story, "bob", keyword="join")
    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "join rekenen")
    story.mail("lead", "join rekenen")
    story.once()
    story.one("alice", 'Je bent al deelnemer van "Rekenen in groep 3"')
    story.one("bob", 'You are already a member of "Rekenen in groep 3"')
    story.one("lead", 'You are already a lead of')
    assert story.members()["lead@school.test"] == ("lead", "active")


# --- staff_only --------------------------------------------------------------

def test_staff_only_lets_staff_act_and_refuses_others(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet, organization_staff_only="yes")
    staff = tmp_path / "staff.csv"
    staff.write_bytes("\ufeffemail;name;school;function\r\n"
                      "alice@school.test;Alice Jansen;De Regenboog;leerkracht\r\n"
                      "lead@school.test;\"Lea; de trekker\";De Regenboog;ib'er\r\n"
                      .encode())
    out = run_leernet(story.cfg, "staff", "import", str(staff))
    assert out.returncode == 0

    story.mail("alice", "aanmelden rekenen")
    story.mail("bob", "aanmelden rekenen")
    story.mail("carol", "networks")
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden")
    story.one("bob", "staat niet in de personeelslijst", "bob@school.test")
    story.one("carol", "is not in Stichting Test's staff directory")
    m = story.members()
    assert m["alice@school.test"] == ("member", "pending")
    assert "bob@school.test" not in m
    # One refusal a day, as for outsiders.
    story.mail("bob", "aanmelden rekenen")
    story.once()
    story.nothing("bob")
    # A coordinator is not in the list but may act.
    story.mail("femme", "netwerken")
    story.once()
    story.one("femme", "Rekenen in groep 3")
