"""Type stubs of the compiled ``polyauth._native`` module (checked by stubtest in test_errors.py)."""

import builtins
import os
from collections.abc import Awaitable, Sequence
from typing import Any, NoReturn

from typing_extensions import Self, disjoint_base, final

from polyauth.signin import AccountSource, SignInMfaRequired, SignInOk

__version__: str
BUILTIN_BLOCKLIST_SIZE: int

def error_codes() -> list[str]:
    """The stable error codes, in the order of the core enum."""

def option_defaults() -> dict[str, dict[str, Any]]:
    """Every option default of the core, by type (or ``Type.method``) and option name: the
    defaults this stub shows, checked against it by the test suite."""

def _debug_panic() -> None:
    """Panics inside Rust; raises ``InternalError`` (used by tests)."""

def _debug_panic_async() -> Awaitable[None]:
    """Work that panics on the polyauth runtime; awaiting it raises ``InternalError`` (used by
    tests)."""

@final
class PasswordPolicy:
    """NIST SP 800-63B password policy."""

    def __new__(
        cls,
        min_length: int = 15,
        max_length: int = 128,
        *,
        min_length_mfa: int = 8,
        blocklist: Sequence[str] | None = None,
        context_words: Sequence[str] | None = None,
        use_builtin_blocklist: bool = True,
    ) -> Self: ...
    def check(self, password: str | bytes, context: Sequence[str] = ..., mfa: bool = False) -> list[str]:
        """Reason codes why ``password`` fails (empty when it passes)."""
    def validate(self, password: str | bytes, context: Sequence[str] = ..., mfa: bool = False) -> None:
        """Raises ``PasswordPolicyError`` (with ``.reasons``) when ``password`` fails."""
    @property
    def min_length(self) -> int: ...
    @property
    def min_length_mfa(self) -> int: ...
    @property
    def max_length(self) -> int: ...

@final
class PasswordHasher:
    """Argon2id password hasher; ``InvalidConfigError`` below the OWASP table (m=47104/t=1,
    m=19456/t=2, m=12288/t=3, m=9216/t=4, m=7168/t>=5)."""

    def __new__(
        cls,
        time_cost: int = 2,
        memory_kib: int = 19456,
        parallelism: int = 1,
        pepper: str | bytes | None = None,
        policy: PasswordPolicy | None = None,
        *,
        max_memory_kib: int = 262144,
    ) -> Self: ...
    def hash(self, password: str | bytes) -> str:
        """argon2id PHC string of the NFKC-normalised password (GIL released)."""
    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        """True when the password matches; raises ``InvalidHashError`` for a malformed hash or one
        over the bounds (a legacy hash above the argon2 work budget, before any work)."""
    def needs_rehash(self, hash: str | bytes) -> bool:
        """True when ``hash`` is legacy or has other parameters than this hasher's (always for an
        argon2 hash below the OWASP table)."""
    def verify_and_update(self, hash: str | bytes, password: str | bytes) -> tuple[bool, str | None]:
        """``(valid, new_hash)``; ``new_hash`` replaces a weak or legacy hash."""
    def dummy_verify(self) -> None:
        """Spends the time of one verification (for unknown users)."""
    def hash_async(self, password: str | bytes) -> Awaitable[str]:
        """Awaitable ``hash`` on the bounded hashing pool."""
    def verify_async(self, hash: str | bytes, password: str | bytes) -> Awaitable[bool]:
        """Awaitable ``verify`` on the bounded hashing pool."""
    def verify_and_update_async(
        self, hash: str | bytes, password: str | bytes
    ) -> Awaitable[tuple[bool, str | None]]:
        """Awaitable ``verify_and_update``."""
    def dummy_verify_async(self) -> Awaitable[None]:
        """Awaitable ``dummy_verify``."""
    @staticmethod
    def engine_info() -> dict[str, str]:
        """The argon2 engine, the kernel it runs on this CPU and the CPU features behind it."""
    @property
    def time_cost(self) -> int: ...
    @property
    def memory_kib(self) -> int: ...
    @property
    def parallelism(self) -> int: ...
    @property
    def max_memory_kib(self) -> int: ...
    @property
    def policy(self) -> PasswordPolicy: ...

