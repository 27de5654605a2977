"""Load WeChat Official Account statistics into DuckDB (or any dlt destination).

    python pipelines/wechat_datacube_pipeline.py            # credentials from .dlt/secrets.toml
    python pipelines/wechat_datacube_pipeline.py --demo     # built-in emulator, no credentials
    python pipelines/wechat_datacube_pipeline.py --rebuild-from-raw   # no API call at all

With `[[sources.wechat_datacube.accounts]]` in .dlt/secrets.toml it loads every listed account
into the same dataset, one after another, each in its own pipeline (its own state); one
account's failure does not stop the others, and the exit code is the worst of theirs.

Run it every morning after 08:00 Beijing time: it fetches only what is new or still changing.
Exit codes: 0 every endpoint ok (or skipped for a documented reason: no permission, retired);
1 some endpoint partial or failed (see sync_log; the next run resumes); 2 bad configuration;
3 the pipeline itself failed (destination, disk).
"""

import argparse
import inspect
import logging
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import dlt
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.destinations.exceptions import DatabaseException

from . import ConfigurationError, account_sources, wechat_datacube
from .accounts import account_settings, configured_accounts, pipeline_name_for
from .catalog import BY_TABLE
from .clock import last_complete_day
from .emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator
from .loading import LoadOutcome, check_destination, load_source
from .rebuild import rebuild_source
from .run_summary import EndpointResult, TableSummary, needs_rerun, table_summaries
from .settings import PIPELINE_NAME
from .views import create_views

EXIT_OK = 0
"""Every selected endpoint succeeded, or was skipped for a documented reason."""
EXIT_INCOMPLETE = 1
"""At least one endpoint is `partial` or `failed`: rerun (after fixing what sync_log says)."""
EXIT_CONFIGURATION = 2
"""A setting is missing or wrong; nothing was fetched."""
EXIT_PIPELINE = 3
"""dlt could not extract, normalize or load (destination down, disk full...)."""

