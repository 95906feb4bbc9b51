"""The intranet pages of SPEC §6 as people meet them.

A network gets members, meetings and news by mail against the real Postfix +
Dovecot; `leernet publish` writes the pages; a real nginx serves them on
127.0.0.1 (its workers running as `nobody`, so the files must really be
readable by a web server); headless Chromium opens them as a browser does,
and takes a phone-sized screenshot; the calendar feed is read with
python3-icalendar and the Atom feed with an XML parser.
"""

from __future__ import annotations

import datetime
import email.policy
import html.parser
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mailstack import address

AR = {"Authentication-Results": "mx.school.test; dmarc=pass header.from=school.test"}
ATOM = "{http://www.w3.org/2005/Atom}"
TITLE = 'Rekenen <script>alert("xss")</script> in groep 3'
NEWS_TITLE = "Nieuwe <b>methode</b> voor breuken & kommagetallen"

SBIN = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"))
NGINX = shutil.which("nginx", path=SBIN)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# --- a real web server ------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground (`daemon off;`) with everything of its own in
    `workdir`: config, pid file, logs, temp paths.  Stopped by its pid."""

    def __init__(self, root: Path, workdir: Path):
        self.root = root
        self.workdir = workdir
        self.proc = None
        self.port = 0

    def _config(self) -> Path:
        w = self.workdir
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        conf = w / "nginx.conf"
        conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\n"
            f"pid {w}/nginx.pid;\nerror_log {w}/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            # Debian's mime.types has no text/calendar: name what we serve.
            "  types { text/html html; text/css css; image/png png;\n"
            "          text/calendar ics; application/atom+xml atom; }\n"
            "  default_type application/octet-stream;\n"
            "  charset utf-8;\n"
            "  charset_types text/html text/calendar application/atom+xml;\n"
            f"  access_log {w}/access.log;\n"
            f"  client_body_temp_path {w}/client_body;\n"
            f"  proxy_temp_path {w}/proxy;\n  fastcgi_temp_path {w}/fastcgi;\n"
            f"  uwsgi_temp_path {w}/uwsgi;\n  scgi_temp_path {w}/scgi;\n"
            f"  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    root {self.root};\n    index index.html;\n  }}\n"
            "}\n")
        return conf

    def start(self) -> "Nginx":
        for _attempt in range(5):
            self.port = _free_port()
            conf = self._config()
            log = open(self.workdir / "nginx.stderr", "ab")
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
                 "-c", str(conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
            if "Address already in use" not in self.error_log():
                break       # not a lost race for the port: a real failure
        raise AssertionError(f"nginx did not start:\n{self.error_log()}")

    def error_log(self) -> str:
        text = ""
        for name in ("error.log", "nginx.stderr"):
            p = self.workdir / name
            if p.exists():
                text += p.read_text(errors="replace")
        return text

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)      # graceful: the master's pid
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def web(tmp_path):
    """A document root a web server running as `nobody` may enter (pytest's
    tmp_path is root-only), and nginx serving it."""
    if NGINX is None:
        pytest.skip("nginx is not installed (scripts/install-deps installs it)")
    root = Path(tempfile.mkdtemp(prefix="leernet-www-"))
    os.chmod(root, 0o755)
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    server = Nginx(root, workdir)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def http_get(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


# --- a real browser ---------------------------------------------------------

def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/install-deps installs it)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync",
           # Nothing but our nginx resolves: the test never reaches the
           # internet, and no DNS lookup can stall it.
           "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


class Page(html.parser.HTMLParser):
    """What a browser made of a page: its elements, headings, links, text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.links: list[tuple[str, str]] = []
        self.items: list[str] = []
        self._open: list[list] = []      # [tag, attrs, text] being collected
        self.text_parts: list[str] = []
        self._in_style = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_style = tag == "style"
        if tag in ("h1", "h2", "h3", "a", "li"):
            self._open.append([tag, attrs, ""])

    def handle_endtag(self, tag):
        self._in_style = False
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                name, attrs, text = self._open.pop(i)
                text = " ".join(text.split())
                if name == "a":
                    self.links.append((attrs.get("href", ""), text))
                elif name == "li":
                    self.items.append(text)
                else:
                    self.headings[name].append(text)
                break

    def handle_data(self, data):
        if self._in_style:
            return
        for entry in self._open:
            entry[2] += data
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def has(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.tags)

    def href(self, text: str) -> str:
        hits = [h for h, t in self.links if t == text]
        assert hits, f"no link {text!r} in {self.links}"
        return hits[0]