@final
class KeySet:
    """A set of signing/verification keys, parsed once. Clones share state: ``rotate`` is seen by
    every ``Tokens`` built on the set."""

    @staticmethod
    def generate(alg: str = "EdDSA", *, kid: str | None = None) -> KeySet:
        """A set with one new key: EdDSA (default), ES256/384/512, PS256/384/512, HS256/384/512.

        RS256/384/512 keys are not generated (``UnsupportedAlgorithmError``); the kid defaults to
        the key's RFC 7638 SHA-256 thumbprint, or 128 random bits for HMAC keys (a thumbprint of a
        secret would let token holders test guesses offline).
        """
    @staticmethod
    def from_jwks(jwks: str | bytes | dict[str, Any], *, alg: str | None = None) -> KeySet:
        """A set from a JWKS or a single JWK, as JSON text or a dict. ``alg`` fills in keys without
        one. Weak, malformed, mixed (public with private) or duplicate-kid sets raise
        ``InvalidKeyError``."""
    @staticmethod
    def from_pem(pem: str | bytes, *, alg: str | None = None, kid: str | None = None) -> KeySet:
        """A set from one PEM key: PKCS#8 private or SPKI public. RSA keys need ``alg``."""
    @staticmethod
    def from_secret(secret: str | bytes, *, alg: str = "HS256", kid: str | None = None) -> KeySet:
        """A set with one HMAC key; the secret must be at least the hash size (32 bytes for HS256)
        and must not be key text (a PEM block, an OpenSSH public key, a JWK or JWKS), which raises
        ``InvalidKeyError``. The kid defaults to 128 random bits (base64url), so services that
        share the secret must pass the same ``kid``."""
    @staticmethod
    def load(
        *, path: str | os.PathLike[str] | None = None, env: str | None = None, alg: str | None = None
    ) -> KeySet:
        """Loads JWKS or PEM from ``path``, or from the environment variable ``env`` (or the file
        named by ``{env}_FILE``, the Docker secrets convention). Raises ``InvalidConfigError`` when
        neither is available."""
    def to_jwks(self, *, private: bool = False) -> dict[str, Any]:
        """The JWKS as a dict: public keys only (HMAC keys omitted) unless ``private=True``."""
    def to_pem(self, kid: str | None = None, *, private: bool = False) -> str:
        """One key as PEM (the signing key unless ``kid``): SPKI, or PKCS#8 with ``private=True``."""
    def rotate(self, alg: str | None = None) -> str:
        """Adds a new signing key (same algorithm unless ``alg``); old keys stay to verify. Returns
        its kid."""
    def retire(self, kid: str) -> None:
        """Removes a verify-only key (``InvalidConfigError`` for the signing key)."""
    def verify_jws(self, token: str, *, max_size: int = 8192) -> tuple[dict[str, Any], bytes]:
        """Verifies a compact JWS against the set; returns ``(header, payload)``: the protected
        header as a dict (check its ``typ`` when more than one kind of JWS is signed with these
        keys) and the payload bytes. No claim is checked."""
    @property
    def signing_kid(self) -> str | None:
        """The kid of the key that signs (None for a verify-only set)."""
    @property
    def kids(self) -> list[str]:
        """Every kid in the set, the signing key first."""
    def __len__(self) -> int:
        """The number of keys in the set."""

@disjoint_base
class RemoteKeySet:
    """A JWKS URL with caching (see ``polyauth.RemoteKeySet`` for fetching)."""

    def __new__(
        cls,
        url: str,
        *,
        cache_ttl: int = 300,
        cooldown: int = 30,
        timeout: float = 5.0,
        max_stale: int = 86400,
        allow_insecure_http: bool = False,
    ) -> Self:
        """A remote key set for an ``https`` JWKS URL (``http`` only with ``allow_insecure_http``,
        for local development); ``cooldown`` >= 1 s and ``max_stale`` >= ``cache_ttl``
        (``InvalidConfigError`` otherwise)."""
    @property
    def url(self) -> str:
        """The JWKS URL as configured (credentials included: ``repr`` redacts them)."""
    @property
    def timeout(self) -> float:
        """Deadline of one whole fetch, in seconds."""
    @property
    def max_stale(self) -> int:
        """Seconds after the last successful fetch during which the cached keys still verify."""
    @property
    def keys(self) -> KeySet | None:
        """The cached keys, or None before the first successful fetch."""
    @property
    def _max_bytes(self) -> int:
        """Largest JWKS body read, in bytes."""
    def _begin_fetch(self, kid: str | None = None) -> bool:
        """Records a fetch attempt when one is due (first use, stale, unknown kid past the cooldown)."""
    def _check_length(self, declared: int) -> None:
        """Raises ``JwksUnavailableError`` when a declared Content-Length is over the size cap."""
    def _fail(self, reason: str) -> NoReturn:
        """Records a failed fetch and raises ``JwksUnavailableError`` with the short ``reason``."""
    def _complete(self, body: bytes) -> None:
        """Takes a fetched JWKS body; raises ``JwksUnavailableError`` (keeping the previous keys)
        when it is unusable."""

