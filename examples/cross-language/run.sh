#!/usr/bin/env bash
# polyauth's core promise, shown end to end: what one language produces, the other accepts.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../../.venv/bin/python}
field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
check() { # label, expected, actual
  if [ "$2" = "$3" ]; then printf '  ok    %s\n' "$1"; else printf '  FAIL  %s (expected %s, got %s)\n' "$1" "$2" "$3"; exit 1; fi
}

password='correct horse battery staple'
echo "== Passwords: argon2id (m=19456 KiB, t=2, p=1), one PHC format in both languages"

py_hash=$("$PY" hash.py hash "$password" | field hash)
echo "  Python hashed:  $py_hash"
check "Node verifies the Python hash"           True  "$(node hash.mjs verify "$py_hash" "$password" | field valid)"
check "Node rejects a wrong password"           False "$(node hash.mjs verify "$py_hash" "wrong $password" | field valid)"

node_hash=$(node hash.mjs hash "$password" | field hash)
echo "  Node hashed:    $node_hash"
check "Python verifies the Node hash"           True  "$("$PY" hash.py verify "$node_hash" "$password" | field valid)"
check "Python rejects a wrong password"         False "$("$PY" hash.py verify "$node_hash" "wrong $password" | field valid)"

# NFKC on both sides: the same text typed as NFC in one language and NFD in the other matches.
nfc=$'caf\u00e9 cr\u00e8me br\u00fbl\u00e9e'
nfd=$'cafe\u0301 cre\u0300me bru\u0302le\u0301e'
uni_hash=$("$PY" hash.py hash "$nfc" | field hash)
check "Node verifies the NFD spelling of a Python NFC hash" True "$(node hash.mjs verify "$uni_hash" "$nfd" | field valid)"
echo "demo passed"
