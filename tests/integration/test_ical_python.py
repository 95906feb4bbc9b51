"""What src/ical.c sends, read by an independent parser (python3-icalendar).

The calendars are built by tests/tools/ical-tool (a thin driver of
src/ical.c); instants are computed here with zoneinfo from the system
tzdata, and again from the VTIMEZONE we send (icalendar's to_tz()), so a
wrong rule in our compact zone shows up as a wrong instant.

Run: /usr/bin/python3 -m pytest tests/integration/test_ical_python.py
The tool (make tools) is looked up in $LEERNET_BUILD_DIR/tools, in tools/
next to $LEERNET_BIN, then in build/tools and build-asan/tools.
"""

import datetime as dt
import os
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

icalendar = pytest.importorskip("icalendar")

SRC = Path(os.environ.get("LEERNET_SRC", Path(__file__).resolve().parents[2]))
UTC = dt.timezone.utc
AMS = "Europe/Amsterdam"
DTSTAMP = 1800000000            # the tool's default: 2027-01-15T08:00:00Z
ORGANIZER = "lido@stichting.nl"
ATTENDEE = "jan@basisschool-dewilg.nl"


def _tool():
    dirs = []
    if os.environ.get("LEERNET_BUILD_DIR"):
        dirs.append(Path(os.environ["LEERNET_BUILD_DIR"]) / "tools")
    if os.environ.get("LEERNET_BIN"):
        dirs.append(Path(os.environ["LEERNET_BIN"]).parent / "tools")
    dirs += [SRC / "build" / "tools", SRC / "build-asan" / "tools"]
    for d in dirs:
        if (d / "ical-tool").is_file() and os.access(d / "ical-tool", os.X_OK):
            return d / "ical-tool"
    return None


TOOL = _tool()
pytestmark = pytest.mark.skipif(
    TOOL is None,
    reason="tests/tools/ical-tool is not built (make tools); looked in "
    "$LEERNET_BUILD_DIR/tools, tools/ next to $LEERNET_BIN, build/tools")


def run(*args, check=True, stdin=None):
    p = subprocess.run([str(TOOL), *args], input=stdin, capture_output=True,
                       timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"ical-tool {args}: exit {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')}")
    return p


def invite(start, end, uid="lnm-42-3@lido.stichting.nl", seq=0,
           summary="Leernetwerk Rekenen #3", location="Lokaal 3",
           cancel=False, tz=AMS):
    args = ["-z", tz, "invite", uid, str(seq), start, end, summary, location,
            ORGANIZER, ATTENDEE]
    if cancel:
        args.append("cancel")
    raw = run(*args).stdout
    return raw, icalendar.Calendar.from_ical(raw)


def instant(local, tz=AMS):
    """The UTC instant of a wall-clock time, from the system tzdata."""
    naive = dt.datetime.fromisoformat(local)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def one(cal, name):
    found = cal.walk(name)
    assert len(found) == 1, f"{len(found)} {name} components"
    return found[0]


def wire_lines(raw):
    assert raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    for line in lines:
        assert b"\n" not in line and b"\r" not in line
        assert len(line) <= 75, line
        line.decode("utf-8")            # no character split by a fold
    return lines


def unfolded(raw):
    return raw.replace(b"\r\n ", b"").decode("utf-8").split("\r\n")


# ---- invitations ---------------------------------------------------------

def test_request_properties():
    raw, cal = invite("2027-03-27T15:00", "2027-03-27T16:30")
    wire_lines(raw)
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(cal["PRODID"]) == "-//leernet//leernet 1.0//NL"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["CALSCALE"]) == "GREGORIAN"

    ev = one(cal, "VEVENT")
    assert str(ev["UID"]) == "lnm-42-3@lido.stichting.nl"
    assert int(ev["SEQUENCE"]) == 0
    assert ev["DTSTAMP"].dt == dt.datetime.fromtimestamp(DTSTAMP, UTC)
    assert str(ev["SUMMARY"]) == "Leernetwerk Rekenen #3"
    assert str(ev["LOCATION"]) == "Lokaal 3"
    assert str(ev["DESCRIPTION"]) == "Agenda:\n1. Welkom\n2. Rondvraag"
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert "DURATION" not in ev
    assert "RRULE" not in ev

    org = ev["ORGANIZER"]
    assert str(org) == f"mailto:{ORGANIZER}"
    assert dict(org.params) == {"CN": "Leernet Coördinator"}

    att = ev["ATTENDEE"]
    assert not isinstance(att, list), "exactly one ATTENDEE"
    assert str(att) == f"mailto:{ATTENDEE}"
    assert dict(att.params) == {
        "CN": "Deelnemer", "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE", "CUTYPE": "INDIVIDUAL"}


