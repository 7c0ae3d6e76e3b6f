"""Type stubs of the compiled ``polyauth._native`` module (checked by stubtest in test_errors.py)."""

import os
from collections.abc import Awaitable, Sequence
from typing import Any

from typing_extensions import Self, disjoint_base, final

__version__: str
BUILTIN_BLOCKLIST_SIZE: int

def error_codes() -> list[str]:
    """The stable error codes, in the order of the core enum."""

def _debug_panic() -> None:
    """Panics inside Rust; raises ``InternalError`` (used by tests)."""

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
    """Argon2id password hasher."""

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
        """True when the password matches; raises ``InvalidHashError`` for a malformed hash."""
    def needs_rehash(self, hash: str | bytes) -> bool:
        """True when ``hash`` is legacy or weaker than this hasher's parameters."""
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
        the key's RFC 7638 SHA-256 thumbprint.
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
        """A set with one HMAC key; the secret must be at least the hash size (32 bytes for HS256)."""
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
    def verify_jws(self, token: str, *, max_size: int = 8192) -> bytes:
        """Verifies a compact JWS against the set and returns its payload bytes (no claim checks)."""
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

    def __new__(cls, url: str, *, cache_ttl: int = 300, cooldown: int = 30, timeout: float = 5.0) -> Self:
        """A remote key set for an ``http(s)`` JWKS URL (``InvalidConfigError`` otherwise)."""
    @property
    def url(self) -> str:
        """The JWKS URL."""
    @property
    def timeout(self) -> float:
        """The fetch timeout, in seconds."""
    @property
    def keys(self) -> KeySet | None:
        """The cached keys, or None before the first successful fetch."""
    def _begin_fetch(self, kid: str | None = None) -> bool:
        """Records a fetch attempt when one is due (first use, stale, unknown kid past the cooldown)."""
    def _complete(self, body: str) -> None:
        """Takes a fetched JWKS body; raises (keeping the previous keys) when it is unusable."""

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
    ) -> Self:
        """Tokens for ``issuer`` and ``audience`` signed/verified with ``keys``."""
    def issue(self, subject: str, claims: dict[str, Any] | None = None, *, ttl: int | None = None) -> str:
        """Issues an access token for ``subject``; ``claims`` adds application claims (``sid``,
        ``scope``, ``amr``, roles, ...); ``ttl`` (seconds) overrides ``access_ttl``."""
    def verify(
        self,
        token: str,
        *,
        audience: str | Sequence[str] | None = None,
        typ: str | None = ...,
        required: Sequence[str] = ...,
        now: int | None = None,
    ) -> dict[str, Any]:
        """Verifies ``token`` and returns its claims. ``typ`` defaults to ``"at+jwt"`` and ``None``
        relaxes the check (tokens from other issuers); ``required`` defaults to ``["sub"]``; ``now``
        injects the clock (seconds since the epoch)."""
    @property
    def keys(self) -> KeySet | RemoteKeySet:
        """The key set or remote key set given at construction."""
    @property
    def issuer(self) -> str:
        """The exact ``iss`` issued and required."""
    @property
    def audience(self) -> list[str]:
        """The audiences issued; verification accepts any of them."""
    def _remote_fetch_due(self, token: str) -> bool:
        """For remote key sets: whether a JWKS fetch is due before verifying ``token``."""
