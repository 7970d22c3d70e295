"""A store's files read whole, as bytes, by a child process: the privacy tests look for values in them.

Opening and closing a database file in the process that runs the node drops every POSIX lock the
node's SQLite connections hold on it (POSIX locks belong to the process, and any ``close`` of the
file releases them: core.db says the same). A later connection then meets a "disk I/O error". A
child process reads the same bytes and leaves this process's locks alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_CAT = "import sys; [sys.stdout.buffer.write(open(p, 'rb').read()) for p in sys.argv[1:]]"


def raw_bytes(directory: Path, pattern: str) -> bytes:
    paths = sorted(str(p) for p in directory.glob(pattern))
    return subprocess.run([sys.executable, "-c", _CAT, *paths], capture_output=True, check=True).stdout
