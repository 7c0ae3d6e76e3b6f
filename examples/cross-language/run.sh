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

echo "== Accounts: one user table in the shared store, one sign-in decision in core"
jane=$(node demo.mjs account-create "$jwks" "$db" 'Jane@Example.com' 'plum-cactus-orbit-lantern-42' | field subject)
echo "  Node registered Jane@Example.com as subject $jane"
signed=$("$PY" demo.py account-signin "$jwks" "$db" '  jane@EXAMPLE.com ' 'plum-cactus-orbit-lantern-42')
check "Python signs her in, login typed differently (same subject)" "$jane" "$(printf '%s' "$signed" | field subject)"
check "  with amr=pwd in the access token" "pwd" "$(printf '%s' "$signed" | field amr)"
check "Node refuses a wrong password" "invalid_credentials" "$(node demo.mjs account-signin "$jwks" "$db" 'jane@example.com' 'wrong-password-123' | field error)"
check "Python answers an unknown login identically" "invalid_credentials" "$("$PY" demo.py account-signin "$jwks" "$db" 'nobody@example.com' 'plum-cactus-orbit-lantern-42' | field error)"
check "Python refuses a second account for the same login" "account_exists" "$("$PY" demo.py account-create "$jwks" "$db" 'JANE@example.com' 'violet-harbour-quartz-meadow-17' | field error)"
# A user imported from a bcrypt system: Node's sign-in upgrades the hash to argon2id in the store.
legacy='$2b$10$2CEUE9j.uOovtYunhB5MhewnUv2VvCQgU/jiToPjhMroR4DDypPAC'
"$PY" demo.py account-import "$jwks" "$db" 'legacy@example.com' "$legacy" >/dev/null
stored_hash() { "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT password_hash FROM polyauth_accounts WHERE login = ?", (sys.argv[2],)).fetchone()[0][:9])' "$db" "$1"; }
echo "  Python imported legacy@example.com with a bcrypt hash ($(stored_hash legacy@example.com)...)"
check "Node signs the imported user in" "ok" "$(node demo.mjs account-signin "$jwks" "$db" 'legacy@example.com' 'Tr0ub4dor&3' | field status)"
check "  and the stored hash is now argon2id" '$argon2id' "$(stored_hash legacy@example.com)"
check "Python signs in against the upgraded hash" "ok" "$("$PY" demo.py account-signin "$jwks" "$db" 'legacy@example.com' 'Tr0ub4dor&3' | field status)"
reset=$("$PY" demo.py account-reset-request "$jwks" "$db" 'jane@example.com' | field token)
echo "  Python issued a password-reset link token ${reset:0:12}..."
check "Node completes the reset" "$jane" "$(node demo.mjs account-reset "$jwks" "$db" "$reset" 'granite-willow-comet-harbor-88' | field subject)"
check "Python refuses the old password" "invalid_credentials" "$("$PY" demo.py account-signin "$jwks" "$db" 'jane@example.com' 'plum-cactus-orbit-lantern-42' | field error)"
check "Python accepts the new one" "ok" "$("$PY" demo.py account-signin "$jwks" "$db" 'jane@example.com' 'granite-willow-comet-harbor-88' | field status)"
check "Python refuses the used reset token" "token_used" "$("$PY" demo.py account-reset "$jwks" "$db" "$reset" 'granite-willow-comet-harbor-99' | field error)"
echo "demo passed"
