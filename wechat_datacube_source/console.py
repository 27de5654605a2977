"""What the command prints: the run's summary, each problem once, tables of query results.

Output goes through rich (a dependency of dlt's already) so that the live progress display,
log lines and the final summary share one terminal without tearing each other. Text is
printed as it is, with markup and emoji codes off: messages quote WeChat and name settings
like `[sources.wechat_datacube]`, and query results hold anything (`user:x:1`), which rich
would otherwise read as markup or as the emoji `:x:`.
"""

import logging
import sys
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

import rich.box
import rich.console
import rich.table
import rich.text

from .errors import ACCOUNT_STOPPED, PROBLEM
from .run_summary import EndpointResult, TableSummary

_WIDE = 10_000
"""The width of output that is no terminal: a table is printed whole, never wrapped at 80."""


class Console:
    """The command's two streams: results on stdout, problems, logs and progress on stderr."""

    def __init__(self, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.out = _rich(out or sys.stdout)
        self.err = _rich(err or sys.stderr)

    def say(self, text: str) -> None:
        _print_plain(self.out, text)

    def aside(self, text: str) -> None:
        """A line beside the results: progress, a problem, a log record (stderr)."""
        _print_plain(self.err, text)

    def summary(
        self, tables: Sequence[TableSummary], results: Sequence[EndpointResult], where: str
    ) -> None:
        """What each table holds now and what this run did; each problem once; the totals,
        and where the data went."""
        self.say(format_summary(tables, results))
        problems = [(r.endpoint, r.message) for r in results if r.message and r.status != "ok"]
        for line in problem_lines(problems):
            self.say(line)
        self.say(format_totals(results, where))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Rows under their column names, as a table."""
        table = rich.table.Table(box=rich.box.SIMPLE_HEAD, highlight=False)
        for column in columns:
            table.add_column(rich.text.Text(column))
        for row in rows:
            # as text: a value is never read as markup ("[b]") or an emoji code (":x:")
            table.add_row(*(rich.text.Text("" if value is None else str(value)) for value in row))
        self.out.print(table)

    def log_handler(self, quiet: bool) -> logging.Handler:
        """Shows the source's log records on stderr (above a live progress display): warnings
        (a retry, a slow answer), or with `quiet` errors only; never a record of a problem
        the summary states (`PROBLEM`), so that each problem is printed once."""
        handler = _ConsoleHandler(self.err)
        handler.setLevel(logging.ERROR if quiet else logging.WARNING)
        handler.addFilter(lambda record: not getattr(record, PROBLEM, False))
        return handler


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: rich.console.Console) -> None:
        super().__init__()
        self.console = console
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 (logging's own rule: a bad record never raises)
            self.handleError(record)
            return
        _print_plain(self.console, text)


def _print_plain(console: rich.console.Console, text: str) -> None:
    """`text` as it is: not read as markup, not coloured, not wrapped."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _rich(stream: TextIO) -> rich.console.Console:
    console = rich.console.Console(file=stream, highlight=False, emoji=False)
    if not console.is_terminal:
        console = rich.console.Console(file=stream, highlight=False, emoji=False, width=_WIDE)
    return console


def format_summary(tables: Sequence[TableSummary], results: Sequence[EndpointResult]) -> str:
    """A plain-text table: what each table holds now (all runs, this account), and what this
    run did to it."""
    held = {table.table: table for table in tables}
    lines = [
        f"{'':<26} {'---- in the table now -----':>31} {'-- this run --':>15}",
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
    return "\n".join(lines)


def problem_lines(problems: Sequence[Tuple[str, str]]) -> List[str]:
    """Each problem of (name, message) pairs once, with the names it concerns: a problem of
    the whole account (a rejected secret, the daily quota) is one line, not one per endpoint.
    It is the last note of each message it stopped (`SyncLog` puts it there), which tells it
    apart from an endpoint's own notes."""
    names: Dict[str, List[str]] = {}
    for name, message in problems:
        own, marker, account = message.partition(ACCOUNT_STOPPED)
        for part in (own.rstrip("; "), marker + account):
            if part:
                names.setdefault(part, []).append(name)
    return [f"  {named(concerned)}: {problem}" for problem, concerned in names.items()]


def named(names: Sequence[str]) -> str:
    """Endpoints by name, the first two and a count when there are more than three."""
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} more endpoints"


def format_totals(results: Sequence[EndpointResult], where: str) -> str:
    """The run in one line: rows fetched, calls, endpoints by status, and where they went."""
    statuses = Counter(result.status for result in results)
    counted = ", ".join(f"{count} {status}" for status, count in statuses.most_common())
    rows = sum(result.rows for result in results)
    calls = sum(result.api_calls for result in results)
    return (
        f"this run: {rows:,} rows fetched in {calls:,} calls; {len(results)} endpoints: "
        f"{counted}. Loaded into {where}"
    )