@disjoint_base
class Tokens:
    """Issues and verifies access tokens (compact JWS, RFC 9068 claims, ``typ: at+jwt``)."""

    def __new__(
        cls,
        keys: KeySet | RemoteKeySet,
        *,
        issuer: str,
        audience: str | Sequence[str],
        access_ttl: int = 900,
        leeway: int = 30,
        max_token_size: int = 8192,
        allow_rsa_pkcs1_signing: bool = False,
        verify_cache: int = 10_000,
        require_typ: bool = True,
    ) -> Self:
        """Tokens for ``issuer`` and ``audience`` signed/verified with ``keys``. ``verify_cache``
        is how many verified tokens are remembered, so that presenting one again skips its
        signature check (every other check still runs); 0 turns the cache off.
        ``require_typ=False`` accepts tokens without a ``typ`` header (issuers that set none, such
        as Better Auth's JWT plugin); a ``typ`` that is present must still match."""
    def issue(self, subject: str, claims: dict[str, Any] | None = None, *, ttl: int | None = None) -> str:
        """Issues an access token for ``subject``; ``claims`` adds application claims (``sid``,
        ``scope``, ``amr``, roles, ...); ``ttl`` (seconds) overrides ``access_ttl``."""
    def verify(
        self,
        token: str,
        *,
        audience: str | Sequence[str] | None = None,
        typ: str | None = "at+jwt",
        required: Sequence[str] = ("sub",),
        now: int | None = None,
    ) -> dict[str, Any]:
        """Verifies ``token`` and returns its claims. ``typ`` defaults to ``"at+jwt"`` and ``None``
        relaxes the check (tokens from other issuers); ``required`` defaults to ``["sub"]``; ``now``
        injects the clock (seconds since the epoch). A registered claim of the wrong JSON type
        (``iss``/``sub``/``jti`` not a string, ``aud`` not a string or list of strings,
        ``exp``/``nbf``/``iat`` not a number) raises ``InvalidTokenError``."""
    @property
    def keys(self) -> KeySet | RemoteKeySet:
        """The key set or remote key set given at construction."""
    @property
    def issuer(self) -> str:
        """The exact ``iss`` issued and required."""
    @property
    def audience(self) -> list[str]:
        """The audiences issued; verification accepts any of them."""
    @property
    def _cached_tokens(self) -> int:
        """How many verified tokens the verified-token cache holds (for tests)."""
    @property
    def require_typ(self) -> bool:
        """Whether a token without a ``typ`` header is refused (the ``require_typ`` argument)."""
    def _remote_fetch_due(self, token: str) -> bool:
        """For remote key sets: whether a JWKS fetch is due before verifying ``token``."""

def _drain(timeout: float = 5.0) -> bool:
    """Waits (GIL released) until no store or hashing task is in flight, at most ``timeout``
    seconds; registered with ``atexit``. False when tasks were still running at the deadline."""

@final
class Store:
    """An open store: ``sqlite://path`` (default ``sqlite://polyauth.db``), ``postgres://...``,
    ``redis://...`` or ``memory://``; ``polyauth_namespace=<[a-z0-9_]{1,40}>`` in the query string
    isolates a tenant or a test run on a shared server. Migrations are applied on open."""

    @staticmethod
    def open(url: str = "sqlite://polyauth.db", *, migrate: bool = True) -> Awaitable[Store]:
        """Opens (and migrates) the store at ``url`` (default ``sqlite://polyauth.db``); awaitable.
        Raises ``InvalidConfigError`` for a malformed URL and ``StoreUnavailableError`` when the
        server cannot be reached. With ``migrate=False`` nothing is created: the schema must be
        current (``InvalidConfigError`` otherwise), so the application can connect as a role
        without DDL rights while an owner role runs ``migrations_sql()``."""
    def purge_expired(self, *, now: int | None = None) -> Awaitable[int]:
        """Deletes what can never be used again: sessions that ended a day or more ago (with their
        refresh tokens), one-time tokens used or expired a day or more ago, and throttle counters
        idle for 30 days; the number of rows removed. Also runs on its own, bounded, on one
        ``Sessions.start`` in 64. ``now`` (seconds) injects the clock."""
    @staticmethod
    def migrations_sql() -> str:
        """The SQL of every migration, for teams that apply migrations themselves."""
    def ping(self) -> Awaitable[None]:
        """One trivial round trip to the backend (health check); raises ``StoreUnavailableError``."""
    @property
    def backend(self) -> str:
        """``"memory"``, ``"sqlite"``, ``"postgres"`` or ``"redis"``."""