def browse(tmp_path: Path, url: str) -> Page:
    return Page(chromium(tmp_path, "--dump-dom", url).stdout)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


# --- the story ----------------------------------------------------------------

def in_days(n: int) -> str:
    return (datetime.date.today() + datetime.timedelta(days=n)).strftime("%d-%m-%Y")


def long_day(n: int) -> str:
    """The Dutch date as the pages write it: "14 mei 2027"."""
    months = ("januari februari maart april mei juni juli augustus september "
              "oktober november december").split()
    d = datetime.date.today() + datetime.timedelta(days=n)
    return f"{d.day} {months[d.month - 1]} {d.year}"


class Story:
    def __init__(self, stack, run, cfg):
        self.stack, self.run, self.cfg = stack, run, cfg

    def mail(self, who, subject, body=""):
        self.stack.send(who, "lido", subject=subject, body=body, headers=AR)

    def once(self, expect: int):
        self.stack.wait_for("lido", expect)
        self.run(self.cfg, "once")
        self.stack.wait_queue_empty()


def publish(run, cfg, umask=0o027):
    """`leernet publish` under the service's UMask: pages must still be
    readable by the web server."""
    old = os.umask(umask)
    try:
        return run(cfg, "publish")
    finally:
        os.umask(old)


def test_intranet_pages_served_and_read_in_a_browser(stack, run_leernet, web, tmp_path):
    pub = web.root / "leernetwerken"           # leernet makes it
    base = web.url("leernetwerken/")
    cfg = stack.config(tmp_path, organization_trusted_authserv_id="mx.school.test",
                       publish_dir=str(pub), publish_base_url=base)
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", TITLE,
                "--lead", address("lead"),
                "--question", "Hoe leren kinderen breuken\nmet begrip?")
    run_leernet(cfg, "network", "add", "taal", "--title", "Taal & lezen",
                "--question", "Hoe maken we van lezen weer een feest?")
    s = Story(stack, run_leernet, cfg)

    # Alice joins; Carol proposes a network nobody has decided on yet.
    s.mail("alice", "aanmelden rekenen")
    s.mail("carol", "nieuw netwerk Geheim plan", "Een leervraag die nog niet open is.")
    s.once(2)
    # The lead plans three meetings, one mail at a time (so they are
    # numbered 1, 2, 3 in this order), and cancels the third.
    for days in (30, 60, 90):
        s.mail("lead", "bijeenkomst rekenen",
               f"datum: {in_days(days)}\ntijd: 15:00-17:00\nlocatie: Lokaal 3\n"
               "onderwerp: Breuken <en> decimalen\n")
        s.once(1)
    s.mail("lead", "annuleer rekenen 3")
    s.once(1)
    s.mail("alice", "bericht rekenen", NEWS_TITLE + "\n\nDe map staat op de gedeelde schijf.")
    s.once(1)
    meetings = run_leernet(cfg, "meeting", "list", "rekenen", "--csv").stdout
    assert meetings.count(",planned,") == 2 and meetings.count(",cancelled,") == 1, meetings

    out = publish(run_leernet, cfg)
    assert "published 2 networks" in out.stdout, out.stdout

    # What is on disk: the two open networks, nothing of the proposal,
    # every file world-readable despite the umask, no temporary leftovers.
    files = sorted(str(p.relative_to(pub)) for p in pub.rglob("*"))
    assert files == ["index.html", "rekenen", "rekenen/calendar.ics", "rekenen/feed.atom",
                     "rekenen/index.html", "taal", "taal/calendar.ics", "taal/feed.atom",
                     "taal/index.html"], files
    for p in pub.rglob("*"):
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p

    # Served by nginx with the right types.
    for path, ctype in (("index.html", "text/html"), ("rekenen/index.html", "text/html"),
                        ("rekenen/calendar.ics", "text/calendar"),
                        ("rekenen/feed.atom", "application/atom+xml")):
        status, got, _ = http_get(base + path)
        assert status == 200 and got.startswith(ctype), (path, status, got)

    # The overview in a browser.
    index = browse(tmp_path, base + "index.html")
    assert index.tags[0][0] == "html" and index.tags[0][1].get("lang") == "nl"
    assert ("meta", {"name": "viewport",
                     "content": "width=device-width, initial-scale=1"}) in index.tags
    assert not index.has("script"), "markup from a title was executed as markup"
    assert index.headings["h1"] == ["Leernetwerken"]
    assert TITLE in index.headings["h2"] and "Taal & lezen" in index.headings["h2"]
    assert not any("Geheim" in h for h in index.headings["h2"])
    assert index.href(TITLE) == "rekenen/index.html"
    assert index.href(f"Aanmelden voor {TITLE}") == \
        "mailto:lido@school.test?subject=aanmelden%20rekenen"
    assert index.href("Aanmelden voor Taal & lezen") == \
        "mailto:lido@school.test?subject=aanmelden%20taal"
    assert "Hoe leren kinderen breuken met begrip?" in index.text
    assert "Netwerktrekker: lead@school.test" in index.text
    assert f"{long_day(30)}, 15:00\u201317:00, Lokaal 3" in index.text
    assert "Er is nog geen bijeenkomst gepland." in index.text      # taal
    assert NEWS_TITLE in [t for _, t in index.links]

    # One network in full.
    page = browse(tmp_path, base + "rekenen/index.html")
    assert not page.has("script")
    assert page.headings["h1"] == [TITLE]
    assert page.headings["h2"] == ["Leervraag", "Wie", "Bijeenkomsten", "Nieuws", "Meedoen"]
    planned = [i for i in page.items if "Lokaal 3" in i]
    assert len(planned) == 2, page.items          # the cancelled one is gone
    assert "Breuken <en> decimalen" in planned[0] and "(bijeenkomst 1)" in planned[0]
    assert long_day(60) in planned[1] and long_day(90) not in page.text
    assert page.headings["h3"] == [NEWS_TITLE]
    assert "De map staat op de gedeelde schijf." in page.text
    assert re.search(r"\b1 deelnemer(?!s)", page.text), page.text
    assert page.href("Abonneer je op de agenda van dit netwerk") == "calendar.ics"
    assert page.href("Nieuws als Atom-feed") == "feed.atom"
    assert page.href("Afmelden") == "mailto:lido@school.test?subject=afmelden%20rekenen"
    assert ("link", {"rel": "alternate", "type": "application/atom+xml", "href": "feed.atom",
                     "title": f"{TITLE} \u2014 nieuws"}) in page.tags

    # As on a phone: the picture is the phone's width, and it is a page.
    shot = tmp_path / "index-phone.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=412,900", base + "index.html")
    assert png_size(shot) == (412, 900)
    assert shot.stat().st_size > 20000, "an empty screenshot"

    # The calendar feed, as a calendar program reads it.
    import icalendar
    _, _, ics = http_get(base + "rekenen/calendar.ics")
    assert b"\r\n" in ics and b"\n\n" not in ics
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    events = cal.walk("VEVENT")
    assert len(events) == 2
    for ev in events:
        assert "ATTENDEE" not in ev and "ORGANIZER" not in ev
        assert str(ev["LOCATION"]) == "Lokaal 3"
        assert str(ev["SUMMARY"]).startswith(TITLE)
    assert sorted(str(ev["SUMMARY"]).rsplit(" ", 1)[1] for ev in events) == ["1", "2"]
    first = min(events, key=lambda ev: ev["DTSTART"].dt)
    start = first["DTSTART"].dt
    assert start.strftime("%d-%m-%Y %H:%M") == f"{in_days(30)} 15:00"
    assert first["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    # The same event as Alice's invitation: one UID for invitees and subscribers.
    invite = [m for m in stack.inbox("alice") if m.get_content_type() == "multipart/mixed"
              and "bijeenkomst 1," in str(m["Subject"])]
    assert invite, [m["Subject"] for m in stack.inbox("alice")]
    part = next(p for p in invite[0].walk() if p.get_content_type() == "text/calendar")
    inv_uid = str(icalendar.Calendar.from_ical(part.get_payload(decode=True))
                  .walk("VEVENT")[0]["UID"])
    assert str(first["UID"]) == inv_uid

    # The news feed, as a feed reader reads it.
    _, _, atom = http_get(base + "rekenen/feed.atom")
    feed = ET.fromstring(atom)
    assert feed.tag == ATOM + "feed"
    assert feed.findtext(ATOM + "id").startswith("tag:school.test,")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", feed.findtext(ATOM + "updated"))
    assert feed.findtext(ATOM + "title") == f"{TITLE} \u2014 nieuws"
    assert feed.findtext(ATOM + "author/" + ATOM + "name")
    self_link = [l for l in feed.findall(ATOM + "link") if l.get("rel") == "self"]
    assert self_link[0].get("href") == base + "rekenen/feed.atom"
    [entry] = feed.findall(ATOM + "entry")
    assert entry.findtext(ATOM + "title") == NEWS_TITLE
    assert entry.findtext(ATOM + "id").startswith(feed.findtext(ATOM + "id") + "/news/")
    assert entry.findtext(ATOM + "updated") == entry.findtext(ATOM + "published")
    assert entry.findtext(ATOM + "author/" + ATOM + "name") == address("alice")
    assert entry.find(ATOM + "content").get("type") == "text"
    assert entry.findtext(ATOM + "content").startswith(NEWS_TITLE + "\n\nDe map")
    href = entry.find(ATOM + "link").get("href")
    assert href.startswith(base + "rekenen/index.html#news-")
    assert f'id="{href.rsplit("#", 1)[1]}"' in http_get(href)[2].decode()

    # Publishing again changes nothing: no file is rewritten.
    before = {p: p.stat().st_mtime_ns for p in pub.rglob("*") if p.is_file()}
    again = publish(run_leernet, cfg)
    assert "0 files written, 7 unchanged" in again.stdout, again.stdout
    assert before == {p: p.stat().st_mtime_ns for p in pub.rglob("*") if p.is_file()}
    assert not list(pub.rglob(".*")), "temporary files left behind"

    # A closed network keeps its page (people subscribed to its calendar)
    # but leaves the overview.
    run_leernet(cfg, "network", "close", "taal")
    publish(run_leernet, cfg)
    index = Page(http_get(base + "index.html")[2].decode())
    assert "Taal & lezen" not in index.headings["h2"] and TITLE in index.headings["h2"]
    taal = Page(http_get(base + "taal/index.html")[2].decode())
    assert "Dit leernetwerk is gesloten." in taal.text
    assert not [h for h, _ in taal.links if "aanmelden" in h]


def test_daemon_publishes_after_a_change(stack, leernet, run_leernet, tmp_path):
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen",
                "--lead", address("lead"))
    daemon = leernet.start(cfg, "run")
    page = pub / "rekenen" / "index.html"
    deadline = time.monotonic() + 15
    while not page.exists():             # the daemon publishes when it starts
        assert time.monotonic() < deadline and daemon.alive(), daemon.log()
        time.sleep(0.1)
    assert "Nog geen nieuws." in page.read_text()

    stack.send("lead", "lido", subject="bericht rekenen",
               body="Volgende keer: kommagetallen\n\nNeem je eigen lesmateriaal mee.")
    deadline = time.monotonic() + 20
    while "Volgende keer: kommagetallen" not in page.read_text():
        assert time.monotonic() < deadline and daemon.alive(), daemon.log()
        time.sleep(0.1)
    feed = ET.parse(pub / "rekenen" / "feed.atom").getroot()
    assert [e.findtext(ATOM + "title") for e in feed.iter(ATOM + "entry")] == \
        ["Volgende keer: kommagetallen"]
    daemon.wait_log(r"published 1 network")
    assert daemon.stop() == 0


