"""Options are the core's (polyauth_core::options): the defaults `_native.pyi` shows are the ones
the core applies, every option the core reads is a parameter at runtime and in the stub, and a bad
value is the core's `invalid_config` naming the option."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

import polyauth
from polyauth import _native

STUB = Path(_native.__file__).with_name("_native.pyi")


def stub_parameters() -> dict[str, dict[str, Any]]:
    """`Class.method` (or `Class` for `__new__`) → {parameter: default literal, or ... if none}."""
    tree = ast.parse(STUB.read_text())
    found: dict[str, dict[str, Any]] = {}
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for fn in cls.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            a = fn.args
            positional = a.posonlyargs + a.args
            defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
            defaults += list(a.defaults)
            pairs = list(zip(positional, defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
            name = cls.name if fn.name == "__new__" else f"{cls.name}.{fn.name}"
            found[name] = {
                arg.arg: (... if d is None else ast.literal_eval(d))
                for arg, d in pairs
                if arg.arg not in ("self", "cls")
            }
    return found


DEFAULTS: dict[str, dict[str, Any]] = _native.option_defaults()


def runtime_callable(name: str) -> Any:
    cls_name, _, method = name.partition(".")
    cls = getattr(_native, cls_name)
    return getattr(cls, method) if method else cls


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_stub_defaults_are_the_cores(name: str) -> None:
    stub = stub_parameters()[name]
    for option, default in DEFAULTS[name].items():
        assert option in stub, f"{name}: {option} missing from _native.pyi"
        shown = list(stub[option]) if isinstance(stub[option], tuple) else stub[option]
        assert shown == default, f"{name}: {option} is {stub[option]!r} in the stub"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_stub_parameters_are_the_runtimes(name: str) -> None:
    runtime = list(inspect.signature(runtime_callable(name)).parameters)
    assert [p for p in runtime if p not in ("self", "cls")] == list(stub_parameters()[name])


def test_every_configurable_type_is_listed() -> None:
    assert {n for n in DEFAULTS if "." not in n} == {
        "PasswordHasher", "PasswordPolicy", "Totp", "Tokens", "RemoteKeySet", "Sessions",
        "Throttle", "Mfa",
    }  # fmt: skip


async def test_none_is_the_default_and_bad_values_name_the_option() -> None:
    store = await polyauth.Store.open("memory://")
    untyped: Any = polyauth  # None is accepted at runtime, though the stub types the option
    assert untyped.Throttle(store, free_attempts=None) is not None
    with pytest.raises(polyauth.InvalidConfigError, match="free_attempts"):
        polyauth.Throttle(store, free_attempts=-1)
    with pytest.raises(polyauth.InvalidConfigError, match="timeout"):
        polyauth.RemoteKeySet("https://example.com/jwks", timeout=0)
    hasher = polyauth.PasswordHasher(3, 12288)  # positional, as before
    assert "t=3" in hasher.hash("plum-cactus-orbit-lantern-42")
    totp = untyped.Totp(algorithm=None)
    assert totp.algorithm == DEFAULTS["Totp"]["algorithm"]
