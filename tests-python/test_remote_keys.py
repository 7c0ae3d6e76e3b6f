"""RemoteKeySet: a JWKS served by a local HTTP server the test controls (body, status, delay) and
counts requests on. Covers first-use fetching, caching, unknown-kid refetch with its cooldown,
keeping the last good keys on failure, timeouts, and the verify-only rules; and the hardening of
JWT-15: https only unless opted out, the size cap enforced while streaming, one total deadline, the
cooldown floor, max_stale, no redirects even with a caller's client, one error code
(jwks_unavailable) and no credentials in repr or messages. The local servers are plain HTTP, so
they are used with allow_insecure_http=True.

The core's clock has one-second resolution, so a cooldown of N seconds lasts between N-1 and N
seconds of wall time: the cooldown tests use 2 s (so two calls a few milliseconds apart are always
inside it) and sleep 2.1 s to get past it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
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
        # path -> handler writing its own response (streams, drips, redirects).
        self.special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.auth: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server.lock:
                    server.requests += 1
                    server.paths.append(self.path)
                    server.auth.append(self.headers.get("authorization"))
                    body, status, delay = server.body, server.status, server.delay
                    special = server.special.get(self.path)
                if special is not None:
                    special(self)
                    return
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
        return self.url_for("/.well-known/jwks.json")

    def url_for(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

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
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cooldown=1)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    assert server.count() == 1
    time.sleep(1.1)  # past the (minimum) cooldown of the first fetch
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cooldown=2)
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cache_ttl=1, cooldown=1)
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cooldown=1)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    time.sleep(1.1)
    server.serve_body(body, status)
    issuer_keys.rotate()
    new = issuer(issuer_keys).issue("user-2")
    await expect_code("unknown_key", t.verify_async(new))
    assert server.count() == 2
    assert remote.keys is not None and len(remote.keys) == 1
    assert (await t.verify_async(old))["sub"] == "user-1"
    assert t.verify(old)["sub"] == "user-1"
    # An explicit refresh reports the failure as jwks_unavailable, and still keeps the keys.
    with pytest.raises(polyauth.JwksUnavailableError) as info:
        await remote.refresh()
    assert info.value.code == "jwks_unavailable"
    assert body.decode() == "" or body.decode() not in str(info.value), "the body is never quoted"
    with pytest.raises(polyauth.JwksUnavailableError):
        remote.refresh_sync()
    assert t.verify(old)["sub"] == "user-1"


async def test_concurrent_first_use_waits_for_the_fetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    server.delay = 0.2
    t = verifier(RemoteKeySet(server.url, allow_insecure_http=True))
    token = issuer(issuer_keys).issue("user-1")
    results = await asyncio.gather(*(t.verify_async(token) for _ in range(5)), return_exceptions=True)
    assert server.count() == 1
    assert all(isinstance(r, dict) for r in results), results


async def test_concurrent_unknown_kid_waits_for_the_refetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    t = verifier(RemoteKeySet(server.url, allow_insecure_http=True, cooldown=2))
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
    await remote.refresh()
    assert remote.keys is not None
    assert remote.keys.kids == issuer_keys.kids
    await expect_code("unknown_key", verifier(remote).verify_async(issuer(other).issue("u")))


async def test_timeout_keeps_old_keys(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cooldown=1, timeout=0.3)
    assert remote.timeout == pytest.approx(0.3)
    t = verifier(remote)
    old = issuer(issuer_keys).issue("user-1")
    assert (await t.verify_async(old))["sub"] == "user-1"
    time.sleep(1.1)
    issuer_keys.rotate()
    server.serve(issuer_keys)
    server.delay = 2.0
    new = issuer(issuer_keys).issue("user-2")
    await expect_code("unknown_key", t.verify_async(new))
    assert server.count() == 2
    assert t.verify(old)["sub"] == "user-1"
    with pytest.raises(polyauth.JwksUnavailableError, match="timed out"):
        await remote.refresh()
    with pytest.raises(polyauth.JwksUnavailableError, match="timed out"):
        remote.refresh_sync()


async def test_timeout_on_first_use_is_jwks_unavailable(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    server.delay = 2.0
    remote = RemoteKeySet(server.url, allow_insecure_http=True, timeout=0.3)
    t = verifier(remote)
    await expect_code("jwks_unavailable", t.verify_async(issuer(issuer_keys).issue("u")))


async def test_refresh_sync(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
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
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
    t = verifier(remote)
    token = issuer(issuer_keys).issue("user-1")
    assert t.verify_fetching(token)["sub"] == "user-1"
    assert t.verify_fetching(token)["sub"] == "user-1"
    assert server.count() == 1


async def test_verify_async_options(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    t = verifier(RemoteKeySet(server.url, allow_insecure_http=True))
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
    assert remote.max_stale == 86400


def test_verify_before_any_fetch_is_unknown_key(issuer_keys: KeySet) -> None:
    t = verifier(RemoteKeySet("http://127.0.0.1:9/jwks.json", allow_insecure_http=True))
    with pytest.raises(polyauth.AuthError) as info:
        t.verify(issuer(issuer_keys).issue("user-1"))
    assert info.value.code == "unknown_key"


def test_verify_before_any_fetch_does_not_fetch(server: JwksServer, issuer_keys: KeySet) -> None:
    # Whatever the code, the synchronous verify never does I/O.
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
    with pytest.raises(polyauth.AuthError):
        verifier(remote).verify(issuer(issuer_keys).issue("user-1"))
    assert server.count() == 0
    assert remote.keys is None


# --- JWT-15 hardening -------------------------------------------------------------------------


class Stream:
    """A special route body: records how many bytes it sent and when the client went away."""

    def __init__(self) -> None:
        self.sent = 0
        self.done = threading.Event()

    def endless(self, declared: int | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
        """Up to 200 MiB of JSON-ish padding, without or with a (huge) Content-Length."""

        def handle(h: BaseHTTPRequestHandler) -> None:
            chunk = b" " * 65536
            try:
                h.send_response(200)
                h.send_header("content-type", "application/json")
                if declared is not None:
                    h.send_header("content-length", str(declared))
                h.end_headers()
                h.wfile.write(b'{"keys": [], "pad": "')
                while self.sent < 200 * 1024 * 1024:
                    h.wfile.write(chunk)
                    self.sent += len(chunk)
            except OSError:
                pass
            finally:
                self.done.set()

        return handle

    def drip(self, interval: float = 0.05, limit: int = 400) -> Callable[[BaseHTTPRequestHandler], None]:
        """Headers at once, then one byte every `interval` seconds (up to `limit` bytes)."""

        def handle(h: BaseHTTPRequestHandler) -> None:
            try:
                h.send_response(200)
                h.send_header("content-type", "application/json")
                h.end_headers()
                h.wfile.write(b'{"keys": [')
                while self.sent < limit:
                    time.sleep(interval)
                    h.wfile.write(b" ")
                    self.sent += 1
            except OSError:
                pass
            finally:
                self.done.set()

        return handle

    def drip_headers(
        self, interval: float = 0.05, limit: int = 400
    ) -> Callable[[BaseHTTPRequestHandler], None]:
        """The status line, then one byte of a header every `interval` seconds."""

        def handle(h: BaseHTTPRequestHandler) -> None:
            try:
                h.wfile.write(b"HTTP/1.1 200 OK\r\nx-pad: ")
                while self.sent < limit:
                    time.sleep(interval)
                    h.wfile.write(b"a")
                    self.sent += 1
            except OSError:
                pass
            finally:
                self.done.set()

        return handle


def redirect_to(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("location", location)
        h.send_header("content-length", "0")
        h.end_headers()

    return handle


def test_http_needs_the_opt_in() -> None:
    with pytest.raises(polyauth.InvalidConfigError, match="https"):
        RemoteKeySet("http://127.0.0.1:8080/jwks.json")
    with pytest.raises(polyauth.InvalidConfigError):
        RemoteKeySet("http://issuer.example/jwks.json", cooldown=30)
    RemoteKeySet("http://127.0.0.1:8080/jwks.json", allow_insecure_http=True)
    RemoteKeySet("https://issuer.example/jwks.json")


@pytest.mark.parametrize("cooldown", [0])
def test_cooldown_floor(cooldown: int) -> None:
    with pytest.raises(polyauth.InvalidConfigError, match="cooldown"):
        RemoteKeySet("https://issuer.example/jwks", cooldown=cooldown)
    RemoteKeySet("https://issuer.example/jwks", cooldown=1)


def test_max_stale_below_cache_ttl_refused() -> None:
    with pytest.raises(polyauth.InvalidConfigError, match="max_stale"):
        RemoteKeySet("https://issuer.example/jwks", cache_ttl=300, max_stale=299)


async def test_burst_of_forged_kids_shares_one_fetch(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cooldown=1)
    t = verifier(remote)
    assert (await t.verify_async(issuer(issuer_keys).issue("u")))["sub"] == "u"
    time.sleep(1.1)
    server.delay = 0.2
    forged = [issuer(KeySet.generate("EdDSA", kid=f"forged-{i}")).issue("evil") for i in range(50)]
    results = await asyncio.gather(*(t.verify_async(f) for f in forged), return_exceptions=True)
    assert all(isinstance(r, polyauth.UnknownKeyError) for r in results), results[:3]
    assert server.count() == 2, "50 forged kids at once: one refetch"


async def test_huge_body_is_cut_off_while_reading(server: JwksServer) -> None:
    for sync in (False, True):
        stream = Stream()
        path = f"/endless-{sync}.json"
        server.special[path] = stream.endless()
        remote = RemoteKeySet(server.url_for(path), allow_insecure_http=True, timeout=10)
        with pytest.raises(polyauth.JwksUnavailableError, match="size limit"):
            if sync:
                remote.refresh_sync()
            else:
                await remote.refresh()
        assert stream.done.wait(20), "the server saw the connection closed"
        # The client stopped after 512 KiB; what the server got out is that plus socket buffers.
        assert stream.sent < 32 * 1024 * 1024, stream.sent
        assert remote.keys is None


async def test_oversized_content_length_is_refused_up_front(server: JwksServer) -> None:
    for sync in (False, True):
        stream = Stream()
        path = f"/declared-{sync}.json"
        server.special[path] = stream.endless(declared=200 * 1024 * 1024)
        remote = RemoteKeySet(server.url_for(path), allow_insecure_http=True, timeout=10)
        with pytest.raises(polyauth.JwksUnavailableError, match="size limit"):
            if sync:
                remote.refresh_sync()
            else:
                await remote.refresh()
        assert stream.done.wait(20)
        assert stream.sent < 32 * 1024 * 1024, stream.sent


async def test_dripping_server_is_bounded_by_the_total_deadline(server: JwksServer) -> None:
    # One byte every 50 ms keeps every single read well inside the timeout (0.5 s); only a total
    # deadline stops the fetch. Without one the client reads all 400 bytes (20 s).
    for sync in (False, True):
        stream = Stream()
        path = f"/drip-{sync}.json"
        server.special[path] = stream.drip()
        remote = RemoteKeySet(server.url_for(path), allow_insecure_http=True, timeout=0.5)
        with pytest.raises(polyauth.JwksUnavailableError, match="timed out"):
            if sync:
                remote.refresh_sync()
            else:
                await remote.refresh()
        assert stream.done.wait(30)
        assert stream.sent < 100, f"the server dripped {stream.sent} bytes before the client left"


async def test_dripping_headers_are_bounded_by_the_total_deadline(server: JwksServer) -> None:
    # The blocking path too: per-read timeouts alone would wait for every header byte.
    for mode in ("async", "sync", "sync-client"):
        stream = Stream()
        path = f"/drip-headers-{mode}.json"
        server.special[path] = stream.drip_headers()
        remote = RemoteKeySet(server.url_for(path), allow_insecure_http=True, timeout=0.5)
        with pytest.raises(polyauth.JwksUnavailableError, match="timed out"):
            if mode == "async":
                await remote.refresh()
            elif mode == "sync":
                remote.refresh_sync()
            else:
                with httpx.Client(timeout=0.5) as client:
                    remote.refresh_sync(client=client)
        if mode != "sync-client":  # that request is abandoned, and ends at the client's close
            assert stream.done.wait(30)
            assert stream.sent < 100, f"{mode}: the server dripped {stream.sent} bytes"


async def test_drip_on_first_use_is_jwks_unavailable(server: JwksServer, issuer_keys: KeySet) -> None:
    stream = Stream()
    server.special["/drip-first.json"] = stream.drip()
    remote = RemoteKeySet(server.url_for("/drip-first.json"), allow_insecure_http=True, timeout=0.5)
    await expect_code("jwks_unavailable", verifier(remote).verify_async(issuer(issuer_keys).issue("u")))
    assert stream.done.wait(30)
    assert stream.sent < 100


async def test_redirect_not_followed_even_by_a_following_client(
    server: JwksServer, issuer_keys: KeySet
) -> None:
    server.serve(issuer_keys)
    server.special["/moved.json"] = redirect_to(server.url)
    remote = RemoteKeySet(server.url_for("/moved.json"), allow_insecure_http=True)
    async with httpx.AsyncClient(follow_redirects=True) as aclient:
        with pytest.raises(polyauth.JwksUnavailableError, match="redirect"):
            await remote.refresh(client=aclient)
    with httpx.Client(follow_redirects=True) as client:
        with pytest.raises(polyauth.JwksUnavailableError, match="redirect"):
            remote.refresh_sync(client=client)
    with pytest.raises(polyauth.JwksUnavailableError, match="redirect"):
        await remote.refresh()
    assert server.paths == ["/moved.json"] * 3, "the target was never requested"
    assert remote.keys is None


async def test_connection_refused_is_jwks_unavailable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    remote = RemoteKeySet(f"http://127.0.0.1:{port}/jwks.json", allow_insecure_http=True)
    with pytest.raises(polyauth.JwksUnavailableError, match="connection failed"):
        await remote.refresh()
    with pytest.raises(polyauth.JwksUnavailableError, match="connection failed"):
        remote.refresh_sync()


def test_jwks_unavailable_error_class() -> None:
    assert polyauth.JwksUnavailableError.code == "jwks_unavailable"
    assert issubclass(polyauth.JwksUnavailableError, polyauth.AuthError)
    assert "jwks_unavailable" in polyauth.error_codes()


async def test_max_stale_stops_old_keys(server: JwksServer, issuer_keys: KeySet) -> None:
    server.serve(issuer_keys)
    remote = RemoteKeySet(server.url, allow_insecure_http=True, cache_ttl=300, max_stale=600)
    t = verifier(remote)
    await remote.refresh()
    now = int(time.time())
    token = issuer(issuer_keys).issue("u", ttl=86400)
    # The verify clock is injectable: keys fetched at most 1 s before `now`.
    assert t.verify(token, now=now + 590)["sub"] == "u"
    with pytest.raises(polyauth.JwksUnavailableError):
        t.verify(token, now=now + 700)
    # The default is 24 h.
    default = RemoteKeySet(server.url, allow_insecure_http=True)
    await default.refresh()
    t = verifier(default)
    assert t.verify(token, now=now + 86400 - 10)["sub"] == "u"
    with pytest.raises(polyauth.JwksUnavailableError):
        t.verify(token, now=now + 86400 + 10)


async def test_failed_first_fetch_then_verify_is_jwks_unavailable(
    server: JwksServer, issuer_keys: KeySet
) -> None:
    server.serve_body(b"down", 503)
    remote = RemoteKeySet(server.url, allow_insecure_http=True)
    with pytest.raises(polyauth.JwksUnavailableError, match="HTTP 503"):
        await remote.refresh()
    with pytest.raises(polyauth.JwksUnavailableError):
        verifier(remote).verify(issuer(issuer_keys).issue("u"))


async def test_credentials_in_the_url_are_redacted(server: JwksServer, issuer_keys: KeySet) -> None:
    remote = RemoteKeySet("https://alice:s3cret@issuer.example/jwks?api_key=k3y")
    assert repr(remote) == 'RemoteKeySet("https://***@issuer.example/jwks?***")'
    assert remote.url == "https://alice:s3cret@issuer.example/jwks?api_key=k3y"
    # They are sent (as Basic auth) but appear in no error message, nor in the exception chain.
    server.serve_body(b"nope", 401)
    url = server.url.replace("http://", "http://alice:s3cret@")
    remote = RemoteKeySet(url, allow_insecure_http=True)
    assert "s3cret" not in repr(remote) and "alice" not in repr(remote)
    for sync in (False, True):
        with pytest.raises(polyauth.JwksUnavailableError) as info:
            if sync:
                remote.refresh_sync()
            else:
                await remote.refresh()
        import traceback

        text = "".join(traceback.format_exception(info.value))
        assert "s3cret" not in text and "HTTP 401" in str(info.value), text
    assert server.auth[-1] is not None and server.auth[-1].startswith("Basic ")
    # A connection failure (the httpx exception would name the URL) does not chain it either.
    remote = RemoteKeySet("http://alice:s3cret@127.0.0.1:9/jwks.json", allow_insecure_http=True)
    with pytest.raises(polyauth.JwksUnavailableError) as info:
        await remote.refresh()
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("declared", ["99999999999999999999999999", "12x", "\u00b2"])
async def test_absurd_content_length_is_jwks_unavailable(server: JwksServer, declared: str) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("content-length", declared)
        h.end_headers()

    server.special["/absurd.json"] = handle
    remote = RemoteKeySet(server.url_for("/absurd.json"), allow_insecure_http=True)
    with pytest.raises(polyauth.JwksUnavailableError):
        await remote.refresh()
    with pytest.raises(polyauth.JwksUnavailableError):
        remote.refresh_sync()
