"""Calendar replies (iTIP REPLY) end to end through the real mail stack, in
the shape each major client sends them (built from the fixtures in
tests/fixtures/imip-replies/ with the UID of the meeting leernet sent):
recorded as RSVPs, shown by `meeting list --csv`, never answered."""

from __future__ import annotations

import email.header

import pytest

from mailstack import address
from meetings_kit import (AUTHSERV, FIXTURES, SLUG, TITLE, TRUSTED, Meet, _b64, apple_reply,
                          fixture_reply, google_reply, outlook_reply,
                          text, thunderbird_reply)

PEOPLE = ("alice", "bob", "carol", "erik", "fleur", "dora")


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    have = set(stack.users())
    for name in PEOPLE:
        if address(name) not in have:
            stack.add_user(name)
    cfg = stack.config(tmp_path, organization_trusted_authserv_id=AUTHSERV)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", SLUG, "--title", TITLE,
                "--lead", "lead@school.test")
    m = Meet(stack, run_leernet, cfg)
    m.join("alice", "bob", "carol", "erik", "fleur")
    return m


def subject(word, meet, n=1):
    return email.header.Header(f"{word}: {TITLE} — bijeenkomst {n}",
                               "utf-8").encode()


def outbox_size(meet) -> int:
    with meet.db() as db:
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]


def rsvp_rows(meet, n=1) -> dict:
    with meet.db() as db:
        rows = db.execute(
            "SELECT p.email, r.partstat, r.sequence, r.stale, r.comment"
            " FROM rsvps r JOIN people p ON p.id = r.person_id"
            " JOIN meetings m ON m.id = r.meeting_id WHERE m.number = ?",
            (n,)).fetchall()
    return {r[0]: r[1:] for r in rows}


def read_everything(meet):
    for who in PEOPLE + ("lead",):
        meet.new(who)


def assert_no_answers(meet, before):
    """Never answer an RSVP: nothing queued, nothing received, and the
    coordinator inbox is empty (every reply moved to done)."""
    assert outbox_size(meet) == before
    meet.nothing(*PEOPLE, "lead")
    assert meet.stack.flags("lido") == []


def test_replies_from_outlook_google_apple_thunderbird(meet):
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    assert meet.counts(n) == (0, 0, 0, 6)
    before = outbox_size(meet)

    # Outlook: base64 text/calendar, no ORGANIZER/DTSTAMP, Windows TZID,
    # MAILTO: in upper case with a mixed-case address, COMMENT.
    ics = fixture_reply("outlook-accept.ics", uid, 0, "Alice@School.TEST")
    assert "ORGANIZER" not in ics and "DTSTAMP" not in ics
    assert "TZID=W. Europe Standard Time" in ics and "MAILTO:Alice@" in ics
    meet.raw("alice", outlook_reply(address("alice"), ics,
                                    subject("Geaccepteerd", meet)))
    # Outlook, declined, a multi-line COMMENT.
    ics = fixture_reply("outlook-decline-nl.ics", uid, 0, "Erik@School.test")
    meet.raw("erik", outlook_reply(address("erik"), ics,
                                   subject("Geweigerd", meet)))
    # Google: text/calendar + application/ics, X-RESPONSE-COMMENT,
    # X-NUM-GUESTS, empty DESCRIPTION and LOCATION.
    ics = fixture_reply("google-accept-comment.ics", uid, 0, address("bob"))
    assert "X-NUM-GUESTS" in ics and "X-RESPONSE-COMMENT" in ics
    meet.raw("bob", google_reply(address("bob"), ics,
                                 "Accepted: " + subject("Uitnodiging", meet)))
    # Apple: nested multiparts, a quoted-printable .ics without method=.
    ics = fixture_reply("apple-tentative.ics", uid, 0, address("carol"))
    meet.raw("carol", apple_reply(address("carol"), ics,
                                  subject("Misschien", meet)))
    # Thunderbird: text/calendar 8bit + invite.ics; the lead answers too.
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("lead"))
    ics = ics.replace("CN=Karin Smit", "CN=Bérénice Lead")
    meet.raw("lead", thunderbird_reply(address("lead"), ics,
                                       subject("Geaccepteerd", meet)))
    meet.once()

    # accepted: alice, bob, lead; declined: erik; tentative: carol;
    # fleur has not answered.
    assert meet.counts(n) == (3, 1, 1, 1)
    rows = rsvp_rows(meet, n)
    assert rows[address("alice")] == ("accepted", 0, 0, "Ik kom, maar iets later.")
    assert rows[address("erik")][0] == "declined"
    assert rows[address("erik")][3].startswith("Helaas, dan is er ouderavond.")
    assert rows[address("bob")] == ("accepted", 0, 0, "Ik neem mijn collega mee: Kees")
    assert rows[address("carol")][:3] == ("tentative", 0, 0)
    assert rows[address("lead")][:3] == ("accepted", 0, 0)
    assert address("fleur") not in rows
    assert_no_answers(meet, before)

    # A second answer replaces the first (carol makes up her mind).
    ics = fixture_reply("apple-tentative.ics", uid, 0, address("carol"),
                        partstat="DECLINED")
    meet.raw("carol", apple_reply(address("carol"), ics,
                                  subject("Afgewezen", meet)))
    meet.once()
    assert meet.counts(n) == (3, 2, 0, 1)
    assert_no_answers(meet, before)


