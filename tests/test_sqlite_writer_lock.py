"""SQLite writers queue on a lock file across processes (`cxbot serve` writes from its web
workers and its jobs worker), and a writer an acknowledgement waits for goes before a
background one."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
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


def _note(order: str, name: str) -> None:
    """Write down who holds the lock, while holding it (a multiprocessing queue would not do:
    each process's items reach the pipe from its own feeder thread, in no shared order)."""
    with open(order, "a") as f:
        f.write(name + "\n")


def _write(path: str, name: str, order: str, started: Any) -> None:
    lock = WriterLock(path)
    started.set()
    lock.acquire()
    _note(order, name)
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


def _back_to_back(path: str, held: Any, release: Any, order: str) -> None:
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
    _note(order, "next round")
    lock.release()


def _urgent_is_held(path: str) -> bool:
    """Whether a writer an acknowledgement waits for has announced itself (its shared lock)."""
    fd = os.open(f"{path}-writer.lock.urgent", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_background_writer_lets_a_waiting_acknowledgement_go_first(tmp_path: Path) -> None:
    path = str(tmp_path / "cxbot.db")
    held, release, started = ctx.Event(), ctx.Event(), ctx.Event()
    order = str(tmp_path / "order")
    worker = ctx.Process(target=_back_to_back, args=(path, held, release, order))
    worker.start()
    assert held.wait(10)
    urgent = ctx.Process(target=_write, args=(path, "acknowledgement", order, started))
    urgent.start()
    assert started.wait(10)
    deadline = time.monotonic() + 10
    while not _urgent_is_held(path):  # the acknowledgement is waiting for the lock
        assert time.monotonic() < deadline, "the acknowledgement never asked for the lock"
        time.sleep(0.01)
    release.set()
    for p in (worker, urgent):
        p.join(10)
    got = Path(order).read_text().splitlines()
    assert got == ["acknowledgement", "next round"]


def test_an_in_memory_database_has_no_lock_file(tmp_path: Path) -> None:
    lock = WriterLock(":memory:")
    lock.acquire()
    lock.acquire()  # re-entrant within a thread
    lock.release()
    lock.release()
    assert list(tmp_path.iterdir()) == []
