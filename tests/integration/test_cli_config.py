"""The command line and the config file as an administrator meets them
(SPEC §2, §3): exit statuses that follow sysexits.h, one clear line on
stderr naming what is wrong, and nothing done on a command that was not
understood.  check-config runs against the real Postfix and Dovecot.
"""

import os
import re
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from fake_servers import FakeServer
from mailstack import COORDINATOR, address

EX_USAGE = 64
EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_CONFIG = 78

REPO = Path(os.environ.get("LEERNET_SRC") or Path(__file__).resolve().parents[2])


def leernet(run_leernet, cfg, *args, **kw):
    return run_leernet(cfg, *args, check=False, **kw)


def errors(proc):
    """The error lines: all on stderr (which the log shares)."""
    return [line for line in proc.stderr.splitlines()
            if line and not line.startswith("leernet: info: ")]


@pytest.fixture
def cfg(stack, tmp_path, run_leernet):
    """An initialised database with one network."""
    config = stack.config(tmp_path)
    run_leernet(config, "init")
    run_leernet(config, "network", "add", "rekenen", "--title", "Rekenen",
                "--lead", "lead@school.test")
    return config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. the installed binary finds its templates ------------------------------

def test_make_install_with_another_prefix_rebuilds_what_uses_it(tmp_path):
    build = tmp_path / "build"

    def make(prefix):
        return subprocess.run(["make", "-C", str(REPO), f"B={build}", f"PREFIX={prefix}",
                               str(build / "leernet")], capture_output=True, text=True,
                              timeout=900, check=True).stdout

    make("/usr/local")
    assert b"/usr/local/share/leernet/templates" in (build / "leernet").read_bytes()
    out = make("/usr")
    assert "obj/config.o" in out, out
    binary = (build / "leernet").read_bytes()
    assert b"/usr/share/leernet/templates" in binary
    assert b"/usr/local/share/leernet" not in binary
    # The same PREFIX again: nothing to compile.
    assert "-c -o" not in make("/usr")


def test_once_without_templates_stops_with_one_line(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, paths_templates=str(tmp_path / "nowhere"))
    run_leernet(config, "init")
    stack.send("alice", COORDINATOR, subject="hulp")
    stack.wait_for(COORDINATOR, 1, timeout=30)
    for cmd in ("once", "run"):
        proc = leernet(run_leernet, config, cmd, timeout=30)
        assert proc.returncode == EX_CONFIG, (cmd, proc.stderr)
        assert errors(proc) == [
            f"leernet: templates: {tmp_path}/nowhere/nl: No such file or directory "
            f"(set [paths] templates in {config} or $LEERNET_TEMPLATES, or install "
            f"them with 'make install')"], proc.stderr
    # The request waits in the inbox for a leernet that can answer it.
    assert len(stack.inbox(COORDINATOR)) == 1


# --- 2. lists in [organization] -----------------------------------------------

@pytest.mark.parametrize("value,bad", [
    ("school.test # our staff", "'#' is not a mail domain"),
    ("school.test;other.test foo", "'foo' is not a mail domain"),
    ("school.test ; other.test", "' ;' starts a comment, so 'other.test'"),
])
def test_bad_domains_are_config_errors(stack, tmp_path, run_leernet, value, bad):
    config = stack.config(tmp_path, organization_domains=value)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert "[organization] domains: " in proc.stderr and bad in proc.stderr, proc.stderr
    assert "OK" not in proc.stdout


def test_domains_and_coordinators_with_other_separators(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, organization_domains="other.test;school.test",
                          organization_coordinators="Femme de Vries <femme@school.test>; "
                                                    "donna@school.test")
    run_leernet(config, "init")
    proc = run_leernet(config, "network", "add", "taal", "--title", "Taal",
                       "--lead", "lead@school.test")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("key,value,bad", [
    ("organization_coordinators", "femme, donna@school.test",
     "[organization] coordinators: 'femme' is not an address"),
    ("organization_announce", "intranet", "[organization] announce: 'intranet' is not"),
    ("publish_base_url", "intranet.school.test/leernetwerken",
     "[publish] base_url: expected an http:// or https:// address"),
])
def test_bad_addresses_and_urls(stack, tmp_path, run_leernet, key, value, bad):
    proc = leernet(run_leernet, stack.config(tmp_path, **{key: value}), "check-config")
    assert proc.returncode == EX_CONFIG
    assert bad in proc.stderr, proc.stderr


# --- 3, 4. check-config: what is ours to fix is 78, on stderr -------------------

def submission(stack, **kw):
    """Postfix's submission port: STARTTLS, then AUTH."""
    return {**dict(smtp_url=f"smtp://localhost:{stack.submission_port}",
                   smtp_tls="required", smtp_ca_file=stack.ca_file,
                   smtp_user=address(COORDINATOR),
                   smtp_password=stack.password(COORDINATOR)), **kw}


def test_check_config_ok(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, **submission(stack))
    db_path = tmp_path / "leernet.db"
    assert not db_path.exists()
    # The passwords are in the file: only its owner and group may read it.
    config.chmod(0o640)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0, proc.stderr
    assert errors(proc) == []
    lines = proc.stdout.splitlines()
    assert "syntax and values OK" in lines[0]
    assert lines[-1] == "configuration OK"
    # Checked before init (as the README has it): the database is not made
    # by the check, so a check run as root leaves nothing root owns.
    assert f"database {db_path}: not made yet; 'leernet -c {config} init' makes it" \
        in lines, lines
    # What the default without Authentication-Results means is said once
    # (the security review: forged list posts go out by default).
    assert [x for x in lines if x.startswith("note: [organization] trusted_authserv_id "
                                             "is not set")] != [], lines
    config = stack.config(tmp_path, organization_trusted_authserv_id="mx.school.test",
                          **submission(stack))
    config.chmod(0o640)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0 and "trusted_authserv_id" not in proc.stdout, proc.stdout
    assert sorted(p.name for p in tmp_path.glob("leernet.db*")) == []
    run_leernet(config, "init")
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0 and re.search(r"^database \S+: schema version \d+$",
                                              proc.stdout, re.M), proc.stdout


def test_a_password_everyone_can_read_is_warned_about(stack, tmp_path, run_leernet):
    """A password written in a file every local user can read (as `make
    install` puts the example, 0644): a warning, and still OK; none for a
    password_file kept to its owner, one for a password_file any user can
    read (it was not warned about)."""
    config = stack.config(tmp_path, **submission(stack))
    config.chmod(0o644)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0, proc.stderr
    assert errors(proc) == [], proc.stderr
    assert (f"warning: {config} holds a password and every user on this machine can "
            f"read it: chmod o-r {config} (or use password_file in the service's "
            f"credentials)") in proc.stdout.splitlines(), proc.stdout
    secret = tmp_path / "smtp-password"
    secret.write_text(stack.password(COORDINATOR) + "\n")
    mailbox_secret = tmp_path / "mailbox-password"
    mailbox_secret.write_text(stack.password(COORDINATOR) + "\n")
    config = stack.config(tmp_path, **submission(stack, smtp_password="",
                                                 smtp_password_file=str(secret)),
                          mailbox_password="", mailbox_password_file=str(mailbox_secret))
    config.chmod(0o644)
    secret.chmod(0o600)
    mailbox_secret.chmod(0o600)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0 and "warning" not in proc.stdout, proc.stdout
    secret.chmod(0o644)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0
    assert [line for line in proc.stdout.splitlines() if "warning" in line] == [
        f"warning: [smtp] password_file {secret} can be read by every user on this "
        f"machine: chmod o-r {secret}"], proc.stdout


