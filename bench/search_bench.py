"""How long `/cx-review search` takes to answer at 100,000 requests with their discussion.

    python -m bench.search_bench                       # 100,000 requests, SQLite (a temporary file)
    python -m bench.search_bench --postgres URL        # and PostgreSQL (a database it creates and drops)
    python -m bench.search_bench --requests 2000       # smaller

Builds the history with `bench.digest_bench.generate` (a council of 12 departments, three
votes a request, a tenth of them objections), gives each request a title and a description
of 4-7 and 15-30 words and two comments of 8-20 words, drawn from a vocabulary of English
words and made-up ones with a Zipf-like spread (so a few words are in most requests and
most words in few), and fills the search index as the migration does. Then times the
search use case (`cxbot.services.finder.search`: who the reader is, the ranked match, the
lines) for the council's chair, who may see every request: a rare word, a middling one,
the commonest, two words, and a prefix. Best and median of 7 runs each, after one warm-up.
Target: every search under 100 ms.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

from bench.digest_bench import NOW, generate
from bench.stack import postgres_database
from cxbot.clock import FixedClock
from cxbot.services import finder
from cxbot.services.context import Services
from cxbot.store import search
from cxbot.store.db import make_engine, make_session_factory
from cxbot.store.migrate import upgrade
from cxbot.store.models import Comment

REQUESTS = 100_000
TARGET_MS = 100.0
BATCH = 5000
WORDS = ("invoice refund fee plan price customer email letter payment card account contract renewal "
         "cancellation discount trial onboarding support chat phone hours queue ticket survey delivery "
         "shipping return warranty label package notice reminder dunning statement receipt tax currency "
         "checkout basket login password profile consent privacy cookie newsletter campaign offer bundle "
         "upgrade downgrade migration outage maintenance release feature layout mobile app website portal "
         "partner reseller region language translation legal policy terms clause complaint escalation "
         "feedback rating review loyalty points voucher gift subscription annual monthly weekly").split()


def vocabulary(rnd: random.Random, size: int = 4000) -> list[str]:
    """The English words first (the commonest), then made-up words, most of them rare."""
    syllables = ["ka", "lo", "mi", "ren", "tor", "sa", "vel", "dun", "bri", "oph", "ex", "qua", "zin", "mor"]
    made = {"".join(rnd.choices(syllables, k=rnd.randint(2, 4))) for _ in range(size * 2)}
    return list(WORDS) + sorted(made - set(WORDS))[: size - len(WORDS)]


def texts(engine: Engine, requests_n: int) -> Counter[str]:
    """Titles, descriptions and comments for the generated requests; how many requests hold each word."""
    rnd = random.Random(22)
    words = vocabulary(rnd)
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(words))))
    held: Counter[str] = Counter()

    def phrase(low: int, high: int) -> list[str]:
        return rnd.choices(words, cum_weights=cumulative, k=rnd.randint(low, high))

    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE bench_texts (id INTEGER PRIMARY KEY, title TEXT, summary TEXT)"))
        rows: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        for rid in range(1, requests_n + 1):
            title, summary = phrase(4, 7), phrase(15, 30)
            said = [phrase(8, 20) for _ in range(2)]
            held.update(set(title + summary + [w for c in said for w in c]))
            rows.append({"id": rid, "title": " ".join(title).capitalize(), "summary": " ".join(summary) + "."})
            comments += [{"request_id": rid, "user_id": "U0D00A0", "text": " ".join(c), "slack_ts": f"{rid}.{n}",
                          "created_at": NOW - timedelta(days=1), "files": [], "edited_at": None, "deleted_at": None}
                         for n, c in enumerate(said)]
            if len(rows) >= BATCH:
                conn.execute(text("INSERT INTO bench_texts (id, title, summary) VALUES (:id, :title, :summary)"), rows)
                conn.execute(insert(Comment), comments)
                rows, comments = [], []
        if rows:
            conn.execute(text("INSERT INTO bench_texts (id, title, summary) VALUES (:id, :title, :summary)"), rows)
            conn.execute(insert(Comment), comments)
        conn.execute(text("UPDATE review_requests SET title = t.title, summary = t.summary FROM bench_texts t "
                          "WHERE t.id = review_requests.id"))
        conn.execute(text("DROP TABLE bench_texts"))
    return held


def queries(held: Counter[str]) -> list[tuple[str, str]]:
    """(what, the words typed): picked by how many requests hold them."""
    by_count = [w for w, _ in held.most_common()]
    common, middling = by_count[0], by_count[len(by_count) // 20]
    rare = next(w for w in reversed(by_count) if held[w] >= 3)
    return [(f"rare word ({held[rare]:,} requests)", rare),
            (f"middling word ({held[middling]:,} requests)", middling),
            (f"commonest word ({held[common]:,} requests)", common),
            ("two words", f"{common} {middling}"),
            ("prefix", WORDS[3][:3])]


def measure(name: str, url: str, requests_n: int) -> list[tuple[str, str, float, float, int]]:
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    generate(engine, requests_n, 3 * requests_n, 5, open_share=0.15)
    held = texts(engine, requests_n)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        search.refresh(conn)
    indexed = time.perf_counter() - t0
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"{name}: built {requests_n:,} requests, {3 * requests_n:,} votes and {2 * requests_n:,} comments in "
          f"{built:.0f} s; filled the search index in {indexed:.1f} s", flush=True)
    services = Services(make_session_factory(engine), FixedClock(NOW))
    rows = []
    for what, typed in queries(held):
        words = tuple(typed.split())

        def run(words: tuple[str, ...] = words) -> int:
            return len(finder.search(services.reader(), actor="U0CHAIR", words=words))
        run()
        times = []
        for _ in range(7):
            t = time.perf_counter()
            found = run()
            times.append(time.perf_counter() - t)
        rows.append((name, f"{what}: {typed}", min(times) * 1000, statistics.median(times) * 1000, found))
    engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--requests", type=int, default=REQUESTS, help=f"requests to generate ({REQUESTS:,})")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests)
    if args.postgres:
        with postgres_database(args.postgres) as url:
            rows += measure("PostgreSQL", url, args.requests)
    print(f"\n{'database':<12}{'search':<52}{'best':>9}{'median':>9}{'shown':>7}")
    for db, what, best, median, found in rows:
        print(f"{db:<12}{what:<52}{best:>6.1f} ms{median:>6.1f} ms{found:>7}")
    worst = max(median for *_, median, _ in rows)
    print(f"\nslowest search (median): {worst:.1f} ms (target: under {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