def test_publish_needs_a_directory(stack, run_leernet, tmp_path):
    cfg = stack.config(tmp_path)
    run_leernet(cfg, "init")
    p = run_leernet(cfg, "publish", check=False)
    assert p.returncode == 78, p
    assert "[publish] dir is not set" in p.stderr and str(cfg) in p.stderr
    cfg = stack.config(tmp_path, publish_dir=str(tmp_path / "www"))
    p = run_leernet(cfg, "publish", "now", check=False)
    assert p.returncode == 64 and "usage: leernet publish" in p.stderr, p
    (tmp_path / "file").write_text("in the way")
    cfg = stack.config(tmp_path, publish_dir=str(tmp_path / "file"))
    p = run_leernet(cfg, "publish", check=False)
    assert p.returncode == 73 and str(tmp_path / "file") in p.stderr, p
    # check-config said "cannot be written by user root … (sudo -u root)".
    p = run_leernet(cfg, "check-config", check=False)
    assert p.returncode == 73, p
    assert f"{tmp_path / 'file'}: [publish] dir is a file, not a directory" in p.stderr, p
    # and OK for a read-only file system, where publish then failed.
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "none", str(ro)], check=True)
    try:
        cfg = stack.config(tmp_path, publish_dir=str(ro / "www"))
        p = run_leernet(cfg, "check-config", check=False)
        assert p.returncode == 73, p
        assert f"publish: {ro}: read-only file system" in p.stderr, p
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    # Parents that are not there yet are made, as check-config promised.
    deep = tmp_path / "srv" / "intranet" / "leernet"
    cfg = stack.config(tmp_path, publish_dir=str(deep))
    assert f"publish {deep}: OK" in run_leernet(cfg, "check-config").stdout
    run_leernet(cfg, "publish")
    assert (deep / "index.html").is_file()
    assert oct((tmp_path / "srv").stat().st_mode & 0o777) == "0o755"