@final
class TokenPair:
    """Access token, refresh token, session id and lifetimes returned by ``Sessions.start`` and
    ``Sessions.refresh``. Its repr never shows the tokens."""

    @property
    def access_token(self) -> str:
        """The access token (compact JWS carrying ``sid`` and the session's claims)."""
    @property
    def refresh_token(self) -> str:
        """The opaque ``prt_...`` refresh token; only its SHA-256 is stored."""
    @property
    def session_id(self) -> str:
        """The session (refresh-token family) id, also the access token's ``sid``."""
    @property
    def expires_in(self) -> int:
        """Seconds until the access token expires."""
    @property
    def refresh_expires_at(self) -> int:
        """When the session ends at the latest (seconds since the epoch)."""

@final
class Sessions:
    """Sessions with refresh-token rotation and reuse detection over a store."""

    def __new__(
        cls,
        store: Store,
        tokens: Tokens,
        *,
        refresh_ttl: int = 2592000,
        idle_ttl: int = 604800,
        reuse_grace: int = 0,
    ) -> Self:
        """Sessions issuing access tokens with ``tokens``. ``refresh_ttl`` is the absolute lifetime
        (default 30 days, at most 400), ``idle_ttl`` ends unused sessions (default 7 days),
        ``reuse_grace`` keeps the immediate parent token usable that many seconds (default 0, at
        most 300); all in seconds. Raises ``InvalidConfigError`` otherwise."""
    def start(
        self,
        subject: str,
        claims: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        *,
        now: int | None = None,
    ) -> Awaitable[TokenPair]:
        """Starts a session for ``subject``; ``claims`` go into every access token of the session,
        ``meta`` (user agent, IP) is kept for ``list``. ``now`` (seconds since the epoch) injects
        the clock the session's lifetimes start from (the access token is signed on the system
        clock)."""
    def refresh(self, refresh_token: str, *, now: int | None = None) -> Awaitable[TokenPair]:
        """Rotates a refresh token. Reuse of a rotated token revokes the session and raises
        ``RefreshReusedError``. ``now`` (seconds since the epoch) injects the clock."""
    def revoke_refresh_token(self, refresh_token: str) -> Awaitable[bool]:
        """Revokes the session of ``refresh_token`` (logout when the access token has expired,
        like RFC 7009); a used token of the session works too. False for an unknown token, a
        session already revoked, or one of another issuer or audience (left untouched); raises
        ``InvalidTokenError`` only for a malformed token."""
    @property
    def refresh_ttl(self) -> int:
        """Absolute session lifetime in seconds."""
    @property
    def idle_ttl(self) -> int:
        """Idle lifetime in seconds."""
    @property
    def reuse_grace(self) -> int:
        """Seconds the immediate parent refresh token stays usable after rotation (0: never)."""
    def revoke(self, session_id: str) -> Awaitable[bool]:
        """Revokes one session; False when unknown or already revoked."""
    def revoke_all(self, subject: str) -> Awaitable[int]:
        """Revokes every session of ``subject``; how many were not yet revoked (expired ones included)."""
    def list(self, subject: str) -> Awaitable[builtins.list[dict[str, Any]]]:
        """Active sessions of ``subject``, newest first, as dicts (``session_id``, ``subject``,
        ``created_at``, ``last_used_at``, ``expires_at``, ``claims``, ``meta``)."""
    def is_active(self, session_id: str, *, now: int | None = None) -> Awaitable[bool]:
        """Whether a session is usable (not revoked, not expired) at ``now`` (seconds since the
        epoch; default: the system clock)."""

@final
class OneTimeTokens:
    """Single-use, purpose-bound tokens (email verification, password reset, magic links)."""

    def __new__(cls, store: Store) -> Self:
        """One-time tokens kept in ``store``."""
    def issue(
        self, subject: str, purpose: str, ttl: int = 3600, data: Any = None, *, now: int | None = None
    ) -> Awaitable[str]:
        """Issues a ``pot_...`` token for ``subject`` and ``purpose``, valid ``ttl`` seconds from
        ``now`` (seconds since the epoch; default: the system clock), carrying the JSON-compatible
        ``data``."""
    def consume(self, token: str, purpose: str, *, now: int | None = None) -> Awaitable[tuple[str, Any]]:
        """Consumes ``token`` for ``purpose``, once: ``(subject, data)``. A wrong purpose raises
        ``InvalidTypeError`` (the token stays usable), expiry ``TokenExpiredError``, reuse
        ``TokenUsedError``. ``now`` (seconds since the epoch) injects the clock."""
    def peek(self, token: str, purpose: str, *, now: int | None = None) -> Awaitable[tuple[str, Any]]:
        """What ``consume`` would return at ``now``, ``(subject, data)``, without spending the
        token (the same errors): e.g. to show a password-reset form only for a usable link. Never a
        substitute for ``consume``: two peeks can both succeed, one consumption only."""

