"""Runs the pipeline script and kills it with SIGKILL at a chosen point (crash tests only).

    KILL_AT=normalize|load KILL_AFTER=N python tests/kill_runner.py <script arguments>

`normalize`: after N extracted files were normalized; `load`: after N load jobs completed.
"""

import os
import runpy
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from dlt.common.destination.client import RunnableLoadJob
from dlt.normalize.items_normalizers.arrow import ArrowItemsNormalizer
from dlt.normalize.items_normalizers.jsonl import JsonLItemsNormalizer

SCRIPT = Path(__file__).resolve().parents[1] / "pipelines" / "wechat_datacube_pipeline.py"
after = int(os.environ.get("KILL_AFTER", "1"))
calls = 0


def killing(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global calls
        result = method(*args, **kwargs)
        calls += 1
        if calls >= after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


if os.environ["KILL_AT"] == "normalize":
    # data tables arrive as parquet (arrow items), sync_log and code_labels as jsonl
    for normalizer in (ArrowItemsNormalizer, JsonLItemsNormalizer):
        normalizer.__call__ = killing(normalizer.__call__)  # type: ignore[method-assign]
else:
    RunnableLoadJob.run_managed = killing(RunnableLoadJob.run_managed)  # type: ignore[method-assign]
sys.argv = [str(SCRIPT), *sys.argv[1:]]
runpy.run_path(str(SCRIPT), run_name="__main__")
