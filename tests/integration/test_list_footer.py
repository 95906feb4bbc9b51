"""The footer on leaving (SPEC §4b: "a short footer in the text part on how
to leave") in every shape of list mail real clients send, read back with
Python's email package from the copy a member receives: the footer is
there, and every part the author wrote is byte-identical, raw and decoded.

The posts are real mail (tests/fixtures/mail, tests/fixtures/lists; their
origin is in tests/fixtures/MANIFEST.tsv) with the envelope headers of a
member writing to the list."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from test_lists import LIST, check_list_headers, new_lists

from mailstack import REPO

FIXTURES = REPO / "tests" / "fixtures"
LEAVE = 'Afmelden: mail lido@school.test met onderwerp "afmelden {slug}"'


@pytest.fixture
def lists(stack, tmp_path, run_leernet):
    return new_lists(stack, tmp_path, run_leernet)


def split(raw: bytes) -> tuple[bytes, bytes]:
    m = re.search(rb"\r?\n\r?\n", raw)
    return (raw, b"") if m is None else (raw[:m.start()], raw[m.end():])


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def as_post(fixture: str, msgid: str, to: str = LIST,
            subject: str = "Werkvorm") -> bytes:
    """The fixture as alice's mail to the list: its MIME headers and body
    as they are, its other headers ours."""
    raw = (FIXTURES / fixture).read_bytes()
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1]
    head, body = split(crlf(raw.lstrip(b"\r\n")))
    mime = [h for h in re.split(rb"\r\n(?![ \t])", head)
            if h.lower().startswith((b"content-", b"mime-version:"))]
    ours = [b"From: Alice Jansen <alice@school.test>", b"To: " + to.encode(),
            b"Subject: " + subject.encode(), b"Message-ID: " + msgid.encode(),
            b"Date: Tue, 14 May 2027 10:00:00 +0200"]
    return b"\r\n".join(ours + mime) + b"\r\n\r\n" + body


def parse(raw: bytes):
    return email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                    policy=email.policy.default)


def leaves(msg) -> list:
    return [p for p in msg.walk() if not p.is_multipart()]


def raw_payload(part) -> str:
    return part.get_payload(decode=False)


def footer_parts(msg, slug="rekenen") -> list:
    want = LEAVE.format(slug=slug)
    return [p for p in leaves(msg) if p.get_content_type() == "text/plain"
            and want in p.get_content()]


def defects(msg) -> list[str]:
    return sorted(type(d).__name__ for p in msg.walk() for d in p.defects)


def body_of(raw: bytes) -> bytes:
    return split(raw)[1]


def post_and_receive(lists, post: bytes):
    lists.stack.send("alice", LIST, raw=post)
    out = lists.once()
    got = lists.one("bob")
    lists.one("lead")
    lists.nothing("alice")
    check_list_headers(got)
    assert lists.outcomes()[-1] == "list"
    return got, out.stderr


# Each shape: fixture, how the footer goes in (as the log says), and
# whether the author's text is extended (the footer in the text part
# itself) rather than left whole beside a footer part.
SHAPES = [
    ("mail/outlook_plain_oorspronkelijk_nl.eml", "footer appended", True),
    ("mail/thunderbird_iso88591_qp.eml", "footer appended quoted-printable",
     True),
    ("mail/chinese_reply.eml", "footer added after the wrapped body", False),
    ("mail/outlook_html_nl_cp1252.eml", "footer added after the wrapped body",
     False),
    ("mail/exchange_html_body.eml", "footer added after the wrapped body",
     False),
    ("mail/gmail_nl_alternative.eml", "footer added after the wrapped body",
     False),
    ("mail/iphone_nl.eml", "footer added after the wrapped body", False),
    ("mail/encoded_filename.eml", "footer added as the last part", False),
    ("lists/thunderbird_pgp_signed.eml",
     "footer added after the wrapped body", False),
]


@pytest.mark.parametrize("fixture,logged,extended", SHAPES,
                         ids=[s[0].split("/")[1][:-4] for s in SHAPES])
def test_every_shape_gets_the_footer_and_keeps_the_authors_parts(
        lists, fixture, logged, extended):
    post = as_post(fixture, "<footer-1@school.test>")
    got, log = post_and_receive(lists, post)
    assert f"to 2 member(s), {logged}" in log, log[-2000:]
    assert "no footer" not in log

    # The footer is in a text/plain part a client shows: the text itself,
    # or an inline part of its own after the author's parts.
    feet = footer_parts(got)
    assert len(feet) == 1, [p.get_content_type() for p in leaves(got)]
    foot = feet[0]
    assert foot.get_content_disposition() in (None, "inline")
    assert not foot.get_filename()
    sent = parse(post)
    assert defects(got) == defects(sent)
    mine = leaves(sent)
    theirs = leaves(got)
    if extended:
        # One text part: the author's encoded lines, then ours.
        assert len(mine) == len(theirs) == 1 and foot is theirs[0]
        assert body_of(got.raw).startswith(body_of(post).rstrip(b"\r\n"))
        assert raw_payload(foot).startswith(raw_payload(mine[0]).rstrip("\n"))
        before = mine[0].get_payload(decode=True).rstrip(b"\r\n")
        assert foot.get_payload(decode=True).startswith(before)
        assert foot.get_content_charset() == mine[0].get_content_charset()
        return

    # Every part of the author's, in order, raw and decoded, then ours.
    assert len(theirs) == len(mine) + 1 and theirs[-1] is foot
    for a, b in zip(mine, theirs):
        assert a.get_content_type() == b.get_content_type()
        assert a.get_params() == b.get_params()
        assert a.get("Content-Transfer-Encoding") == \
            b.get("Content-Transfer-Encoding")
        assert a.get("Content-Disposition") == b.get("Content-Disposition")
        assert raw_payload(a) == raw_payload(b)
        assert a.get_payload(decode=True) == b.get_payload(decode=True)
    assert foot.get_content_charset() == "utf-8"
    assert foot.get_content_disposition() == "inline"

    # On the wire: the author's body byte for byte (wrapped whole, or up to
    # the closing delimiter of a multipart/mixed).
    top = got.get_content_type()
    assert top == "multipart/mixed"
    if sent.get_content_type() == "multipart/mixed":
        assert got.get_boundary() == sent.get_boundary()
        close = b"\r\n--" + sent.get_boundary().encode() + b"--"
        head = body_of(post).split(close)[0]
        assert body_of(got.raw).startswith(head)
        assert close in body_of(got.raw)
    else:
        assert got.get_boundary() not in body_of(post).decode("latin-1")
        inner = got.get_payload()[0]
        assert inner.get_content_type() == sent.get_content_type()
        assert body_of(post) in got.raw
        # The headers that described the old body are the inner part's.
        for h in ("Content-Transfer-Encoding", "Content-Language",
                  "Content-Disposition"):
            assert got.get(h) is None
            assert inner.get(h) == sent.get(h)
        assert got["MIME-Version"] is not None


def signed_content(raw: bytes, boundary: bytes) -> bytes:
    """What an OpenPGP/MIME signature covers: the first part of the
    multipart/signed, from after its delimiter line to before the next."""
    start = raw.index(b"--" + boundary + b"\r\n") + len(boundary) + 4
    return raw[start:raw.index(b"\r\n--" + boundary + b"\r\n", start)]


def test_signed_mail_is_wrapped_whole_and_its_signed_bytes_are_kept(lists):
    post = as_post("lists/thunderbird_pgp_signed.eml", "<signed-1@school.test>")
    got, _ = post_and_receive(lists, post)
    inner = got.get_payload()[0]
    assert inner.get_content_type() == "multipart/signed"
    assert inner.get_param("protocol") == "application/pgp-signature"
    b = inner.get_boundary().encode()
    assert signed_content(got.raw, b) == signed_content(post, b)
    sig = inner.get_payload()[1]
    assert sig.get_content_type() == "application/pgp-signature"
    assert sig.get_payload(decode=True) == \
        parse(post).get_payload()[1].get_payload(decode=True)


def test_a_non_ascii_title_reaches_plain_and_html_posts(lists):
    """Taal & Lezen — groep 5: the footer is not ASCII.  A us-ascii post
    becomes UTF-8 (ASCII is UTF-8), an HTML one gets a footer part."""
    title = "Taal & Lezen \u2014 groep 5"
    lists.run(lists.cfg, "network", "add", "taal", "--title", title,
              "--lead", "lead@school.test")
    lists.member("lead", slug="taal", role="lead")
    lists.member("alice", slug="taal")
    lists.member("bob", slug="taal")
    to = "lido+taal@school.test"

    plain = as_post("mail/outlook_plain_oorspronkelijk_nl.eml",
                    "<taal-1@school.test>", to=to)
    html = as_post("mail/exchange_html_body.eml", "<taal-2@school.test>",
                   to=to)
    lists.stack.send("alice", to, raw=plain)
    lists.stack.send("alice", to, raw=html)
    out = lists.once()
    assert "footer appended (text relabelled utf-8, 8bit)" in out.stderr
    assert "footer added after the wrapped body" in out.stderr
    got = {m["Message-ID"]: m for m in lists.new("bob")}
    assert len(got) == 2
    assert len(lists.new("lead")) == 2

    p = got["<taal-1@school.test>"]
    check_list_headers(p, slug="taal", title=title)
    assert p.get_content_type() == "text/plain"
    assert p.get_content_charset() == "utf-8"
    assert p["Content-Transfer-Encoding"] == "8bit"
    text = p.get_content()
    before = parse(plain).get_content().rstrip("\n")
    assert text.startswith(before)
    assert f"Leernetwerk {title}: {to}" in text
    assert LEAVE.format(slug="taal") in text

    h = got["<taal-2@school.test>"]
    [foot] = footer_parts(h, slug="taal")
    assert f"Leernetwerk {title}" in foot.get_content()
    assert foot["Content-Transfer-Encoding"] == "quoted-printable"
    inner = h.get_payload()[0]
    sent = parse(html)
    assert inner.get_content_type() == "text/html"
    assert inner.get_payload(decode=True) == sent.get_payload(decode=True)
    assert raw_payload(inner) == raw_payload(sent)


def test_malformed_multipart_goes_out_unchanged_and_the_log_says_why(lists):
    post = (b"From: Alice Jansen <alice@school.test>\r\nTo: " + LIST.encode()
            + b"\r\nSubject: Kapot\r\nMessage-ID: <kapot-1@school.test>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
            b"--x\r\nContent-Type: text/plain\r\n\r\nHoi\r\n--x--\r\n")
    got, log = post_and_receive(lists, post)
    assert "no footer: a multipart without a boundary" in log
    assert body_of(got.raw) == body_of(post)
