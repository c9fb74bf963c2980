"""Errors that say where and why: every problem carries its JSON path, schema path,
the spec requirement it breaks, and a one-line reason."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def json_path(path: Sequence[str | int]) -> str:
    """('message', 0, 'id') -> '$.message[0].id' (JSONPath, as the spec's examples write it)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += "." + part
        else:
            out += "[" + repr(part) + "]"
    return out


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing wrong with a message."""

    path: tuple[str | int, ...]
    schema_path: tuple[str | int, ...]
    requirement: str | None
    reason: str

    @property
    def json_path(self) -> str:
        return json_path(self.path)

    def __str__(self) -> str:
        req = f" [{self.requirement}]" if self.requirement else ""
        return f"{self.json_path}: {self.reason}{req}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.json_path,
            "schema_path": "/".join(str(p) for p in self.schema_path),
            "requirement": self.requirement,
            "reason": self.reason,
        }


class ProtocolError(ValueError):
    """A body that is not a valid IMPlus message. `issues` lists every problem, most relevant first."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        if not issues:
            raise ValueError("ProtocolError needs at least one issue")
        self.issues: tuple[Issue, ...] = tuple(issues)
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(str(self.issues[0]) + more)

    @property
    def requirement(self) -> str | None:
        return self.issues[0].requirement


class CryptoError(ValueError):
    """A key, plaintext or ciphertext that the IMPlus encryption scheme refuses."""

    def __init__(self, reason: str, requirement: str | None = None) -> None:
        self.reason = reason
        self.requirement = requirement
        super().__init__(reason + (f" [{requirement}]" if requirement else ""))


def short(value: object, limit: int = 60) -> str:
    """repr of a value, cut so an error line stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'" + f" ({len(text)} chars)"


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a wrapped transport error (pika nests them), e.g. 'connection refused (ConnectionRefusedError)'.

    For the transports at the edges: the one-line reason an operator reads.
    """
    for _ in range(5):
        inner = getattr(exc, "exception", None)  # pika's connector errors wrap the socket error here
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror.lower()} ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def redact_url(url: str) -> str:
    """The URL without its password, for logs and error lines."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url
