"""Runs a Python file with the clock pinned (subprocess tests only).

    python tests/pinned_clock.py 2026-06-15T10:00:00+08:00 <file> <its arguments>

A test that compares what a subprocess loaded with a reference loaded in its own process
needs both on one calendar: on the real clock, a run that crosses 08:00 Beijing time has a
different last complete day from its reference. The clock starts at the given time and
ticks, as the tests' `clock` fixture does, so timeouts and back-off still pass.
"""

import runpy
import sys
from datetime import datetime

import time_machine

now, target, *arguments = sys.argv[1:]
sys.argv = [target, *arguments]
with time_machine.travel(datetime.fromisoformat(now), tick=True):
    runpy.run_path(target, run_name="__main__")
