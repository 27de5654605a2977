"""Settings that keep a run's memory small: the defaults of the commands and the pipeline script.

With dlt's and DuckDB's own defaults, loading is what takes the memory, not fetching: DuckDB
may use 80 % of the machine's RAM, and a daily run on ten years of data peaked at ~800 MB
(README, "Memory", has the figures). A memory limit of 128 MB, with DuckDB free to write rows
in any order (they are merged on their keys anyway), brings it to ~340 MB at the same speed;
less, or fewer load workers, cost more time than they saved. On an Airflow worker that runs
several accounts, that decides how many fit.

They reach dlt as its last configuration provider, so any setting of the user's
(`.dlt/config.toml`, secrets, environment variables) wins; a library user sets the same keys
(README, "Memory").
"""

from typing import Any, Dict, Final

import dlt
from dlt.common.configuration.providers import CustomLoaderDocProvider

PROVIDER_NAME: Final = "wechat_datacube memory defaults"
MEMORY_DEFAULTS: Final[Dict[str, Any]] = {
    "destination": {
        "duckdb": {
            "credentials": {
                "global_config": {"memory_limit": "128MB", "preserve_insertion_order": False}
            }
        }
    }
}


def use_memory_defaults() -> None:
    """Makes `MEMORY_DEFAULTS` dlt's last resort for these keys (once per process)."""
    if any(provider.name == PROVIDER_NAME for provider in dlt.config.config_providers):
        return
    dlt.config.register_provider(
        CustomLoaderDocProvider(PROVIDER_NAME, lambda: MEMORY_DEFAULTS, supports_secrets=True)
    )
