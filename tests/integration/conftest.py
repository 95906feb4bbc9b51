"""Fixtures for the integration tests: a real Postfix + Dovecot per session
(and per test, when asked), and leernet run against it.

    stack         the session's stack, reset before each test: both servers up,
                  queue drained, the default users' mailboxes empty, logs marked
    fresh_stack   a stack of its own for one test (~1 s to start, ~0.5 s to stop)
    run_leernet   run_leernet(config, *args, check=True, timeout=60) -> CompletedProcess
    leernet       .run(config, *args, ...) as above; .start(config, "run") -> LeernetDaemon
                  (stopped at the end of the test)
    leernet_config  stack.config(tmp_path) for the shared stack

Default users (password "secret"): lido (the coordinator mailbox), alice,
bob, carol, lead, femme and donna (the coordinators), all @school.test.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailstack import (  # noqa: E402
    LeernetDaemon,
    MailStack,
    run_leernet as _run_leernet,
)


def _need_root():
    if os.geteuid() != 0:
        pytest.fail("the mail stack starts its own Postfix and Dovecot: run the "
                    "integration tests as root", pytrace=False)


@pytest.fixture(scope="session")
def _session_stack():
    _need_root()
    stack = MailStack.start_new()
    yield stack
    stack.stop()


@pytest.fixture
def stack(_session_stack, request):
    _session_stack.reset()
    request.node._mailstacks = [_session_stack]
    return _session_stack


@pytest.fixture
def fresh_stack(request):
    _need_root()
    stack = MailStack.start_new()
    request.node._mailstacks = getattr(request.node, "_mailstacks", []) + [stack]
    stack.mark_logs()
    yield stack
    stack.stop()


@pytest.fixture
def run_leernet():
    return _run_leernet


class _Leernet:
    def __init__(self):
        self.daemons = []

    run = staticmethod(_run_leernet)

    def start(self, config, *args, **kwargs) -> LeernetDaemon:
        daemon = LeernetDaemon(config, *args, **kwargs)
        self.daemons.append(daemon)
        return daemon

    def stop_all(self):
        for daemon in self.daemons:
            daemon.stop()


@pytest.fixture
def leernet():
    helper = _Leernet()
    yield helper
    helper.stop_all()


@pytest.fixture
def leernet_config(stack, tmp_path):
    return stack.config(tmp_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what Postfix and Dovecot logged during it."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for n, stack in enumerate(getattr(item, "_mailstacks", [])):
        name = f"mail stack {n} ({stack.dir})"
        try:
            report.sections.append((f"{name}: postfix log", stack.postfix_log()[-6000:]))
            report.sections.append((f"{name}: dovecot log", stack.dovecot_log()[-4000:]))
        except Exception as exc:  # the stack may be half gone
            report.sections.append((name, f"logs unavailable: {exc}"))