@final
class Throttle:
    """Failure counters with exponential backoff and a lockout ceiling, shared through the store."""

    def __new__(
        cls,
        store: Store,
        *,
        free_attempts: int = 5,
        base_delay: int = 1,
        max_delay: int = 900,
        max_failures: int = 100,
        reset_after: int = 86400,
    ) -> Self:
        """A throttle over ``store``: ``free_attempts`` failures without delay, then ``base_delay``
        seconds doubled per failure up to ``max_delay``. Below ``max_failures`` a failure more than
        ``reset_after`` seconds after the previous one starts the count over. From ``max_failures``
        (1 to 100) on the count never starts over by itself: the key is locked for ``reset_after``
        seconds, doubled by every further failure, and at 100 failures it stays locked until
        ``reset`` (``locked_until`` is then 2**53 - 1)."""
    def check(self, key: str, *, now: int | None = None) -> Awaitable[None]:
        """Raises ``RateLimitedError`` (with ``retry_after`` seconds) while ``key`` is locked at
        ``now`` (seconds since the epoch; default: the system clock)."""
    def fail(self, key: str, *, now: int | None = None) -> Awaitable[tuple[int, int]]:
        """Records a failure at ``now`` (default: the system clock): ``(failures, locked_until)``
        (seconds since the epoch)."""
    def attempt(self, key: str, *, now: int | None = None) -> Awaitable[tuple[int, int]]:
        """Reserves an attempt in one atomic step: raises ``RateLimitedError`` while ``key`` is
        locked, otherwise counts the attempt as a failure right away and returns ``(failures,
        locked_until)``. Call ``reset`` after a success. Unlike ``check`` then ``fail``, a burst
        of concurrent attempts cannot all pass before any of them is counted. ``now`` (seconds since
        the epoch) injects the clock."""
    def reset(self, key: str) -> Awaitable[None]:
        """Clears the counter after a success."""

@final
class Totp:
    """RFC 6238 TOTP: secrets, codes, verification with a replay guard, otpauth URIs and QR codes.
    Stateless; its repr never shows a secret."""

    def __new__(
        cls, issuer: str = "", digits: int = 6, period: int = 30, algorithm: str = "SHA1", window: int = 1
    ) -> Self:
        """TOTP with ``digits`` (6 to 8), ``period`` (15 to 300 seconds), ``algorithm`` (SHA1, SHA256
        or SHA512) and ``window`` (0 or 1 step either side); ``InvalidConfigError`` otherwise."""
    def generate_secret(self) -> str:
        """A fresh random base32 secret (at least 160 bits; the hash size for SHA256/SHA512)."""
    def code(self, secret: str, now: int | None = None) -> str:
        """The code for ``secret`` at ``now`` (seconds since the epoch; default: the system clock).
        Every method taking a secret raises ``InvalidInputError`` for one that is not base32 or
        shorter than 160 bits (32 base32 characters; OTP-5)."""
    def verify(
        self, secret: str, code: str, after_step: int | None = None, now: int | None = None
    ) -> int | None:
        """The matched time step when ``code`` is valid at ``now`` (within the window) and later than
        ``after_step``, else None. Store the step and pass it as ``after_step`` next time so that a
        code is never accepted twice. A malformed secret or an oversized code raises
        ``InvalidInputError``."""
    def uri(self, secret: str, account: str) -> str:
        """The ``otpauth://totp/...`` Key URI for authenticator apps."""
    @staticmethod
    def parse_uri(uri: str) -> dict[str, Any]:
        """Reads an otpauth URI: dict with ``secret``, ``account``, ``issuer``, ``digits``,
        ``period`` and ``algorithm``."""
    @staticmethod
    def qr_svg(uri: str) -> str:
        """An SVG document of the QR code of ``uri``."""
    @staticmethod
    def qr_png(uri: str) -> bytes:
        """PNG bytes of the QR code of ``uri``."""
    @staticmethod
    def qr_data_uri(uri: str) -> str:
        """``data:image/png;base64,...`` of the QR code of ``uri``, for an ``<img src>``."""
    @property
    def issuer(self) -> str:
        """The issuer written into URIs."""
    @property
    def digits(self) -> int:
        """Digits per code."""
    @property
    def period(self) -> int:
        """Seconds per time step."""
    @property
    def algorithm(self) -> str:
        """``"SHA1"``, ``"SHA256"`` or ``"SHA512"``."""
    @property
    def window(self) -> int:
        """Steps accepted either side of the current one (0 or 1)."""

