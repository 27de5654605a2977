"""The report as one self-contained HTML file: charts drawn with Plotly, every script inline.

Plotly, because its Python package carries plotly.js itself (`plotly.offline.get_plotlyjs`):
the file needs no network and no asset folder, and opens by a double click, which a
pyecharts page cannot do without a copy of echarts.min.js fetched from a CDN or vendored
here. Its charts draw into SVG, which the browser test reads to check each one drew.

Labels come in English or Chinese (`LANGUAGES`); channel, source and scene names come from
`code_labels` in the language asked for, through the ready-made views.
"""

import html
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import plotly.graph_objects as go
from plotly.io import to_html
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from .console import problem_lines
from .labels import CODE_LABELS_TABLE
from .report_data import (
    FAILED,
    HEALTH_STATES,
    LOADED_DAY,
    NOT_LOADED,
    NOT_READY,
    SET_ASIDE,
    AccountReport,
)
from .version import __version__
from .views import VIEWS

LANGUAGES = ("en", "zh")
REPORT_FILE = "wechat_datacube_report.html"

TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "WeChat Official Account report",
        "range": "{first} to {last}",
        "weekly": "bars add up each week, from its Monday",
        "generated": "made {at} by wechat_datacube_source {version}",
        "followers": "Followers",
        "total": "Follower total",
        "new_lost": "New and lost followers by channel, and the net change",
        "net": "net change",
        "lost": "lost",
        "content": "Published content",
        "top": "Top articles by readers in their first 7 and 30 days",
        "first7": "readers, first 7 days",
        "first30": "readers, first 30 days",
        "legacy": "Top articles of the legacy tables (article_total) by readers in their "
        "first 7 days",
        "sources": "Where readers came from",
        "shares": "Shares by scene",
        "messages": "Messages and the interface",
        "volume": "Messages received by type",
        "hours": "Messages by weekday and hour (Beijing time)",
        "interface": "Interface calls, failures and average latency",
        "calls": "calls",
        "fails": "failures",
        "latency": "average ms",
        "ads": "Ad revenue",
        "ad_income": "Ad income by slot, in yuan",
        "no_ads": "No ad statistics are loaded (load them with --ads on an account with ads).",
        "health": "Data health",
        "calendar": "Days of each endpoint: loaded, not ready yet, failed, set aside, not loaded",
        "problems": "What the last runs need",
        "no_problems": "Every endpoint's last run was complete.",
        "no_data": "No data in this range.",
        "missing_view": "Not in this dataset: {name}, the view wechat-datacube run creates "
        "once {tables} is loaded.",
        "missing_table": "Not in this dataset: {name}, which wechat-datacube run loads unless "
        "--resources leaves it out.",
        LOADED_DAY: "loaded",
        NOT_READY: "not ready yet",
        FAILED: "failed",
        SET_ASIDE: "set aside",
        NOT_LOADED: "not loaded",
        "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    },
    "zh": {
        "title": "微信公众号数据报告",
        "range": "{first} 至 {last}",
        "weekly": "柱状图按周（周一起）汇总",
        "generated": "{at} 由 wechat_datacube_source {version} 生成",
        "followers": "粉丝",
        "total": "累计粉丝",
        "new_lost": "各渠道新增与取消关注，及净增",
        "net": "净增",
        "lost": "取消关注",
        "content": "发表内容",
        "top": "文章发表后 7 天与 30 天阅读人数排行",
        "first7": "前 7 天阅读人数",
        "first30": "前 30 天阅读人数",
        "legacy": "旧版图文接口（article_total）文章群发后 7 天阅读人数排行",
        "sources": "阅读来源",
        "shares": "分享场景",
        "messages": "消息与接口",
        "volume": "各类型消息数",
        "hours": "消息按星期与小时分布（北京时间）",
        "interface": "接口调用、失败与平均耗时",
        "calls": "调用次数",
        "fails": "失败次数",
        "latency": "平均耗时 ms",
        "ads": "广告收入",
        "ad_income": "各广告位收入（元）",
        "no_ads": "未加载广告数据（有广告的账号可用 --ads 加载）。",
        "health": "数据健康",
        "calendar": "各接口每日状态：已加载、未就绪、失败、已搁置、未加载",
        "problems": "最近一次运行需要处理的问题",
        "no_problems": "所有接口最近一次运行均已完成。",
        "no_data": "此时间范围内没有数据。",
        "missing_view": "数据集中没有视图 {name}：加载 {tables} 后，wechat-datacube run 会创建它。",
        "missing_table": "数据集中没有 {name}：wechat-datacube run 默认会加载它（除非 --resources "
        "未包含它）。",
        LOADED_DAY: "已加载",
        NOT_READY: "未就绪",
        FAILED: "失败",
        SET_ASIDE: "已搁置",
        NOT_LOADED: "未加载",
        "weekdays": "周一,周二,周三,周四,周五,周六,周日",
    },
}

