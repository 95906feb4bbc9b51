"""[mailbox] keep_done_days: handled mail leaves the done folder after so
many days (storage limitation, AVG art. 5; the folder grew with every
message handled, for ever).  Against the real Dovecot: mail is placed in
the folders with an arrival date (INTERNALDATE) in the past, as APPEND
allows, and leernet's clean-up must take only what is old and only from
the done folder, and go on watching the inbox after it.
"""

import os
import time

from inbound_util import prepare, request, wait_answer
from mailstack import COORDINATOR

DAY = 86400


def append(stack, folder, subject, days_ago):
    """A message in `folder` of the coordinator's mailbox that arrived
    `days_ago` days ago."""
    msg = request("bob", subject)
    with stack.imap(COORDINATOR) as conn:
        conn.create(stack.folder_name(folder))       # NO when it exists
        typ, _ = conn.append(stack.folder_name(folder), None,
                             time.time() - days_ago * DAY, msg.as_bytes())
        assert typ == "OK"


def subjects(stack, folder):
    return sorted(m["Subject"] for m in stack.inbox(COORDINATOR, folder=folder))


def test_the_daemon_drops_only_old_handled_mail_and_keeps_watching(
        stack, leernet, tmp_path):
    config = prepare(stack, tmp_path, mailbox_keep_done_days="30")
    append(stack, "leernet/done", "oud 1", 60)
    append(stack, "leernet/done", "oud 2", 31.5)
    append(stack, "leernet/done", "recent", 5)
    append(stack, "leernet/failed", "oud maar mislukt", 90)
    join = request("alice", "aanmelden rekenen")
    stack.send("alice", COORDINATOR, raw=join.as_bytes())

    daemon = leernet.start(config, "run")
    daemon.wait_log(r"mailbox: 2 handled messages that arrived more than 30 "
                    r"days ago removed from leernet/done \(\[mailbox\] "
                    r"keep_done_days\)", timeout=30)
    wait_answer(stack, "alice", join["Message-ID"])
    assert subjects(stack, "leernet/done") == ["aanmelden rekenen", "recent"]
    # Mail that failed stays for people, however old.
    assert subjects(stack, "leernet/failed") == ["oud maar mislukt"]

    # The inbox is selected again: new mail is still seen and handled.
    second = request("carol", "aanmelden rekenen")
    stack.send("carol", COORDINATOR, raw=second.as_bytes())
    wait_answer(stack, "carol", second["Message-ID"], timeout=20)
    assert daemon.stop() == 0


def test_once_cleans_up_too_and_nothing_without_the_key(stack, run_leernet, tmp_path):
    """`leernet once` from cron does what the daemon does each hour; the
    default keeps everything, as before the key existed."""
    config = prepare(stack, tmp_path)
    append(stack, "leernet/done", "heel oud", 400)
    proc = run_leernet(config, "once")
    assert "keep_done_days" not in proc.stderr
    assert subjects(stack, "leernet/done") == ["heel oud"]

    config = stack.config(tmp_path, mailbox_keep_done_days="365",
                          mailbox_poll_interval="600")
    proc = run_leernet(config, "once")
    assert ("mailbox: 1 handled message that arrived more than 365 days ago "
            "removed from leernet/done") in proc.stderr, proc.stderr
    assert subjects(stack, "leernet/done") == []


def test_a_maildir_done_folder_is_cleaned_by_file_time(stack, run_leernet, tmp_path):
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    config = prepare(stack, tmp_path, mailbox_url=f"maildir:{md}",
                     mailbox_user=None, mailbox_password=None, mailbox_tls=None,
                     mailbox_keep_done_days="7")
    run_leernet(config, "once")                     # makes the folders
    done, failed = md / ".leernet.done", md / ".leernet.failed"
    files = {}
    for folder, name, days in ((done, "cur/1.old:2,S", 8), (done, "new/2.old", 30),
                               (done, "cur/3.new:2,S", 6), (failed, "cur/4.old:2,", 90)):
        path = folder / name
        path.write_bytes(request("bob", name).as_bytes())
        then = time.time() - days * DAY
        os.utime(path, (then, then))
        files[name] = path
    proc = run_leernet(config, "once")
    assert ("mailbox: 2 handled messages that arrived more than 7 days ago "
            "removed from leernet/done") in proc.stderr, proc.stderr
    assert [n for n, p in files.items() if p.exists()] == ["cur/3.new:2,S",
                                                           "cur/4.old:2,"]


def test_a_bad_value_is_named(stack, run_leernet, tmp_path):
    config = stack.config(tmp_path, mailbox_keep_done_days="30 dagen")
    proc = run_leernet(config, "check-config", check=False)
    assert proc.returncode == 78
    assert ("keep_done_days: expected a number of days from 0 (keep for ever) "
            "to 3650, got '30 dagen'") in proc.stderr, proc.stderr
