"""Running the source in a pipeline so that no failed load blocks the loads after it.

dlt keeps a package whose load failed and, on the next `pipeline.run(source)`, loads that
package instead of extracting anew. A package that fails for a reason no retry can fix (a
name or value the destination refuses, a table a person changed) therefore jammed every later
run: 0 API calls and the same error, every morning, until someone ran
`dlt pipeline ... drop-pending-packages`. Here such a package is aborted with dlt's own
`abort_packages`, which also rewinds the pipeline's state to before it, so the next run
fetches its days again; a package that failed for a passing reason (the destination was down)
is kept and finished first. Either way the run says so once, in plain words, and `sync_log`
stops calling `ok` what never reached the destination.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

import dlt
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.destination.exceptions import SchemaUpdateError, SchemaUpdateTransientError
from dlt.common.exceptions import MissingDependencyException, TerminalException
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from .day_merges import scope_day_merges
from .errors import ConfigurationError
from .run_summary import EndpointResult, needs_rerun, results_of_loads, run_results
from .safe_text import shortened
from .sync_log import SYNC_LOG_TABLE

# DuckDB's own schemas: a dataset named like one fails at the load, after every call
DUCKDB_RESERVED_SCHEMAS = frozenset({"system", "temp", "information_schema", "pg_catalog"})
# what sync_log says of a run whose package was aborted
NOT_LOADED = "the rows of this run never reached the destination"


@dataclass
class LoadOutcome:
    """What one account's load did: its endpoints' results and the problems to tell."""

    results: List[EndpointResult] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    """One plain line per problem of the load itself (not of WeChat's answers)."""
    load_failed: bool = False
    """The pipeline itself failed (a step of dlt's, the destination): see `problems`."""

    @property
    def complete(self) -> bool:
        """Everything selected is loaded, or was skipped for a documented reason; if not, the
        failed or partial endpoints are in `needs_rerun(results)`, the load's own problem
        in `problems`."""
        return not self.load_failed and not needs_rerun(self.results)


def check_destination(pipeline: dlt.Pipeline) -> None:
    """What can be known about the destination before any call, as a `ConfigurationError`:
    missing credentials or packages, and DuckDB names DuckDB cannot tell apart."""
    try:
        client = pipeline.destination_client()
    except ConfigurationException as error:
        raise ConfigurationError.from_dlt(error) from None
    except MissingDependencyException as error:
        raise ConfigurationError(
            "destination",
            f"{pipeline.destination.destination_name} needs packages that are not installed",
            "Install them: pip install " + " ".join(f'"{dep}"' for dep in error.dependencies),
        ) from None
    database = getattr(getattr(client.config, "credentials", None), "database", None)
    dataset = getattr(getattr(client, "sql_client", None), "dataset_name", None)
    if pipeline.destination.destination_name != "duckdb" or not database or not dataset:
        return
    if dataset.lower() in DUCKDB_RESERVED_SCHEMAS:
        raise ConfigurationError(
            "dataset",
            f"{dataset!r} is a schema DuckDB keeps for itself",
            "Choose another dataset (--dataset), e.g. wechat",
        )
    # merges load into a staging schema first (`<dataset>_staging`), which must not clash either
    layout = getattr(client.config, "staging_dataset_name_layout", "%s_staging")
    schemas = {dataset.lower(), (layout % dataset).lower()}
    if Path(str(database)).stem.lower() in schemas:
        raise ConfigurationError(
            "dataset",
            f"the DuckDB file {Path(str(database)).name} is named like the dataset "
            f"{dataset!r} or its staging schema {layout % dataset!r}, which DuckDB cannot "
            'tell apart ("Ambiguous reference to catalog or schema")',
            "Choose another dataset (--dataset) or another file name (--duckdb-file)",
        )


def load_source(pipeline: dlt.Pipeline, source: Any) -> LoadOutcome:
    """Loads `source`, after finishing (or, if it cannot be finished, aborting) what an
    earlier run left behind."""
    scope_day_merges(source, pipeline.destination.destination_name)
    outcome = LoadOutcome()
    if pipeline.has_pending_data:
        # dlt's run() would load the old package and skip the new extract
        try:
            pipeline.run()
        except PipelineStepFailed as error:
            if not _cannot_succeed(error):
                outcome.problems.append(
                    f"the load an earlier run left could not be finished ({_reason(error)}); "
                    "it is kept and finished first on the next run, and nothing new was "
                    "fetched meanwhile"
                )
                outcome.load_failed = True
                return outcome
            _abort(pipeline, error, outcome, "the load an earlier run left")
    try:
        info = pipeline.run(source)
    except PipelineStepFailed as error:
        outcome.load_failed = True
        if _cannot_succeed(error):
            outcome.results = _abort(pipeline, error, outcome, "this run's load")
        elif error.step == "extract":
            # dlt keeps nothing of an extract that failed: the next run fetches it all again
            outcome.problems.append(
                f"the pipeline failed while fetching ({_reason(error)}); nothing of this run "
                "was loaded, and the next run fetches it again"
            )
        else:
            outcome.problems.append(
                f"the pipeline failed at step {error.step} ({_reason(error)}); what was "
                "fetched is kept and loaded first on the next run"
            )
        return outcome
    outcome.results = run_results(pipeline, info)
    return outcome


def _cannot_succeed(error: PipelineStepFailed) -> bool:
    """A failure that loading the same package again would meet again."""
    if error.step == "normalize":
        return True
    if error.step != "load":
        return False
    return isinstance(error.exception, TerminalException) or _refused_by_parser(error.exception)


# what a database driver raises for a statement its parser refuses: (driver, exception name)
_PARSER_ERRORS = frozenset(
    {("duckdb", "ParserException"), ("duckdb", "SyntaxException"), ("psycopg2", "SyntaxError")}
)


def _refused_by_parser(error: Optional[BaseException]) -> bool:
    """A schema change the destination's parser refused: dlt files every failed schema change
    as transient (two pipelines adding one column at once is), but a statement the parser
    refuses is refused again. DuckDB 1.x refuses to add dlt's `_dlt_load_id NOT NULL` to a
    table someone made ("Adding columns with constraints not yet supported"): kept as
    transient, that package jammed every later run. Only the driver's own error counts, in
    the chain of causes dlt raised from (a few links; a cycle ends it)."""
    if not isinstance(error, SchemaUpdateTransientError):
        return False
    cause: Optional[BaseException] = error.__cause__
    for _ in range(5):
        if cause is None:
            return False
        driver = type(cause).__module__.split(".")[0].lstrip("_")
        if (driver, type(cause).__name__) in _PARSER_ERRORS:
            return True
        cause = cause.__cause__
    return False


def _abort(
    pipeline: dlt.Pipeline, error: PipelineStepFailed, outcome: LoadOutcome, what: str
) -> List[EndpointResult]:
    """Aborts the pending packages (dlt rewinds the state to before them) and makes
    `sync_log` say so; the results of the aborted load as `sync_log` now has them."""
    load_id = error.load_id
    pipeline.abort_packages()
    outcome.problems.append(
        f"{what} failed in a way no retry can fix ({_reason(error)}), so it was dropped and "
        "the pipeline's state rewound to before it: the next run fetches those days again"
    )
    if load_id is None:
        return []
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(SYNC_LOG_TABLE)
            client.execute_sql(
                f"UPDATE {table} SET status = 'failed', message = %s || "  # noqa: S608
                "COALESCE('; ' || message, '') WHERE _dlt_load_id = %s AND status <> 'skipped'",
                f"{NOT_LOADED} ({_reason(error)}) and are fetched again by the next run",
                load_id,
            )
    except DatabaseUndefinedRelation:
        return []  # no sync_log yet: nothing claims anything
    except Exception as problem:  # noqa: BLE001 (whatever the destination says, say it once)
        outcome.problems.append(
            f"sync_log could not be told that load {load_id} was dropped ({problem}); its "
            f"rows of that load may still say ok"
        )
        return []
    return results_of_loads(pipeline, [load_id])


def _reason(error: PipelineStepFailed) -> str:
    """What the destination said, short enough for one line of output: the exception a
    failed job or schema change met, not dlt's wrapper around it (whose first line is a
    traceback header, or a list of every table of the schema)."""
    cause: Optional[BaseException] = getattr(error.exception, "client_exception", None)
    if cause is None and isinstance(error.exception, SchemaUpdateError):
        cause = error.exception.__cause__
    cause = cause or error.exception or error
    lines = [line for line in str(cause).splitlines() if line.strip()]
    return shortened(f"{type(cause).__name__}: {lines[0].strip() if lines else ''}", 200)
