"""RemoteKeySet: a JWKS served by a local HTTP server the test controls (body, status, delay) and
counts requests on. Covers first-use fetching, caching, unknown-kid refetch with its cooldown,
keeping the last good keys on failure, timeouts, and the verify-only rules.

The core's clock has one-second resolution, so a cooldown of N seconds lasts between N-1 and N
seconds of wall time: the cooldown tests use 2 s (so two calls a few milliseconds apart are always
inside it) and sleep 2.1 s to get past it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import polyauth
from polyauth import KeySet, RemoteKeySet, Tokens

ISSUER = "https://issuer.example"
AUDIENCE = "api"


class JwksServer:
    """Serves `body` with `status` after `delay` seconds; counts GET requests."""

    def __init__(self) -> None:
        self.body = b'{"keys": []}'
        self.status = 200
        self.delay = 0.0
        self.requests = 0
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server.lock:
                    server.requests += 1
                    server.paths.append(self.path)
                    body, status, delay = server.body, server.status, server.delay
                if delay:
                    server.release.wait(delay)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/.well-known/jwks.json"

    def serve(self, keys: KeySet) -> None:
        self.serve_body(json.dumps(keys.to_jwks()).encode())

    def serve_body(self, body: bytes, status: int = 200) -> None:
        with self.lock:
            self.body, self.status = body, status

    def count(self) -> int:
        with self.lock:
            return self.requests


@pytest.fixture
def server() -> Iterator[JwksServer]:
    s = JwksServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.release.set()
        s.httpd.shutdown()
        s.httpd.server_close()
        s.thread.join(timeout=5)


@pytest.fixture
def issuer_keys() -> KeySet:
    return KeySet.generate("EdDSA")


def issuer(keys: KeySet) -> Tokens:
    return Tokens(keys, issuer=ISSUER, audience=AUDIENCE)


def verifier(remote: RemoteKeySet) -> Tokens:
    return Tokens(remote, issuer=ISSUER, audience=AUDIENCE)


async def expect_code(code: str, awaitable: Any) -> polyauth.AuthError:
    with pytest.raises(polyauth.AuthError) as info:
        await awaitable
    assert info.value.code == code, f"{info.value!r}"
    return info.value


async def test_fetches_on_first_use_then_caches(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url)
    assert remote.url == server.url
    assert remote.keys is None
    t = verifier(remote)
    assert t.keys is remote
    token = issuer(issuer_keys).issue("user-1", {"scope": "read"})
    assert server.count() == 0
    claims = await t.verify_async(token)
    assert claims["sub"] == "user-1" and claims["scope"] == "read"
    assert server.count() == 1
    assert server.paths == ["/.well-known/jwks.json"]
    assert remote.keys is not None
    assert remote.keys.kids == issuer_keys.kids
    assert remote.keys.signing_kid is None
    # Cached: neither another verify_async nor a second token with the same kid fetch again.
    assert (await t.verify_async(token))["sub"] == "user-1"
    assert (await t.verify_async(issuer(issuer_keys).issue("user-2")))["sub"] == "user-2"
    assert t.verify(token)["sub"] == "user-1"
    assert server.count() == 1


async def test_unknown_kid_triggers_exactly_one_refetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, cooldown=0)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    assert server.count() == 1
    new_kid = issuer_keys.rotate()
    server.serve(issuer_keys)
    new = issuer(issuer_keys).issue("user-2")
    assert (await t.verify_async(new))["sub"] == "user-2"
    assert server.count() == 2
    assert remote.keys is not None and new_kid in remote.keys.kids
    # Both kids are known now: no further requests.
    assert (await t.verify_async(new))["sub"] == "user-2"
    assert (await t.verify_async(old))["sub"] == "user-1"
    assert server.count() == 2


async def test_unknown_kid_cooldown(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, cooldown=2)
    t = verifier(remote)
    assert (await t.verify_async(issuer(issuer_keys).issue("u")))["sub"] == "u"
    assert server.count() == 1
    time.sleep(2.1)
    # Past the cooldown: an unknown kid refetches (the server does not know it either).
    stranger = issuer(KeySet.generate("EdDSA")).issue("u")
    await expect_code("unknown_key", t.verify_async(stranger))
    assert server.count() == 2
    # Inside the cooldown: another unknown kid does not refetch, even though the server has it.
    issuer_keys.rotate()
    server.serve(issuer_keys)
    rotated = issuer(issuer_keys).issue("u")
    await expect_code("unknown_key", t.verify_async(rotated))
    await expect_code("unknown_key", t.verify_async(stranger))
    assert server.count() == 2
    # After the cooldown it refetches and the rotated key verifies.
    time.sleep(2.1)
    assert (await t.verify_async(rotated))["sub"] == "u"
    assert server.count() == 3


async def test_stale_cache_refetches_and_survives_outage(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, cache_ttl=1, cooldown=0)
    t = verifier(remote)
    token = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(token))["sub"] == "user-1"
    assert server.count() == 1
    time.sleep(1.1)
    # The cache is stale: the next verification refetches even though the kid is known.
    assert (await t.verify_async(token))["sub"] == "user-1"
    assert server.count() == 2
    # The issuer goes down: stale keys are still used rather than failing every token.
    server.serve_body(b"down", 502)
    time.sleep(1.1)
    assert (await t.verify_async(token))["sub"] == "user-1"
    assert server.count() == 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"internal error", 500),
        (b'{"keys": []}', 503),
        (b"<html>not json</html>", 200),
        (b'{"keys": "nope"}', 200),
        (b'{"keys": []}', 200),
        (b"", 200),
    ],
    ids=["500", "503-json", "not-json", "keys-not-a-list", "no-keys", "empty"],
)
async def test_failed_refresh_keeps_old_keys(
    server: JwksServer, issuer_keys: KeySet, body: bytes, status: int
) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, cooldown=0)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    server.serve_body(body, status)
    issuer_keys.rotate()
    new = issuer(issuer_keys).issue("user-2")
    await expect_code("unknown_key", t.verify_async(new))
    assert server.count() == 2
    assert remote.keys is not None and len(remote.keys) == 1
    assert (await t.verify_async(old))["sub"] == "user-1"
    assert t.verify(old)["sub"] == "user-1"
    # An explicit refresh reports the failure, and still keeps the keys.
    with pytest.raises((httpx.HTTPError, polyauth.AuthError)):
        await remote.refresh()
    with pytest.raises((httpx.HTTPError, polyauth.AuthError)):
        remote.refresh_sync()
    assert t.verify(old)["sub"] == "user-1"


async def test_concurrent_first_use_waits_for_the_fetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    server.delay = 0.2
    t = verifier(RemoteKeySet(server.url))
    token = issuer(issuer_keys).issue("user-1")
    results = await asyncio.gather(*(t.verify_async(token) for _ in range(5)), return_exceptions=True)
    assert server.count() == 1
    assert all(isinstance(r, dict) for r in results), results


async def test_concurrent_unknown_kid_waits_for_the_refetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    t = verifier(RemoteKeySet(server.url, cooldown=2))
    assert (await t.verify_async(issuer(issuer_keys).issue("u")))["sub"] == "u"
    time.sleep(2.1)
    issuer_keys.rotate()
    server.serve(issuer_keys)
    server.delay = 0.2
    token = issuer(issuer_keys).issue("user-2")
    results = await asyncio.gather(*(t.verify_async(token) for _ in range(5)), return_exceptions=True)
    assert server.count() == 2
    assert all(isinstance(r, dict) for r in results), results


async def test_refetch_skips_unusable_keys(server: JwksServer, issuer_keys: KeySet) -> None:
    other = KeySet.generate("ES256")
    jwks = {
        "keys": [
            {"kty": "EC", "crv": "P-256", "use": "enc", "x": "AA", "y": "AA"},
            other.to_jwks(private=True)["keys"][0],
            {"kty": "oct", "alg": "HS256", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI", "kid": "h"},
            *issuer_keys.to_jwks()["keys"],
        ]
    }
    server.serve_body(json.dumps(jwks).encode())
    remote = RemoteKeySet(server.url)
    await remote.refresh()
    assert remote.keys is not None
    assert remote.keys.kids == issuer_keys.kids
    await expect_code("unknown_key", verifier(remote).verify_async(issuer(other).issue("u")))


async def test_timeout_keeps_old_keys(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, cooldown=0, timeout=0.3)
    assert remote.timeout == pytest.approx(0.3)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    issuer_keys.rotate()
    server.serve(issuer_keys)
    server.delay = 2.0
    new = issuer(issuer_keys).issue("user-2")
    await expect_code("unknown_key", t.verify_async(new))
    assert server.count() == 2
    assert t.verify(old)["sub"] == "user-1"
    with pytest.raises(httpx.TimeoutException):
        await remote.refresh()


async def test_timeout_on_first_use_is_unknown_key(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    server.delay = 2.0
    remote = RemoteKeySet(server.url, timeout=0.3)
    t = verifier(remote)
    await expect_code("unknown_key", t.verify_async(issuer(issuer_keys).issue("u")))


async def test_refresh_sync(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url)
    remote.refresh_sync()
    assert server.count() == 1
    assert remote.keys is not None and remote.keys.kids == issuer_keys.kids
    token = issuer(issuer_keys).issue("user-1")
    assert verifier(remote).verify(token)["sub"] == "user-1"
    # A refresh within the cache lifetime is explicit: it always fetches.
    remote.refresh_sync()
    assert server.count() == 2
    with httpx.Client() as client:
        remote.refresh_sync(client=client)
    async with httpx.AsyncClient() as aclient:
        await remote.refresh(client=aclient)
    assert server.count() == 4


async def test_verify_fetching(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url)
    t = verifier(remote)
    token = issuer(issuer_keys).issue("user-1")
    assert t.verify_fetching(token)["sub"] == "user-1"
    assert t.verify_fetching(token)["sub"] == "user-1"
    assert server.count() == 1


async def test_verify_async_options(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    t = verifier(RemoteKeySet(server.url))
    token = issuer(issuer_keys).issue("user-1")
    exp = (await t.verify_async(token))["exp"]
    await expect_code("invalid_audience", t.verify_async(token, audience="other"))
    await expect_code("invalid_type", t.verify_async(token, typ="refresh+jwt"))
    await expect_code("missing_claim", t.verify_async(token, required=("sub", "sid")))
    await expect_code("token_expired", t.verify_async(token, now=exp + 3600))
    assert (await t.verify_async(token, typ=None, audience=["x", "api"]))["sub"] == "user-1"
    assert server.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/jwks.json",
        "file:///etc/passwd",
        "jwks.json",
        "/jwks.json",
        "https://",
        "http:///jwks",
        "https:// example.com/jwks",
        "javascript:alert(1)",
        "HTTPS//example.com",
        "",
    ],
)
def test_non_http_urls_refused(url: str) -> None:
    with pytest.raises(polyauth.InvalidConfigError) as info:
        RemoteKeySet(url)
    assert info.value.code == "invalid_config"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), 61])
def test_bad_timeout_refused(timeout: float) -> None:
    with pytest.raises(polyauth.InvalidConfigError):
        RemoteKeySet("https://issuer.example/jwks", timeout=timeout)


def test_remote_cannot_issue() -> None:
    t = verifier(RemoteKeySet("https://issuer.example/.well-known/jwks.json"))
    with pytest.raises(polyauth.AuthError) as info:
        t.issue("user-1")
    assert info.value.code == "invalid_config"


def test_repr_and_url() -> None:
    remote = RemoteKeySet("https://issuer.example/jwks")
    assert remote.url == "https://issuer.example/jwks"
    assert repr(remote) == 'RemoteKeySet("https://issuer.example/jwks")'


def test_verify_before_any_fetch_is_unknown_key(issuer_keys: KeySet) -> None:
    t = verifier(RemoteKeySet("http://127.0.0.1:9/jwks.json"))
    with pytest.raises(polyauth.AuthError) as info:
        t.verify(issuer(issuer_keys).issue("user-1"))
    assert info.value.code == "unknown_key"


def test_verify_before_any_fetch_does_not_fetch(server: JwksServer, issuer_keys: KeySet) -> None:
    # Whatever the code, the synchronous verify never does I/O.
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url)
    with pytest.raises(polyauth.AuthError):
        verifier(remote).verify(issuer(issuer_keys).issue("user-1"))
    assert server.count() == 0
    assert remote.keys is None
