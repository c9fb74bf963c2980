"""The interactive client: a prompt for commands, incoming messages printed as they come.

Threads: the Session (pika) lives in a worker thread that only pumps the connection; the
main thread reads the terminal. The main thread hands sends and queries to the worker with
Session.submit, so the connection is only ever touched by one thread.

When stdin is a terminal, input goes through readline and an incoming line never garbles
the line being typed: the input line is cleared, the message printed, then the prompt and
the partial input are drawn again.
"""
from __future__ import annotations

import re
import signal
import threading
from typing import Any, TextIO

from .session import ClientError, Peer, Session, printable


PROMPT = "> "
HELP = """commands:
  cl | client_list     list the online users (id and name)
  <id> <text>          send text to the user with that id
  <text>               send text to the last id used
  <id>                 make that id the one plain lines go to
  quit | exit          leave (Ctrl-D and Ctrl-C leave too)"""
_ADDRESSED = re.compile(r"^(\d+)(?:\s+(.*))?$", re.DOTALL)
CALL_TIMEOUT = 30.0


class Terminal:
    def __init__(self, session: Session, *, stdin: TextIO, stdout: TextIO, stderr: TextIO,
                 answer_timeout: float = 10.0) -> None:
        self.session = session
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.tty = stdin.isatty() and stdout.isatty()
        self.readline: Any = None
        if self.tty:
            import readline  # only on a terminal: importing it may write escape codes

            self.readline = readline
        # With the pre-input hook, `reading` turns on once the prompt is on screen, not before.
        self._hooked = bool(self.readline) and hasattr(self.readline, "set_pre_input_hook")
        if self._hooked:
            self.readline.set_pre_input_hook(self._start_reading)
        self.answer_timeout = answer_timeout
        self.lock = threading.Lock()
        self.reading = False
        self.last_id: int | None = None
        self.stopping = threading.Event()
        self.fatal: ClientError | None = None
        self.worker: threading.Thread | None = None
        self.main_thread = threading.get_ident()
        session.on_list = self._on_list
        session.on_message = self._on_message
        session.on_warning = lambda text: self.show("warning: " + printable(text), self.stderr)

    def _start_reading(self) -> None:
        with self.lock:
            self.reading = True

    # -- output -------------------------------------------------------------------------------
    def show(self, line: str, stream: TextIO | None = None) -> None:
        """Print one line without garbling the input being typed."""
        stream = stream or self.stdout
        with self.lock:
            redraw = self.tty and self.reading
            if redraw:
                self.stdout.write("\r\x1b[K")  # back to column 0, clear the input line
                self.stdout.flush()
            stream.write(line + "\n")
            stream.flush()
            if redraw:
                self.stdout.write(PROMPT + self.readline.get_line_buffer())
                self.stdout.flush()

    def _on_message(self, name: str, from_id: int, text: str) -> None:
        self.show(f"from {printable(name)}: {printable(text)}")

    def _on_list(self, peers: dict[int, Peer], came: list[Peer], left: list[Peer]) -> None:
        s = self.session
        if s.lists_seen == 1:
            others = len([p for p in peers if p != s.own_id])
            me = f" [{s.own_id}]" if s.own_id is not None else ""
            self.show(f"* you are online as {printable(s.config.name)}{me}; {others} other user"
                      f"{'' if others == 1 else 's'} online (cl lists them)")
            return
        for p in came:
            self.show(f"* {p} came online")
        for p in left:
            self.show(f"* {p} went offline")
            if p.id == self.last_id:
                self.show(f"* plain lines have no recipient until you pick one (<id> <text>)")

    # -- the worker thread --------------------------------------------------------------------
    def _work(self, ready: threading.Event, failure: list[ClientError]) -> None:
        s = self.session
        try:
            s.open()
            s.go_online()
            self.show(f"* connected to exchange {s.config.exchange}; type help for the commands")
        except ClientError as exc:
            failure.append(exc)
            ready.set()
            s.close()
            return
        try:
            # Commands refer to the client list: read the first one before taking commands.
            if not s.wait_for(lambda: s.lists_seen > 0 or self.stopping.is_set(), self.answer_timeout):
                self.show(f"warning: no server answered on exchange {s.config.exchange} "
                          f"within {self.answer_timeout:g} s", self.stderr)
            ready.set()
            while not self.stopping.is_set():
                s.pump(0.2)
        except ClientError as exc:
            self.fatal = exc
            if ready.is_set() and not self.stopping.is_set():
                signal.pthread_kill(self.main_thread, signal.SIGINT)  # wake the prompt
        finally:
            ready.set()
            s.close()

    def _call(self, fn: Any, *args: Any) -> Any:
        if self.fatal is not None or self.worker is None or not self.worker.is_alive():
            raise ClientError(str(self.fatal or "the connection to the broker is gone"))
        return self.session.submit(fn, *args).result(timeout=CALL_TIMEOUT)

    # -- commands -----------------------------------------------------------------------------
    def command(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        line = line.strip()
        if not line:
            return True
        word = line.lower()
        if word in ("quit", "exit"):
            return False
        if word in ("cl", "client_list"):
            self._list()
            return True
        if word in ("help", "?"):
            self.show(HELP)
            return True
        m = _ADDRESSED.match(line)
        if m:
            peer_id, text = int(m.group(1)), m.group(2)
            if not text:
                peer = self._call(self.session.peer, peer_id)
                self.last_id = peer.id
                self.show(f"* plain lines now go to {peer}")
                return True
        elif self.last_id is None:
            raise ClientError("no recipient yet: start with <id> <text> (cl lists the ids)")
        else:
            peer_id, text = self.last_id, line
        self._call(self.session.send, peer_id, text)
        self.last_id = peer_id
        return True

    def _list(self) -> None:
        peers, own = self._call(lambda: (dict(self.session.peers), self.session.own_id))
        if not peers:
            self.show("* nobody is online (no client list from a server yet)")
            return
        lines = [f"{'id':>6}  name"]
        for pid, p in sorted(peers.items()):
            lines.append(f"{pid:>6}  {printable(p.name)}{'  (you)' if pid == own else ''}")
        self.show("\n".join(lines))

    def _read(self) -> str | None:
        """One input line, or None at end of input."""
        if self.tty:
            if not self._hooked:
                with self.lock:
                    self.reading = True
            try:
                return input(PROMPT)
            except EOFError:
                self.stdout.write("\n")
                return None
            finally:
                with self.lock:
                    self.reading = False
        line = self.stdin.readline()
        return line.rstrip("\n") if line else None

    # -- the whole session --------------------------------------------------------------------
    def run(self) -> int:
        ready = threading.Event()
        failure: list[ClientError] = []
        self.worker = threading.Thread(target=self._work, args=(ready, failure), name="implus-amqp", daemon=True)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self.worker.start()
            try:
                ready.wait()
                if failure:
                    self.worker.join(timeout=10)
                    print(f"implus-client: {failure[0]}", file=self.stderr)
                    return 1
                while self.fatal is None:
                    line = self._read()
                    if line is None:
                        break
                    try:
                        if not self.command(line):
                            break
                    except ClientError as exc:
                        self.show(f"error: {exc}", self.stderr)
            except KeyboardInterrupt:
                if self.tty:
                    self.stdout.write("\n")
            self.stopping.set()
            try:
                self.session.connection.add_callback_threadsafe(lambda: None)  # wake the worker
            except Exception:  # the connection is already gone
                pass
            self.worker.join(timeout=15)
            if self.fatal is not None:
                print(f"implus-client: {self.fatal}", file=self.stderr)
                return 1
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