def test_replies_that_change_nothing(meet):
    """A reply for an unknown UID, a reply from someone who is not a
    member, and a COUNTER (Outlook's "propose new time") are no RSVPs.
    Each is kept for people: dora, sent the invitation on by a member,
    believes she has said yes (the calendar audit found them filed away
    unseen)."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    before = outbox_size(meet)

    ics = fixture_reply("thunderbird-accept.ics", "leernet-nosuchuid@school.test",
                        0, address("alice"))
    meet.raw("alice", thunderbird_reply(address("alice"), ics, "Geaccepteerd"))
    # dora is staff (school.test) but no member of the network.
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("dora"))
    meet.raw("dora", thunderbird_reply(address("dora"), ics, "Geaccepteerd"))
    # Nor someone outside the organisation.
    ics = fixture_reply("google-accept-comment.ics", uid, 0, "x@other.test")
    meet.raw("x@other.test", google_reply("x@other.test", ics, "Accepted"))
    # A COUNTER from a member proposes another time; it is not an answer.
    ics = fixture_reply("outlook-counter.ics", uid, 0, "Alice@school.test")
    assert "METHOD:COUNTER" in ics
    meet.raw("alice", outlook_reply(address("alice"), ics,
                                    subject("Nieuwe tijd voorgesteld", meet)))
    meet.once()

    assert meet.counts(n) == (0, 0, 0, 6)
    assert rsvp_rows(meet, n) == {}
    # The lead is told of the COUNTER (below), nobody else of anything.
    assert outbox_size(meet) == before + 1
    meet.nothing(*PEOPLE)
    meet.one("lead", "stelt voor om bijeenkomst 1", "Kan het een uur later?")
    row = meet.meeting(n)
    assert (row["start"], row["sequence"]) == ("2027-03-29T15:00:00+02:00", "0")
    # The COUNTER is for the lead to weigh: kept for people, not filed
    # away unseen (the member audit found it moved to done).
    kept = sorted((f.subject, f.flags) for f in meet.stack.flags("lido"))
    human = frozenset({"leernet-human"})
    assert kept == [("Accepted", human), ("Geaccepteerd", human),
                    ("Geaccepteerd", human),
                    (f"Nieuwe tijd voorgesteld: {TITLE} — bijeenkomst 1", human)], kept


def test_a_proposed_new_time_reaches_the_lead_who_takes_it_by_replying(meet):
    """Outlook's "Propose new time" went only to the coordinators' digest,
    without the time proposed."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    ics = fixture_reply("outlook-counter.ics", uid, 0, "Alice@school.test")
    meet.raw("alice", outlook_reply(address("alice"), ics,
                                    subject("Nieuwe tijd voorgesteld", meet)))
    meet.once()
    said = meet.one("lead", "alice@school.test stelt voor om bijeenkomst 1",
                    "maandag 29 maart 2027", "Toelichting: \"Kan het een uur later?\"",
                    "datum: 29-03-2027", "tijd: 16:00-17:30",
                    subject="^Re: Nieuwe tijd voorgesteld")
    meet.nothing("alice")
    assert meet.meeting(n)["sequence"] == "0"
    # The COUNTER stays for the coordinators as well.
    assert [f.flags for f in meet.stack.flags("lido")] == [frozenset({"leernet-human"})]
    # The lead takes it: a reply with the lines given moves the meeting.
    meet.reply("lead", said, "datum: 29-03-2027\ntijd: 16:00-17:30")
    meet.once()
    row = meet.meeting(n)
    assert (row["start"], row["end"], row["sequence"]) == \
        ("2027-03-29T16:00:00+02:00", "2027-03-29T17:30:00+02:00", "1"), row
    assert [i.method for i in meet.invites("alice")] == ["REQUEST"]
    # No word to the lead from a member who proposes what already is.
    ics = fixture_reply("outlook-counter.ics", uid, 1, "bob@school.test")
    meet.raw("bob", outlook_reply(address("bob"), ics, subject("Nieuwe tijd voorgesteld", meet)))
    meet.once()
    assert [m for m in meet.new("lead") if "stelt voor" in text(m)] == []


