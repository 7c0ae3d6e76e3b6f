"""Cross-language demo, Python side: hash a password, or verify a hash made by Node."""

from __future__ import annotations

import json
import sys

from polyauth import PasswordHasher


def main() -> None:
    hasher = PasswordHasher()
    command, *args = sys.argv[1:]
    if command == "hash":
        print(json.dumps({"hash": hasher.hash(args[0])}))
    elif command == "verify":
        stored, password = args
        print(json.dumps({"valid": hasher.verify(stored, password)}))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
