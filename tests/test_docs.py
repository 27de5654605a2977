"""The README's table catalogue is generated from the endpoint catalog and must match it."""

from pathlib import Path

from wechat_datacube_source.catalog import ENDPOINTS, Endpoint
from wechat_datacube_source.views import VIEWS

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"
GRAIN = {
    "day": "day",
    "hour": "hour (ref_hour 0..2300)",
    "week": "week (Monday)",
    "month": "month (1st)",
}


def row(endpoint: Endpoint) -> str:
    source = (
        f"`publisher/stat?action={endpoint.api_name}`"
        if endpoint.is_publisher
        else f"`{endpoint.api_name}`"
    )
    key = ", ".join(("app_id", *endpoint.primary_key))
    span = (
        f"{endpoint.span} period" if endpoint.grain in ("week", "month") else f"{endpoint.span} d"
    )
    refresh = f"{endpoint.refresh_days} d" if endpoint.refresh_days else "-"
    notes = []
    if not endpoint.default_selected:
        notes.append("opt-in (`include_ad_stats`)")
    if endpoint.replacements:
        notes.append("deprecated by WeChat")
    if endpoint.earliest.isoformat() != "2014-12-01":
        notes.append(f"from {endpoint.earliest.isoformat()}")
    return f"| `{endpoint.table}` | {source} | {GRAIN[endpoint.grain]} | {key} | {span} | {refresh} | {'; '.join(notes)} |"


def catalogue() -> str:
    header = "| table | endpoint | grain | primary key | span per call | refresh | notes |\n|---|---|---|---|---|---|---|"
    return "\n".join([BEGIN, header, *(row(endpoint) for endpoint in ENDPOINTS), END])


def test_readme_catalogue_matches_the_catalog() -> None:
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == catalogue(), (
        "regenerate with: python -c 'from tests.test_docs import catalogue; print(catalogue())'"
    )


def test_the_readme_describes_every_view_by_its_question() -> None:
    text = " ".join(README.read_text().split())
    for view in VIEWS:
        assert f"`{view.name}`: {view.question}." in text, view.name
