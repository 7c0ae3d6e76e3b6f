"""Cross-language demo, Python side (driven by run.sh): passwords, access tokens, sessions, MFA,
accounts."""

from __future__ import annotations

import asyncio
import json
import sys

from polyauth import Accounts, AuthError, KeySet, Mfa, PasswordHasher, Sessions, SignIn, Store, Tokens, Totp

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
    elif command.startswith("mfa-"):
        print(json.dumps(asyncio.run(mfa(command, *args))))
    elif command.startswith("session-"):
        print(json.dumps(asyncio.run(session(command, *args))))
    elif command.startswith("account-"):
        print(json.dumps(asyncio.run(account(command, *args))))
    else:
        raise SystemExit(f"unknown command {command!r}")


async def session(command: str, jwks: str, db: str, arg: str) -> dict[str, object]:
    """Sessions on the embedded SQLite default: the file is shared with the Node side."""
    tokens = Tokens(KeySet.load(path=jwks), issuer=ISSUER, audience=AUDIENCE)
    sessions = Sessions(await Store.open(f"sqlite://{db}"), tokens)
    try:
        if command == "session-start":
            pair = await sessions.start(arg, {"scope": "read"}, {"user_agent": "demo.py"})
            return {"session_id": pair.session_id, "refresh_token": pair.refresh_token}
        if command == "session-refresh":
            pair = await sessions.refresh(arg)
            return {"session_id": pair.session_id, "refresh_token": pair.refresh_token}
        if command == "session-revoke":
            return {"revoked": await sessions.revoke(arg)}
    except AuthError as e:
        return {"error": e.code}
    raise SystemExit(f"unknown command {command!r}")


async def mfa(command: str, db: str, key: str, subject: str, *args: str) -> dict[str, object]:
    """The second factor on the shared SQLite store; the secret is kept encrypted with ``key``."""
    mfa = Mfa(await Store.open(f"sqlite://{db}"), Totp(issuer="polyauth demo"), encryption_key=key)
    try:
        if command == "mfa-enroll":
            # What an app shows at enrollment: the otpauth URI and its QR code.
            account, qr_path = args
            enrollment = await mfa.begin_enrollment(subject, account)
            with open(qr_path, "w") as f:
                f.write(enrollment.qr_svg)
            return {"uri": enrollment.uri}
        if command == "mfa-verify":
            return {"step": await mfa.verify(subject, args[0])}
        if command == "mfa-recovery":
            return {"remaining": await mfa.verify_recovery_code(subject, args[0])}
    except AuthError as e:
        return {"error": e.code}
    raise SystemExit(f"unknown command {command!r}")


async def account(command: str, jwks: str, db: str, *args: str) -> dict[str, object]:
    """Built-in accounts and the sign-in flow on the shared SQLite store."""
    store = await Store.open(f"sqlite://{db}")
    tokens = Tokens(KeySet.load(path=jwks), issuer=ISSUER, audience=AUDIENCE)
    accounts = Accounts(store, PasswordHasher())
    signin = SignIn(accounts, Sessions(store, tokens))
    try:
        if command == "account-create":
            return {"subject": (await accounts.create(args[0], args[1])).subject}
        if command == "account-import":
            # A user whose hash comes from another system (here bcrypt), upgraded on sign-in.
            return {"subject": (await accounts.create(args[0], password_hash=args[1])).subject}
        if command == "account-signin":
            result = await signin.password(args[0], args[1])
            if result["status"] != "ok":
                return {"status": result["status"]}
            claims = tokens.verify(result["pair"].access_token)
            return {"status": "ok", "subject": claims["sub"], "amr": ",".join(claims["amr"])}
        if command == "account-reset-request":
            return {"token": await signin.request_password_reset(args[0])}
        if command == "account-reset":
            return {"subject": await signin.reset_password(args[0], args[1])}
    except AuthError as e:
        return {"error": e.code}
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
