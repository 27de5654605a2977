"""The `wechat-datacube` command: load, look at what was loaded, serve the emulator.

    wechat-datacube demo                     # 90 days of a demo account, no credentials
    wechat-datacube run                      # your account(s), from .dlt/secrets.toml
    wechat-datacube sql "SELECT count(*) FROM user_summary"
    wechat-datacube status                   # per account and table: loaded through, problems
    wechat-datacube report                   # an HTML report with charts and data health
    wechat-datacube emulator --port 8080     # the emulated API, for your own tests

Built with click (which dlt depends on already): subcommands sharing option groups, typed
options whose errors name the option, and help text, for no new dependency.

Exit codes: 0 every endpoint ok (or skipped for a documented reason); 1 some endpoint partial
or failed (see `status`; the next run resumes); 2 bad configuration or usage (a query that
does not run, too); 3 the pipeline itself failed, or the destination could not be read.
"""

import contextlib
import functools
import logging
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

import click
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.destinations.exceptions import DatabaseException, DestinationConnectionError

from .catalog import BY_TABLE
from .console import Console, problem_lines
from .errors import ConfigurationError
from .loads import (
    DEMO_DAYS,
    EXIT_CONFIGURATION,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_PIPELINE,
    LoadJob,
    rebuild,
    run_configured,
    run_demo,
)
from .memory_defaults import use_memory_defaults
from .reading import QueryRefused, account_status, query
from .report_data import DEFAULT_REPORT_DAYS, read_report
from .report_page import LANGUAGES, REPORT_FILE, render
from .settings import PIPELINE_NAME
from .targets import DATASET_NAME, DEMO_PIPELINE_NAME, DUCKDB_FILE, Target
from .version import __version__

F = TypeVar("F", bound=Callable[..., Any])
PROG_NAME = "wechat-datacube"


def _options(*options: Callable[[Any], Any]) -> Callable[[F], F]:
    """One decorator for a group of options, listed in the order `--help` shows them."""

    def apply(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


_target_options = _options(
    click.option(
        "--destination",
        default="duckdb",
        show_default=True,
        help="any dlt destination; its credentials come from .dlt/secrets.toml",
    ),
    click.option(
        "--duckdb-file",
        default=DUCKDB_FILE,
        show_default=True,
        help="the DuckDB file, for the duckdb destination",
    ),
    click.option("--dataset", default=DATASET_NAME, show_default=True, help="dataset/schema"),
)
"""Where the data is: the same three options on every command that loads or reads."""

_load_options = _options(
    click.option(
        "--pipeline-name",
        help=f"dlt pipeline name, which keys the incremental state (default {PIPELINE_NAME}, "
        f"the demo's {DEMO_PIPELINE_NAME}; with many accounts, the prefix of each account's "
        "pipeline name)",
    ),
    click.option("--start-date", help="first day to load, YYYY-MM-DD (first run only)"),
    click.option(
        "--end-date", help="inclusive last day: a bounded backfill that leaves state untouched"
    ),
    click.option(
        "--resources",
        help="comma-separated tables (default: all but the ad tables); any of: "
        + ", ".join(BY_TABLE),
    ),
    click.option(
        "--ads", is_flag=True, help="also load the publisher_* ad statistics (ad accounts)"
    ),
    click.option(
        "--max-concurrent-requests", type=int, help="requests in flight at once (default 8)"
    ),
    click.option("--max-requests-per-second", type=float, help="cap on the request rate"),
    click.option(
        "--max-calls", type=int, help="budget of calls for this run; the next run resumes"
    ),
    click.option("--no-views", is_flag=True, help="do not create the ready-made v_* views"),
    click.option("--quiet", is_flag=True, help="no progress: print only errors and the summary"),
)
"""What to load and how fast: the pipeline, and the source's settings that make sense per
run (only those given reach the source, so everything else comes from .dlt/ config)."""

_GIVEN = (
    "start_date",
    "end_date",
    "max_concurrent_requests",
    "max_requests_per_second",
    "max_calls",
)


def _job(options: Dict[str, Any]) -> LoadJob:
    """The command's options as a load: only settings given on the command line, so that
    everything else comes from .dlt/ config."""
    settings = {name: options[name] for name in _GIVEN if options[name] is not None}
    if options.get("resources"):
        settings["resources"] = [
            name.strip() for name in options["resources"].split(",") if name.strip()
        ]
    if options.get("ads"):
        settings["include_ad_stats"] = True
    return LoadJob(
        target=_target(options),
        settings=settings,
        views=not options.get("no_views"),
        quiet=bool(options.get("quiet")),
    )


def _target(options: Dict[str, Any]) -> Target:
    return Target(
        destination=options["destination"],
        duckdb_file=options["duckdb_file"],
        dataset=options["dataset"],
        pipeline_name=options.get("pipeline_name"),
    )


def _exits(command: Callable[..., int]) -> Callable[..., None]:
    """Turns the command's result into its exit code, and a bad setting (found before any
    call) into one line naming the key and exit code 2."""

    @functools.wraps(command)
    def run(**options: Any) -> None:
        use_memory_defaults(options.get("destination") or "duckdb")
        try:
            code = command(**options)
        except (ConfigurationError, ConfigurationException) as error:
            if not isinstance(error, ConfigurationError):
                error = ConfigurationError.from_dlt(error)  # a value dlt could not coerce
            click.echo(f"configuration error: {error}", err=True)
            code = EXIT_CONFIGURATION
        sys.exit(code)

    return run


def _console(quiet: bool) -> Console:
    """The console, with the source's log records shown through it (see `Console`)."""
    console = Console()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(message)s", level=logging.WARNING)
    source_logger = logging.getLogger("wechat_datacube_source")
    source_logger.handlers = [console.log_handler(quiet)]
    source_logger.propagate = False
    return console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name=PROG_NAME)
