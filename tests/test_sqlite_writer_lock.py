"""SQLite writers queue on a lock file across processes (`cxbot serve` writes from its web
workers and its jobs worker), and a writer an acknowledgement waits for goes before a
background one."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

from cxbot.store.db import WriterLock, background_writes

ctx = multiprocessing.get_context("fork")


def _hold(path: str, held: Any, release: Any, seconds: float) -> None:
    lock = WriterLock(path)
    lock.acquire()
    held.set()
    release.wait(10)
    time.sleep(seconds)
    lock.release()


def _write(path: str, name: str, order: Any, started: Any) -> None:
    lock = WriterLock(path)
    started.set()
    lock.acquire()
    order.put(name)
    lock.release()


def test_a_writer_in_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "cxbot.db")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, held, release, 0.3))
    holder.start()
    assert held.wait(10)
    lock = WriterLock(path)
    began = time.monotonic()
    release.set()
    lock.acquire()
    waited = time.monotonic() - began
    lock.release()
    holder.join(10)
    assert waited >= 0.25, waited


def _back_to_back(path: str, held: Any, release: Any, order: Any) -> None:
    """A background worker: one transaction, then straight away the next. It gives way for
    up to 5 s (50 ms in production), so a loaded machine that is slow to schedule the
    waiting acknowledgement does not decide the order."""
    background_writes()
    lock = WriterLock(path, give_way=5.0)
    lock.acquire()
    held.set()
    release.wait(10)
    time.sleep(0.1)
    lock.release()
    lock.acquire()
    order.put("next round")
    lock.release()


def test_a_background_writer_lets_a_waiting_acknowledgement_go_first(tmp_path: Path) -> None:
    path = str(tmp_path / "cxbot.db")
    held, release, started = ctx.Event(), ctx.Event(), ctx.Event()
    order = ctx.Queue()
    worker = ctx.Process(target=_back_to_back, args=(path, held, release, order))
    worker.start()
    assert held.wait(10)
    urgent = ctx.Process(target=_write, args=(path, "acknowledgement", order, started))
    urgent.start()
    assert started.wait(10)
    time.sleep(0.1)  # the acknowledgement is waiting for the lock
    release.set()
    got = [order.get(timeout=10), order.get(timeout=10)]
    for p in (worker, urgent):
        p.join(10)
    assert got == ["acknowledgement", "next round"]


def test_an_in_memory_database_has_no_lock_file(tmp_path: Path) -> None:
    lock = WriterLock(":memory:")
    lock.acquire()
    lock.acquire()  # re-entrant within a thread
    lock.release()
    lock.release()
    assert list(tmp_path.iterdir()) == []
