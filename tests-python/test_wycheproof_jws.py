"""Wycheproof json_web_signature_test.json (C2SP/wycheproof testvectors_v1, Apache-2.0) through the
public JWS verifier: ``KeySet.from_jwks(group key).verify_jws(jws)``.

The group's key is its ``public`` set when present, else its ``private`` one, imported as
configuration would import it; an import error counts as a rejection. ``valid`` must verify,
``invalid`` must raise ``AuthError`` (never anything else), ``acceptable`` may do either.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import polyauth
from conftest import SHARED_VECTORS
from polyauth import KeySet

FILE = SHARED_VECTORS / "wycheproof" / "json_web_signature_test.json"

# Upstream cases whose labels contradict the JWS/JWA specifications or each other (see
# ../shared/vectors/README.md); they are skipped, and test_defective_cases_exist keeps this list
# from going stale.
DEFECTIVE: dict[int, str] = {
    346: "labelled valid, but a PS384 token checked against a key whose JWK says alg PS256: "
    "the key fixes the algorithm (JWT-2)",
    350: "same as 346 (PS384 token, PS256 key with key_ops [verify]), labelled valid",
    357: "labelled valid, but byte-identical to 367 and 370, which are labelled invalid: "
    "contradictory labels",
    367: '"invalidBase64Padding" labelled invalid, but byte-identical to valid 357 '
    "(the padding mutation was lost upstream)",
    370: '"invalidBase64PaddingInPayload" labelled invalid, but byte-identical to valid 357 '
    "(mutation lost upstream)",
    372: "\"InvalidCharacterInsertedInHeader\" ('?' in the header) labelled valid: not base64url, "
    "RFC 7515 §2 / JWT-9 require rejection",
    373: "\"InvalidCharacterInsertedInPayload\" ('?' in the payload) labelled valid: not base64url, "
    "RFC 7515 §2 / JWT-9 require rejection",
}


def load() -> dict[str, Any] | None:
    if not FILE.is_file():
        return None
    doc: dict[str, Any] = json.loads(FILE.read_text(encoding="utf-8"))
    return doc


def cases() -> list[Any]:
    doc = load()
    if doc is None:
        return [pytest.param(None, None, id="missing")]
    params = [
        pytest.param(group, case, id=f"tc{case['tcId']}")
        for group in doc["testGroups"]
        for case in group["tests"]
    ]
    assert len(params) == doc["numberOfTests"]
    return params


def accepts(group: dict[str, Any], jws: Any) -> bool:
    """True when polyauth verifies `jws` with the group's key; False when it rejects it."""
    text = jws if isinstance(jws, str) else json.dumps(jws)
    try:
        keys = KeySet.from_jwks(group["public"] if "public" in group else group["private"])
        keys.verify_jws(text)
    except polyauth.AuthError:
        return False
    return True


@pytest.mark.parametrize(("group", "case"), cases())
def test_json_web_signature(
    group: dict[str, Any] | None, case: dict[str, Any] | None, shared_vectors: Any
) -> None:
    assert group is not None and case is not None, f"{FILE} missing"
    tc = case["tcId"]
    if tc in DEFECTIVE:
        pytest.skip(f"defective upstream case {tc}: {DEFECTIVE[tc]}")
    accepted = accepts(group, case["jws"])
    label = f"tcId {tc} ({case['comment']}, flags {case['flags']}, group {group['comment']})"
    if case["result"] == "valid":
        assert accepted, f"{label}: labelled valid, rejected"
    elif case["result"] == "invalid":
        assert not accepted, f"{label}: labelled invalid, ACCEPTED"
    else:
        assert case["result"] == "acceptable", label


def test_defective_cases_exist(shared_vectors: Any) -> None:
    doc = load()
    assert doc is not None
    by_id = {case["tcId"]: (group, case) for group in doc["testGroups"] for case in group["tests"]}
    assert set(DEFECTIVE) <= set(by_id)
    # 357, 367 and 370 are the same token with contradictory labels.
    assert by_id[357][1]["jws"] == by_id[367][1]["jws"] == by_id[370][1]["jws"]
    assert {by_id[357][1]["result"], by_id[367][1]["result"]} == {"valid", "invalid"}
    # What polyauth does with each, so a behaviour change is noticed: the PS384-on-PS256-key and
    # '?' cases are rejected, the well-formed MAC of 357/367/370 verifies.
    expected = {346: False, 350: False, 357: True, 367: True, 370: True, 372: False, 373: False}
    for tc, outcome in expected.items():
        group, case = by_id[tc]
        assert accepts(group, case["jws"]) is outcome, tc


def test_counts(shared_vectors: Any) -> None:
    doc = load()
    assert doc is not None
    results = [case["result"] for group in doc["testGroups"] for case in group["tests"]]
    assert len(results) == doc["numberOfTests"] == 401
    assert set(results) <= {"valid", "invalid", "acceptable"}