def command() -> None:
    """Load WeChat Official Account statistics into DuckDB (or any dlt destination).

    Run `run` every morning after 08:00 Beijing time: it fetches only what is new or still
    changing. Exit codes: 0 ok; 1 some endpoint partial or failed (the next run resumes);
    2 bad configuration or usage (a query that does not run); 3 the pipeline itself failed,
    or the destination could not be read.
    """


@command.command(short_help="Load your account(s) from WeChat.")
@_target_options
@_load_options
@click.option(
    "--demo", is_flag=True, help=f"load {DEMO_DAYS} days of a demo account from the emulator"
)
@click.option(
    "--rebuild-from-raw",
    is_flag=True,
    help="rebuild every table (or --resources) from the bodies kept in raw_responses, with no "
    "API call and no credentials; incremental state is left as it is",
)
@_exits
def run(**options: Any) -> int:
    """Load the account of [sources.wechat_datacube], or every listed account."""
    job = _job(options)
    console = _console(job.quiet)
    if options["rebuild_from_raw"]:
        return rebuild(job, console, demo=options["demo"])
    return run_demo(job, console) if options["demo"] else run_configured(job, console)


@command.command(short_help="Load 90 days of a demo account, no account needed.")
@_target_options
@_load_options
@_exits
def demo(**options: Any) -> int:
    """Load 90 days of a demo account from the built-in emulator: no account needed."""
    job = _job(options)
    return run_demo(job, _console(job.quiet))


@command.command(short_help="Run a query over the loaded tables and views.")
@_target_options
@click.argument("query_text", metavar="QUERY")
@_exits
def sql(query_text: str, **options: Any) -> int:
    """Run a query over the loaded tables and views and print the rows.

    Table names need no dataset prefix: wechat-datacube sql "SELECT count(*) FROM user_summary".
    Exits 2 for a query that does not run (refused here, or by the destination).
    """
    target = _target(options)
    console = _console(quiet=True)
    _check_loaded(target)
    try:
        columns, rows = query(target.dataset_reader(), query_text)
    except QueryRefused as refused:
        raise click.BadParameter(str(refused), param_hint="QUERY") from None
    except DestinationConnectionError as error:
        return _unreadable(console, target, error)
    except DatabaseException as error:
        raise click.BadParameter(
            f"the destination refused it: {_first_line(error)}", param_hint="QUERY"
        ) from None
    console.table(columns, rows)
    return EXIT_OK


@command.command(short_help="Per account and table: how far loaded, what to fix.")
@_target_options
@_exits
def status(**options: Any) -> int:
    """Per account and table: rows, the newest day loaded, the last run, and what to fix.

    Exits 1 when the last run of some endpoint is partial or failed."""
    target = _target(options)
    console = _console(quiet=True)
    _check_loaded(target)
    try:
        statuses = account_status(target.dataset_reader())
    except (DatabaseException, DestinationConnectionError) as error:
        return _unreadable(console, target, error)
    if not statuses:
        console.say(f"nothing is loaded in {target.describe()} yet: run `{PROG_NAME} demo`")
        return EXIT_OK
    console.table(
        [
            "account",
            "table",
            "rows",
            "newest day",
            "loaded from",
            "loaded through",
            "last run (UTC)",
            "status",
        ],
        [
            (
                s.app_id,
                s.table,
                f"{s.rows:,}",
                s.newest_day,
                s.loaded_from,
                s.loaded_through,
                f"{_utc(s.last_run):%Y-%m-%d %H:%M}" if s.last_run else None,
                s.status,
            )
            for s in statuses
        ],
    )
    unhealthy = [s for s in statuses if not s.healthy]
    for app_id in dict.fromkeys(s.app_id for s in unhealthy):
        console.say(f"account {app_id}, what to do:")
        for line in problem_lines(
            [(s.table, s.message or s.status or "") for s in unhealthy if s.app_id == app_id]
        ):
            console.say(line)
    console.say(f"in {target.describe()}")
    return EXIT_INCOMPLETE if unhealthy else EXIT_OK