def test_a_calendar_that_is_no_reply_inside_is_kept_for_people(meet):
    """The Content-Type says method=REPLY, the calendar itself says
    METHOD:REQUEST (a member's client sends their own event on): it records
    nothing and is not filed away unseen either; a person reads it."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("alice"))
    assert "METHOD:REPLY" in ics
    ics = ics.replace("METHOD:REPLY", "METHOD:REQUEST")
    meet.raw("alice", thunderbird_reply(address("alice"), ics,
                                        "Doorgestuurd: bijeenkomst"))
    meet.once()
    assert rsvp_rows(meet, n) == {}
    meet.nothing(*PEOPLE, "lead")
    kept = [(f.subject, f.flags) for f in meet.stack.flags("lido")]
    assert kept == [("Doorgestuurd: bijeenkomst",
                     frozenset({"leernet-human"}))], kept


def test_a_reply_beside_an_event_is_recorded_and_filed(meet):
    """A reply part and, beside it, an event of another METHOD (a client
    that attaches the invitation it answers): the reply counts and the
    mail is filed like any other RSVP, not left for people."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    reply = fixture_reply("thunderbird-accept.ics", uid, 0, address("alice"))
    event = reply.replace("METHOD:REPLY", "METHOD:REQUEST")
    raw = thunderbird_reply(address("alice"), reply, "Geaccepteerd: bijeenkomst")
    # The attachment (the second copy) becomes the event.
    head, sep, tail = raw.rpartition(b'name="invite.ics"')
    tail = tail.replace(_b64(reply.encode()).encode(), _b64(event.encode()).encode())
    assert sep and _b64(event.encode()).encode() in tail
    meet.raw("alice", head + sep + tail)
    meet.once()
    assert rsvp_rows(meet, n)[address("alice")][0] == "accepted"
    meet.nothing(*PEOPLE, "lead")
    assert meet.stack.flags("lido") == []


def tb_accept(meet, who, uid, partstat="ACCEPTED", sequence=0):
    ics = fixture_reply("thunderbird-accept.ics", uid, sequence, address(who),
                        partstat=partstat)
    meet.raw(who, thunderbird_reply(address(who), ics, subject("Geaccepteerd", meet)))


def test_someone_who_comes_back_is_asked_again(meet):
    """bob accepts, leaves (his calendar gets the CANCEL), joins again: the
    new invitation asks him again (NEEDS-ACTION), but his old "yes" was
    still counted."""
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    uid = meet.uid(n)
    tb_accept(meet, "bob", uid)
    meet.once()
    assert meet.counts(n) == (1, 0, 0, 5)
    meet.mail("bob", f"afmelden {SLUG}")
    meet.once()
    read_everything(meet)
    meet.mail("bob", f"aanmelden {SLUG}")
    meet.once()
    [inv] = meet.invites("bob")
    inv.check("bob", "REQUEST", 2, uid=uid)
    assert meet.counts(n) == (0, 0, 0, 6), rsvp_rows(meet, n)


def test_a_delegated_answer_is_no_yes(meet):
    """PARTSTAT=DELEGATED (someone else goes) was skipped, and an earlier
    accept kept counting."""
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    uid = meet.uid(n)
    tb_accept(meet, "alice", uid)
    meet.once()
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("alice"),
                        partstat="DELEGATED")
    ics = ics.replace("ATTENDEE;", 'ATTENDEE;DELEGATED-TO="mailto:dora@school.test";', 1)
    meet.raw("alice", thunderbird_reply(address("alice"), ics, subject("Gedelegeerd", meet)))
    meet.once()
    assert rsvp_rows(meet, n)[address("alice")][0] == "declined"


def test_an_answer_to_a_cancelled_meeting_counts_for_nothing(meet):
    n = meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    uid = meet.uid(n)
    meet.mail("lead", f"annuleer {SLUG} {n}")
    meet.once()
    tb_accept(meet, "alice", uid)
    meet.once()
    row = meet.meeting(n)
    assert (row["status"], row["accepted"]) == ("cancelled", "0"), row


