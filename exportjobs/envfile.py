"""``python -m exportjobs.envfile [.env]``: the git-ignored ``.env`` that ``make run`` keeps, private.

Writes a random ``SECRET_KEY`` to it unless the environment or the file has one, and makes the file
readable by its owner only (it holds the secret key and maybe the Pleo token): 0600, also when it
already existed. Runs before Django's settings can load (they need the key), so it imports nothing
of Django's.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

KEY_LINE = re.compile(r"(?m)^SECRET_KEY=[ \t]*(\S*)[ \t]*$")


def ensure_secret(path: Path) -> bool:
    """Make ``path`` private and give it a SECRET_KEY if it lacks one; True when a key was written."""
    old = path.read_text() if path.exists() else ""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    path.chmod(0o600)
    if os.environ.get("SECRET_KEY") or any(match.group(1) for match in KEY_LINE.finditer(old)):
        return False
    kept = KEY_LINE.sub("", old).rstrip("\n")
    text = (kept + "\n" if kept else "") + f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return True


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else ".env")
    if ensure_secret(path):
        print(f"Wrote a new random SECRET_KEY to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
