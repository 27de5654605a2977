"""sync_log tells the truth about each run: run ids in run order, no `ok` for rows that did
not reach the destination."""

import re
from datetime import datetime, timezone

import time_machine

from wechat_datacube_source.resources import new_run_id


def test_run_ids_sort_in_run_order_even_within_one_clock_tick() -> None:
    # a timestamp to the second plus random hex sorted two runs of one second at random
    with time_machine.travel(datetime(2026, 6, 15, 2, 0, tzinfo=timezone.utc), tick=False):
        ids = [new_run_id() for _ in range(50)]
    assert sorted(ids) == ids and len(set(ids)) == 50
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}", run_id) for run_id in ids)