# not "wechat_datacube": DuckDB rejects a schema named like its file (wechat_datacube.duckdb)
DATASET_NAME = "wechat"
DUCKDB_FILE = "wechat_datacube.duckdb"
DEMO_DAYS = 90


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"load {DEMO_DAYS} days of a demo account from the built-in emulator",
    )
    parser.add_argument(
        "--destination", default="duckdb", help="any dlt destination (default: duckdb)"
    )
    parser.add_argument(
        "--duckdb-file",
        default=DUCKDB_FILE,
        help=f"DuckDB file for the duckdb destination (default: {DUCKDB_FILE})",
    )
    parser.add_argument(
        "--dataset", default=DATASET_NAME, help=f"dataset/schema name (default: {DATASET_NAME})"
    )
    parser.add_argument(
        "--pipeline-name",
        default=None,
        help="dlt pipeline name, which keys the incremental state (default: "
        f"{PIPELINE_NAME}; with many accounts, the prefix of each account's pipeline name)",
    )
    parser.add_argument("--start-date", help="first day to load, YYYY-MM-DD (first run only)")
    parser.add_argument(
        "--end-date", help="inclusive last day: a bounded backfill that leaves state untouched"
    )
    parser.add_argument(
        "--resources",
        help="comma-separated tables to load (default: all but the ad tables); any of: "
        + ", ".join(BY_TABLE),
    )
    parser.add_argument(
        "--ads",
        action="store_true",
        help="also load the publisher_* ad statistics (ad-revenue accounts)",
    )
    parser.add_argument(
        "--max-concurrent-requests", type=int, help="requests in flight at once (default 8)"
    )
    parser.add_argument("--max-requests-per-second", type=float, help="cap on the request rate")
    parser.add_argument(
        "--max-calls", type=int, help="budget of calls for this run; the next run resumes"
    )
    parser.add_argument(
        "--no-views",
        action="store_true",
        help="do not create the ready-made v_* views after the load",
    )
    parser.add_argument(
        "--rebuild-from-raw",
        action="store_true",
        help="rebuild every table (or --resources) from the bodies kept in raw_responses, "
        "with no API call and no credentials; incremental state is left as it is",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser.parse_args(argv)


def source_arguments(args: argparse.Namespace) -> Dict[str, Any]:
    """Only what was given on the command line, so everything else comes from .dlt/ config."""
    given: Dict[str, Any] = {}
    if args.start_date:
        given["start_date"] = args.start_date
    if args.end_date:
        given["end_date"] = args.end_date
    if args.resources:
        given["resources"] = [name.strip() for name in args.resources.split(",") if name.strip()]
    if args.ads:
        given["include_ad_stats"] = True
    for name in ("max_concurrent_requests", "max_requests_per_second", "max_calls"):
        if getattr(args, name) is not None:
            given[name] = getattr(args, name)
    return given


def run(args: argparse.Namespace, extra: Dict[str, Any]) -> int:
    """One account: the one in [sources.wechat_datacube], or the demo's."""
    # `extra` (the demo's account) may repeat a command-line setting, e.g. --start-date
    source = wechat_datacube(**{**source_arguments(args), **extra})
    default = f"{PIPELINE_NAME}_demo" if args.demo else PIPELINE_NAME
    pipeline = make_pipeline(args, args.pipeline_name or default)
    check_destination(pipeline)
    return with_views(args, pipeline, [load(pipeline, source)])


def run_accounts(args: argparse.Namespace, accounts: List[Any]) -> int:
    """Every listed account, each in its own pipeline, all into the same dataset."""
    # every account, and the destination they share, is checked before the first calls WeChat
    sources = account_sources(accounts, **source_arguments(args))
    pipelines = [
        make_pipeline(
            args,
            pipeline_name_for(account.app_id, prefix=args.pipeline_name)
            if args.pipeline_name
            else account.pipeline_name,
        )
        for account in sources
    ]
    check_destination(pipelines[0])
    codes = []
    for account, pipeline in zip(sources, pipelines):
        print(f"account {account.app_id}")
        codes.append(load(pipeline, account.source, app_id=account.app_id))
    # once, over the dataset the accounts share
    return with_views(args, pipelines[-1], codes)


def make_pipeline(args: argparse.Namespace, pipeline_name: str) -> dlt.Pipeline:
    destination: Any = args.destination
    if destination == "duckdb":
        # absolute: dlt resolves a relative path against the folder of the pipeline's first run
        destination = dlt.destinations.duckdb(str(Path(args.duckdb_file).resolve()))
    return dlt.pipeline(
        pipeline_name=pipeline_name, destination=destination, dataset_name=args.dataset
    )


def load(pipeline: dlt.Pipeline, source: Any, app_id: Optional[str] = None) -> int:
    """Runs `source` and prints what each table holds and what the run did; its exit code."""
    outcome = load_source(pipeline, source)
    for problem in outcome.problems:
        print(problem, file=sys.stderr)
    if outcome.results:
        tables = table_summaries(pipeline, [r.endpoint for r in outcome.results], app_id=app_id)
        print(format_summary(tables, outcome.results))
    return exit_code(outcome)


def exit_code(outcome: LoadOutcome) -> int:
    if outcome.load_failed:
        return EXIT_PIPELINE
    return EXIT_INCOMPLETE if needs_rerun(outcome.results) else EXIT_OK


def combined_exit_code(codes: Iterable[int]) -> int:
    """The exit code of a run of many accounts: the worst of theirs (the codes above are
    numbered from best to worst)."""
    return max(codes, default=EXIT_OK)


def format_summary(tables: Sequence[TableSummary], results: Sequence[EndpointResult]) -> str:
    """A plain-text table: what each table holds now, and what this run did to it."""
    held = {table.table: table for table in tables}
    lines = [
        f"{'table':<26} {'rows':>9} {'from':>10} {'to':>10} {'calls':>6} {'fetched':>8}  status",
        "-" * 81,
    ]
    for result in results:
        table = held.get(result.endpoint, TableSummary(result.endpoint, 0, None, None))
        first = table.first.isoformat() if table.first else "-"
        last = table.last.isoformat() if table.last else "-"
        lines.append(
            f"{result.endpoint:<26} {table.rows:>9} {first:>10} {last:>10} "
            f"{result.api_calls:>6} {result.rows:>8}  {result.status}"
        )
    lines.extend(
        f"  {result.endpoint}: {result.message}"
        for result in results
        if result.message and result.status != "ok"
    )
    return "\n".join(lines)


def with_views(args: argparse.Namespace, pipeline: dlt.Pipeline, codes: List[int]) -> int:
    """Creates the views after the loads (unless one could not reach the destination);
    the run's exit code."""
    if not args.no_views and EXIT_PIPELINE not in codes:
        try:
            created = create_views(pipeline)
        except DatabaseException as error:
            # the data is loaded; only the views are missing
            print(f"views not created ({error}); --no-views skips them", file=sys.stderr)
            return EXIT_PIPELINE
        if created:
            print(f"views: {', '.join(created)}")
    return combined_exit_code(codes)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.WARNING)
    if not args.quiet:
        logging.getLogger("wechat_datacube_source").setLevel(logging.INFO)
    try:
        return dispatch(args)
    except (ConfigurationError, ConfigurationException) as error:
        # settings are all checked when the sources are made, before any call
        if not isinstance(error, ConfigurationError):
            error = ConfigurationError.from_dlt(error)  # a value dlt could not coerce
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIGURATION


