"""Cross-language demo, Python side: passwords and access tokens, driven by run.sh."""

from __future__ import annotations

import json
import sys

from polyauth import KeySet, PasswordHasher, Tokens

ISSUER, AUDIENCE = "https://demo.polyauth.dev", "demo-api"


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "hash":
        print(json.dumps({"hash": PasswordHasher().hash(args[0])}))
    elif command == "verify":
        stored, password = args
        print(json.dumps({"valid": PasswordHasher().verify(stored, password)}))
    elif command == "keygen":
        # A private JWKS file both languages load; in production keep it in a secret store.
        keys = KeySet.generate("EdDSA")
        with open(args[0], "w") as f:
            json.dump(keys.to_jwks(private=True), f)
        print(json.dumps({"kid": keys.signing_kid}))
    elif command == "issue":
        tokens = Tokens(KeySet.load(path=args[0]), issuer=ISSUER, audience=AUDIENCE)
        print(json.dumps({"token": tokens.issue(args[1], {"scope": "read", "amr": ["pwd"]})}))
    elif command == "verify-token":
        tokens = Tokens(KeySet.load(path=args[0]), issuer=ISSUER, audience=AUDIENCE)
        print(json.dumps({"claims": tokens.verify(args[1])}))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
