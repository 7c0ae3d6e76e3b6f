"""The ``polyauth`` command-line tool: ``python -m polyauth`` and the ``polyauth`` console script.

Parsing, the commands, their output and the exit codes live in the Rust core (the same as
``npx polyauth``); this module only reads stdin (for ``hash`` and ``token ... -``) and fetches a
JWKS URL (``token verify --jwks https://...``) when the core asks for them. ``polyauth help``
lists the commands; the README's "Command-line tool" section documents them, ``--json`` and the
exit codes (0 ok, 1 refused, 2 usage or configuration error, 3 unavailable, 4 internal error).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence

from . import _native
from .errors import AuthError
from .tokens import RemoteKeySet


def _read_stdin(secret: bool, prompt: str) -> bytes:
    """All of stdin; on a terminal, a password is read without echo (``getpass``)."""
    stream = sys.stdin
    if stream is None:
        return b""
    if secret and stream.isatty():
        return getpass.getpass(prompt).encode("utf-8", "surrogateescape")
    return stream.buffer.read()


def _fetch(result: _native.CliResult) -> RemoteKeySet:
    """The RemoteKeySet the core asked for, after one fetch attempt (a failure is recorded in it
    and reported by the core)."""
    assert result.fetch_url is not None
    remote = RemoteKeySet(
        result.fetch_url, allow_insecure_http=result.allow_insecure_http, timeout=result.timeout
    )
    try:
        import httpx  # noqa: F401
    except ImportError:
        try:
            remote._fail("fetching a JWKS URL needs httpx (pip install httpx)")
        except AuthError:
            pass
        return remote
    try:
        remote.refresh_sync()
    except AuthError:
        pass
    return remote


def run(argv: Sequence[str]) -> _native.CliResult:
    """Runs the command line ``argv`` (without the program name) to completion, reading stdin
    and fetching a JWKS URL when needed; returns the finished result (``code``, ``stdout``,
    ``stderr``)."""
    args = list(argv)
    stdin: bytes | None = None
    remote: RemoteKeySet | None = None
    while True:
        result = _native.run_cli(args, stdin, remote)
        if result.need == "stdin" and stdin is None:
            stdin = _read_stdin(result.secret, result.prompt)
        elif result.need == "fetch" and remote is None:
            remote = _fetch(result)
        elif result.need is None:
            return result
        else:  # pragma: no cover - the core asks for each input once
            raise RuntimeError(f"polyauth CLI asked for {result.need} twice")


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: runs ``argv`` (default ``sys.argv[1:]``), writes the output and
    returns the exit code."""
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        return 130
    try:
        if result.stdout:
            sys.stdout.buffer.write(result.stdout.encode())
            sys.stdout.flush()
        if result.stderr:
            sys.stderr.buffer.write(result.stderr.encode())
            sys.stderr.flush()
    except BrokenPipeError:
        pass
    return result.code


if __name__ == "__main__":
    sys.exit(main())