def test_hostile_text_stays_text(stack, run_leernet, tmp_path):
    """Whatever mail put in the database (control characters, bytes that
    are no UTF-8, characters XML forbids, markup) comes out as text: the
    HTML has no element it did not write, and the Atom feed still parses."""
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "x", "--title", "X")
    db = sqlite3.connect(tmp_path / "leernet.db")
    nasty = ("a\x01b\x0c\x1bc\x7f d\u0085e\ufffe\uffff <img src=x onerror=alert(1)> ]]> &amp;"
             " \u202egnp.exe\u2066")
    with db:
        db.execute("UPDATE networks SET title = ?, question = ? WHERE slug = 'x'",
                   (nasty, "<iframe src=//evil>"))
        db.execute("INSERT INTO people (email, name, created) VALUES (?, ?, 0)",
                   ("eve@school.test", '"><svg onload=alert(1)>'))
        db.execute("INSERT INTO news (network_id, person_id, subject, body, created) "
                   "SELECT n.id, p.id, CAST(X'4869C3' AS TEXT) || ?, ?, 1700000000 "
                   "FROM networks n, people p WHERE n.slug = 'x'",
                   ("</title><script>alert(1)</script>", "body \x00\x02 <b>x</b>"))
    db.close()
    run_leernet(cfg, "publish")

    for name in ("index.html", "x/index.html"):
        page = Page((pub / name).read_text(encoding="utf-8"))
        tags = {t for t, _ in page.tags}
        assert tags <= {"html", "head", "meta", "title", "link", "style", "body", "header",
                        "main", "footer", "nav", "section", "article", "h1", "h2", "h3",
                        "p", "a", "ul", "li", "strong", "span", "time", "br", "code"}, tags
        for _, attrs in page.tags:
            assert not any(k.startswith("on") for k in attrs), attrs
    feed = ET.parse(pub / "x" / "feed.atom").getroot()     # raises on bad XML
    assert feed.findtext(ATOM + "title").startswith("a b")
    entry = feed.find(ATOM + "entry")
    assert entry.findtext(ATOM + "title") == "Hi\ufffd</title><script>alert(1)</script>"
    assert entry.findtext(ATOM + "author/" + ATOM + "name") == '"><svg onload=alert(1)>'
    raw = (pub / "x" / "feed.atom").read_bytes()
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", raw)
    assert "\ufffe".encode() not in raw and "\uffff".encode() not in raw
    # A bidi override turns the rest of the line around (security review).
    for name in ("index.html", "x/index.html", "x/feed.atom"):
        data = (pub / name).read_text(encoding="utf-8")
        assert "\u202e" not in data and "\u2066" not in data, name


