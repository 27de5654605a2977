"""What `wechat-datacube run` and `demo` do: load the demo, the one account of
`[sources.wechat_datacube]` or every listed account, print what happened, and say it in an
exit code.

With `[[sources.wechat_datacube.accounts]]` every listed account is loaded into the same
dataset, one after another, each in its own pipeline (its own state); one account's failure
does not stop the others, and the exit code is the worst of theirs.
"""

import inspect
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, Iterable, List, Optional, Tuple

import dlt
from dlt.destinations.exceptions import DatabaseException

from . import account_sources, wechat_datacube
from .accounts import account_settings, configured_accounts
from .catalog import BY_TABLE
from .clock import last_complete_day
from .console import Console, named
from .day_merges import scope_day_merges
from .emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator
from .loading import LoadOutcome, check_destination, load_source
from .progress_display import ProgressDisplay
from .rebuild import rebuild_source
from .resources import STATE_KEY
from .run_summary import needs_rerun, table_summaries
from .settings import SOURCE_NAME
from .targets import Target
from .views import create_views

EXIT_OK = 0
"""Every selected endpoint succeeded, or was skipped for a documented reason."""
EXIT_INCOMPLETE = 1
"""At least one endpoint is `partial` or `failed`: rerun (after fixing what sync_log says)."""
EXIT_CONFIGURATION = 2
"""A setting is missing or wrong; nothing was fetched."""
EXIT_PIPELINE = 3
"""dlt could not extract, normalize or load (destination down, disk full...)."""

DEMO_DAYS = 90


@dataclass(frozen=True)
class LoadJob:
    """What to load and how: the command's options."""

    target: Target = field(default_factory=Target)
    settings: Dict[str, Any] = field(default_factory=dict)
    """Source settings given on the command line; everything else comes from .dlt/."""
    views: bool = True
    quiet: bool = False


def exit_code(outcome: LoadOutcome) -> int:
    if outcome.load_failed:
        return EXIT_PIPELINE
    return EXIT_INCOMPLETE if needs_rerun(outcome.results) else EXIT_OK


def combined_exit_code(codes: Iterable[int]) -> int:
    """The exit code of a run of many accounts: the worst of theirs (the codes above are
    numbered from best to worst)."""
    return max(codes, default=EXIT_OK)


def run_configured(job: LoadJob, console: Console) -> int:
    """The listed accounts, or the one account of [sources.wechat_datacube]."""
    accounts = configured_accounts()
    if accounts is None:
        pipeline, source = job.target.pipeline(), wechat_datacube(**job.settings)
        check_destination(pipeline)
        return _run(job, console, pipeline, source)
    # every account, and the destination they share, is checked before the first calls WeChat
    sources = account_sources(accounts, **job.settings)
    pipelines = [job.target.pipeline(app_id=account.app_id) for account in sources]
    check_destination(pipelines[0])
    codes = []
    for account, pipeline in zip(sources, pipelines):
        console.say(f"account {account.app_id}")
        _note_start_date(job, console, pipeline, account.source)
        codes.append(_load(job, console, pipeline, account.source, app_id=account.app_id))
    # once, over the dataset the accounts share
    return _with_views(job, console, pipelines[-1], codes)


def run_demo(job: LoadJob, console: Console) -> int:
    """`DEMO_DAYS` days of the demo account, served by the built-in emulator."""
    with Emulator() as api:
        start = last_complete_day() - timedelta(days=DEMO_DAYS - 1)
        first = job.settings.get("start_date") or start.isoformat()
        settings = {
            **job.settings,
            "app_id": DEMO_APP_ID,
            "app_secret": DEMO_APP_SECRET,
            "base_url": api.base_url,
            "start_date": first,
        }
        pipeline = job.target.pipeline(demo=True)
        source = wechat_datacube(**settings)
        check_destination(pipeline)
        if not job.quiet:
            resumed = _resumed(pipeline, source)
            since = "resuming its earlier loads" if resumed else f"{first} onwards"
            console.say(f"demo: emulator on {api.base_url}, account {DEMO_APP_ID}, {since}")
        return _run(job, console, pipeline, source)