def test_an_unreadable_calendar_answer_is_kept_for_people(meet):
    """A member's answer with a broken calendar was filed away with a log
    line: nobody saw it."""
    meet.plan("14-05-2027", "15:00-17:00", "Lokaal 3")
    # libical reads the damaged fixtures leniently (their UIDs are
    # unknown here: ignored); binary junk it cannot read at all.
    ics = (FIXTURES / "malformed" / "binary-junk.bin").read_text(errors="replace")
    meet.raw("alice", thunderbird_reply(address("alice"), ics, "Geaccepteerd"))
    meet.once()
    kept = [(f.subject, f.flags) for f in meet.stack.flags("lido")]
    assert kept == [("Geaccepteerd", frozenset({"leernet-human"}))], kept


def test_a_reply_to_an_older_sequence_is_recorded_as_stale(meet):
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("bob"),
                        start="20270329T150000", end="20270329T163000")
    meet.raw("bob", thunderbird_reply(address("bob"), ics, "Geaccepteerd"))
    meet.once()
    assert meet.counts(n) == (1, 0, 0, 5)

    # The lead moves the meeting: SEQUENCE 1, every answer back to
    # needs-action.
    meet.mail("lead", f"verplaats {SLUG} {n}", "tijd: 16:00-17:30\n")
    meet.once()
    assert meet.meeting(n)["sequence"] == "1"
    assert meet.counts(n) == (0, 0, 0, 6)
    read_everything(meet)
    before = outbox_size(meet)

    # alice answers the invitation she got first (SEQUENCE 0, the old
    # time), carol the new one (SEQUENCE 1).
    ics = fixture_reply("thunderbird-accept-old-sequence.ics", uid, 0,
                        address("alice"), partstat="DECLINED",
                        start="20270329T150000", end="20270329T163000")
    meet.raw("alice", thunderbird_reply(address("alice"), ics, "Afgewezen"))
    # erik accepts the first invitation too: a yes to 15:00, not to 16:00
    ics = fixture_reply("thunderbird-accept-old-sequence.ics", uid, 0,
                        address("erik"), partstat="ACCEPTED",
                        start="20270329T150000", end="20270329T163000")
    meet.raw("erik", thunderbird_reply(address("erik"), ics, "Geaccepteerd"))
    ics = fixture_reply("thunderbird-accept.ics", uid, 1, address("carol"),
                        start="20270329T160000", end="20270329T173000")
    meet.raw("carol", thunderbird_reply(address("carol"), ics, "Geaccepteerd"))
    meet.once()

    rows = rsvp_rows(meet, n)
    assert rows[address("alice")][:3] == ("declined", 0, 1)
    assert rows[address("carol")][:3] == ("accepted", 1, 0)
    assert rows[address("erik")][:3] == ("accepted", 0, 1)
    assert rows[address("bob")][:3] == ("needs-action", 0, 0)
    # alice's and erik's answers were about 15:00: for 16:00 they have not
    # answered yet.
    assert meet.counts(n) == (1, 0, 0, 5)
    assert_no_answers(meet, before)

    # Mail overtakes mail: carol's answer to SEQUENCE 0, arriving after
    # her answer to SEQUENCE 1, changes nothing.
    ics = fixture_reply("thunderbird-accept-old-sequence.ics", uid, 0,
                        address("carol"), partstat="DECLINED",
                        start="20270329T150000", end="20270329T163000")
    meet.raw("carol", thunderbird_reply(address("carol"), ics, "Afgewezen"))
    meet.once()
    assert rsvp_rows(meet, n)[address("carol")][:3] == ("accepted", 1, 0)

    # When someone leaves, SEQUENCE rises (their cancellation); an answer
    # to the version before, at the same time, is not stale.
    meet.mail("erik", f"afmelden {SLUG}")
    meet.once()
    assert meet.meeting(n)["sequence"] == "2"
    ics = fixture_reply("thunderbird-accept.ics", uid, 1, address("fleur"),
                        start="20270329T160000", end="20270329T173000")
    meet.raw("fleur", thunderbird_reply(address("fleur"), ics, "Geaccepteerd"))
    meet.once()
    assert rsvp_rows(meet, n)[address("fleur")][:3] == ("accepted", 1, 0)
    assert meet.counts(n) == (2, 0, 0, 3)


