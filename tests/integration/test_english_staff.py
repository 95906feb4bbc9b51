"""English-speaking staff of an international school, and Dutch
colleagues who mix languages, writing to leernet as they do: what the
English round found."""

from __future__ import annotations

import pytest

from meetings_kit import Meet

TITLE = "Maths in the early years"


@pytest.fixture
def meet(stack, tmp_path, run_leernet):
    return Meet.network(stack, tmp_path, run_leernet,
                        users=("sam", "priya", "lucy"), slug="maths",
                        title=TITLE, reset=False)


def test_a_time_written_3_to_5pm_is_the_afternoon(meet):
    """"time: 3-5pm" was read as 03:00-17:00 and the lead asked whether
    they meant the middle of the night."""
    meet.mail("sam", "join maths")
    meet.once()
    meet.new("sam")
    meet.mail("lead", "meeting maths",
              "date: Thursday 14 January 2027\ntime: 3-5pm\nlocation: Room 12\n")
    meet.once()
    meet.one("lead", "Thursday 14 January 2027, 15:00–17:00, Room 12",
             subject="^Planned: ")
    [inv] = meet.invites("sam")
    assert (inv.method, inv.sequence) == ("REQUEST", 0)
    assert inv.ev["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-01-14T15:00:00"
    assert inv.ev["DTEND"].dt.replace(tzinfo=None).isoformat() == "2027-01-14T17:00:00"
    meet.mail("lead", "move maths 1", "date: 21/01/2027\ntime: 3:30 to 5 pm\n")
    meet.once()
    meet.one("lead", "Thursday 21 January 2027, 15:30–17:00")
    [inv] = meet.invites("sam")
    assert inv.sequence == 1
    assert inv.ev["DTSTART"].dt.replace(tzinfo=None).isoformat() == "2027-01-21T15:30:00"
    assert inv.ev["DTEND"].dt.replace(tzinfo=None).isoformat() == "2027-01-21T17:00:00"


def test_who_is_this_i_never_asked_joins_nobody(meet):
    """A forged join's confirmation answered "Who is this? I never asked
    for this." made the person a member."""
    meet.mail("lucy", "join maths", trusted=False)
    meet.once()
    [conf] = meet.new("lucy")
    meet.reply("lucy", conf, "Who is this? I never asked for this.", trusted=False)
    meet.once()
    meet.one("lucy", 'I do not read a "yes"', "kept for the coordinators")
    rows = meet.run(meet.cfg, "member", "list", "maths", "--csv").stdout
    assert "lucy@school.test,,member,active" not in rows, rows
    assert [f.subject for f in meet.stack.flags("lido")
            if "leernet-human" in f.flags] == [conf["Subject"].join(["Re: ", ""])]