HEALTH_COLOURS = {
    LOADED_DAY: "#2e9d5b",
    NOT_READY: "#f2c14e",
    FAILED: "#d1495b",
    SET_ASIDE: "#8d5fd3",
    NOT_LOADED: "#d9d9d9",
}

DAY_TICKS = [
    {"dtickrange": [None, "M1"], "value": "%m-%d"},
    {"dtickrange": ["M1", None], "value": "%Y-%m"},
]
"""Day axes in numbers, month-day or year-month by zoom: plotly.js names months in English
only (its other locales are separate scripts), and numbers read the same in both languages."""

DAILY_DAYS = 120
"""Up to this many days a report's bars are days and its calendar's cells stand apart; over
more, a day's bar or cell is a hairline, so bars add up each week and cells touch."""

_STYLE = """
body { font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
nav a { margin-right: 1em; }
section.account { border-top: 3px solid #2e9d5b; margin-top: 2em; }
h3 { margin-bottom: 0.2em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.wide { grid-column: 1 / -1; }
.note, footer { color: #666; }
li.problem { margin-bottom: 0.4em; }
"""


def render(reports: Sequence[AccountReport], language: str = "en") -> str:
    """The whole report as one HTML document."""
    words = TEXT[language]
    label = 1 if language == "en" else 2  # (the English, or the Chinese, label column)
    generated = words["generated"].format(
        at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), version=__version__
    )
    nav = " ".join(f'<a href="#{_id(r.app_id)}">{html.escape(r.app_id)}</a>' for r in reports)
    body = "\n".join(_account(report, words, label) for report in reports)
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(words["title"])}</title>
<style>{_STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>{html.escape(words["title"])}</h1>
<nav>{nav}</nav>
{body}
<footer><p>{html.escape(generated)}</p></footer>
</body>
</html>
"""


def _account(report: AccountReport, words: Mapping[str, str], label: int) -> str:
    chart = _Charts(report, words)
    period = words["range"].format(first=report.first_day, last=report.last_day)
    weekly = len(report.days) > DAILY_DAYS
    if weekly:
        period += f" · {words['weekly']}"
    parts = [
        f'<section class="account" id="{_id(report.app_id)}">',
        f"<h2>{html.escape(report.app_id)}</h2><p>{html.escape(period)}</p>",
        f"<h3>{words['followers']}</h3><div class='grid'>",
        chart("total", "followers", _followers),
        chart("new_lost", "channels", lambda rows: _channels(rows, words, label, weekly)),
        f"</div><h3>{words['content']}</h3><div class='grid'>",
        chart("top", "top_articles", lambda rows: _top(rows, words), wide=True),
        chart("legacy", "legacy_articles", lambda rows: _top(rows, words), wide=True),
        chart("sources", "read_sources", lambda rows: _sources(rows, label)),
        chart("shares", "shares", lambda rows: _stacked(rows, label, weekly)),
        f"</div><h3>{words['messages']}</h3><div class='grid'>",
        chart("volume", "messages", lambda rows: _stacked(rows, label, weekly)),
        chart("hours", "message_hours", lambda rows: _hours(rows, words)),
        chart("interface", "interface", lambda rows: _interface(rows, words), wide=True),
        f"</div><h3>{words['ads']}</h3><div class='grid'>",
        chart(
            "ad_income", "ads", lambda rows: _stacked(rows, label, weekly), empty=words["no_ads"]
        ),
        f"</div><h3>{words['health']}</h3><div class='grid'>",
        chart("calendar", "health", lambda _: _calendar(report, words), wide=True),
        "</div>",
        _problems(report, words),
        "</section>",
    ]
    return "\n".join(parts)


class _Charts:
    """Each chart of an account as a titled HTML fragment, or a note where it has no data:
    what is not in the dataset and how it gets there, or that the days shown have none."""

    def __init__(self, report: AccountReport, words: Mapping[str, str]) -> None:
        self.report, self.words = report, words

    def __call__(
        self,
        name: str,
        field: str,
        draw: Callable[[Any], go.Figure],
        wide: bool = False,
        empty: str = "",
    ) -> str:
        """The chart `name` of the report's `field` (its rows), drawn by `draw`."""
        title = html.escape(self.words[name])
        css = "chart wide" if wide else "chart"
        rows = getattr(self.report, field)
        if not rows:
            note = html.escape(self._missing(field) or empty or self.words["no_data"])
            return f"<div class='{css}'><h4>{title}</h4><p class='note'>{note}</p></div>"
        figure = draw(list(rows))
        if _by_day(figure):
            figure.update_xaxes(tickformatstops=DAY_TICKS, hoverformat="%Y-%m-%d")
        figure.update_layout(
            margin={"l": 50, "r": 20, "t": 36, "b": 40},  # (room above for plotly's toolbar)
            height=figure.layout.height or 360,  # (a chart may ask for more room)
            template="plotly_white",
            legend={"orientation": "h", "y": -0.15},
        )
        div = to_html(
            figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"{_id(self.report.app_id)}-{name}",
            config={"displaylogo": False, "responsive": True},
        )
        return f"<div class='{css}' data-chart='{name}'><h4>{title}</h4>{div}</div>"

    def _missing(self, field: str) -> str:
        """What the dataset lacks for `field`'s chart, in words, or nothing."""
        name = self.report.missing.get(field)
        if name is None:
            return ""
        view = next((view for view in VIEWS if view.name == name), None)
        if view is None:
            return self.words["missing_table"].format(name=name)
        tables = ", ".join(table for table in view.tables if table != CODE_LABELS_TABLE)
        return self.words["missing_view"].format(name=name, tables=tables)


def _followers(rows: List[Tuple[Any, ...]]) -> go.Figure:
    days, totals = zip(*rows)
    return go.Figure(go.Scatter(x=days, y=totals, mode="lines", line={"width": 2}))


def _channels(
    rows: List[Tuple[Any, ...]], words: Mapping[str, str], label: int, weekly: bool
) -> go.Figure:
    new: Dict[str, Dict[date, int]] = defaultdict(lambda: defaultdict(int))
    lost: Dict[date, int] = defaultdict(int)
    net: Dict[date, int] = defaultdict(int)
    for row in rows:
        day, channel, new_users, cancelled = row[0], row[label], row[3] or 0, row[4] or 0
        bar = _bar_day(day, weekly)
        new[channel][bar] += new_users
        lost[bar] += cancelled
        net[bar] += new_users - cancelled
    figure = go.Figure()
    for channel, by_day in new.items():
        figure.add_bar(x=list(by_day), y=list(by_day.values()), name=channel)
    figure.add_bar(x=list(lost), y=[-v for v in lost.values()], name=words["lost"])
    figure.add_scatter(x=list(net), y=list(net.values()), name=words["net"], mode="lines")
    figure.update_layout(barmode="relative")
    return figure


def _top(rows: List[Tuple[Any, ...]], words: Mapping[str, str]) -> go.Figure:
    """(title, published, readers in the first 7 days[, in the first 30]) rows as bars."""
    ordered = rows[::-1]  # (the most read on top)
    titles = [f"{_short(title)} ({published})" for title, published, *_ in ordered]
    figure = go.Figure()
    for column, name in enumerate(("first7", "first30")[: len(rows[0]) - 2], start=2):
        x = [row[column] for row in ordered]
        figure.add_bar(y=titles, x=x, name=words[name], orientation="h")
    # (a group's first bar is drawn lowest: the legend lists them in the order they stand)
    figure.update_layout(barmode="group", height=420, legend_traceorder="reversed")
    return figure


def _sources(rows: List[Tuple[Any, ...]], label: int) -> go.Figure:
    """(label_en, label_zh, readers) rows as a ring."""
    names = [r[label - 1] for r in rows]
    return go.Figure(go.Pie(labels=names, values=[r[2] for r in rows], hole=0.4))


def _stacked(rows: List[Tuple[Any, ...]], label: int, weekly: bool) -> go.Figure:
    """(day, label_en, label_zh, value) rows as bars stacked by label."""
    series: Dict[str, Dict[date, Any]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        series[row[label]][_bar_day(row[0], weekly)] += row[3] or 0
    figure = go.Figure()
    for name, by_day in series.items():
        figure.add_bar(x=list(by_day), y=list(by_day.values()), name=name)
    figure.update_layout(barmode="stack")
    return figure


def _hours(rows: List[Tuple[int, int, Any]], words: Mapping[str, str]) -> go.Figure:
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, count in rows:
        grid[weekday][hour] += count or 0
    figure = go.Figure(
        go.Heatmap(z=grid, x=list(range(24)), y=words["weekdays"].split(","), colorscale="Greens")
    )
    figure.update_yaxes(autorange="reversed")  # (Monday on top, as a calendar reads)
    return figure


def _interface(rows: List[Tuple[Any, ...]], words: Mapping[str, str]) -> go.Figure:
    days = [r[0] for r in rows]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=days, y=[r[1] for r in rows], name=words["calls"])
    figure.add_bar(x=days, y=[r[2] for r in rows], name=words["fails"])
    figure.add_scatter(
        x=days, y=[r[3] for r in rows], name=words["latency"], mode="lines", secondary_y=True
    )
    figure.update_yaxes(title_text=words["latency"], secondary_y=True)
    return figure


def _calendar(report: AccountReport, words: Mapping[str, str]) -> go.Figure:
    """One row per endpoint, one cell per day, coloured by the day's state."""
    endpoints = list(report.health)[::-1]  # (catalog order, top down)
    days = report.days
    index = {state: n for n, state in enumerate(HEALTH_STATES)}
    last = len(HEALTH_STATES) - 1
    # a discrete colour scale: each state's colour over its own band of [0, 1]
    scale: List[Tuple[float, str]] = []
    for state, n in index.items():
        colour = HEALTH_COLOURS[state]
        scale += [(n / (last + 1), colour), ((n + 1) / (last + 1), colour)]
    # (None: a day before the endpoint existed, left blank)
    states = [[report.health[e].get(day) for day in days] for e in endpoints]
    z = [[None if s is None else index[s] + 0.5 for s in row] for row in states]
    text = [["" if s is None else words[s] for s in row] for row in states]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=days,
            y=endpoints,
            text=text,
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
            colorscale=scale,
            zmin=0,
            zmax=last + 1,
            xgap=1 if len(days) <= DAILY_DAYS else 0,
            ygap=1,
            colorbar={
                "tickvals": [n + 0.5 for n in range(last + 1)],
                "ticktext": [words[state] for state in HEALTH_STATES],
            },
        )
    )
    figure.update_layout(height=max(300, 22 * len(endpoints) + 80))
    figure.update_yaxes(tickmode="array", tickvals=endpoints)  # (every name, none skipped)
    return figure


def _problems(report: AccountReport, words: Mapping[str, str]) -> str:
    title = f"<h4>{html.escape(words['problems'])}</h4>"
    if not report.problems:
        return f"{title}<p class='note'>{html.escape(words['no_problems'])}</p>"
    # in the words `status` uses: a problem of the whole account once, with what to do
    lines = problem_lines([(s.table, s.message or s.status or "") for s in report.problems])
    items = "".join(f"<li class='problem'>{html.escape(line.strip())}</li>" for line in lines)
    return f"{title}<ul>{items}</ul>"


def _bar_day(day: date, weekly: bool) -> date:
    """The day a row's bar stands on: its own, or its week's Monday."""
    return day - timedelta(days=day.weekday()) if weekly else day


def _by_day(figure: go.Figure) -> bool:
    """Whether the figure's x axis is days (a pie has no x at all)."""
    firsts = (next(iter(getattr(trace, "x", None) or ()), None) for trace in figure.data)
    return any(isinstance(first, date) for first in firsts)


def _short(title: Any, limit: int = 28) -> str:
    text = str(title or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _id(app_id: str) -> str:
    return "account-" + "".join(c if c.isalnum() else "-" for c in app_id)
