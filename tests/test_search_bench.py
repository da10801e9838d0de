"""`bench/search_bench.py` at a tiny size on SQLite: it builds the history, fills the index as
the migration does, and every kind of search it times answers, within the 20 lines shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_search_benchmark_runs_small() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.search_bench", "--requests", "300"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode in (0, 1), done.stderr[-2000:]   # 1: the target missed on a busy machine
    assert re.search(r"^SQLite: built 300 requests, 900 votes and 600 comments in \d+ s; filled the search index",
                     out, re.M), out
    for what in ("rare word", "middling word", "commonest word", "two words", "prefix"):
        row = re.search(rf"^SQLite\s+{what}\b.*?([\d.]+) ms\s+([\d.]+) ms\s+(\d+)$", out, re.M)
        assert row is not None, (what, out)
        assert 1 <= int(row.group(3)) <= 20, row.group(0)
    assert re.search(r"^slowest search \(median\): [\d.]+ ms \(target: under 100 ms\)$", out, re.M), out