def test_a_plus_address_answers_for_its_member(meet):
    """Google Calendar on alice+agenda@: her answer was filed away
    unseen, counted for nobody."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    plus = "alice+agenda@school.test"
    ics = fixture_reply("google-accept-comment.ics", uid, 0, plus)
    meet.raw("alice", google_reply(plus, ics, "Accepted"))
    meet.once()
    assert {k: v[0] for k, v in rsvp_rows(meet, n).items()} == \
        {address("alice"): "accepted"}
    assert meet.stack.flags("lido") == []


def test_only_a_members_own_answer_counts(meet):
    """A reply naming another member is not that member's answer: not from
    another member, not from outside (the UID is in the published calendar),
    not for several members at once.  A delegate who says so (SENT-BY, as
    Outlook writes for an assistant), in mail that proves its sender,
    answers for the one named."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    before = outbox_size(meet)

    # alice names bob, without SENT-BY
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("bob"),
                        partstat="DECLINED")
    assert "SENT-BY" not in ics
    meet.raw("alice", thunderbird_reply(address("alice"), ics, "Afgewezen"))
    # an outsider names carol
    meet.stack.add_user("mallory@other.test")
    ics = fixture_reply("google-accept-comment.ics", uid, 0, address("carol"),
                        partstat="DECLINED")
    meet.raw("mallory@other.test", google_reply("mallory@other.test", ics, "Declined"))
    meet.once()
    assert rsvp_rows(meet, n) == {}
    assert meet.counts(n) == (0, 0, 0, 6)

    # SENT-BY is only what the sender claims: from outside, or without
    # proof, it answers for nobody.
    def delegated(sender, who, partstat):
        ics = fixture_reply("thunderbird-accept.ics", uid, 0, address(who),
                            partstat=partstat)
        return ics.replace("ATTENDEE;", f'ATTENDEE;SENT-BY="mailto:{sender}";', 1)
    meet.raw("mallory@other.test", thunderbird_reply(
        "mallory@other.test", delegated("mallory@other.test", "carol", "DECLINED"),
        "Afgewezen"))
    meet.raw("erik", thunderbird_reply(address("erik"),
                                       delegated(address("erik"), "fleur", "DECLINED"),
                                       "Afgewezen"))
    meet.once()
    assert rsvp_rows(meet, n) == {}
    # erik, proven, answers for fleur on her behalf (Outlook's delegate)
    proven = "".join(f"{k}: {v}\r\n" for k, v in TRUSTED.items()).encode()
    meet.raw("erik", proven + thunderbird_reply(
        address("erik"), delegated(address("erik"), "fleur", "ACCEPTED"), "Geaccepteerd"))
    # bob answers for himself: recorded as before
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("bob"))
    meet.raw("bob", thunderbird_reply(address("bob"), ics, "Geaccepteerd"))
    meet.once()
    rows = rsvp_rows(meet, n)
    assert {k: v[0] for k, v in rows.items()} == \
        {address("fleur"): "accepted", address("bob"): "accepted"}, rows
    # Never answered; an answer for someone else is for people to see.
    assert outbox_size(meet) == before
    meet.nothing(*PEOPLE, "lead")
    kept = sorted((f.subject, f.flags) for f in meet.stack.flags("lido"))
    human = frozenset({"leernet-human"})
    assert kept == [("Afgewezen", human)] * 3 + [("Declined", human)], kept


def test_a_lead_sees_who_answered_what_and_their_notes(meet):
    """A note typed with an answer was kept in the database and shown to
    nobody; status gave the lead counts only."""
    n = meet.plan("29-03-2027", "15:00-16:30", "Lokaal 3")
    uid = meet.uid(n)
    read_everything(meet)
    ics = fixture_reply("google-accept-comment.ics", uid, 0, address("alice"))
    meet.raw("alice", google_reply(address("alice"), ics, "Accepted"))
    ics = fixture_reply("thunderbird-accept.ics", uid, 0, address("bob"), partstat="DECLINED")
    meet.raw("bob", thunderbird_reply(address("bob"), ics, "Afgewezen"))
    meet.once()
    meet.mail("lead", f"status {SLUG}")
    meet.mail("carol", f"status {SLUG}")
    meet.once()
    lead = meet.one("lead", "komt: 1, misschien: 0, komt niet: 1",
                    "- alice@school.test: komt", "- bob@school.test: komt niet")
    body = text(lead)
    assert body.index("alice@school.test: komt") < body.index("bob@school.test: komt niet")
    note = [line for line in body.splitlines() if "alice@school.test: komt" in line]
    assert len(note) == 1 and ': "' in note[0], note
    # A member sees the counts, not who said what.
    member = text(meet.one("carol", "komt: 1, misschien: 0, komt niet: 1"))
    assert "alice@school.test: komt" not in member
