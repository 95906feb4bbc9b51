"""An administrator edits the mail texts (templates/README.md) and makes a
slip: `{{nonexistent_var}}` in nl/help.txt.  check-config names the file
and fails; the teacher who asks for help still gets the answer, written
from the shipped copy, and the log says which file to fix.
"""

import os
import shutil
from pathlib import Path

from mailstack import COORDINATOR

EX_CONFIG = 78

REPO = Path(os.environ.get("LEERNET_SRC") or Path(__file__).resolve().parents[2])
# The repository's templates stand in for the installed ones
# (LEERNET_DATADIR/templates, what `make install` copies).
SHIPPED = {"LEERNET_DATADIR": str(REPO)}


def edited_templates(tmp_path):
    """The shipped texts copied for editing, with help.txt broken."""
    mine = tmp_path / "mijn-teksten"
    shutil.copytree(REPO / "templates", mine)
    help_txt = mine / "nl" / "help.txt"
    help_txt.write_text(help_txt.read_text().replace(
        "Subject: Hulp: zo werkt {{org}} leernetwerken",
        "Subject: Hulp van {{nonexistent_var}}", 1))
    return mine


def test_a_broken_help_text_is_named_and_the_teacher_still_gets_help(
        stack, tmp_path, run_leernet):
    mine = edited_templates(tmp_path)
    broken = mine / "nl" / "help.txt"
    config = stack.config(tmp_path, paths_templates=str(mine))
    run_leernet(config, "init")

    check = run_leernet(config, "check-config", check=False, env=SHIPPED)
    assert check.returncode == EX_CONFIG, check.stdout + check.stderr
    assert (f"templates: {broken}: line 1: unknown variable 'nonexistent_var' "
            f"(help.txt can use: ") in check.stderr, check.stderr
    assert f"templates {mine}: 1 problem;" in check.stderr, check.stderr
    assert "configuration OK" not in check.stdout

    stack.send("alice", COORDINATOR, subject="hulp")
    stack.wait_for(COORDINATOR, 1, timeout=30)
    once = run_leernet(config, "once", env=SHIPPED)

    [answer] = stack.wait_for("alice", 1, timeout=30)
    assert answer["Subject"] == "Hulp: zo werkt Stichting Test leernetwerken"
    assert "Je stuurt een opdracht" in answer.get_body(
        preferencelist=("plain",)).get_content()
    warnings = [line for line in once.stderr.splitlines()
                if f"{broken}: line 1: unknown variable 'nonexistent_var'" in line]
    assert len(warnings) == 1, once.stderr
    assert "warning" in warnings[0] and str(REPO / "templates") in warnings[0]
    # Handled, not left in the inbox to fail again.
    assert stack.inbox(COORDINATOR) == []


def test_the_shipped_texts_pass_and_a_fixed_copy_passes_again(
        stack, tmp_path, run_leernet):
    mine = edited_templates(tmp_path)
    (mine / "nl" / "help.txt").write_text(
        (REPO / "templates" / "nl" / "help.txt").read_text())
    config = stack.config(tmp_path, paths_templates=str(mine))
    run_leernet(config, "init")
    check = run_leernet(config, "check-config", check=False, env=SHIPPED)
    assert f"templates {mine}: OK (names checked against {REPO}/templates)" \
        in check.stdout, check.stdout + check.stderr
    assert "templates" not in check.stderr, check.stderr


def test_a_copy_from_before_an_upgrade_passes_with_a_note_per_missing_case(
        stack, tmp_path, run_leernet):
    """An admin's copy made before a release added a case (close-done's list
    of held meetings without attendance) is no error: leernet writes what
    the copy says.  But check-config names what it leaves out, so the
    upgrade does not lose the case silently."""
    mine = tmp_path / "mijn-teksten"
    shutil.copytree(REPO / "templates", mine)
    close_done = mine / "nl" / "close-done.txt"
    text = close_done.read_text()
    start = text.index("{{#unrecorded}}")
    end = text.index("{{/unrecorded}}") + len("{{/unrecorded}}")
    close_done.write_text(text[:start] + text[end:])
    config = stack.config(tmp_path, paths_templates=str(mine))
    run_leernet(config, "init")

    check = run_leernet(config, "check-config", check=False, env=SHIPPED)
    assert check.returncode == 0, check.stdout + check.stderr
    notes = [line for line in check.stdout.splitlines()
             if line.startswith("templates: note: ")]
    assert notes == [
        f"templates: note: {close_done}: the shipped copy "
        f"{REPO}/templates/nl/close-done.txt has {{{{#unrecorded}}}}, "
        "{{#held}}, this one not: a case it writes for is left out "
        "(copy the part from there if that was not meant)"], check.stdout
    assert "configuration OK" in check.stdout


def test_a_reload_with_a_broken_text_keeps_the_running_texts(stack, tmp_path, leernet):
    """SIGHUP after a slip: the daemon says what is wrong and goes on with
    the texts it had, edited ones included; fixed, the next reload takes
    the edit."""
    import signal

    mine = tmp_path / "mijn-teksten"
    shutil.copytree(REPO / "templates", mine)
    help_txt = mine / "nl" / "help.txt"
    original = help_txt.read_text()
    help_txt.write_text(original.replace(
        "Subject: Hulp: zo werkt {{org}} leernetwerken",
        "Subject: Hulp (eigen tekst) van {{org}}", 1))
    config = stack.config(tmp_path, paths_templates=str(mine))
    leernet.run(config, "init")
    daemon = leernet.start(config, "run", env=SHIPPED)
    daemon.wait_log(r"watching ", timeout=20)

    help_txt.write_text(original.replace(
        "Subject: Hulp: zo werkt {{org}} leernetwerken",
        "Subject: Hulp van {{nonexistent_var}}", 1))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"reload: templates: .*help.txt: line 1: unknown variable "
                    r"'nonexistent_var'", timeout=10)
    daemon.wait_log(r"keeping the running configuration and templates", timeout=10)
    stack.send("alice", COORDINATOR, subject="hulp")
    [answer] = stack.wait_for("alice", 1, timeout=30)
    assert answer["Subject"] == "Hulp (eigen tekst) van Stichting Test"

    help_txt.write_text(original.replace(
        "Subject: Hulp: zo werkt {{org}} leernetwerken",
        "Subject: Hulp, opnieuw bewerkt", 1))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"configuration and templates reloaded", timeout=10)
    stack.send("bob", COORDINATOR, subject="hulp")
    [answer] = stack.wait_for("bob", 1, timeout=30)
    assert answer["Subject"] == "Hulp, opnieuw bewerkt"


def test_a_broken_text_at_start_is_not_called_a_reload(stack, tmp_path, leernet):
    """The ops audit: at start the log said "reload: templates: …", and
    not where the shipped copies it falls back to are."""
    mine = edited_templates(tmp_path)
    config = stack.config(tmp_path, paths_templates=str(mine))
    leernet.run(config, "init")
    daemon = leernet.start(config, "run", env=SHIPPED)
    daemon.wait_log(r"watching ", timeout=20)
    log = daemon.log()
    assert "help.txt" in log and "reload:" not in log, log
    assert f"written from the shipped copies in {REPO}/templates" in log, log