def test_news_links_are_links_and_a_greeting_is_no_title(stack, run_leernet, tmp_path):
    """A post's addresses were plain text on the page (the digest links
    them), and a post without a subject was titled "Hi all,"."""
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "x", "--title", "X")
    db = sqlite3.connect(tmp_path / "leernet.db")
    body = ("Hi all,\n\nGreat session today! Slides: https://drive.example/s?a=1&b=2.\n"
            "Not a link: javascript:alert(1) and https://x\"onmouseover=alert(1)\n"
            "(zie ook http://intranet.example/rekenen)")
    with db:
        db.execute("INSERT INTO people (email, name, created) VALUES ('eve@school.test', '', 0)")
        db.execute("INSERT INTO news (network_id, person_id, subject, body, created) "
                   "SELECT n.id, p.id, 'post x', ?, 1700000000 FROM networks n, people p",
                   (body,))
    db.close()
    run_leernet(cfg, "publish")
    page = Page((pub / "x" / "index.html").read_text(encoding="utf-8"))
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert "https://drive.example/s?a=1&b=2" in hrefs, hrefs
    assert "http://intranet.example/rekenen" in hrefs, hrefs
    assert "https://x" in hrefs and not any("javascript" in (h or "") for h in hrefs), hrefs
    for _, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), attrs
    feed = ET.parse(pub / "x" / "feed.atom").getroot()
    assert feed.find(ATOM + "entry").findtext(ATOM + "title") == "Great session today! " \
        "Slides: https://drive.example/s?a=1&b=2."


