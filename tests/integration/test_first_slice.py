"""Issue 2's first slice, as a story against the real Postfix + Dovecot:
a teacher mails `aanmelden rekenen`, confirms by replying, and is a member.
Around it: the answers to wrong requests, the outsider refused once a day,
and mail for people left alone in the inbox."""

import csv
import io
import re
import sqlite3

import pytest

from mailstack import address

DONE = "leernet/done"
HUMAN = "leernet-human"


@pytest.fixture
def cfg(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path)
    run_leernet(config, "init")
    run_leernet(config, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", "lead@school.test")
    return config


def once(run_leernet, cfg):
    return run_leernet(cfg, "once")


def members(run_leernet, cfg, slug="rekenen"):
    out = run_leernet(cfg, "member", "list", slug, "--csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["email", "name", "role", "state"]
    return {r[0]: (r[2], r[3]) for r in rows[1:]}


def text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def reply_to(stack, who, msg, body="", subject=None):
    """A plain "Reply" from a mail client: Re: subject, In-Reply-To,
    References, the original quoted."""
    quoted = "\n".join("> " + line for line in text(msg).splitlines())
    refs = (msg.get("References", "") + " " + msg["Message-ID"]).strip()
    return stack.send(who, "lido", subject=subject or "Re: " + msg["Subject"],
                      body=body + "\n\n" + quoted + "\n",
                      headers={"In-Reply-To": msg["Message-ID"], "References": refs})


def test_alice_joins_rekenen_by_replying_to_the_confirmation(stack, cfg, run_leernet):
    mid = stack.send("alice", "lido", subject="aanmelden rekenen",
                     body="Groetjes, Alice")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    [confirm] = stack.wait_for("alice")
    assert confirm["In-Reply-To"] == mid
    assert mid in confirm["References"]
    assert confirm["Auto-Submitted"] == "auto-replied"
    assert address("lido") in confirm["From"]
    token = re.search(r"\(code ([a-z0-9]{12})\)", confirm["Subject"])
    assert token, confirm["Subject"]
    assert "Rekenen in groep 3" in confirm["Subject"]
    assert f"bevestig {token.group(1)}" in text(confirm)
    # Pending until she confirms.
    assert members(run_leernet, cfg)["alice@school.test"] == ("member", "pending")
    # The request was committed, then moved.
    assert stack.inbox("lido") == []
    [handled] = stack.inbox("lido", DONE)
    assert handled["Message-ID"] == mid
    assert "leernet.done" in stack.folders("lido")

    stack.clear("alice")
    reply_to(stack, "alice", confirm, body="Ja graag")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    [welcome] = stack.wait_for("alice")
    assert welcome["Subject"] == "Welkom bij Rekenen in groep 3"
    assert "Je bent nu deelnemer" in text(welcome)
    assert "afmelden rekenen" in text(welcome)
    assert members(run_leernet, cfg) == {
        "lead@school.test": ("lead", "active"),
        "alice@school.test": ("member", "active"),
    }
    assert stack.inbox("lido") == []
    assert len(stack.inbox("lido", DONE)) == 2
    table = run_leernet(cfg, "member", "list", "rekenen").stdout
    assert re.search(r"alice@school\.test\s+.*member\s+active", table)

    # Nothing more is sent on a second run: each message is answered once.
    once(run_leernet, cfg)
    stack.wait_queue_empty()
    assert len(stack.inbox("alice")) == 1


def test_message_is_moved_only_after_its_effect_is_committed(stack, cfg, run_leernet):
    db = sqlite3.connect(cfg.parent / "leernet.db")
    db.execute("CREATE TRIGGER no_commit BEFORE INSERT ON processed "
               "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    db.commit()
    mid = stack.send("alice", "lido", subject="aanmelden rekenen", body="")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    # The transaction failed: nothing happened, nothing was said, and the
    # mail is still in the inbox to be tried again.
    [still] = stack.inbox("lido")
    assert still["Message-ID"] == mid
    assert stack.inbox("lido", DONE) == []
    assert "alice@school.test" not in members(run_leernet, cfg)
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0

    db.execute("DROP TRIGGER no_commit")
    db.commit()
    once(run_leernet, cfg)
    [confirm] = stack.wait_for("alice")
    assert confirm["Subject"].startswith("Bevestig: aanmelden voor Rekenen in groep 3")
    assert stack.inbox("lido") == []
    assert [m["Message-ID"] for m in stack.inbox("lido", DONE)] == [mid]


@pytest.mark.parametrize("subject, expect, forbid", [
    ("aanmelden nietbestaand",
     ['Er is geen netwerk met de naam "nietbestaand"', "rekenen: Rekenen in groep 3",
      "aanmelden rekenen"], ["Bevestig"]),
    ("aanmelden",
     ['Bij "aanmelden" hoort de naam van een netwerk', "aanmelden rekenen",
      "Rekenen in groep 3: aanmelden rekenen"], ["Bevestig"]),
])
def test_bad_command_gets_one_clear_answer_and_changes_nothing(
        stack, cfg, run_leernet, subject, expect, forbid):
    mid = stack.send("alice", "lido", subject=subject, body="")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    [answer] = stack.wait_for("alice")
    assert answer["In-Reply-To"] == mid
    assert answer["Subject"] == "Re: " + subject
    body = text(answer)
    for phrase in expect:
        assert phrase in body
    for phrase in forbid:
        assert phrase not in answer["Subject"]
    assert members(run_leernet, cfg) == {"lead@school.test": ("lead", "active")}
    assert [m["Message-ID"] for m in stack.inbox("lido", DONE)] == [mid]
    stack.wait_queue_empty()
    assert len(stack.inbox("alice")) == 1


def test_outside_sender_is_refused_once_a_day(stack, cfg, run_leernet):
    outsider = stack.add_user("someone@other.test")
    stack.clear(outsider)          # not one of the users reset between tests
    stack.send(outsider, "lido", subject="aanmelden rekenen", body="Mag ik meedoen?")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    [refusal] = stack.wait_for(outsider)
    assert refusal["Subject"] == "Re: aanmelden rekenen"
    assert "neemt alleen verzoeken aan" in text(refusal)
    assert outsider in text(refusal)
    assert "someone@other.test" not in members(run_leernet, cfg)

    stack.send(outsider, "lido", subject="aanmelden rekenen", body="Nog een keer")
    stack.wait_for("lido")
    once(run_leernet, cfg)
    stack.wait_queue_empty()
    assert len(stack.inbox(outsider)) == 1
    assert stack.inbox("lido") == []
    assert len(stack.inbox("lido", DONE)) == 2
    assert "someone@other.test" not in members(run_leernet, cfg)


def test_mail_for_people_stays_unread_in_the_inbox(stack, cfg, run_leernet):
    mid = stack.send("alice", "lido", subject="Vraagje",
                     body="Beste LIDO, ik heb een vraag over de subsidie.\n\nAlice")
    stack.wait_for("lido")
    once(run_leernet, cfg)

    [kept] = stack.inbox("lido")
    assert kept["Message-ID"] == mid
    assert HUMAN in kept.flags
    assert r"\Seen" not in kept.flags
    assert stack.inbox("lido", DONE) == []
    stack.wait_queue_empty()
    assert stack.inbox("alice") == []

    # The next run does not fetch it again: no answer, flags unchanged,
    # and it is not recorded a second time.
    db = sqlite3.connect(cfg.parent / "leernet.db")
    before = db.execute("SELECT count(*) FROM processed").fetchone()[0]
    out = once(run_leernet, cfg)
    assert mid not in out.stderr
    assert "handled 0 messages" in out.stderr
    stack.wait_queue_empty()
    [kept] = stack.inbox("lido")
    assert kept.flags == frozenset({HUMAN})
    assert stack.inbox("alice") == []
    assert db.execute("SELECT count(*) FROM processed").fetchone()[0] == before
