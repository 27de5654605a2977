"""Where the command loads to and reads from: a destination, a dataset, the pipelines.

`run`, `demo`, `sql` and `status` take the same options for this, so they agree on where the
data is. In particular the DuckDB file is always given to dlt as an absolute path: dlt
resolves a relative one against the folder of the pipeline's first run, and a pipeline
re-made with `dlt.attach()` forgets the file and reads `<pipeline>.duckdb` instead.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from .accounts import pipeline_name_for
from .settings import PIPELINE_NAME

DATASET_NAME = "wechat"
"""Not "wechat_datacube": DuckDB rejects a schema named like its file (wechat_datacube.duckdb)."""
DUCKDB_FILE = "wechat_datacube.duckdb"
DEMO_PIPELINE_NAME = f"{PIPELINE_NAME}_demo"
"""The demo's own pipeline (its own state): a later real load into the same file does not
mix with it."""


@dataclass(frozen=True)
class Target:
    """A destination and dataset, and the names of the pipelines that load into it."""

    destination: str = "duckdb"
    """Any dlt destination name (its credentials come from .dlt/ or the environment)."""
    duckdb_file: str = DUCKDB_FILE
    dataset: str = DATASET_NAME
    pipeline_name: Optional[str] = None
    """The pipeline (or, with many accounts, the prefix of each account's pipeline)."""

    def destination_reference(self) -> Any:
        if self.destination == "duckdb":
            return dlt.destinations.duckdb(str(Path(self.duckdb_file).resolve()))
        return self.destination

    def pipeline(self, demo: bool = False, app_id: Optional[str] = None) -> dlt.Pipeline:
        """The pipeline of the single account (or the demo's), or of a listed account."""
        if app_id is not None:
            name = pipeline_name_for(app_id, prefix=self.pipeline_name or PIPELINE_NAME)
        else:
            name = self.pipeline_name or (DEMO_PIPELINE_NAME if demo else PIPELINE_NAME)
        return dlt.pipeline(
            pipeline_name=name,
            destination=self.destination_reference(),
            dataset_name=self.dataset,
        )

    def dataset_reader(self) -> Any:
        """dlt's dataset of what every account loaded, read with no pipeline at all (so
        reading leaves no pipeline folder behind whose empty state a later load would trust
        over the state kept in the destination); a DuckDB file is opened read-only."""
        destination: Any = self.destination
        if self.destination == "duckdb":
            path = str(Path(self.duckdb_file).resolve())
            destination = dlt.destinations.duckdb(DuckDbCredentials(path, read_only=True))
        return dlt.dataset(destination, self.dataset)

    def describe(self) -> str:
        """Where the data is, in words: the file and dataset, or the destination and dataset."""
        if self.destination == "duckdb":
            return f"DuckDB file {Path(self.duckdb_file).resolve()}, dataset {self.dataset}"
        return f"destination {self.destination}, dataset {self.dataset}"