def test_a_network_without_meetings_has_a_calendar_with_a_component(stack, run_leernet,
                                                                    tmp_path):
    """RFC 5545 §3.6: a VCALENDAR holds at least one component; every new
    network's calendar.ics held none.  Now it holds the organisation's
    VTIMEZONE, as every feed does (CALENDAR.md)."""
    import icalendar
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen",
                "--lead", address("lead"))
    run_leernet(cfg, "publish")
    cal = icalendar.Calendar.from_ical((pub / "rekenen" / "calendar.ics").read_bytes())
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE"]
    assert str(cal.subcomponents[0]["TZID"]) == "Europe/Amsterdam"


def test_news_of_megabytes_still_makes_a_page(stack, run_leernet, tmp_path):
    """Four posts of a megabyte each (a pasted table; well under [lists]
    max_size) made the page and the feed larger than leernet writes, and
    neither was published again until 20 newer posts pushed them off.
    Each item is now shortened on the page and in the feed."""
    from meetings_kit import Meet
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, organization_trusted_authserv_id="mx.school.test",
                       publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen",
                "--lead", address("lead"))
    meet = Meet(stack, run_leernet, cfg)
    body = ("&" * 79 + "\n") * 12800
    for i in range(4):
        meet.mail("lead", "bericht rekenen", f"Verslag {i}\n\n" + body)
        meet.once()
    (pub / "rekenen" / "index.html").unlink()
    proc = run_leernet(cfg, "publish", check=False)
    assert proc.returncode == 0, proc.stderr
    page = (pub / "rekenen" / "index.html").read_text()
    assert "Verslag 3" in page and "Verslag 0" in page
    assert "[\u2026]" in page
    assert len(page) < 2 * 1024 * 1024
    feed = ET.parse(pub / "rekenen" / "feed.atom").getroot()
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 4