def _run(job: LoadJob, console: Console, pipeline: dlt.Pipeline, source: Any) -> int:
    """One account's load, then the views."""
    _note_start_date(job, console, pipeline, source)
    return _with_views(job, console, pipeline, [_load(job, console, pipeline, source)])


def _resumed(pipeline: dlt.Pipeline, source: Any) -> List[str]:
    """The selected tables that this pipeline loaded before, as its state says (synced from
    the destination first, as the run would: the local folder may be new, or stale)."""
    pipeline.sync_destination()
    state = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    return [
        name
        for name in source.selected_resources
        if name in BY_TABLE and state.get(name, {}).get(STATE_KEY)
    ]


def _note_start_date(job: LoadJob, console: Console, pipeline: dlt.Pipeline, source: Any) -> None:
    """`--start-date` has no effect on a table loaded before (its state says where it
    resumes), which a user asking for earlier days should be told. (Only then is the state
    read ahead of the run: a daily run reads it once, in `pipeline.run`.)"""
    if "start_date" not in job.settings or "end_date" in job.settings:
        return
    resumed = _resumed(pipeline, source)
    if resumed:
        console.aside(
            f"--start-date does not apply to {named(resumed)}: they were loaded before and "
            "resume where they stopped. For earlier days add --end-date (a backfill that "
            "leaves the daily state alone)"
        )


def _load(
    job: LoadJob,
    console: Console,
    pipeline: dlt.Pipeline,
    source: Any,
    app_id: Optional[str] = None,
) -> int:
    """Runs `source` with live progress, then prints what each table holds of the account
    and what the run did; its exit code."""
    with ProgressDisplay(console, enabled=not job.quiet):
        outcome = load_source(pipeline, source)
    for problem in outcome.problems:
        console.aside(problem)
    if outcome.results:
        endpoints = [result.endpoint for result in outcome.results]
        # what the tables hold of this account, when others (the demo) share the dataset
        app_id = app_id or outcome.results[0].app_id
        console.summary(
            table_summaries(pipeline, endpoints, app_id=app_id),
            outcome.results,
            job.target.describe(),
        )
    return exit_code(outcome)


def _with_views(job: LoadJob, console: Console, pipeline: dlt.Pipeline, codes: List[int]) -> int:
    """Creates the views after the loads (unless one could not reach the destination);
    the run's exit code."""
    if job.views and EXIT_PIPELINE not in codes:
        try:
            created = create_views(pipeline)
        except DatabaseException as error:
            # the data is loaded; only the views are missing
            console.aside(f"views not created ({error}); --no-views skips them")
            return EXIT_PIPELINE
        if created and not job.quiet:
            console.say(f"views: {', '.join(created)}")
    return combined_exit_code(codes)


def rebuild(job: LoadJob, console: Console, demo: bool) -> int:
    """Every table again from the kept bodies, through the pipeline that loads each account
    (its schema knows the types earlier loads gave): with a list of accounts, one by one."""
    tables = job.settings.get("resources")
    accounts = None if demo else configured_accounts()
    targets: List[Tuple[dlt.Pipeline, Optional[str]]]
    if accounts is None:
        targets = [(job.target.pipeline(demo=demo), None)]
    else:
        allowed = inspect.signature(wechat_datacube).parameters
        app_ids = [entry["app_id"] for entry in account_settings(accounts, allowed)]
        targets = [(job.target.pipeline(app_id=app_id), app_id) for app_id in app_ids]
    check_destination(targets[0][0])
    failed = False
    for pipeline, app_id in targets:
        source, outcomes = rebuild_source(pipeline, tables, app_id)
        scope_day_merges(source, pipeline.destination.destination_name)
        pipeline.run(source).raise_on_failed_jobs()
        for outcome in outcomes:
            if outcome.answers or outcome.failed:
                console.say(
                    f"{outcome.endpoint}: {outcome.answers} answers, {outcome.rows} rows rebuilt"
                )
            for problem in outcome.failed:
                console.aside(f"{outcome.endpoint}: still does not parse: {problem}")
        failed = failed or any(outcome.failed for outcome in outcomes)
    return EXIT_INCOMPLETE if failed else EXIT_OK
