"""A scripted IMAP peer for one libetpan bug, and nothing else.

libetpan 1.9.4 (Debian 12) hangs in mailimap_idle() when an untagged line
comes before "+ idling" (libetpan#393, LIBRARIES.md §6).  Dovecot rarely
does that on cue, so this peer does it on purpose.  It is no stand-in for
Dovecot: it answers just the commands a session makes up to IDLE (LOGIN,
CAPABILITY, LIST, SELECT, UID SEARCH, NOOP, IDLE, DONE, LOGOUT), with an
empty mailbox, and plays a scripted IDLE.

    peer = FakeIdlePeer(idle=[("line", "* 3 EXISTS"), ("cont",)])
    peer.start(); ...; peer.stop()
    peer.port, peer.commands (every command line received, tags stripped)

The idle script is a list of steps played after the client sends IDLE:
    ("cont",)          send "+ idling"
    ("line", TEXT)     send TEXT (an untagged line)
    ("sleep", SECS)
    ("close",)         drop the connection
    ("refuse",)        answer the IDLE with a tagged BAD
After the script the peer waits for DONE and answers it.  `idle_scripts`
may instead give one script per IDLE command, in order (the last repeats).
"""

from __future__ import annotations

import socket
import threading
import time

CAPS = "IMAP4rev1 LITERAL+ IDLE MOVE UIDPLUS"


class FakeIdlePeer:
    def __init__(self, idle=None, idle_scripts=None, caps: str = CAPS):
        self.idle_scripts = idle_scripts or [idle or [("cont",)]]
        self.caps = caps
        self.commands: list[str] = []
        self.idles = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stopping = False
        self.errors: list[str] = []

    def start(self) -> "FakeIdlePeer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- the session -----------------------------------------------------

    def _serve(self) -> None:
        self.sock.settimeout(0.1)  # close() wakes no accept(): look at stopping
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            try:
                self._session(conn)
            except (OSError, ValueError) as exc:
                if not self.stopping:
                    self.errors.append(repr(exc))
            finally:
                conn.close()

    def _session(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")

        def send(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        send(f"* OK [CAPABILITY {self.caps}] fake peer ready")
        while True:
            raw = rfile.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            verb, _, args = rest.partition(" ")
            verb = verb.upper()
            if verb == "UID":
                sub, _, args = args.partition(" ")
                verb = "UID " + sub.upper()
            self.commands.append(verb + (" " + args if args and verb != "LOGIN" else ""))
            if verb == "LOGIN":
                send(f"{tag} OK [CAPABILITY {self.caps}] Logged in")
            elif verb == "CAPABILITY":
                send(f"* CAPABILITY {self.caps}")
                send(f"{tag} OK Capability completed")
            elif verb == "LIST":
                if args.endswith('""'):
                    send('* LIST (\\Noselect) "." ""')
                else:
                    name = args.split(" ", 1)[1]
                    send(f'* LIST (\\HasNoChildren) "." {name}')
                send(f"{tag} OK List completed")
            elif verb == "SELECT":
                send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
                send("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted")
                send("* 0 EXISTS")
                send("* 0 RECENT")
                send("* OK [UIDVALIDITY 42] UIDs valid")
                send("* OK [UIDNEXT 1] Predicted next UID")
                send(f"{tag} OK [READ-WRITE] Select completed")
            elif verb == "UID SEARCH":
                send("* SEARCH")
                send(f"{tag} OK Search completed")
            elif verb == "NOOP":
                send(f"{tag} OK NOOP completed")
            elif verb == "LOGOUT":
                send("* BYE Logging out")
                send(f"{tag} OK Logout completed")
                return
            elif verb == "IDLE":
                script = self.idle_scripts[min(self.idles, len(self.idle_scripts) - 1)]
                self.idles += 1
                if not self._idle(conn, rfile, send, tag, script):
                    return
            else:
                send(f"{tag} BAD not in this script")

    def _idle(self, conn, rfile, send, tag: str, script) -> bool:
        for step in script:
            if step[0] == "cont":
                send("+ idling")
            elif step[0] == "line":
                send(step[1])
            elif step[0] == "sleep":
                time.sleep(step[1])
            elif step[0] == "close":
                conn.shutdown(socket.SHUT_RDWR)
                return False
            elif step[0] == "refuse":
                send(f"{tag} BAD IDLE not now")
                return True
        done = rfile.readline()
        if not done:
            return False
        self.commands.append(done.decode(errors="replace").strip().upper())
        send(f"{tag} OK Idle completed")
        return True
