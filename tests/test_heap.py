"""Garbage collection settings of the long-running processes (cxbot.heap)."""

from __future__ import annotations

import json
import subprocess
import sys

from cxbot import heap


def test_settle_freezes_what_start_up_made_and_collects_less_often() -> None:
    probe = ("import gc, json; import cxbot.app; from cxbot import heap; "
             "heap.settle(); print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    threshold, frozen = json.loads(done.stdout)
    assert threshold == [heap.YOUNG, heap.MIDDLE, heap.OLD]
    assert frozen > 10_000, "the modules, mappers and templates of start-up are left out of collections"