def test_smtp_login_refused_is_a_config_error(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, **submission(stack, smtp_password="fout"))
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert re.search(r"^smtp smtp://localhost:\d+: login refused for lido@school.test",
                     proc.stderr, re.M), proc.stderr
    assert "login refused" not in proc.stdout and "configuration OK" not in proc.stdout
    assert "fout" not in proc.stdout + proc.stderr


def test_smtp_certificate_not_trusted_is_a_config_error(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, **submission(stack, smtp_ca_file=None))
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert "TLS certificate of localhost not accepted" in proc.stderr, proc.stderr


def test_unreachable_smtp_is_temporary(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_UNAVAILABLE, proc.stdout + proc.stderr
    assert re.search(r"^smtp smtp://127\.0\.0\.1:\d+: connect", proc.stderr, re.M)
    assert "NOT OK" not in proc.stderr
    assert (f"{config}: not checked to the end: a server or password_command failed "
            "for now (see above); try again later") in proc.stderr


def smtp_454(line):
    verb = line.split(b" ")[0].strip().upper()
    if verb in (b"EHLO", b"HELO"):
        return b"250-fake\r\n250 AUTH PLAIN LOGIN\r\n"
    if verb == b"AUTH":
        return b"454 4.7.0 Temporary authentication failure\r\n"
    if verb == b"QUIT":
        return None
    return b"250 ok\r\n"


def imap_unavailable(line):
    tag, _, rest = line.partition(b" ")
    cmd = rest.split(b" ")[0].strip().upper()
    if cmd == b"CAPABILITY":
        return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
    if cmd in (b"LOGIN", b"AUTHENTICATE"):
        return tag + b" NO [UNAVAILABLE] Temporary authentication failure.\r\n"
    if cmd == b"LOGOUT":
        return b"* BYE\r\n" + tag + b" OK\r\n"
    return tag + b" BAD no\r\n"


def test_a_login_refused_for_now_is_temporary(stack, tmp_path, run_leernet):
    """Postfix answers AUTH with 454 while Dovecot's auth is away, Dovecot
    says NO [UNAVAILABLE]: no wrong password, so no configuration error
    (exit 78 tells a monitor to fix the config and systemd to stop)."""
    smtp = FakeServer(b"220 fake ESMTP\r\n", smtp_454)
    imap = FakeServer(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n",
                      imap_unavailable)
    try:
        config = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp.port}",
                              smtp_user="lido@school.test", smtp_password="geheim")
        proc = leernet(run_leernet, config, "check-config")
        assert proc.returncode == EX_UNAVAILABLE, proc.stdout + proc.stderr
        assert "login not possible for now, the server says; trying again later: " \
               "454 4.7.0 Temporary authentication failure" in proc.stderr, proc.stderr
        assert "NOT OK" not in proc.stderr and "check [smtp]" not in proc.stderr

        config = stack.config(tmp_path, mailbox_url=f"imap://127.0.0.1:{imap.port}/INBOX",
                              mailbox_tls="none")
        run_leernet(config, "init")
        for args, want in ((("check-config",), EX_UNAVAILABLE), (("once",), EX_TEMPFAIL)):
            proc = leernet(run_leernet, config, *args)
            assert proc.returncode == want, (args, proc.stdout + proc.stderr)
            assert "login not possible for now, the server says: Temporary " \
                   "authentication failure." in proc.stderr, proc.stderr
    finally:
        smtp.close()
        imap.close()


def test_a_later_unreachable_server_keeps_the_config_error(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, mailbox_password="fout",
                          smtp_url=f"smtp://127.0.0.1:{free_port()}")
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert any(l.startswith("mailbox: ") and "login failed" in l for l in errors(proc))
    assert any(l.startswith("smtp ") for l in errors(proc))


def test_credentials_for_a_server_without_auth(stack, tmp_path, run_leernet):
    """Without TLS the submission port offers no AUTH: libcurl would skip the
    login and the user and password would never be used."""
    config = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{stack.submission_port}",
                          smtp_user=address(COORDINATOR),
                          smtp_password=stack.password(COORDINATOR))
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert (f"smtp smtp://127.0.0.1:{stack.submission_port}: the server offers no login "
            f"(AUTH) without TLS, so [smtp] user and password would never be used: use "
            f"STARTTLS (tls = required) or remove user/password") in errors(proc)
    # The relay port without a user is fine as it is.
    proc = leernet(run_leernet, stack.config(tmp_path), "check-config")
    assert proc.returncode == 0, proc.stderr


# SPEC §3's example, as an administrator copies it: comments after values,
# optional keys written without a value.  Only the paths are this test's.
SPEC_EXAMPLE = """\
[mailbox]
url = imaps://outlook.office365.com/INBOX ; imap://host:port/MAILBOX, imaps://…, or maildir:/path
user = lido@example.nl
password = …                             ; or password_file = /path (also read from $CREDENTIALS_DIRECTORY),
                                         ; or password_command = CMD (its stdout, run before each login)
auth = plain                             ; plain | login | xoauth2 (the password is then an OAuth2 access
                                         ; token)
tls = required                           ; required (imaps:// or STARTTLS, certificate verified) | none
                                         ; (allowed only for 127.0.0.1/localhost)
ca_file =                                ; optional CA bundle to verify the server with (tests, private CAs)
idle = yes                               ; IMAP IDLE push, with poll_interval as fallback
poll_interval = 60
done_folder = leernet/done               ; handled mail is moved here (created if missing); `/` is mapped
failed_folder = leernet/failed           ; to the server's hierarchy separator (Dovecot's default is `.`)

[smtp]
url = smtp://smtp.office365.com:587      ; the organisation's own submission server, so mail from
                                         ; lido@ passes DMARC; smtp:// + STARTTLS, or smtps://
user = lido@example.nl
password =                               ; password / password_file / password_command, as [mailbox]
auth = plain                             ; plain | login | xoauth2
tls = required                           ; required | none (only for 127.0.0.1/localhost)
ca_file =
from = LIDO leernetwerken <lido@example.nl>

[database]
path = {db}

[organization]
name = Stichting Jong Leren
domains = jl.nu, school.test             ; allowed sender domains
coordinators = femme@jl.nu, donna@jl.nu
timezone = Europe/Amsterdam
language = nl                            ; nl | en; replies follow the language the sender used
announce = intranet@jl.nu                ; where calls for new networks go (optional)
hours_per_network = 25
trusted_authserv_id = mx.jl.nu           ; trust the topmost Authentication-Results only if it carries
                                         ; this id; `*` = the topmost whatever its id (Exchange Online
                                         ; omits it). Unset: never trust any (optional)
staff_only = no                          ; yes: only addresses in the staff directory may act
max_requests_per_hour = 30               ; per sender; beyond it mail is kept for the coordinators

[digest]
schedule = weekly mon 07:00              ; daily HH:MM | weekly DAY HH:MM | off

[lists]
max_size = 10M                           ; larger list mail is refused

[publish]
dir = {www}                              ; optional
base_url = https://intranet.jl.nu/leernetwerken/
"""


