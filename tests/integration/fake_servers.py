"""Small TCP servers on 127.0.0.1 for what Postfix and Dovecot will not do
on demand (a 454 at AUTH, NO [UNAVAILABLE] at LOGIN, dying in RFC 1047's
window): one thread per connection, each handled by session()."""

from __future__ import annotations

import socket
import threading


class FakeServer:
    """Greets with `greeting`, then answers each line with answer(line);
    None closes the connection.  Subclasses may replace session()."""

    def __init__(self, greeting: bytes = b"", answer=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.answer = greeting, answer
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.session(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def session(self, conn):
        conn.sendall(self.greeting)
        for line in conn.makefile("rb"):
            reply = self.answer(line)
            if reply is None:
                return
            conn.sendall(reply)

    def close(self):
        self.sock.close()
