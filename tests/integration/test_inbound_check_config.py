"""`leernet check-config` against the real stack (SPEC §2: "validate the
config and reach both servers; say exactly what is wrong"), and the IMAP
certificate check: the stack's own certificate (for localhost and
127.0.0.1) passes; another CA, another name, an expired or self-signed
certificate are refused with a line that says which.

Certificates the stack does not have are made here (python3-cryptography)
and served by a small TLS listener that speaks just enough IMAP to greet.
"""

import datetime
import socket
import ssl

import pytest

from fake_servers import FakeServer
from inbound_util import prepare, sanitizer_clean

cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

EX_UNAVAILABLE = 69
EX_CONFIG = 78


def conf(stack, tmp_path, **overrides):
    """check-config needs no database schema: a config is enough."""
    return stack.config(tmp_path, **overrides)


def check_config(run_leernet, config):
    proc = run_leernet(config, "check-config", check=False, timeout=60)
    assert sanitizer_clean(proc.stdout + proc.stderr), proc.stdout + proc.stderr
    return proc


def mailbox_line(proc) -> str:
    # OK lines are on stdout, problems on stderr.
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith("mailbox")]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return lines[0]


def test_ok_against_the_stack(stack, run_leernet, tmp_path):
    config = conf(stack, tmp_path)
    proc = check_config(run_leernet, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mailbox_line(proc) == \
        f"mailbox imap://127.0.0.1:{stack.imap_port}/INBOX: OK"
    assert f"smtp smtp://127.0.0.1:{stack.smtp_port}: OK" in proc.stdout


def test_wrong_password(stack, run_leernet, tmp_path):
    config = conf(stack, tmp_path, mailbox_password="fout")
    proc = check_config(run_leernet, config)
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    line = mailbox_line(proc)
    assert f"imap 127.0.0.1:{stack.imap_port}: login failed for lido@school.test" in line
    assert "fout" not in proc.stdout + proc.stderr     # never the secret


def test_unreachable_port(stack, run_leernet, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = conf(stack, tmp_path, mailbox_url=f"imap://127.0.0.1:{port}/INBOX")
    proc = check_config(run_leernet, config)
    assert proc.returncode == EX_UNAVAILABLE, proc.stdout + proc.stderr
    assert f"imap 127.0.0.1:{port}: cannot connect" in mailbox_line(proc)


def test_tls_with_the_stack_ca(stack, run_leernet, tmp_path):
    config = conf(stack, tmp_path, **stack.tls_overrides())
    proc = check_config(run_leernet, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mailbox_line(proc).endswith(": OK")
    assert f"smtp smtp://localhost:{stack.submission_port}: OK" in proc.stdout


@pytest.mark.parametrize("url", ["imaps://127.0.0.1:{imaps}/INBOX",
                                 "imap://localhost:{imap}/INBOX"])
def test_tls_ip_name_and_starttls(stack, run_leernet, tmp_path, url):
    """The certificate's IP address entry counts; STARTTLS is checked too."""
    url = url.format(imaps=stack.imaps_port, imap=stack.imap_port)
    config = conf(stack, tmp_path, mailbox_url=url, mailbox_tls="required",
                     mailbox_ca_file=stack.ca_file)
    proc = check_config(run_leernet, config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert mailbox_line(proc).endswith(": OK")


# --- certificates the stack does not have ----------------------------------

def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn="Other Test CA"):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_leaf(ca_cert, ca_key, names, days=(-1, 30)):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(names[0]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def stack_ca(stack):
    from pathlib import Path
    pem = Path(stack.ca_file).read_bytes()
    key = (Path(stack.ca_file).parent / "ca.key").read_bytes()
    return (x509.load_pem_x509_certificate(pem),
            serialization.load_pem_private_key(key, password=None))


def write_pem(path, cert, key=None):
    data = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    path.write_bytes(data)
    return path


class TlsGreeter(FakeServer):
    """imaps on 127.0.0.1: TLS with the given certificate, then an IMAP
    greeting and BYE to anything.  Enough to be refused or not."""

    def __init__(self, pem_path):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pem_path)
        self.handshakes = 0
        self.received = b""
        super().__init__()

    def session(self, conn):
        conn.settimeout(10)
        # A failed handshake is an OSError (ssl.SSLError), ended by the base.
        with self.ctx.wrap_socket(conn, server_side=True) as tls:
            self.handshakes += 1
            tls.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
            while data := tls.recv(4096):
                self.received += data
                tls.sendall(b"* BYE test\r\n")


@pytest.fixture
def greeter(tmp_path):
    made = []

    def start(cert, key, ca=None):
        pem = write_pem(tmp_path / f"srv{len(made)}.pem", cert, key)
        if ca is not None:   # send the chain like a real server
            pem.write_bytes(pem.read_bytes() + ca.public_bytes(serialization.Encoding.PEM))
        g = TlsGreeter(pem)
        made.append(g)
        return g
    yield start
    for g in made:
        g.close()


def refused(run_leernet, stack, tmp_path, port, ca_file, host="localhost"):
    config = conf(stack, tmp_path, mailbox_url=f"imaps://{host}:{port}/INBOX",
                     mailbox_tls="required", mailbox_ca_file=ca_file)
    proc = check_config(run_leernet, config)
    assert proc.returncode == EX_CONFIG, proc.stdout + proc.stderr
    return mailbox_line(proc)


def test_another_ca_is_refused(stack, run_leernet, tmp_path):
    other, _ = make_ca()
    ca_file = write_pem(tmp_path / "other-ca.pem", other)
    line = refused(run_leernet, stack, tmp_path, stack.imaps_port, ca_file)
    assert line.endswith(f"imap localhost:{stack.imaps_port}: certificate not "
                         f"trusted: issuer unknown (fix the server certificate or [mailbox] ca_file)"), line


def test_another_name_is_refused(stack, run_leernet, tmp_path, greeter):
    ca, ca_key = stack_ca(stack)
    g = greeter(*make_leaf(ca, ca_key, ["elders.school.test"]), ca=ca)
    line = refused(run_leernet, stack, tmp_path, g.port, stack.ca_file)
    assert line.endswith("certificate not trusted: name does not match (fix the server certificate or [mailbox] ca_file)"), line
    assert g.handshakes >= 1
    # Not a word to a server that failed the check (not even LOGOUT).
    assert g.received == b"", g.received


def test_a_name_resolving_to_the_stack_but_not_in_its_certificate(stack, run_leernet,
                                                                  tmp_path):
    """The real Dovecot, reached by this machine's own name (when that
    resolves to 127.0.0.1): its certificate names only localhost/127.0.0.1."""
    other = socket.gethostname()
    try:
        usable = other not in ("localhost", "") and \
            socket.gethostbyname(other) == "127.0.0.1"
    except OSError:
        usable = False
    if not usable:
        pytest.skip("this machine's name does not resolve to 127.0.0.1")
    line = refused(run_leernet, stack, tmp_path, stack.imaps_port, stack.ca_file,
                   host=other)
    assert line.endswith("certificate not trusted: name does not match (fix the server certificate or [mailbox] ca_file)"), line


def test_expired_certificate_is_refused(stack, run_leernet, tmp_path, greeter):
    ca, ca_key = stack_ca(stack)
    g = greeter(*make_leaf(ca, ca_key, ["localhost"], days=(-30, -1)), ca=ca)
    line = refused(run_leernet, stack, tmp_path, g.port, stack.ca_file)
    assert line.endswith("certificate not trusted: expired (fix the server certificate or [mailbox] ca_file)"), line


def test_self_signed_certificate_is_refused(stack, run_leernet, tmp_path, greeter):
    ca, ca_key = make_ca("localhost")
    g = greeter(*make_leaf(ca, ca_key, ["localhost"]))
    line = refused(run_leernet, stack, tmp_path, g.port, stack.ca_file)
    assert line.endswith("certificate not trusted: issuer unknown (fix the server certificate or [mailbox] ca_file)"), line


def test_daemon_keeps_refusing_a_bad_certificate(stack, leernet, tmp_path, greeter):
    """`run` does not give up on a certificate error, nor accept it later:
    it keeps saying why, with backoff."""
    ca, ca_key = stack_ca(stack)
    g = greeter(*make_leaf(ca, ca_key, ["elders.school.test"]), ca=ca)
    config = prepare(stack, tmp_path, mailbox_url=f"imaps://localhost:{g.port}/INBOX",
                     mailbox_tls="required", mailbox_ca_file=stack.ca_file)
    daemon = leernet.start(config, "run")
    daemon.wait_log(r"name does not match \(fix the server certificate or \[mailbox\] ca_file\); "
                    r"trying again in 2s", timeout=15)
    assert "watching" not in daemon.log()
    assert g.received == b"", g.received
    assert daemon.stop() == 0
    assert sanitizer_clean(daemon.log()), daemon.log()
