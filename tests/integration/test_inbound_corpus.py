"""Every real-world message of the decoder's corpus (tests/fixtures/mail,
tests/fixtures/imip; MANIFEST.tsv says what each is) through the real stack
and `leernet once`, each with the outcome it must have:

    answer(T)   answered with template T (a refusal for outside senders)
    answer_kept(T)  answered with T and also left for people (HUMAN)
    silent(W)   moved to leernet/done without an answer; W is why: machine,
                bounce, rsvp, again (a second message with a Message-ID
                already handled)
    HUMAN       left in the inbox, unread, with the keyword leernet-human
                (also a question from outside the allowed domains once its
                sender had their one refusal of the day: people may want to
                read it, leernet does not answer it again)

and the decoder must never make the daemon fail: `once` exits 0 and, with
the ASan build as LEERNET_BIN, reports nothing.  (Unreadable mail, the
leernet/failed folder, needs mail Postfix would repair: see
test_inbound.py::test_unreadable_mail_goes_to_failed.)

The files are sent in name order, one at a time, each waiting for the one
before to be delivered, so that UID order is name order: leernet handles
the oldest first, and several outcomes depend on the order (the one refusal
per sender per day; which of two messages with one Message-ID is "again").
"""

import email
import email.policy
import email.utils
import re
import smtplib

from inbound_util import Mailbox, prepare, sanitizer_clean
from mailstack import REPO

FIXTURES = REPO / "tests" / "fixtures"
HUMAN = ("human", None)


def answer(template):
    return ("answered", template)


def silent(why):
    return ("silent", why)


KEPT_AGAIN = ("kept", "again")   # a second copy of mail kept for people


def answer_kept(template):
    """Answered, and also left for people: a question from outside the
    allowed domains gets its refusal, and stays readable for coordinators."""
    return ("answered+kept", template)


EXPECTED = {
    # --- mail/
    "android_samsung_nl.eml": HUMAN,           # reply to an invitation we do not know
    "apple_calendar_reply_nested.eml": HUMAN,      # a calendar answer for a meeting leernet does not know
    "apple_mail_nl.eml": HUMAN,
    "attached_eml_file.eml": answer_kept("refusal"),  # discourse@bar.com: outside
    "attached_txt_file.eml": KEPT_AGAIN,    # same Message-ID as the one above
    "auto_generated_header.eml": silent("machine"),
    "auto_generated_precedence.eml": silent("machine"),
    "auto_generated_subject.eml": silent("again"),
    "auto_reply.eml": silent("machine"),
    "base64_encoded_body.eml": answer_kept("refusal"),
    "big5.eml": answer_kept("refusal"),
    "bounced_email.eml": silent("bounce"),
    "bounced_email_2.eml": silent("bounce"),
    "bounced_email_multiple_status_codes.eml": silent("bounce"),
    "chinese_reply.eml": HUMAN,
    "dsn_exchange_551.eml": silent("bounce"),
    "dsn_gmail_551.eml": silent("bounce"),
    "dsn_gmail_delayed_447.eml": silent("bounce"),
    "dsn_postfix_551.eml": silent("bounce"),
    "dsn_postfix_delayed_441.eml": silent("bounce"),
    "dutch.eml": KEPT_AGAIN,                # big5.eml's Message-ID
    "empty.eml": silent("again"),                # auto_reply.eml's Message-ID
    "encoded_display_name.eml": answer_kept("refusal"),
    "encoded_filename.eml": answer_kept("refusal"),
    "encoding_undefined_conversion.eml": HUMAN,
    "exchange_html_body.eml": HUMAN,
    "exchange_html_body_and_reply.eml": KEPT_AGAIN,
    "exchange_html_reply.eml": KEPT_AGAIN,
    "forwarded_email_1.eml": answer_kept("refusal"),
    "forwarded_email_3.eml": HUMAN,
    "gmail_html_reply.eml": KEPT_AGAIN,
    "gmail_nl_alternative.eml": answer_kept("refusal"),
    "gmail_web.eml": HUMAN,
    "google_calendar_reply.eml": HUMAN,      # a calendar answer for a meeting leernet does not know
    "hard_bounce_via_verp.eml": silent("bounce"),
    "hard_bounce_via_verp_2.eml": silent("bounce"),
    "hebrew_reply.eml": HUMAN,
    "html_reply.eml": HUMAN,
    "inline_reply.eml": HUMAN,
    "ios_default.eml": HUMAN,
    "iphone_nl.eml": HUMAN,
    "iphone_signature.eml": HUMAN,
    "long_embedded_email_headers.eml": answer_kept("refusal"),
    "mailinglist.eml": silent("machine"),
    "mailman_1.eml": silent("machine"),
    "mailman_2.eml": silent("machine"),
    "mailman_3.eml": silent("machine"),
    "mailman_4.eml": silent("machine"),
    "mbox_encoded_groups.eml": answer("help"),   # "hulp" from a colleague
    "no_body.eml": answer_kept("refusal"),
    "no_message_id.eml": HUMAN,                  # a scanner; Postfix adds the id
    "no_subject.eml": answer_kept("refusal"),
    "on_date_contact_wrote.eml": HUMAN,
    "ooo_afwezig_nl.eml": silent("bounce"),      # null sender (and auto-replied)
    "original_message.eml": HUMAN,
    "outlook_android_nl.eml": answer("not-member"),   # "Afmelden rekenen"
    "outlook_calendar_reply_nl.eml": HUMAN,      # a calendar answer for a meeting leernet does not know
    "outlook_html_meeting_cmd_nl.eml": answer("not-lead"),
    "outlook_html_nl_cp1252.eml": HUMAN,
    "outlook_plain_oorspronkelijk_nl.eml": answer("not-member"),  # "RE: Status rekenen"
    "outlook_web_appendonsend_nl.eml": answer("refusal"),
    "paragraphs.eml": silent("again"),
    "quirks_exchange_xars.eml": HUMAN,
    "raw8bit_headers.eml": answer_kept("refusal"),
    "reply_with_8bit_encoding.eml": HUMAN,
    "reply_with_weird_encoding.eml": HUMAN,
    "text_and_html_reply.eml": HUMAN,
    "text_reply.eml": HUMAN,
    "thunderbird_bottom_nl.eml": HUMAN,
    "thunderbird_iso88591_qp.eml": HUMAN,        # "Aanmelding ..." is no keyword
    "verp_bounce_different_final_recipient.eml": silent("bounce"),
    # --- imip/: bare calendars become mail from the envelope sender
    # (Postfix adds From), corpus@other.test: outside.
    "google-reply-invalid_rsvp.ics": answer_kept("refusal"),
    "google-reply-invite_w_rsvps2.ics": HUMAN,
    "google-reply-invite_w_rsvps3.ics": HUMAN,
    "google-reply-invite_w_rsvps_4.ics": HUMAN,
    "libical-2446.ics": HUMAN,
    "request_application_ics.txt": answer_kept("refusal"),
    "request_google.txt": KEPT_AGAIN,       # all four share one Message-ID
    "request_outlook_com.txt": KEPT_AGAIN,
    "request_proton_bridge.txt": KEPT_AGAIN,
    "tb-cancel-single-event.eml": answer_kept("refusal"),
    "tb-meet-meeting-invite.eml": answer_kept("refusal"),
    "tb-outlook-test-invite.eml": answer_kept("refusal"),
    "tb-single-event.eml": HUMAN,
    "tb-teams-meeting-invite.eml": answer_kept("refusal"),
    "tb-update-major.eml": HUMAN,
    "tb-update-minor.eml": HUMAN,
}