def test_the_spec_example_config_is_accepted(tmp_path, run_leernet):
    """An empty optional key ("ca_file =") is not set: it was a file named ""."""
    config = tmp_path / "leernet.conf"
    config.write_text(SPEC_EXAMPLE.format(db=tmp_path / "leernet.db", www=tmp_path / "www"))
    for args in (("init",), ("network", "list")):
        proc = leernet(run_leernet, config, *args)
        assert proc.returncode == 0, (args, proc.stdout + proc.stderr)
    # The publish dir left empty is not set: `publish` says what to do.
    config.write_text(SPEC_EXAMPLE.format(db=tmp_path / "leernet.db", www=""))
    proc = leernet(run_leernet, config, "network", "list")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = leernet(run_leernet, config, "publish")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert "[publish] dir is not set; set it to the directory your web server serves" \
        in proc.stderr


def test_an_smtp_user_without_a_password_sends_without_logging_in(
        stack, tmp_path, run_leernet):
    """[smtp] user with "password =" left empty, as SPEC §3's example has it,
    against a relay that trusts the host: mail goes out, and check-config
    says it is sent without logging in."""
    config = stack.config(tmp_path, smtp_url=f"smtp://127.0.0.1:{stack.smtp_port}",
                          smtp_tls="none", smtp_user=address(COORDINATOR),
                          smtp_password="")
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("smtp: user lido@school.test has no password, password_file or "
            "password_command: mail is sent without logging in") in proc.stdout
    run_leernet(config, "init")
    msgid = stack.send("alice", COORDINATOR, subject="hulp")
    stack.wait_for(COORDINATOR, 1, timeout=30)
    run_leernet(config, "once")
    stack.wait_for("alice", 1, timeout=30,
                   predicate=lambda m: (m["In-Reply-To"] or "").strip() == msgid)


# --- 5, 12. secrets ----------------------------------------------------------

def test_a_port_of_another_protocol_is_named_as_the_likely_cause(stack, tmp_path,
                                                                  run_leernet):
    """imaps:// on the plain port, or SMTP pointed at IMAP, said "TLS
    handshake failed" or "unparsable server response" and "try again
    later", as if the server were away."""
    imap = f"imap://127.0.0.1:{stack.imap_port}/INBOX"
    cases = [
        (dict(mailbox_url=f"imaps://127.0.0.1:{stack.imap_port}/INBOX",
              mailbox_tls="required", mailbox_ca_file=stack.ca_file),
         "imaps:// needs a port that speaks TLS from the start"),
        (dict(mailbox_url=f"imap://127.0.0.1:{stack.smtp_port}/INBOX"),
         "is this an IMAP port?"),
        (dict(mailbox_url=imap, smtp_url=f"smtp://127.0.0.1:{stack.imap_port}"),
         "is this an SMTP port?"),
        (dict(mailbox_url=imap, smtp_url=f"smtps://127.0.0.1:{stack.smtp_port}",
              smtp_tls="required", smtp_ca_file=stack.ca_file),
         "smtps:// needs a port that speaks TLS from the start"),
        # imap:// (STARTTLS) at the TLS port: both wait, the greeting
        # times out; it said only "connection lost or timed out".
        (dict(mailbox_url=f"imap://127.0.0.1:{stack.imaps_port}/INBOX",
              mailbox_tls="required", mailbox_ca_file=stack.ca_file),
         "no IMAP greeting: a port that speaks TLS from the start, usually 993, "
         "needs imaps://"),
    ]
    for over, hint in cases:
        config = stack.config(tmp_path, **over)
        proc = leernet(run_leernet, config, "check-config", timeout=90)
        assert proc.returncode != 0, (over, proc.stdout)
        assert hint in proc.stderr, (over, proc.stderr)