def test_a_posts_headline_is_what_follows_the_command_on_page_feed_and_digest(
        stack, run_leernet, tmp_path):
    """"bericht rekenen: Materiaal" stood on the page and in the feed as
    "rekenen: Materiaal" (the page's reader knew "bericht rekenen" followed
    by a space only); the digest read it right.  One reader now for both;
    a Subject that merely starts with the word ("Bericht over de
    studiedag" to the list) is no command and keeps its first word."""
    from meetings_kit import Meet
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, organization_trusted_authserv_id="mx.school.test",
                       publish_dir=str(pub))
    run_leernet(cfg, "init")
    run_leernet(cfg, "network", "add", "rekenen", "--title", "Rekenen in groep 3",
                "--lead", address("lead"))
    meet = Meet(stack, run_leernet, cfg)
    for subject in ("bericht rekenen: Materiaal voor blok 3",
                    "Bericht Rekenen in groep 3 - Terugblik",
                    "post rekenen \u2013 Slides"):
        meet.mail("lead", subject, "Zie de gedeelde map.")
        meet.once()
    run_leernet(cfg, "publish")
    feed = ET.parse(pub / "rekenen" / "feed.atom").getroot()
    titles = [e.findtext(ATOM + "title") for e in feed.iter(ATOM + "entry")]
    assert sorted(titles) == ["Materiaal voor blok 3", "Slides", "Terugblik"], titles
    page = (pub / "rekenen" / "index.html").read_text()
    assert "rekenen: Materiaal" not in page and "- Terugblik" not in page, page


def test_the_page_shows_meetings_held_and_cancelled(stack, run_leernet, tmp_path):
    """Once its meetings were over the page said "nothing planned yet": a
    page that reads as if the network never met.  A cancelled meeting is
    not shown, as in the calendar feed."""
    import time
    pub = tmp_path / "www"
    cfg = stack.config(tmp_path, publish_dir=str(pub))
    run_leernet(cfg, "init")
    for slug in ("rekenen", "taal"):
        run_leernet(cfg, "network", "add", slug, "--title", slug.title(),
                    "--lead", address("lead"))
    now = int(time.time())
    with sqlite3.connect(tmp_path / "leernet.db") as db:
        nets = dict(db.execute("SELECT slug, id FROM networks"))
        for net, number, start, status in (
                ("rekenen", 1, now - 30 * 86400, "planned"),
                ("rekenen", 2, now + 7 * 86400, "cancelled"),
                ("rekenen", 3, now + 14 * 86400, "planned"),
                ("taal", 1, now - 10 * 86400, "planned")):
            db.execute("INSERT INTO meetings (network_id, number, uid, start, end,"
                       " status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (nets[net], number, f"u{net}{number}@t", start,
                        start + 7200, status, now, now))
    publish(run_leernet, cfg)
    page = (pub / "rekenen" / "index.html").read_text()
    ahead, _, held = page.partition("<h3>Geweest</h3>")
    assert "(bijeenkomst 3)" in ahead and "(bijeenkomst 1)" in held, page
    assert "(bijeenkomst 2)" not in page
    taal = (pub / "taal" / "index.html").read_text()
    assert "Er staat geen bijeenkomst meer gepland." in taal
    assert "(bijeenkomst 1)" in taal.partition("<h3>Geweest</h3>")[2]
    index = (pub / "index.html").read_text()
    assert "Er staat geen bijeenkomst meer gepland." in index
    assert "Er is nog geen bijeenkomst gepland." not in index