@final
class Enrollment:
    """What ``Mfa.begin_enrollment`` returns. Show the QR code (or the secret, for typing) once;
    its repr never shows the secret or the URI."""

    @property
    def secret(self) -> str:
        """The new base32 secret (for manual entry in an authenticator app)."""
    @property
    def uri(self) -> str:
        """The ``otpauth://totp/...`` Key URI (it contains the secret)."""
    @property
    def qr_svg(self) -> str:
        """An SVG document of the URI's QR code."""
    @property
    def expires_at(self) -> int:
        """Until when ``Mfa.confirm`` accepts a code for this enrollment (seconds since the epoch)."""

@final
class Mfa:
    """The TOTP second factor over a store: enrollment, replay-safe verification (each code is
    accepted at most once), recovery codes, encrypted secrets and throttled failures."""

    def __new__(
        cls,
        store: Store,
        totp: Totp,
        encryption_key: str | bytes | bytearray | Sequence[str | bytes | bytearray],
        *,
        enrollment_ttl: int = 900,
        throttle: Throttle | None = None,
    ) -> Self:
        """Secrets are AES-256-GCM encrypted with ``encryption_key``: 32 bytes, as bytes,
        base64url/base64 or 64 hex digits (``Mfa.generate_key()`` makes one). A list rotates keys:
        the first encrypts, all decrypt, and secrets under an older key are re-encrypted on their
        next successful use. ``enrollment_ttl`` (60 to 86400 seconds) bounds how long an enrollment
        can be confirmed. Failures are counted by ``throttle`` (default ``Throttle(store)``) under
        the key ``"mfa:<subject>"``."""
    @staticmethod
    def generate_key() -> str:
        """A fresh random 256-bit encryption key, base64url (keep it in a secret store)."""
    def begin_enrollment(
        self, subject: str, account: str, *, now: int | None = None
    ) -> Awaitable[Enrollment]:
        """Starts (or restarts) enrollment: a new secret, kept encrypted and pending until
        ``confirm``. ``account`` labels it in the authenticator app (e.g. the email address). A
        confirmed factor keeps working until the new one is confirmed."""
    def confirm(self, subject: str, code: str, *, now: int | None = None) -> Awaitable[list[str]]:
        """Confirms the pending enrollment with a code from the app; returns 10 recovery codes to
        show once (only their hashes are kept; they replace any earlier ones). Raises
        ``TotpInvalidError`` for a wrong code or when nothing is pending."""
    def verify(
        self, subject: str, code: str, *, now: int | None = None, throttle_context: str | None = None
    ) -> Awaitable[int]:
        """Checks a code of the confirmed factor and returns the accepted time step. Each code is
        accepted at most once: a replay (or a code older than the last accepted one) raises
        ``TotpReplayedError``, a wrong code ``TotpInvalidError``, too many failures
        ``RateLimitedError``. ``now`` moves only the TOTP clock; the throttle always uses the
        server clock. ``throttle_context`` (e.g. the client's IP address, 1 to 256 bytes) counts
        failures under that subject and context only (``Mfa.throttle_key``), so one address's
        failures do not lock the others; without it they are counted under ``"mfa:<subject>"``."""
    def verify_recovery_code(
        self, subject: str, code: str, *, now: int | None = None, throttle_context: str | None = None
    ) -> Awaitable[int]:
        """Consumes a recovery code (case, spaces and dashes do not matter) and returns how many
        unused codes remain. A used code raises ``TotpReplayedError``, an unknown one
        ``TotpInvalidError``. Throttled like ``verify`` (same key for the same context)."""
    @staticmethod
    def throttle_key(subject: str, throttle_context: str | None = None) -> str:
        """The throttle key failures of ``subject`` (within ``throttle_context``) are counted
        under, e.g. to unlock it with ``Throttle.reset``."""
    def regenerate_recovery_codes(self, subject: str) -> Awaitable[list[str]]:
        """New recovery codes for the confirmed factor; every earlier code stops working."""
    def disable(self, subject: str) -> Awaitable[bool]:
        """Removes the factor, any pending enrollment and the recovery codes (and clears the
        throttle counter); False when there was nothing to remove."""
    def status(self, subject: str, *, now: int | None = None) -> Awaitable[dict[str, Any]]:
        """``{"enabled", "pending", "confirmed_at", "last_used_at", "recovery_codes_remaining"}``;
        ``pending`` is judged at ``now`` (default: the system clock)."""
    @property
    def key_ids(self) -> builtins.list[str]:
        """Ids of the encryption keys, the encrypting one first (they reveal nothing of the keys)."""

