"""Runs the pipeline script as on a machine without PostgreSQL's driver (`pip install .`
without the `postgres` extra): importing psycopg2 fails."""

import runpy
import sys
from pathlib import Path

sys.modules["psycopg2"] = None  # type: ignore[assignment]
SCRIPT = Path(__file__).resolve().parents[1] / "pipelines" / "wechat_datacube_pipeline.py"
sys.argv = [str(SCRIPT), *sys.argv[1:]]
runpy.run_path(str(SCRIPT), run_name="__main__")