FALLBACK_SENDER = "corpus@other.test"


def corpus_files():
    files = sorted((FIXTURES / "mail").glob("*.eml")) + \
        sorted(p for p in (FIXTURES / "imip").iterdir() if p.is_file())
    return files


def as_submitted(raw: bytes) -> bytes:
    """What a mail client would hand to SMTP: no mbox "From " line and no
    blank lines before the headers (file artifacts of some fixtures)."""
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    return raw.lstrip(b"\r\n")


def envelope_sender(raw: bytes) -> str:
    """The null sender when the fixture came with Return-Path: <>, else its
    From address (the corpus fallback when it has none)."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    hdr = email.message_from_bytes(head + b"\n\n", policy=email.policy.compat32)
    rp = hdr.get("Return-Path")
    if rp is not None and str(rp).strip() in ("<>", ""):
        return ""
    return email.utils.parseaddr(str(hdr.get("From", "")))[1] or FALLBACK_SENDER


def outcomes(log: str) -> list[tuple[str, str | None]]:
    """One (category, detail) per message, in the order leernet handled
    them, from its log: each ends with `from X: OUTCOME`, `handled before`
    or a move to failed; `queued T to X` inside it is the answer."""
    out, queued = [], []
    for line in log.splitlines():
        m = re.search(r"queued (\S+) to ", line)
        if m:
            queued.append(m.group(1))
            continue
        m = re.search(r": from \S+: (\S+)$", line)
        if m:
            if queued and m.group(1) == "human":
                out.append(("answered+kept", queued[-1]))
            elif queued:
                out.append(("answered", queued[-1]))
            elif m.group(1) == "human":
                out.append(HUMAN)
            else:
                out.append(("silent", m.group(1)))
            queued = []
        elif "handled before" in line:
            # A copy of mail kept for people stays with it.
            kept = re.search(r"handled before \((human|ratelimited)\)", line)
            out.append(("kept", "again") if kept else ("silent", "again"))
            queued = []
        elif "moving it to the failed folder" in line:
            out.append(("failed", None))
            queued = []
        elif "stays in the inbox and is tried again" in line:
            out.append(("retry", None))
            queued = []
    return out


def test_every_fixture_has_its_outcome(stack, run_leernet, tmp_path):
    files = corpus_files()
    names = [f.name for f in files]
    assert sorted(EXPECTED) == sorted(names), \
        "corpus and table differ: " + repr(set(names) ^ set(EXPECTED))
    config = prepare(stack, tmp_path)
    with Mailbox(stack, "lido") as mb:
        with smtplib.SMTP(stack.host, stack.smtp_port, timeout=30) as smtp:
            for n, f in enumerate(files):
                raw = as_submitted(f.read_bytes())
                smtp.sendmail(envelope_sender(raw), ["lido@school.test"], raw)
                mb.wait_count(n + 1, timeout=20)
        proc = run_leernet(config, "once", check=False, timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert sanitizer_clean(proc.stderr), proc.stderr[-8000:]
        got = outcomes(proc.stderr)
        assert len(got) == len(files), proc.stderr[-4000:]
        wrong = [f"{name}: want {EXPECTED[name]}, got {g}"
                 for name, g in zip(names, got) if EXPECTED[name] != g]
        assert not wrong, "\n".join(wrong)

        humans = sum(1 for v in EXPECTED.values()
                     if v == HUMAN or v[0] in ("answered+kept", "kept"))
        assert mb.count("leernet/done") == len(files) - humans
        assert mb.count("leernet/failed") == 0
    left = stack.flags("lido")
    assert len(left) == humans
    assert all("leernet-human" in f.flags and "\\Seen" not in f.flags for f in left)
    # A second run finds nothing new to do.
    proc = run_leernet(config, "once")
    assert outcomes(proc.stderr) == []