@final
class Account:
    """A built-in account (a read-only view; equal to another with the same values). Its password
    hash stays in the store: never in this object or its repr."""

    @property
    def subject(self) -> str:
        """The account's stable identifier (the ``sub`` of its tokens): 16 random bytes, base64url."""
    @property
    def login(self) -> str:
        """The normalised login (``Accounts.normalize_login``)."""
    @property
    def verified(self) -> bool:
        """Whether the account was marked verified (e.g. its email address confirmed)."""
    @property
    def disabled(self) -> bool:
        """Whether the account was disabled (it cannot sign in)."""
    @property
    def claims(self) -> dict[str, Any]:
        """Application claims, added to the access tokens of its sessions (a new dict each time)."""
    @property
    def created_at(self) -> int:
        """When the account was created (seconds since the epoch)."""

@final
class Accounts:
    """Built-in accounts in a store: logins are normalised and unique (two registrations that
    differ only by case, width or Unicode form make one account, even when they race), passwords
    pass the policy and are hashed with argon2id on the bounded hashing pool. Nothing here revokes
    sessions (``Sessions.revoke_all`` does)."""

    def __new__(cls, store: Store, hasher: PasswordHasher, policy: PasswordPolicy | None = None) -> Self:
        """Accounts in ``store`` hashed with ``hasher``; ``policy`` applies to new passwords
        (default: the hasher's policy)."""
    def create(
        self,
        login: str,
        password: str | None = None,
        *,
        password_hash: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> Awaitable[Account]:
        """Creates an account with exactly one of ``password`` (checked against the policy with the
        login as a context word: ``PasswordPolicyError`` with ``reasons``) and ``password_hash``
        (an import from another system: any format the hasher verifies, upgraded to argon2id on
        the first sign-in; ``InvalidHashError`` otherwise); neither or both is
        ``InvalidInputError``. ``claims`` must not use registered JWT names or ``sid``.
        ``AccountExistsError`` when the normalised login is taken."""
    def get(self, subject: str) -> Awaitable[Account | None]:
        """The account of ``subject``, or None."""
    def find(self, login: str) -> Awaitable[Account | None]:
        """The account with this login (normalised first), or None; ``InvalidInputError`` for a
        login that cannot be normalised."""
    def set_password(self, subject: str, password: str) -> Awaitable[Account]:
        """Sets a new password (the policy applies, with the lower minimum when the account has a
        confirmed second factor). Revokes no session. ``InvalidInputError`` for an unknown
        subject."""
    def mark_verified(self, subject: str) -> Awaitable[Account]:
        """Marks the account verified (marking again changes nothing); ``InvalidInputError`` for an
        unknown subject."""
    def disable(self, subject: str) -> Awaitable[Account]:
        """Disables the account: it can no longer sign in (its sessions are not revoked here).
        ``InvalidInputError`` for an unknown subject."""
    def update_claims(self, subject: str, claims: dict[str, Any]) -> Awaitable[Account]:
        """Replaces the account's claims as a whole (at most 16 KiB of JSON; registered JWT claim
        names and ``sid`` are ``InvalidInputError``); ``InvalidInputError`` for an unknown subject."""
    @staticmethod
    def normalize_login(login: str) -> str:
        """NFKC, trimmed, lower-cased, NFKC again; 1 to 320 bytes without control or invisible
        formatting characters, else ``InvalidInputError`` (the message never quotes the login)."""

@final
class SignIn:
    """The sign-in flow, decided once in the core: a throttled password step with one
    ``InvalidCredentialsError`` for every failure, legacy hash upgrade, the second factor with
    single-use challenge tokens, password reset and email verification."""

    def __new__(
        cls,
        accounts: Accounts | AccountSource,
        sessions: Sessions,
        *,
        mfa: Mfa | None = None,
        throttle: Throttle | None = None,
        one_time: OneTimeTokens | None = None,
        hasher: PasswordHasher | None = None,
        policy: PasswordPolicy | None = None,
    ) -> Self:
        """The flow over the built-in ``accounts`` or an application's account source (see
        ``polyauth.signin``). ``mfa`` None means no account may have a confirmed factor (one that
        has is refused with ``InvalidConfigError``, never let in without it). ``throttle`` and
        ``one_time`` default to the store's. ``hasher`` (default ``PasswordHasher()``) and
        ``policy`` apply to an application's source only: given with ``Accounts`` (which carry
        their own) they are ``InvalidConfigError``."""
    def password(
        self,
        login: str,
        password: str,
        *,
        meta: dict[str, Any] | None = None,
        throttle_context: str | None = None,
    ) -> Awaitable[SignInOk | SignInMfaRequired]:
        """The password step: ``{"status": "ok", "pair": TokenPair}`` (claims of the account plus
        ``amr: ["pwd"]``) or ``{"status": "mfa_required", "mfa_token": str}``. Every wrong login or
        password, unknown, disabled or password-less account is the same
        ``InvalidCredentialsError``; too many failures ``RateLimitedError``. ``meta`` is kept with
        the session; ``throttle_context`` (e.g. the client IP, 1 to 256 bytes) adds a second
        throttle key."""
    def second_factor(
        self,
        mfa_token: str,
        *,
        code: str | None = None,
        recovery_code: str | None = None,
        meta: dict[str, Any] | None = None,
        now: int | None = None,
    ) -> Awaitable[TokenPair]:
        """The second step with exactly one of ``code`` (``amr: ["pwd", "otp"]``) and
        ``recovery_code`` (``["pwd", "recovery"]``). A wrong or replayed code raises
        ``TotpInvalidError`` / ``TotpReplayedError`` with ``mfa_token`` (a fresh token for the same
        step) and ``tries_left``; the fifth wrong code raises ``TotpInvalidError`` with both None.
        An unusable token is ``InvalidTokenError``. ``now`` moves only the TOTP clock."""
    def request_password_reset(self, login: str, *, ttl: int | None = None) -> Awaitable[str | None]:
        """A single-use reset token (``ttl`` seconds, default 3600) to send to the owner of
        ``login``, or None for an unknown or disabled account (after the same store work).
        Requests are throttled per login (``RateLimitedError``)."""
    def reset_password(self, token: str, new_password: str) -> Awaitable[str]:
        """Completes a reset: the policy is checked before the token is spent (a refused password
        keeps the link), then the hash is stored and every session of the account revoked. Returns
        the subject. ``TokenUsedError`` on a second use."""
    def change_password(
        self,
        subject: str,
        current_password: str,
        new_password: str,
        *,
        amr: list[str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Awaitable[TokenPair]:
        """A signed-in user's password change (built-in accounts): ``current_password`` is checked
        under the sign-in throttle of the account's login, ``new_password`` against the policy;
        then every session of ``subject`` is revoked and a fresh one starts with ``amr`` (``pwd``
        always included). ``InvalidCredentialsError``, ``PasswordPolicyError``,
        ``RateLimitedError``, ``InvalidConfigError`` (an application's account source)."""
    def request_email_verification(self, subject: str, *, ttl: int | None = None) -> Awaitable[str]:
        """A single-use email-verification token (``ttl`` seconds, default 86400) for the built-in
        account of ``subject`` (``InvalidConfigError`` with an application's source)."""
    def verify_email(self, token: str) -> Awaitable[Account]:
        """Consumes an email-verification token and marks its account verified."""
    @property
    def accounts(self) -> Accounts | None:
        """The built-in accounts given to the constructor; None with an application's source."""

@final
class CliResult:
    """What one ``run_cli`` call produced: output and exit code, or a request for input."""

    @property
    def code(self) -> int:
        """The exit code (meaningful when ``need`` is None)."""
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def need(self) -> str | None:
        """None (done), ``"stdin"`` (call again with all of stdin) or ``"fetch"`` (build a
        ``RemoteKeySet`` from ``fetch_url``, ``allow_insecure_http`` and ``timeout``, try
        ``refresh_sync``, call again)."""
    @property
    def secret(self) -> bool:
        """For ``"stdin"``: the input is a password (on a terminal, prompt, no echo)."""
    @property
    def prompt(self) -> str: ...
    @property
    def fetch_url(self) -> str | None: ...
    @property
    def allow_insecure_http(self) -> bool: ...
    @property
    def timeout(self) -> float:
        """Seconds."""

def run_cli(argv: Sequence[str], stdin: bytes | None = None, remote: RemoteKeySet | None = None) -> CliResult:
    """Runs the ``polyauth`` command line ``argv`` (without the program name); blocking, with the
    GIL released. ``stdin``: all of standard input, given only after a result with ``need ==
    "stdin"``; ``remote``: the RemoteKeySet asked for by ``need == "fetch"``, after one refresh
    attempt. ``polyauth.__main__.run`` does both."""