def test_check_config_without_coordinators_and_through_a_pipe(stack, tmp_path):
    """No coordinators was "configuration OK" without a word, while every
    proposal went to nobody; and `check-config 2>&1 | tee` printed
    "configuration NOT OK (see above)" above the OK lines (stdout was
    block-buffered in a pipe, stderr not)."""
    binary = os.environ.get("LEERNET_BIN") or str(REPO / "build" / "leernet")
    # Port 1: nothing listens there, the check cannot end OK.
    config = stack.config(tmp_path, organization_coordinators=None,
                          smtp_url="smtp://127.0.0.1:1")
    proc = subprocess.run([binary, "-c", str(config), "check-config"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=90)
    lines = proc.stdout.splitlines()
    assert proc.returncode != 0, lines
    assert any(x.startswith("note: [organization] coordinators is not set: a proposal "
                            "for a new network reaches nobody") for x in lines), lines
    first = [i for i, x in enumerate(lines) if "syntax and values OK" in x]
    last = [i for i, x in enumerate(lines) if "not checked to the end" in x
            or "configuration NOT OK" in x]
    assert first and last and first[0] < last[0] == len(lines) - 1, lines


def test_check_config_notes_a_from_address_that_is_not_the_mailbox_read(
        stack, tmp_path, run_leernet):
    """[smtp] from = lido@other.test while leernet reads lido@school.test:
    every reply to a confirmation lands where leernet never looks.  A note,
    not an error (a service account may read a shared mailbox)."""
    config = stack.config(tmp_path,
                          smtp_from="LIDO leernetwerken <lido@other.test>")
    run_leernet(config, "init")
    proc = run_leernet(config, "check-config", check=False)
    assert ("note: [smtp] from is lido@other.test, [mailbox] user "
            "lido@school.test: replies to leernet's mail (confirmations, "
            "calendar answers) go to lido@other.test") in proc.stdout, proc.stdout
    same = stack.config(tmp_path, name="same.conf")
    proc = run_leernet(same, "check-config", check=False)
    assert "note: [smtp] from" not in proc.stdout, proc.stdout


def test_a_wrong_inbox_folder_names_the_folders_there(stack, tmp_path, run_leernet):
    """`url = imaps://…/Postvak IN` (Outlook's Dutch name for the inbox)
    said only the server's "Mailbox doesn't exist"."""
    config = stack.config(tmp_path, mailbox_url=f"imap://127.0.0.1:{stack.imap_port}/Postvak IN")
    proc = leernet(run_leernet, config, "check-config", timeout=90)
    assert proc.returncode == 78, proc.stdout + proc.stderr
    line = [x for x in proc.stderr.splitlines() if "SELECT Postvak IN" in x]
    assert line and ("(check the folder in [mailbox] url; the top folders here: "
                     in line[0]) and "INBOX" in line[0].split("top folders here:")[1], proc.stderr


def test_a_refused_mailbox_login_names_what_to_check(stack, tmp_path, run_leernet):
    """The SMTP side said "(check [smtp] user and password)"; the mailbox
    said only the server's "Authentication failed."."""
    config = stack.config(tmp_path, mailbox_password="wrong")
    proc = leernet(run_leernet, config, "check-config", timeout=90)
    assert proc.returncode == 78, proc.stdout + proc.stderr
    assert "login failed for lido@school.test: " in proc.stderr, proc.stderr
    assert "(check [mailbox] user and password)" in proc.stderr, proc.stderr


def test_relative_paths_are_next_to_the_config_file(stack, tmp_path, run_leernet):
    """They followed the shell's directory: `init` in one place and
    `check-config` from another said "not made yet", and `network list`
    "run init first", which made a second, empty database."""
    import os
    config = stack.config(tmp_path, database_path="rel.db", publish_dir="www",
                          publish_base_url="https://intranet.school.test/ln/")
    assert os.getcwd() != str(tmp_path)
    run_leernet(config, "init")
    assert (tmp_path / "rel.db").exists()
    assert not os.path.exists("rel.db")
    proc = run_leernet(config, "check-config")
    assert f"database {tmp_path}/rel.db: schema version" in proc.stdout, proc.stdout
    run_leernet(config, "network", "add", "rekenen", "--title", "Rekenen")
    run_leernet(config, "publish")
    assert (tmp_path / "www" / "index.html").exists()


def test_a_relative_database_written_for_the_old_reading_is_kept(stack, tmp_path,
                                                                 run_leernet):
    """An install whose relative path was meant from the working directory,
    and whose database is there, keeps it (with a warning) rather than
    start on an empty one next to the config file."""
    import subprocess
    from mailstack import leernet_bin
    work, etc = tmp_path / "work", tmp_path / "etc"
    (work / "data").mkdir(parents=True)
    etc.mkdir()
    made = stack.config(etc, database_path=str(work / "data" / "leernet.db"))
    run_leernet(made, "init")
    run_leernet(made, "network", "add", "rekenen", "--title", "Rekenen")
    config = stack.config(etc, database_path="data/leernet.db")
    proc = subprocess.run([str(leernet_bin()), "-c", str(config), "network", "list"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "rekenen" in proc.stdout, proc.stdout + proc.stderr
    assert "'data/leernet.db' is read from the working directory" in proc.stderr, proc.stderr
    assert not (etc / "data").exists()


def test_a_refused_credential_says_a_restart_picks_up_a_new_one(stack, tmp_path,
                                                                run_leernet):
    """systemd copies a credential when the service starts: the admin who
    changed the password file and reloaded saw only "login failed", for
    ever, while check-config (reading the file itself) said OK."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mailbox-password").write_text("the-old-one\n")
    config = stack.config(tmp_path, mailbox_password=None,
                          mailbox_password_file="mailbox-password")
    run_leernet(config, "init")
    proc = leernet(run_leernet, config, "once", env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert proc.returncode != 0
    assert "login failed for" in proc.stderr, proc.stderr
    assert "restart leernet after changing the password file" in proc.stderr, proc.stderr
    # Not said of a password in the config file itself.
    config = stack.config(tmp_path, mailbox_password="wrong")
    proc = leernet(run_leernet, config, "once", env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert "login failed for" in proc.stderr and "restart" not in proc.stderr, proc.stderr


def test_password_file_next_to_the_config(stack, tmp_path, run_leernet):
    (tmp_path / "mailbox-password").write_text(stack.password(COORDINATOR) + "\n")
    config = stack.config(tmp_path, mailbox_password=None,
                          mailbox_password_file="mailbox-password")
    proc = leernet(run_leernet, config, "check-config", env={"CREDENTIALS_DIRECTORY": ""})
    assert proc.returncode == 0, proc.stderr     # run from another directory
    creds = tmp_path / "creds"
    creds.mkdir()
    proc = leernet(run_leernet, config, "check-config",
                   env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert (f"mailbox: [mailbox] password_file: cannot read '{creds}/mailbox-password': "
            f"No such file or directory") in proc.stderr, proc.stderr


@pytest.mark.parametrize("secret,want", [
    ({"mailbox_password_file": "empty"}, "[mailbox] password_file: '{tmp}/empty' is empty"),
    ({"mailbox_password_command": "true"},
     "[mailbox] password_command: 'true' printed nothing"),
    ({"mailbox_password_command": "no-such-token-helper --user x"},
     "[mailbox] password_command: 'no-such-token-helper' not found (exit status 127)"),
])
def test_unusable_secrets_are_config_errors(stack, tmp_path, run_leernet, secret, want):
    (tmp_path / "empty").write_text("")
    config = stack.config(tmp_path, mailbox_password=None, **secret)
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert want.format(tmp=tmp_path) in proc.stderr, proc.stderr


# --- 6, 10. the command line itself --------------------------------------------

@pytest.mark.parametrize("args", [("once", "--dry-run"), ("run", "now"), ("init", "x"),
                                  ("check-config", "--quiet")])
def test_extra_arguments_are_refused(stack, cfg, run_leernet, args):
    stack.send("alice", COORDINATOR, subject="hulp")
    stack.wait_for(COORDINATOR, 1, timeout=30)
    proc = leernet(run_leernet, cfg, *args)
    assert proc.returncode == EX_USAGE, proc.stdout + proc.stderr
    assert f"leernet: {args[0]}: unexpected argument '{args[1]}'" in proc.stderr
    assert "usage: leernet" in proc.stderr
    assert len(stack.inbox(COORDINATOR)) == 1      # nothing was handled


def test_v_and_c_after_the_command_mean_what_they_mean_before_it(stack, cfg,
                                                                 run_leernet):
    """"leernet check-config -v" (as people type it) was a usage error."""
    proc = run_leernet(None, "check-config", "-v", "-c", cfg, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "configuration OK" in proc.stdout
    assert "debug:" in proc.stderr
    # As the value of an option that takes one, -v is that value.
    proc = run_leernet(cfg, "network", "add", "dash", "--title", "-v", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = run_leernet(cfg, "network", "show", "dash").stdout
    assert "-v" in shown and "debug:" not in proc.stderr


@pytest.mark.parametrize("args,why", [
    (("network",), "network: which network command?"),
    (("member",), "member: which member command?"),
    (("meeting",), "meeting: which meeting command?"),
    (("report",), "report: which report command?"),
    (("person",), "person: which person command?"),
    (("outbox",), "outbox: which outbox command?"),
    (("staff",), "staff: which staff command?"),
    (("network", "bogus"), "unknown network command 'bogus'"),
    (("network", "add", "x1"), "network add: --title is missing, e.g. --title \"Rekenen in groep 3\""),
    (("network", "add", "--title", "X"), "network add: the SLUG is missing"),
    (("network", "add", "x1", "Rekenen", "--title", "X"), "network add: one SLUG, not 'Rekenen' as well"),
    (("network", "add", "x1", "--titel", "X"), "network add: unknown or incomplete option '--titel'"),
    (("network", "list", "--bogus"), "unknown option '--bogus'"),
    (("network", "show"), "network show: give one SLUG"),
    (("member", "list"), "member list: the network's SLUG is missing"),
    (("member", "list", "rekenen", "--csv", "extra"), "member list: one SLUG, not 'extra' as well"),
    (("member", "show", "rekenen"), "unknown member command 'show'"),
    (("meeting", "list", "rekenen", "--xml"), "unknown option '--xml'"),
    (("meeting", "list"), "meeting list: the network's SLUG is missing"),
    (("report", "hours", "--bogus"), "report hours: unknown or incomplete option '--bogus'"),
    (("report", "uren"), "unknown report 'uren'"),
    (("person", "show"), "person show: give one EMAIL"),
    (("person", "delete", "a@school.test"), "unknown person command 'delete'"),
    (("outbox", "list", "--failed"), "outbox list: unexpected '--failed'"),
    (("staff", "import"), "staff import: the FILE.csv is missing"),
    (("staff", "export", "x.csv"), "unknown staff command 'export'"),
])
def test_a_usage_error_says_what_was_wrong(cfg, run_leernet, args, why):
    """SPEC §2: one clear line on stderr naming what is wrong, then the
    usage; a group word alone is an error too (its usage used to go to
    stdout, saying nothing)."""
    proc = leernet(run_leernet, cfg, *args)
    assert proc.returncode == EX_USAGE, proc.stdout + proc.stderr
    lines = errors(proc)
    assert lines[0].startswith(f"leernet: {why}"), lines
    assert lines[1].startswith("usage: leernet "), lines
    assert proc.stdout == ""
    # --help is not an error: the usage on stdout.
    proc = leernet(run_leernet, cfg, args[0], "--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: leernet "), proc


def test_help_version_and_a_directory(run_leernet, tmp_path):
    for opt in ("--help", "-h"):
        proc = run_leernet(None, opt)
        assert proc.stdout.startswith("usage: leernet") and proc.stderr == ""
    proc = run_leernet(None, check=False)
    assert proc.returncode == EX_USAGE and proc.stdout == ""
    assert errors(proc)[:2] == ["leernet: no command given",
                                "usage: leernet [-c FILE] [-v] COMMAND [ARGS]"]
    proc = run_leernet(None, "--version")
    assert re.fullmatch(r"leernet \S+\n", proc.stdout), proc.stdout
    proc = run_leernet(tmp_path, "network", "list", check=False)
    assert proc.returncode == EX_CONFIG
    assert errors(proc) == [f"leernet: {tmp_path}: cannot open: is a directory (give "
                            f"the file, e.g. -c /etc/leernet/leernet.conf)"]


# --- 7. tls = none only for loopback -------------------------------------------

def test_tls_none_for_a_name_that_looks_like_loopback(stack, tmp_path, run_leernet):
    config = stack.config(tmp_path, smtp_url="smtp://127.evil.com:25")
    proc = leernet(run_leernet, config, "check-config")
    assert proc.returncode == EX_CONFIG
    assert "[smtp] tls: 'none' is allowed only for localhost, ::1 and 127.x.x.x, not " \
           "for '127.evil.com'" in proc.stderr


# --- 8. a database from a newer leernet ------------------------------------------

@pytest.mark.parametrize("args", [("network", "list"), ("once",), ("init",),
                                  ("check-config",), ("staff", "import", "x.csv")])
def test_a_newer_database_is_refused(cfg, tmp_path, run_leernet, args):
    db = tmp_path / "leernet.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    proc = leernet(run_leernet, cfg, *args)
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert len(errors(proc)) == 1, proc.stderr
    assert re.fullmatch(rf"leernet: {re.escape(str(db))}: schema version 99 is newer than "
                        rf"this leernet \(\d+\): install the newer leernet again",
                        errors(proc)[0]), proc.stderr


# --- 9. titles ----------------------------------------------------------------

CONTROL = "the title contains a line break, a tab or another control character"


@pytest.mark.parametrize("title,why", [
    ("", "the title is empty"),
    ("   ", "the title is empty"),
    ("Rekenen\ngroep 3", CONTROL),
    ("Rekenen\rgroep 3", CONTROL),
    ("Rekenen\tgroep 3", CONTROL),
    ("Rekenen\x07", CONTROL),
    ("Rekenen\u0085", CONTROL),
    ("R" * 121, "the title is 121 characters long; at most 120 are allowed"),
    ("rEKENEN", "network 'rekenen' has this title already; choose another"),
])
def test_bad_titles(cfg, run_leernet, title, why):
    proc = leernet(run_leernet, cfg, "network", "add", "nieuw", "--title", title)
    assert proc.returncode == EX_DATAERR, proc.stdout + proc.stderr
    assert errors(proc) == [f"leernet: network add --title: {why}"]
    assert "nieuw" not in run_leernet(cfg, "network", "list").stdout


def test_a_title_that_is_not_utf8(cfg):
    binary = os.environ.get("LEERNET_BIN") or str(REPO / "build" / "leernet")
    proc = subprocess.run([binary, "-c", str(cfg), "network", "add", "nieuw", "--title",
                           b"Caf\xe9"], capture_output=True, timeout=30)
    assert proc.returncode == EX_DATAERR
    assert b"the title is not valid UTF-8 text" in proc.stderr


def test_good_titles(cfg, run_leernet):
    proc = run_leernet(cfg, "network", "add", "ijs", "--title", "Ĳsbrand’s café " + "é" * 100)
    assert proc.returncode == 0


# --- 11. staff import from Excel ------------------------------------------------

def test_staff_import_from_dutch_excel(cfg, tmp_path, run_leernet):
    csv = tmp_path / "personeel.csv"
    csv.write_bytes("sep=;\r\nE-mail;Naam;School\r\n"
                    "zoe@school.test;Zoë IJsbrand;Café ‘t Hoekje\r\n"
                    "piet@gmail.com;Piet;De Wereld\r\n".encode("cp1252"))
    proc = run_leernet(cfg, "staff", "import", csv)
    assert proc.returncode == 0, proc.stderr
    assert errors(proc) == [
        f"{csv}: not UTF-8; read as Windows-1252 (Excel's usual CSV) and converted",
        f"{csv}:4: warning: piet@gmail.com is outside the allowed domains ([organization] "
        f"domains); imported, but leernet answers no mail from it"]
    assert "2 people added" in proc.stdout
    show = run_leernet(cfg, "person", "show", "zoe@school.test").stdout
    assert "Zoë IJsbrand" in show and "Café ‘t Hoekje" in show


def test_staff_import_without_a_header_row(cfg, tmp_path, run_leernet):
    """SPEC names the columns, email,name,school[,function]: a file that
    starts with the first person is read in that order, and says so."""
    csv = tmp_path / "personeel.csv"
    csv.write_text("zoe@school.test,Zoë IJsbrand,De Regenboog\n"
                   "piet@school.test,Piet de Vries,De Wereld,ib'er\n")
    proc = run_leernet(cfg, "staff", "import", csv)
    assert proc.returncode == 0, proc.stderr
    assert errors(proc) == [f"{csv}:1: note: no header row: the columns are "
                            "read as email,name,school[,function]"]
    assert "2 people added" in proc.stdout
    show = run_leernet(cfg, "person", "show", "piet@school.test").stdout
    assert "Piet de Vries" in show and "De Wereld" in show and "ib'er" in show


# --- 12. small things -----------------------------------------------------------

def test_person_reset_when_not_bouncing(cfg, tmp_path, run_leernet):
    proc = run_leernet(cfg, "person", "reset", "lead@school.test")
    assert proc.stdout == "lead@school.test was not bouncing; nothing to reset\n"
    with sqlite3.connect(tmp_path / "leernet.db") as conn:
        conn.execute("UPDATE people SET bouncing = 1, bounce_reason = '550' "
                     "WHERE email = 'lead@school.test'")
    proc = run_leernet(cfg, "person", "reset", "lead@school.test")
    assert proc.stdout.startswith("lead@school.test: bouncing cleared;")


def test_person_commands_take_an_address_as_pasted_from_a_mail(cfg, run_leernet):
    """An admin copies the sender from Outlook: "Lead <Lead@School.test>".
    Taken as the address, as member remove and network add do; something
    that is no address is said to be one, not "unknown person"."""
    show = run_leernet(cfg, "person", "show", "Lead <Lead@School.test>")
    assert "lead@school.test" in show.stdout, show.stdout + show.stderr
    proc = run_leernet(cfg, "person", "reset", "'Lead' <lead@school.test>.")
    assert proc.stdout == "lead@school.test was not bouncing; nothing to reset\n"
    proc = run_leernet(cfg, "person", "show", "lead at school", check=False)
    assert proc.returncode == 65
    assert ("person show: 'lead at school' is not a mail address; write it as "
            "bob@school.nl") in proc.stderr, proc.stderr


@pytest.mark.parametrize("args, code, said", [
    (("member", "remove", "rekenen"), 64, "give the network's SLUG and one EMAIL"),
    (("member", "remove", "rekenen", "a@school.test", "b@school.test"), 64,
     "give the network's SLUG and one EMAIL"),
    (("member", "remove", "rekenen", "bob at school"), 65,
     "member remove: 'bob at school' is not a mail address; write it as bob@school.nl"),
    (("member", "remove", "nergens", "bob@school.test"), 65, "nergens"),
    (("person", "forget"), 64, "person forget: give one EMAIL"),
    (("person", "forget", "--force", "bob@school.test"), 64, "unexpected '--force'"),
    (("person", "forget", "a@school.test", "b@school.test"), 64, "unexpected 'b@school.test'"),
    (("person", "forget", "bob@"), 65, "person forget: 'bob@' is not a mail address"),
    (("person", "forget", "\"><script>@x"), 65, "is not a mail address"),
])
def test_member_remove_and_person_forget_say_what_is_wrong(cfg, run_leernet, args,
                                                            code, said):
    """The new commands of the fifteenth session, given wrong input: one
    line that says what, and the database unchanged."""
    proc = run_leernet(cfg, *args, check=False)
    assert proc.returncode == code, proc
    assert said in proc.stderr, proc.stderr
    assert run_leernet(cfg, "member", "list", "rekenen").stdout.count("lead@school.test") == 1


def test_an_address_pasted_from_a_mail_is_taken(cfg, run_leernet):
    out = run_leernet(cfg, "person", "forget", "--dry-run", "Lea de Trekker <LEAD@school.test>",
                      check=False)
    assert out.returncode == 65 and "the only lead of rekenen" in out.stderr, out


class Sandbox:
    """A directory everyone may enter (the checkout may sit where nobody
    cannot: /root), holding a copy of the binary and the templates, for
    running leernet as root and as nobody, the service user's stand-in."""

    def __init__(self, base: Path):
        import shutil
        self.base = base
        self.binary = str(base / "leernet")
        shutil.copy(os.environ.get("LEERNET_BIN") or REPO / "build" / "leernet",
                    self.binary)
        shutil.copytree(REPO / "templates", base / "templates")
        self.templates = base / "templates"

    def as_nobody(self, config, *args):
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                               "--clear-groups", self.binary, "-c", str(config), *args],
                              capture_output=True, text=True, timeout=60)

    def as_root(self, config, *args, **kw):
        return subprocess.run([self.binary, "-c", str(config), *args],
                              capture_output=True, text=True, timeout=60, **kw)


@pytest.fixture
def sandbox():
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    base = Path(tempfile.mkdtemp(prefix="leernet-users-"))
    base.chmod(0o755)
    try:
        yield Sandbox(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_files_made_by_root_do_not_lock_out_the_service(stack, run_leernet, sandbox):
    """An admin runs a command as root beside the service's user: the
    database is 0640 whatever the umask (it holds names and mail), root's
    lock file is handed to the database's owner (SQLite does the same for
    -wal and -shm), and a file the service cannot write is named with its
    owner and what to do (it was a bare "Permission denied", exit 70)."""
    base = sandbox.base
    config = stack.config(base, paths_templates=sandbox.templates)
    sandbox.as_root(config, "init", check=True, preexec_fn=lambda: os.umask(0o022))
    db_file = base / "leernet.db"
    assert db_file.stat().st_mode & 0o777 == 0o640
    for f in [base, config, db_file]:
        os.chown(f, 65534, 65534)
    run_leernet(config, "digest", "--send")          # as root
    lock = base / "leernet.db.lock"
    assert lock.stat().st_uid == 65534
    assert sandbox.as_nobody(config, "digest", "--send").returncode == 0, "the service's turn"

    os.chown(lock, 0, 0)
    proc = sandbox.as_nobody(config, "digest", "--send")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    # Never "run leernet as its owner (sudo -u root)": the service is
    # not meant to run as root; the fix is the chown, spelled out.
    assert (f"{lock}: cannot be written by user nobody (it belongs to root, mode 600): "
            f"give it to the user the service runs as (chown nobody {lock})") \
        in proc.stderr, proc.stderr
    assert "sudo -u root" not in proc.stderr, proc.stderr


def test_a_config_the_service_user_cannot_read_is_named_with_its_owner(stack, sandbox):
    """README's Install gives the file and /etc/leernet to group leernet;
    an admin who skipped a chgrp got "cannot open: Permission denied",
    without whose it is or what to run."""
    etc = sandbox.base / "etc"
    etc.mkdir(mode=0o750)
    config = stack.config(etc, paths_templates=sandbox.templates)
    config.chmod(0o600)
    proc = sandbox.as_nobody(config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert (f"{config}: cannot open: Permission denied (user nobody may not enter "
            f"{etc}: it belongs to root, mode 750; chgrp nogroup {etc} && chmod 0750 "
            f"{etc})") in proc.stderr, proc.stderr
    os.chown(etc, 0, 65534)
    proc = sandbox.as_nobody(config, "check-config")
    assert (f"{config}: cannot open: Permission denied (user nobody may not read it: "
            f"it belongs to root, mode 600; chgrp nogroup {config} && chmod 0640 "
            f"{config})") in proc.stderr, proc.stderr


def test_a_staff_file_the_service_user_cannot_read_says_where_to_put_it(stack, sandbox):
    """The HR export in root's home, `sudo -u leernet leernet staff import
    staff.csv`: it said "staff.csv: Permission denied", nothing more."""
    base = sandbox.base
    config = stack.config(base, paths_templates=sandbox.templates)
    config.chmod(0o644)
    os.chown(base, 65534, 65534)
    assert sandbox.as_nobody(config, "init").returncode == 0
    home = base / "home"
    home.mkdir(mode=0o700)
    csv = home / "staff.csv"
    csv.write_text("email,name,school\nalice@school.test,Alice,De Regenboog\n")
    proc = sandbox.as_nobody(config, "staff", "import", str(csv))
    assert proc.returncode == 66, proc.stdout + proc.stderr
    assert (f"{csv}: Permission denied (user nobody may not enter {home}: it belongs "
            f"to root, mode 700): put the file where user nobody may read it "
            f"(install -m 0640 -g nogroup {csv} /var/lib/leernet/)") in proc.stderr, proc.stderr


def test_a_database_or_directory_made_by_root_is_named_with_its_owner(stack, sandbox):
    """check-config said "configuration OK" for a state directory the
    service cannot write (init then failed), and a database made by root
    was SQLite's "Permission denied" or "attempt to write a readonly
    database" (exit 70), without a word of whose it is or what to do."""
    base = sandbox.base
    state = base / "state"
    state.mkdir(mode=0o755)                     # root's
    config = stack.config(base, database_path=state / "leernet.db",
                          paths_templates=sandbox.templates)
    config.chmod(0o644)
    proc = sandbox.as_nobody(config, "check-config")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert "configuration OK" not in proc.stdout
    assert (f"database: {state}: the database's directory cannot be written by "
            "user nobody (it belongs to root, mode 755)") in proc.stderr, proc.stderr

    os.chown(state, 65534, 65534)
    sandbox.as_root(config, "init", check=True)      # root makes the database
    for mode in (0o640, 0o644):
        (state / "leernet.db").chmod(mode)
        for args in (("check-config",), ("once",), ("digest",)):
            proc = sandbox.as_nobody(config, *args)
            assert proc.returncode == EX_CONFIG, (args, proc.stdout + proc.stderr)
            assert (f"{state / 'leernet.db'}: cannot be written by user nobody "
                    f"(it belongs to root, mode {mode:o}): give it to the user the "
                    f"service runs as (chown nobody {state / 'leernet.db'})"
                    ) in proc.stderr, (args, proc.stderr)
    os.chown(state / "leernet.db", 65534, 65534)
    assert sandbox.as_nobody(config, "digest").returncode == 0

    # The pages' directory, made by root: publish exits 73, and so does
    # the check now, rather than "configuration OK".
    www = base / "www"
    www.mkdir(mode=0o755)
    config = stack.config(base, database_path=state / "leernet.db",
                          paths_templates=sandbox.templates, publish_dir=www / "lido")
    config.chmod(0o644)
    proc = sandbox.as_nobody(config, "check-config")
    assert proc.returncode == 73, proc.stdout + proc.stderr
    # Not "chown" the parent (/var/www is not leernet's): make the dir.
    assert (f"publish: {www}: user nobody cannot make [publish] dir {www / 'lido'} "
            f"there ({www} belongs to root): make it for the service user first "
            f"(install -d -o nobody -g nogroup {www / 'lido'})") in proc.stderr, proc.stderr
    os.chown(www, 65534, 65534)
    proc = sandbox.as_nobody(config, "check-config")
    assert f"publish {www / 'lido'}: OK" in proc.stdout, proc.stdout + proc.stderr


def test_a_database_path_that_is_a_directory_or_nowhere_is_named(stack, tmp_path, run_leernet):
    """`path = /var/lib/leernet` (the directory) was "/var/lib: the
    database's directory cannot be written …"; a directory that does not
    exist was told "start the service once (systemd makes it)", which
    systemd does only for its StateDirectory=."""
    state = tmp_path / "state"
    state.mkdir()
    config = stack.config(tmp_path, database_path=state)
    for args in (("init",), ("check-config",)):
        proc = run_leernet(config, *args, check=False)
        assert proc.returncode == EX_CONFIG, (args, proc.stdout + proc.stderr)
        assert (f"{state}: is a directory; [database] path names the database file, "
                f"e.g. {state}/leernet.db") in proc.stderr, (args, proc.stderr)
    config = stack.config(tmp_path, database_path=tmp_path / "nowhere" / "leernet.db")
    proc = run_leernet(config, "init", check=False)
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert f"the directory {tmp_path / 'nowhere'} does not exist" in proc.stderr, proc.stderr
    assert "systemd makes it" not in proc.stderr, proc.stderr


def test_a_file_size_limit_is_an_error_not_a_silent_death(stack, tmp_path):
    """ulimit -f (systemd LimitFSIZE=): SIGXFSZ killed leernet without a
    word; now the write fails and is reported like any disk error."""
    import resource
    config = stack.config(tmp_path)
    binary = os.environ.get("LEERNET_BIN") or str(REPO / "build" / "leernet")
    proc = subprocess.run(
        [binary, "-c", str(config), "init"], capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)))
    # SQLite says only "disk I/O error"; the cause is named, and a limit
    # someone must lift is a configuration matter (78: systemd stops
    # restarting), not a broken program (70).
    assert proc.returncode == 78, (proc.returncode, proc.stderr)
    assert (f"{tmp_path / 'leernet.db'}: migration to version 1 failed: disk I/O error "
            "(files may not grow beyond 64 KB here: ulimit -f, or LimitFSIZE= in the unit)"
            in proc.stderr), proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a file system")
def test_a_full_or_read_only_file_system_is_named(stack, run_leernet):
    """SQLite says "disk I/O error" or "unable to open database file" for
    both; the admin is told which, and a full disk is a temporary failure
    (75: systemd tries again), not a configuration error (78)."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="leernet-disk-"))
    mounted = False
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(base)],
                       check=True)
        mounted = True
        config = stack.config(base)
        run_leernet(config, "init")
        with open(base / "fill", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError:
                pass
        proc = run_leernet(config, "once", check=False)
        assert proc.returncode == 75, (proc.returncode, proc.stderr)
        assert "(the file system has less than 1 MB free)" in proc.stderr, proc.stderr
        (base / "fill").unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(base)], check=True)
        proc = run_leernet(config, "once", check=False)
        assert proc.returncode == 78, (proc.returncode, proc.stderr)
        assert (f"{base / 'leernet.db'}.lock: the file system is read-only here"
                in proc.stderr), proc.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(base)], check=False)
        base.rmdir()


def test_person_show_names_their_networks(cfg, run_leernet):
    """"What leernet knows of a person" (SPEC §2) includes their networks."""
    run_leernet(cfg, "network", "add", "taal", "--title", "Taal",
                "--lead", "lead@school.test")
    out = run_leernet(cfg, "person", "show", "lead@school.test").stdout
    assert "networks:  rekenen (lead, active), taal (lead, active)\n" in out, out
    run_leernet(cfg, "network", "add", "lezen", "--title", "Lezen",
                "--lead", "other@school.test")
    out = run_leernet(cfg, "person", "show", "lead@school.test").stdout
    assert "lezen" not in out, out


def test_network_add_checks_its_leads(stack, tmp_path, run_leernet):
    cfg = stack.config(tmp_path, organization_staff_only="yes")
    run_leernet(cfg, "init")
    (tmp_path / "staff.csv").write_text("email,name,school\n"
                                        "bob@school.test,Bob de Vries,De Regenboog\n")
    run_leernet(cfg, "staff", "import", str(tmp_path / "staff.csv"))
    for lead, why in (("bob", "not a mail address; write it as bob@school.nl"),
                      ("bob@other.test", "not in the allowed domains")):
        p = run_leernet(cfg, "network", "add", "x", "--title", "X", "--lead",
                        lead, check=False)
        assert p.returncode == 65 and why in p.stderr, (lead, p.stderr)
    # Not in the directory yet: added, with a warning (it may be imported
    # next), as leernet answers no mail from that lead until it is.
    p = run_leernet(cfg, "network", "add", "z", "--title", "Z", "--lead",
                    "carol@school.test")
    assert "warning: --lead carol@school.test is not in the staff directory" in p.stderr
    # Pasted from a mail, with the name: the address is taken.
    run_leernet(cfg, "network", "add", "x", "--title", "X", "--lead",
                "Bob de Vries <Bob@School.test>")
    out = run_leernet(cfg, "member", "list", "x", "--csv").stdout
    assert "bob@school.test,Bob de Vries,lead,active" in out, out
    # Copied from a sentence: the full stop is no part of the address.
    run_leernet(cfg, "network", "add", "w", "--title", "W", "--lead",
                " bob@school.test.")
    out = run_leernet(cfg, "member", "list", "w", "--csv").stdout
    assert "bob@school.test,Bob de Vries,lead,active" in out, out
    # A coordinator acts as lead of any network, staff directory or not.
    run_leernet(cfg, "network", "add", "y", "--title", "Y", "--lead",
                "femme@school.test")


def test_a_closed_networks_title_may_be_used_again(cfg, run_leernet):
    """Next school year's "Rekenen" after this year's was closed; mail that
    names the title finds the open one."""
    run_leernet(cfg, "network", "close", "rekenen")
    title = [r for r in run_leernet(cfg, "network", "list", "--csv").stdout.splitlines()
             if r.startswith("rekenen,")][0].split(",")[1]
    run_leernet(cfg, "network", "add", "rekenen-2027", "--title", title)
    rows = run_leernet(cfg, "network", "list", "--csv").stdout
    assert f"rekenen,{title},closed" in rows and f"rekenen-2027,{title},open" in rows
    # While it is open, not a third time.
    proc = leernet(run_leernet, cfg, "network", "add", "nog-een", "--title", title)
    assert proc.returncode == EX_DATAERR and "rekenen-2027" in proc.stderr


def test_network_close_twice_and_a_proposal(cfg, tmp_path, run_leernet):
    assert "closed" in run_leernet(cfg, "network", "close", "rekenen").stdout
    proc = run_leernet(cfg, "network", "close", "rekenen")
    assert proc.stdout == "network rekenen is already closed; nothing to do\n"
    run_leernet(cfg, "network", "add", "lezen", "--title", "Lezen")
    with sqlite3.connect(tmp_path / "leernet.db") as conn:
        conn.execute("UPDATE networks SET state = 'proposed' WHERE slug = 'lezen'")
    proc = leernet(run_leernet, cfg, "network", "close", "lezen")
    assert proc.returncode == EX_DATAERR
    assert "is a proposal, not open: a coordinator decides it by replying 'reject " \
           "REASON'" in proc.stderr
    assert ",proposed," in run_leernet(cfg, "network", "list", "--csv").stdout


def test_an_unknown_timezone_names_its_line(stack, tmp_path, run_leernet):
    """Every other config error names FILE:LINE; the zone, checked after
    the file was read, named only the file."""
    config = stack.config(tmp_path, organization_timezone="Europe/Amsterdm")
    lineno = next(i for i, line in enumerate(config.read_text().splitlines(), 1)
                  if line.startswith("timezone ="))
    proc = run_leernet(config, "network", "list", check=False)
    assert proc.returncode == 78, proc.stderr
    assert proc.stderr.startswith(
        f"leernet: {config}:{lineno}: [organization] timezone: "), proc.stderr


def test_a_database_directory_that_cannot_be_written_is_named(stack, sandbox):
    """SQLite says "unable to open database file"; the errno it kept
    (ENOENT of its read-only retry) named the wrong cause."""
    base = sandbox.base
    config = stack.config(base, database_path=base / "db" / "leernet.db")
    (base / "db").mkdir(mode=0o755)
    config.chmod(0o644)
    proc = sandbox.as_nobody(config, "init")
    assert proc.returncode == 78, proc.stderr
    assert (f"{base / 'db'}: the database's directory cannot be written by user "
            "nobody (it belongs to root, mode 755)") in proc.stderr, proc.stderr


def test_an_admin_without_sudo_is_not_told_to_take_the_files_from_the_service(
        stack, sandbox):
    """The service's files are another user's (here daemon:daemon stands in
    for leernet:leernet) and an admin runs leernet as themselves (nobody
    here), forgetting `sudo -u leernet`.  The advice named the admin as the
    service user: "chgrp nogroup leernet.conf" and "chown nobody" the
    database's directory, each of which takes the file from the service
    and stops it at its next start."""
    base = sandbox.base
    state = base / "state"
    state.mkdir(mode=0o750)
    config = stack.config(base, database_path=state / "leernet.db",
                          paths_templates=sandbox.templates)
    sandbox.as_root(config, "init", check=True)
    for f in (state, state / "leernet.db"):
        os.chown(f, 1, 1)
    os.chown(config, 0, 1)
    config.chmod(0o640)
    proc = sandbox.as_nobody(config, "network", "list")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert "chgrp nogroup" not in proc.stderr, proc.stderr
    assert ("group daemon, which may read it: run leernet as the service "
            "user, a member of that group, e.g. sudo -u daemon") in proc.stderr, proc.stderr

    config.chmod(0o644)
    proc = sandbox.as_nobody(config, "network", "list")
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    assert f"chown nobody {state})" not in proc.stderr, proc.stderr
    assert ("run leernet as its owner, the user the service runs as "
            "(sudo -u daemon)") in proc.stderr, proc.stderr
