"""Upgrading a database a year old: `leernet init` migrates it in place,
keeps the mail that waits, and does so in bounded memory however much mail
text it holds (schema 3 copies every stored text into a table of its own;
schema 4 adds an index; schema 5 the Subject of kept mail; schema 6 lets
list copies share one text; schema 7 counts messages left in flight; schema 8 keeps what readers
outside a network see of a forwarded post).
No mail server is needed: the database is built as version 2 had it.
"""

import os
import sqlite3
import subprocess

from mailstack import leernet_bin

# Texts copied by the step to schema 3.  With the copy's temporary pages in
# memory, init's peak RSS grew by more than this (120 MB against 32 MB on
# an empty database; 187 against 36 under ASan; 648 MB for 590 MiB); with
# them in a file it grows by a few MB.
TEXT_MB = 80
TEXT = 5500


def run_rss(tmp_path, *args) -> tuple[str, int]:
    """`leernet args...`: its standard output and its own peak RSS in KiB
    (from wait4, so no other child counts)."""
    out_path = tmp_path / "out.txt"
    with open(out_path, "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen([str(leernet_bin()), *args], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, (tmp_path / "err.txt").read_text()
    return out_path.read_text(), usage.ru_maxrss


def write_config(tmp_path):
    cfg = tmp_path / "leernet.conf"
    cfg.write_text(f"""[mailbox]
url = maildir:{tmp_path}/md
[smtp]
url = smtp://127.0.0.1:1
from = LIDO <lido@school.test>
[database]
path = {tmp_path}/leernet.db
[organization]
name = Stichting Test
domains = school.test
coordinators = femme@school.test
[digest]
schedule = off
""")
    return cfg


def version_2(db_path, rows: int):
    """A database as schema 2 left it: the text inside each outbox row."""
    db = sqlite3.connect(db_path)
    db.executescript("DROP TABLE outbox_data; DROP INDEX sent_meeting;"
                     "ALTER TABLE processed DROP COLUMN subject;"
                     "DROP INDEX outbox_shared; ALTER TABLE outbox DROP COLUMN data_id;"
                     "ALTER TABLE outbox DROP COLUMN inflight;"
                     "ALTER TABLE news DROP COLUMN outside;"
                     "ALTER TABLE outbox ADD COLUMN data BLOB NOT NULL DEFAULT x'';")
    # Mail kept for a coordinator before schema 5: no Subject is known.
    db.execute("INSERT INTO processed (key, msgid, sender, outcome, handled)"
               " VALUES ('<k@x> lido@school.test', '<k@x>', 'kim@school.test',"
               " 'human', 100)")
    blob = os.urandom(TEXT)
    with db:
        db.executemany(
            "INSERT INTO outbox (kind, env_from, rcpt, msgid, data, created,"
            " next_attempt, state, sent_at) VALUES ('invite', 'lido@school.test',"
            " ?, ?, ?, 100, 100, 'sent', 100)",
            ((f"m{i}@school.test", f"<{i}@school.test>", blob) for i in range(rows)))
        db.execute("INSERT INTO outbox (kind, env_from, rcpt, msgid, data, created,"
                   " next_attempt) VALUES ('reply', 'lido@school.test',"
                   " 'waiting@school.test', '<w@school.test>', ?, 100, 100)",
                   (b"Subject: still queued\r\n\r\nhello\r\n",))
    # News of a network: a forward stored whole (a parent's mail about a
    # pupil) and a post of the writer's own words.
    db.execute("INSERT INTO networks (slug, title, state, created) VALUES"
               " ('rekenen', 'Rekenen', 'open', 100)")
    db.executemany("INSERT INTO news (network_id, subject, body, created)"
                   " VALUES (1, ?, ?, 100)", [
                       ("Sem en rekenen", "Zie hieronder.\n\nVan: Petra Ouder "
                        "<ouder@other.test>\nVerzonden: maandag 23 november 2026 "
                        "10:00\nAan: alice@school.test\nOnderwerp: Sem\n\n"
                        "Sem heeft dyslexie.\n"),
                       ("Werkbladen", "Ze liggen in de gang.")])
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def test_init_migrates_a_large_outbox_in_bounded_memory_and_keeps_waiting_mail(tmp_path):
    cfg = write_config(tmp_path)
    # What init costs on an empty database (more under ASan than without).
    _, base_kb = run_rss(tmp_path, "-c", str(cfg), "init")
    rows = TEXT_MB * 1024 * 1024 // TEXT
    version_2(tmp_path / "leernet.db", rows)

    out, peak_kb = run_rss(tmp_path, "-c", str(cfg), "init")
    assert "schema version 8 (was 2)" in out, out
    # Bounded: not growing with the texts it copies (it grew by more
    # than the texts' size when their temporary pages stayed in memory).
    assert peak_kb - base_kb < TEXT_MB * 1024 // 3, \
        f"init peaked at {peak_kb // 1024} MB, {base_kb // 1024} MB on an empty database"

    db = sqlite3.connect(tmp_path / "leernet.db")
    assert db.execute("PRAGMA user_version").fetchone() == (8,)
    # Schema 4: whether a person was sent a meeting's calendar is looked up
    # by index, not by reading every mail ever sent.
    plan = db.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM sent WHERE kind = 'invite'"
                      " AND meeting_id = 1 AND person_id = 2").fetchall()
    assert "USING INDEX sent_meeting" in str(plan), plan
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (rows + 1,)
    assert db.execute("SELECT count(*) FROM outbox_data").fetchone() == (rows + 1,)
    (text,) = db.execute("SELECT data FROM outbox JOIN outbox_data USING (id)"
                         " WHERE rcpt = 'waiting@school.test'").fetchone()
    assert text.startswith(b"Subject: still queued")
    assert db.execute("SELECT sender, subject FROM processed").fetchall() == \
        [("kim@school.test", "")]
    # Schema 8: the forward stored before it no longer stands whole on the
    # pages (found by the upgrade round, fifteenth session).
    assert "1 news item held forwarded or quoted mail" in out, out
    assert db.execute("SELECT subject, outside FROM news ORDER BY id").fetchall() == [
        ("Sem en rekenen", "Zie hieronder.\n\n[De deelnemers kregen dit bericht per mail]"),
        ("Werkbladen", None)]
    db.close()
    # The waiting reply is still listed, text and all, for `outbox list`.
    listed = subprocess.run([str(leernet_bin()), "-c", str(cfg), "outbox", "list", "--csv"],
                            check=True, capture_output=True, text=True).stdout
    assert "waiting@school.test" in listed