@command.command(short_help="Write an HTML report of what is loaded: charts and data health.")
@_target_options
@click.option("--accounts", help="comma-separated app_ids (default: every account in the dataset)")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=DEFAULT_REPORT_DAYS,
    show_default=True,
    help="days shown, ending on --until or the newest day loaded (never before the first)",
)
@click.option(
    "--until", help="last day shown, YYYY-MM-DD (default, and at most: the newest loaded)"
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=REPORT_FILE,
    show_default=True,
    help="the HTML file to write",
)
@click.option(
    "--language", type=click.Choice(LANGUAGES), default="en", show_default=True, help="labels"
)
@_exits
def report(**options: Any) -> int:
    """Write one self-contained HTML file (no server, no network) with each account's
    followers, content, messages, ad revenue and a data-health calendar per endpoint."""
    target = _target(options)
    console = _console(quiet=True)
    until = _day_option(options["until"], "until")
    output: Path = options["output"]
    if not output.parent.is_dir():
        raise click.BadParameter(
            f"the folder {output.parent} does not exist: create it, or write elsewhere",
            param_hint="--output",
        )
    _check_loaded(target)
    wanted = [a.strip() for a in (options["accounts"] or "").split(",") if a.strip()]
    try:
        reports = read_report(target.dataset_reader(), wanted or None, options["days"], until)
    except (DatabaseException, DestinationConnectionError) as error:
        return _unreadable(console, target, error)
    try:
        output.write_text(render(reports, options["language"]), encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(
            f"cannot write {output}: {error.strerror}", param_hint="--output"
        ) from None
    console.say(f"report of {len(reports)} account(s) written to {output.resolve()}")
    return EXIT_OK


def _day_option(value: Optional[str], name: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: write YYYY-MM-DD", param_hint=f"--{name}"
        ) from None


@command.command(short_help="Serve the emulated WeChat API.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind")
@click.option("--port", type=int, default=8080, show_default=True, help="0: any free port")
@click.option("--latency", type=float, default=0.0, help="seconds added to every response")
@click.option("--samples", is_flag=True, help="answer with the official sample payloads")
@click.option(
    "--wild",
    is_flag=True,
    help="answer in the shapes seen in the wild rather than the documented ones",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="APPID:SECRET",
    help="an account the emulator knows (repeatable; default: the demo account)",
)
def emulator(
    host: str, port: int, latency: float, samples: bool, wild: bool, accounts: Tuple[str, ...]
) -> None:
    """Serve the emulated WeChat statistics API (until Ctrl-C)."""
    from .emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator, FaultRule

    known: Dict[str, str] = {}
    for account in accounts:
        app_id, _, secret = account.partition(":")
        if not app_id or not secret:
            raise click.BadParameter(
                f"{account!r}: write it as APPID:SECRET", param_hint="--account"
            )
        known[app_id] = secret
    api = Emulator(
        known or {DEMO_APP_ID: DEMO_APP_SECRET},
        latency_seconds=latency,
        samples=samples,
        host=host,
        port=port,
    )
    if wild:
        api.add_fault(FaultRule("mutate", mutation="wild"))
    click.echo(f"WeChat API emulator on {api.base_url}")
    for app_id in api.accounts:
        click.echo(f"  account app_id={app_id}")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        api.serve_forever()


def _check_loaded(target: Target) -> None:
    """Reading a DuckDB file that is not there would create an empty one."""
    if target.destination == "duckdb" and not Path(target.duckdb_file).exists():
        raise ConfigurationError(
            "duckdb-file",
            f"there is no DuckDB file {Path(target.duckdb_file).resolve()}",
            f"Load something first (`{PROG_NAME} demo`), or give the path of the file that "
            "was loaded with --duckdb-file",
        )


def _unreadable(console: Console, target: Target, error: Exception) -> int:
    """One line for a destination that could not be read (a load under way holds a DuckDB
    file, a server is down); exit code 3."""
    console.aside(f"{target.describe()} could not be read: {_first_line(error)}")
    return EXIT_PIPELINE


def _utc(moment: datetime) -> datetime:
    """A destination's timestamp in UTC (DuckDB and PostgreSQL answer in their session's zone)."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def main(argv: Optional[List[str]] = None, prog_name: str = PROG_NAME) -> int:
    """Runs the command with `argv` (default: the process's arguments); its exit code."""
    try:
        command.main(args=argv, prog_name=prog_name)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else EXIT_OK if done.code is None else 1
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