def rebuild(args: argparse.Namespace) -> int:
    """Every table again from the kept bodies, through the pipeline that loads each account
    (its schema knows the types earlier loads gave): with a list of accounts, one by one."""
    tables = source_arguments(args).get("resources")
    accounts = None if args.demo else configured_accounts()
    if accounts is None:
        default = f"{PIPELINE_NAME}_demo" if args.demo else PIPELINE_NAME
        targets = [(make_pipeline(args, args.pipeline_name or default), None)]
    else:
        allowed = inspect.signature(wechat_datacube).parameters
        app_ids = [entry["app_id"] for entry in account_settings(accounts, allowed)]
        targets = [
            (
                make_pipeline(
                    args, pipeline_name_for(app_id, prefix=args.pipeline_name or PIPELINE_NAME)
                ),
                app_id,
            )
            for app_id in app_ids
        ]
    check_destination(targets[0][0])
    failed = False
    for pipeline, app_id in targets:
        source, outcomes = rebuild_source(pipeline, tables, app_id)
        pipeline.run(source).raise_on_failed_jobs()
        for outcome in outcomes:
            if outcome.answers or outcome.failed:
                print(f"{outcome.endpoint}: {outcome.answers} answers, {outcome.rows} rows rebuilt")
            for problem in outcome.failed:
                print(f"{outcome.endpoint}: still does not parse: {problem}", file=sys.stderr)
        failed = failed or any(outcome.failed for outcome in outcomes)
    return EXIT_INCOMPLETE if failed else EXIT_OK


def dispatch(args: argparse.Namespace) -> int:
    """The demo, the listed accounts, or the one account of [sources.wechat_datacube]."""
    if args.rebuild_from_raw:
        return rebuild(args)
    if not args.demo:
        accounts = configured_accounts()
        return run(args, {}) if accounts is None else run_accounts(args, accounts)
    with Emulator() as api:
        start = last_complete_day() - timedelta(days=DEMO_DAYS - 1)
        print(
            f"demo: emulator on {api.base_url}, account {DEMO_APP_ID}, {start.isoformat()} onwards"
        )
        return run(
            args,
            {
                "app_id": DEMO_APP_ID,
                "app_secret": DEMO_APP_SECRET,
                "base_url": api.base_url,
                "start_date": args.start_date or start.isoformat(),
            },
        )


if __name__ == "__main__":
    sys.exit(main())
