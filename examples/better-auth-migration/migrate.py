"""Moves Better Auth's email-and-password users into polyauth's built-in accounts.

    python migrate.py BETTER_AUTH_SQLITE_FILE STORE_URL [--dry-run] [--json]

Reads Better Auth's ``user`` table and its ``account`` rows with ``providerId = 'credential'``
(opened read-only) and, for every user with a password, creates a polyauth account in the store
at STORE_URL (``sqlite://...``, ``postgres://...``, ``redis://...``) with:

- the login: the user's email (normalised as every polyauth login is);
- the password hash as it is (Better Auth's ``saltHex:keyHex`` scrypt, which polyauth verifies as
  a legacy format and upgrades to argon2id at the user's first sign-in);
- the claim ``better_auth_id``: the Better Auth user id, in every access token polyauth issues
  for the account (polyauth chooses its own random subject);
- verified when Better Auth's ``emailVerified`` is set.

Nothing else moves: sessions (users sign in again), OAuth accounts (a user without a password is
skipped and listed), names, images and plugin data (two-factor secrets, organisations, ...).
Running it again is safe: an account already migrated is left as it is. The accounts live in the
store, so the FastAPI layer and polyauth/next both sign these users in.

Prints one line per user (its Better Auth id, never its hash) and a summary; ``--json`` prints
one JSON object per user and then the summary object. Exits 0 when every user with a password
was migrated or already was, 1 when some could not be (a login taken by another account, a hash
polyauth does not accept, an unusable email), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from polyauth import Accounts, PasswordHasher, Store
from polyauth.errors import AccountExistsError, InvalidHashError, InvalidInputError

#: Better Auth's default schema (its ``user`` and ``account`` models without renamed fields).
QUERY = """
SELECT u.id, u.email, u.emailVerified, a.password
FROM "user" AS u
LEFT JOIN account AS a ON a.userId = u.id AND a.providerId = 'credential'
ORDER BY u.createdAt, u.id
"""

#: Outcomes that are not failures.
OK = frozenset({"migrated", "already_migrated", "no_password", "would_migrate"})


@dataclass(frozen=True)
class BetterAuthUser:
    id: str
    email: str
    email_verified: bool
    password_hash: str | None


def read_sqlite(path: str | Path) -> Iterator[BetterAuthUser]:
    """Better Auth's users from its SQLite database, opened read-only."""
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        for user_id, email, verified, password in db.execute(QUERY):
            yield BetterAuthUser(str(user_id), str(email), bool(verified), password or None)
    finally:
        db.close()


def same_file(store_path: str, database: str) -> bool:
    path = Path(store_path.split("?", 1)[0])
    return path.exists() and path.resolve() == Path(database).resolve()


async def migrate(
    users: Iterable[BetterAuthUser], accounts: Accounts, *, dry_run: bool = False
) -> list[dict[str, str]]:
    """Creates an account for each user with a password; returns one result per user:
    ``{"better_auth_id", "status"}`` plus ``"subject"`` when an account exists."""
    results = []
    for user in users:
        result = {"better_auth_id": user.id}
        results.append(result)
        if user.password_hash is None:
            result["status"] = "no_password"
            continue
        if dry_run:
            result["status"] = "would_migrate"
            continue
        try:
            account = await accounts.create(
                user.email, password_hash=user.password_hash, claims={"better_auth_id": user.id}
            )
        except AccountExistsError:
            existing = await accounts.find(user.email)
            same = existing is not None and existing.claims.get("better_auth_id") == user.id
            result["status"] = "already_migrated" if same else "login_taken"
            if existing is not None and same:
                result["subject"] = existing.subject
                if user.email_verified and not existing.verified:
                    # An earlier run stopped between the two steps.
                    await accounts.mark_verified(existing.subject)
            continue
        except InvalidHashError:
            result["status"] = "invalid_hash"
            continue
        except InvalidInputError:
            result["status"] = "invalid_login"
            continue
        if user.email_verified:
            account = await accounts.mark_verified(account.subject)
        result["status"] = "migrated"
        result["subject"] = account.subject
    return results


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", help="Better Auth's SQLite file")
    parser.add_argument("store", help="the polyauth store URL (sqlite://, postgres://, redis://)")
    parser.add_argument("--dry-run", action="store_true", help="read and report, create nothing")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    args = parser.parse_args(argv)
    if not Path(args.database).is_file():
        parser.error(f"no such file: {args.database}")
    if args.store.startswith("sqlite://") and same_file(args.store.removeprefix("sqlite://"), args.database):
        # Two copies of SQLite in one process (Python's and the store's) must not share a file.
        parser.error("the polyauth store must not be Better Auth's database file")
    # Read everything (and close Better Auth's database) before the store opens.
    users = list(read_sqlite(args.database))
    store = await Store.open(args.store)
    accounts = Accounts(store, PasswordHasher())
    results = await migrate(users, accounts, dry_run=args.dry_run)
    counts = Counter(r["status"] for r in results)
    for r in results:
        if args.json:
            print(json.dumps(r))
        else:
            print(
                f"{r['status']:<17} {r['better_auth_id']}" + (f" -> {r['subject']}" if "subject" in r else "")
            )
    summary = dict(sorted(counts.items()))
    print(
        json.dumps({"summary": summary})
        if args.json
        else "summary: " + ", ".join(f"{n} {s}" for s, n in summary.items())
    )
    return 0 if set(counts) <= OK else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
