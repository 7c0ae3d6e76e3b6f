"""Type stubs of the compiled ``polyauth._native`` module (checked by tests-python/test_stubs.py)."""

from collections.abc import Awaitable, Sequence

from typing_extensions import Self, final

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
