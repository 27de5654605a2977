"""Settings that keep a run's memory small: the defaults of the commands and the pipeline script.

With dlt's and DuckDB's own defaults, loading is what takes the memory, not fetching: DuckDB
may use 80 % of the machine's RAM, and a daily run on ten years of data peaked at ~850 MB
(README, "Memory", has the figures). Into DuckDB these defaults load with a memory limit of
128 MB, one DuckDB thread and two load jobs at a time, DuckDB free to write rows in any order
(they are merged on their keys anyway): with the merge by day (`day_merges.py`)
~210 MB for that daily run, and faster.

Each part is measured, not guessed: under 128 MB a 10-year backfill's merges run out of
memory; at 128 MB with DuckDB's own thread count or four load jobs they still did now and then
(dlt retries the job, and fails the run after five tries), and with one DuckDB thread and two
load jobs they did not once in the runs measured. The load-job limit is set only for DuckDB:
a remote warehouse spends its time waiting on the network, where dlt's 20 parallel jobs pay.

They reach dlt as its last configuration provider, so any setting of the user's
(`.dlt/config.toml`, secrets, environment variables) wins; a library user sets the same keys
(README, "Memory").
"""

from typing import Any, Dict, Final

import dlt
from dlt.common.configuration.providers import CustomLoaderDocProvider

PROVIDER_NAME: Final = "wechat_datacube memory defaults"
DUCKDB_SETTINGS: Final[Dict[str, Any]] = {
    "memory_limit": "128MB",
    "threads": 1,
    "preserve_insertion_order": False,
}
DUCKDB_LOAD_WORKERS: Final = 2


def use_memory_defaults(destination: str = "duckdb") -> None:
    """Makes these settings dlt's last resort for a run into `destination` (the provider is
    registered once per process; a later call for another destination re-points it)."""
    provider = next(
        (known for known in dlt.config.config_providers if known.name == PROVIDER_NAME), None
    )
    if provider is None:
        doc = {"destination": {"duckdb": {"credentials": {"global_config": DUCKDB_SETTINGS}}}}
        provider = CustomLoaderDocProvider(PROVIDER_NAME, lambda: doc, supports_secrets=True)
        dlt.config.register_provider(provider)
    # no value is no setting: dlt asks the next provider, and in the end uses its default
    workers = DUCKDB_LOAD_WORKERS if destination == "duckdb" else None
    provider.set_value("workers", workers, None, "load")
