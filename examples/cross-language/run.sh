#!/usr/bin/env bash
# polyauth's core promise, shown end to end: what one language produces, the other accepts.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../../.venv/bin/python}
# field PATH: reads JSON on stdin and prints the value at a dotted path (e.g. claims.sub).
field() { "$PY" -c '
import json, sys
v = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    v = v[part]
print(v)' "$1"; }
check() { # label, expected, actual
  if [ "$2" = "$3" ]; then printf '  ok    %s\n' "$1"; else printf '  FAIL  %s (expected %s, got %s)\n' "$1" "$2" "$3"; exit 1; fi
}

password='correct horse battery staple'
echo "== Passwords: argon2id (m=19456 KiB, t=2, p=1), one PHC format in both languages"

py_hash=$("$PY" demo.py hash "$password" | field hash)
echo "  Python hashed:  $py_hash"
check "Node verifies the Python hash"           True  "$(node demo.mjs verify "$py_hash" "$password" | field valid)"
check "Node rejects a wrong password"           False "$(node demo.mjs verify "$py_hash" "wrong $password" | field valid)"

node_hash=$(node demo.mjs hash "$password" | field hash)
echo "  Node hashed:    $node_hash"
check "Python verifies the Node hash"           True  "$("$PY" demo.py verify "$node_hash" "$password" | field valid)"
check "Python rejects a wrong password"         False "$("$PY" demo.py verify "$node_hash" "wrong $password" | field valid)"

# NFKC on both sides: the same text typed as NFC in one language and NFD in the other matches.
nfc=$'caf\u00e9 cr\u00e8me br\u00fbl\u00e9e'
nfd=$'cafe\u0301 cre\u0300me bru\u0302le\u0301e'
uni_hash=$("$PY" demo.py hash "$nfc" | field hash)
check "Node verifies the NFD spelling of a Python NFC hash" True "$(node demo.mjs verify "$uni_hash" "$nfd" | field valid)"

echo "== Access tokens: EdDSA compact JWS (typ at+jwt), one key set shared through a JWKS file"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
jwks="$work/keys.json"
kid=$("$PY" demo.py keygen "$jwks" | field kid)
echo "  Python generated signing key kid=$kid"
py_token=$("$PY" demo.py issue "$jwks" user-42 | field token)
echo "  Python issued:  ${py_token:0:48}..."
check "Node verifies the Python token (sub)" "user-42" "$(node demo.mjs verify-token "$jwks" "$py_token" | field claims.sub)"
node_token=$(node demo.mjs issue "$jwks" user-7 | field token)
echo "  Node issued:    ${node_token:0:48}..."
check "Python verifies the Node token (sub)" "user-7" "$("$PY" demo.py verify-token "$jwks" "$node_token" | field claims.sub)"
# Change one character inside the signature (not the last one, whose spare bits must stay zero).
sig="${node_token##*.}"; c="${sig:10:1}"; [ "$c" = "A" ] && r="B" || r="A"
tampered="${node_token%.*}.${sig:0:10}${r}${sig:11}"
check "Python rejects a tampered Node token" "invalid_signature" "$("$PY" -c '
import sys, polyauth
tokens = polyauth.Tokens(polyauth.KeySet.load(path=sys.argv[1]), issuer="https://demo.polyauth.dev", audience="demo-api")
try:
    tokens.verify(sys.argv[2]); print("accepted")
except polyauth.AuthError as e:
    print(e.code)' "$jwks" "$tampered")"

echo "== Sessions: refresh-token rotation on the embedded SQLite store, shared by both languages"
db="$work/polyauth.db"
started=$("$PY" demo.py session-start "$jwks" "$db" user-42)
sid=$(printf '%s' "$started" | field session_id)
rt0=$(printf '%s' "$started" | field refresh_token)
echo "  Python started session $sid"
rt1=$(node demo.mjs session-refresh "$jwks" "$db" "$rt0" | field refresh_token)
check "Node rotates the Python session's refresh token" "prt_" "${rt1:0:4}"
rt2=$("$PY" demo.py session-refresh "$jwks" "$db" "$rt1" | field refresh_token)
check "Python rotates the token Node issued" "prt_" "${rt2:0:4}"
check "Node detects reuse of the first token (family revoked)" "refresh_reused" "$(node demo.mjs session-refresh "$jwks" "$db" "$rt0" | field error)"
check "Python sees the newest token revoked too" "session_revoked" "$("$PY" demo.py session-refresh "$jwks" "$db" "$rt2" | field error)"
other=$("$PY" demo.py session-start "$jwks" "$db" user-42)
check "Python revokes a session" "True" "$("$PY" demo.py session-revoke "$jwks" "$db" "$(printf '%s' "$other" | field session_id)" | field revoked)"
check "Node cannot refresh the revoked session" "session_revoked" "$(node demo.mjs session-refresh "$jwks" "$db" "$(printf '%s' "$other" | field refresh_token)" | field error)"

echo "== MFA: TOTP enrollment in Python, the authenticator and the confirmation in Node, one store"
# The encryption key of the TOTP secrets; both languages use it (in production: a secret store).
mfa_key=$("$PY" -c 'import polyauth; print(polyauth.Mfa.generate_key())')
enrolled=$("$PY" demo.py mfa-enroll "$db" "$mfa_key" user-42 jane@example.com "$work/totp-qr.svg")
uri=$(printf '%s' "$enrolled" | field uri)
cp "$work/totp-qr.svg" ./totp-qr.svg
echo "  Key URI: $uri"
echo "  QR code written to examples/cross-language/totp-qr.svg"
code=$(node demo.mjs totp-code "$uri" | field code)
echo "  Node's authenticator shows $code"
check "Node confirms the enrollment Python began (10 recovery codes)" "10" "$(node demo.mjs mfa-confirm "$db" "$mfa_key" user-42 "$code" | field count)"
check "Python refuses the same code again (accepted at most once)" "totp_replayed" "$("$PY" demo.py mfa-verify "$db" "$mfa_key" user-42 "$code" | field error)"
recovery=$(node demo.mjs mfa-recovery-codes "$db" "$mfa_key" user-42 | field first)
check "Python accepts a recovery code Node issued (9 left)" "9" "$("$PY" demo.py mfa-recovery "$db" "$mfa_key" user-42 "$recovery" | field remaining)"
check "Node refuses the used recovery code" "totp_replayed" "$(node demo.mjs mfa-recovery "$db" "$mfa_key" user-42 "$recovery" | field error)"
echo "demo passed"