def test_vtimezone_shape():
    _, cal = invite("2027-03-27T15:00", "2027-03-27T16:30")
    tz = one(cal, "VTIMEZONE")
    assert str(tz["TZID"]) == AMS
    std = one(tz, "STANDARD")
    dst = one(tz, "DAYLIGHT")
    assert [c.name for c in tz.subcomponents] == ["STANDARD", "DAYLIGHT"]
    assert dict(std["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [10],
                                  "BYDAY": ["-1SU"]}
    assert dict(dst["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [3],
                                  "BYDAY": ["-1SU"]}
    assert std["TZOFFSETFROM"].td == dt.timedelta(hours=2)
    assert std["TZOFFSETTO"].td == dt.timedelta(hours=1)
    assert dst["TZOFFSETFROM"].td == dt.timedelta(hours=1)
    assert dst["TZOFFSETTO"].td == dt.timedelta(hours=2)
    assert std["DTSTART"].dt.time() == dt.time(3, 0)
    assert dst["DTSTART"].dt.time() == dt.time(2, 0)
    assert str(std["TZNAME"]) == "CET"
    assert str(dst["TZNAME"]) == "CEST"


@pytest.mark.parametrize("start,end", [
    ("2027-03-27T15:00", "2027-03-27T16:30"),    # Saturday before spring
    ("2027-03-29T15:00", "2027-03-29T16:30"),    # Monday after
    ("2027-10-30T15:00", "2027-10-30T16:30"),    # Saturday before autumn
    ("2027-11-01T15:00", "2027-11-01T16:30"),    # Monday after
    ("2027-03-28T01:30", "2027-03-28T03:30"),    # across the spring change
    ("2027-10-31T01:30", "2027-10-31T03:30"),    # across the autumn change
    ("2031-07-14T09:00", "2031-07-14T10:00"),
    ("2030-01-02T19:00", "2030-01-02T21:00"),
])
def test_instants_on_both_sides_of_dst(start, end):
    _, cal = invite(start, end)
    ev = one(cal, "VEVENT")
    ours = one(cal, "VTIMEZONE").to_tz()
    for prop, local in (("DTSTART", start), ("DTEND", end)):
        value = ev[prop]
        assert value.params["TZID"] == AMS
        wall = value.dt.replace(tzinfo=None)
        assert wall == dt.datetime.fromisoformat(local), prop
        expect = instant(local)
        # icalendar's own reading (its tz database)...
        assert value.dt.astimezone(UTC) == expect, prop
        # ...and the VTIMEZONE we send, read by icalendar
        assert ours.localize(wall).astimezone(UTC) == expect, prop


def test_vtimezone_agrees_with_tzdata_for_years():
    _, cal = invite("2027-03-27T15:00", "2027-03-27T16:30")
    ours = one(cal, "VTIMEZONE").to_tz()
    ams = ZoneInfo(AMS)
    t = dt.datetime(2025, 1, 1, tzinfo=UTC)
    while t.year < 2036:
        assert t.astimezone(ours).utcoffset() == t.astimezone(ams).utcoffset(), t
        t += dt.timedelta(hours=6)


def test_cancel():
    raw, cal = invite("2027-10-30T15:00", "2027-10-30T16:30", seq=1,
                      cancel=True)
    wire_lines(raw)
    assert str(cal["METHOD"]) == "CANCEL"
    ev = one(cal, "VEVENT")
    assert str(ev["STATUS"]) == "CANCELLED"
    assert int(ev["SEQUENCE"]) == 1
    assert str(ev["UID"]) == "lnm-42-3@lido.stichting.nl"
    assert str(ev["ORGANIZER"]) == f"mailto:{ORGANIZER}"
    assert str(ev["ATTENDEE"]) == f"mailto:{ATTENDEE}"
    assert ev["DTSTART"].dt.astimezone(UTC) == instant("2027-10-30T15:00")
    assert "DTSTAMP" in ev


def test_other_zone_new_york():
    _, cal = invite("2027-03-13T15:00", "2027-03-15T15:00",
                    tz="America/New_York")
    ev = one(cal, "VEVENT")
    ours = one(cal, "VTIMEZONE").to_tz()
    assert len(one(cal, "VTIMEZONE").subcomponents) == 2
    for prop, local in (("DTSTART", "2027-03-13T15:00"),
                        ("DTEND", "2027-03-15T15:00")):
        assert ev[prop].params["TZID"] == "America/New_York"
        wall = ev[prop].dt.replace(tzinfo=None)
        expect = instant(local, "America/New_York")
        assert ours.localize(wall).astimezone(UTC) == expect


def test_text_from_mail_cannot_add_properties():
    raw, cal = invite("2027-03-27T15:00", "2027-03-27T16:30",
                      summary="Rekenen\r\nEND:VEVENT\r\nBEGIN:VEVENT",
                      location="Lokaal 3\r\nATTENDEE:mailto:evil@x")
    wire_lines(raw)
    ev = one(cal, "VEVENT")
    assert not isinstance(ev["ATTENDEE"], list)
    assert str(ev["ATTENDEE"]) == f"mailto:{ATTENDEE}"
    assert str(ev["LOCATION"]) == "Lokaal 3  ATTENDEE:mailto:evil@x"
    assert str(ev["SUMMARY"]) == "Rekenen  END:VEVENT  BEGIN:VEVENT"
    assert sum(1 for l in unfolded(raw) if l.startswith("ATTENDEE")) == 1


def test_refuses_bad_addresses():
    p = run("invite", "u@x", "0", "2027-03-27T15:00", "2027-03-27T16:00",
            "s", "l", ORGANIZER, "evil@x\r\nATTENDEE:mailto:y@z", check=False)
    assert p.returncode == 2
    assert b"attendee address" in p.stderr
    assert p.stdout == b""


def test_long_dutch_text_is_folded_on_character_boundaries():
    raw, cal = invite("2027-03-27T15:00", "2027-03-27T16:30",
                      summary="Ééntje café €uro 😀 " * 20)
    wire_lines(raw)
    assert str(one(cal, "VEVENT")["SUMMARY"]) == ("Ééntje café €uro 😀 " * 20).strip()


# ---- the feed --------------------------------------------------------------

def test_feed():
    raw = run("feed", "Rekenen, groep 7",
              "lnm-42-1@lido.stichting.nl", "0", "2027-03-27T15:00",
              "2027-03-27T16:30", "Rekenen #1", "Lokaal 3", "0",
              "lnm-42-2@lido.stichting.nl", "3", "2027-11-01T15:00",
              "2027-11-01T16:30", "Rekenen #2", "", "0",
              "lnm-42-3@lido.stichting.nl", "1", "2027-12-01T15:00",
              "2027-12-01T16:30", "Rekenen #3", "Aula", "1").stdout
    wire_lines(raw)
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["NAME"]) == "Rekenen, groep 7"
    assert str(cal["X-WR-CALNAME"]) == "Rekenen, groep 7"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in unfolded(raw)
    assert "X-PUBLISHED-TTL:PT1H" in unfolded(raw)
    one(cal, "VTIMEZONE")
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [
        "lnm-42-1@lido.stichting.nl", "lnm-42-2@lido.stichting.nl"]
    for e in events:
        assert "ATTENDEE" not in e
        assert "ORGANIZER" not in e
        assert "LAST-MODIFIED" in e
        assert str(e["STATUS"]) == "CONFIRMED"
    assert int(events[1]["SEQUENCE"]) == 3
    assert "LOCATION" not in events[1]
    assert events[1]["DTSTART"].dt.astimezone(UTC) == instant("2027-11-01T15:00")


def test_empty_feed():
    raw = run("feed", "Leeg").stdout
    wire_lines(raw)
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert cal.walk("VEVENT") == []


# ---- replies built by python, read by us ------------------------------------

def test_reads_a_reply_built_by_python():
    cal = icalendar.Calendar()
    cal.add("prodid", "-//python tests//EN")
    cal.add("version", "2.0")
    cal.add("method", "REPLY")
    ev = icalendar.Event()
    ev.add("uid", "lnm-42-3@lido.stichting.nl")
    ev.add("sequence", 2)
    ev.add("summary", "Geaccepteerd: Leernetwerk Rekenen #3")
    ev.add("dtstart", dt.datetime(2027, 3, 29, 13, 0, tzinfo=UTC))
    ev.add("comment", "Ik kom, met een collega;\nprima")
    att = icalendar.vCalAddress("MAILTO:Jan@BasisSchool-DeWilg.nl")
    att.params["PARTSTAT"] = icalendar.vText("ACCEPTED")
    att.params["CN"] = icalendar.vText("Jan de Vries")
    ev.add("attendee", att, encode=0)
    cal.add_component(ev)
    out = run("parse", stdin=cal.to_ical()).stdout.decode().splitlines()
    assert out[0].startswith("event method=REPLY "
                             "uid=lnm-42-3@lido.stichting.nl sequence=2 "
                             "dtstamp=0 ")
    assert f"start={int(dt.datetime(2027, 3, 29, 13, 0, tzinfo=UTC).timestamp())}" in out[0]
    assert "organizer=-" in out[0]
    assert out[0].endswith("comment=Ik kom, met een collega;\\nprima")
    assert out[1] == ("attendee addr=jan@basisschool-dewilg.nl "
                      "partstat=ACCEPTED sent_by=- cn=Jan de Vries comment=-")


def test_reads_back_our_own_invitation():
    raw, _ = invite("2027-10-31T01:30", "2027-10-31T03:30")
    out = run("parse", "REQUEST", stdin=raw).stdout.decode().splitlines()
    start = int(instant("2027-10-31T01:30").timestamp())
    end = int(instant("2027-10-31T03:30").timestamp())
    assert f"start={start} end={end}" in out[0]
    assert out[0].startswith("event method=REQUEST ")
    assert out[1].startswith(f"attendee addr={ATTENDEE} partstat=NEEDS-ACTION")


def test_garbage_is_an_error_not_a_crash():
    p = run("parse", stdin=bytes(range(256)) * 16, check=False)
    assert p.returncode == 2
    assert p.stdout == b"error -1\n"
