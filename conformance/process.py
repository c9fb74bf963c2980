"""An implementation under test, started by the suite from a shell command (--server-cmd,
--client-cmd): its output captured line by line, stopped by signalling its process group."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time


def expand(template: str, **values: str) -> str:
    """The command with {name} replaced by the shell-quoted value (other braces are left alone)."""
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", shlex.quote(v))
    return out


class Managed:
    """One shell command as a process group; stdout and stderr lines are kept (merged, in order)."""

    def __init__(self, command: str, env: dict[str, str] | None = None, label: str = "process") -> None:
        self.command = command
        self.label = label
        self.env = {**os.environ, **(env or {})}
        self.lines: list[str] = []
        self.stdout: list[str] = []
        self._lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "Managed":
        self.proc = subprocess.Popen(self.command, shell=True, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8", errors="replace", start_new_session=True)
        self.starts += 1
        self._readers = [threading.Thread(target=self._read, args=(stream, also), daemon=True)
                         for stream, also in ((self.proc.stdout, self.stdout), (self.proc.stderr, None))]
        for t in self._readers:
            t.start()
        return self

    def drain(self, timeout: float = 2.0) -> None:
        """After the process exited: wait (at most timeout) until its last output lines are read."""
        if self.proc is not None and self.proc.poll() is not None:
            for t in getattr(self, "_readers", []):
                t.join(timeout)

    def _read(self, stream, also) -> None:
        for line in stream:
            line = line.rstrip("\n")
            with self._lock:
                self.lines.append(line)
                if also is not None:
                    also.append(line)

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def line_count(self) -> int:
        with self._lock:
            return len(self.lines)

    def lines_since(self, n: int) -> list[str]:
        with self._lock:
            return self.lines[n:]

    def tail(self, n: int = 15) -> str:
        with self._lock:
            return "\n".join(self.lines[-n:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM to the group, then SIGKILL after grace seconds."""
        if self.proc is None:
            return None
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self.signal(signal.SIGKILL)
                self.wait(5)
        # the shell may be gone while a child lingers: make sure the whole group is
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        time.sleep(0)
        return self.proc.returncode
