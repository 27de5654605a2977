"""The README says what the code does: its table catalogue is the endpoint catalog, every
setting is documented, every rule for unusual responses names its test."""

import inspect
import re
from pathlib import Path

import wechat_datacube_source
from wechat_datacube_source import wechat_datacube
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
    span = " → ".join(str(span.days) for span in endpoint.spans)
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
    header = "| table | endpoint | grain | primary key | span (days) | refresh | notes |\n|---|---|---|---|---|---|---|"
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


def test_every_rule_for_unusual_responses_names_a_test_that_exists() -> None:
    block = README.read_text().split("<!-- rules:begin -->")[1].split("<!-- rules:end -->")[0]
    rules = [line for line in block.strip().splitlines()[2:] if line.startswith("|")]
    tests = "\n".join(path.read_text() for path in README.parent.glob("tests/test_*.py"))
    assert len(rules) >= 8
    for rule in rules:
        name = rule.rstrip(" |").rsplit("|", 1)[1].strip().strip("`")
        assert f"def {name}(" in tests, name


def test_every_setting_of_the_source_is_in_the_readme() -> None:
    section = README.read_text().split("### Settings")[1].split("\n#")[0]
    # the first cell of each row of the settings table: `max_retries`, `retry_backoff_seconds`
    documented = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])
    }
    assert set(inspect.signature(wechat_datacube).parameters) <= documented


def test_the_module_map_names_every_module_of_the_package_and_no_other() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("<!-- modules:begin -->") : text.index("<!-- modules:end -->")]
    mapped = set(re.findall(r"^\| `([\w./]+)` \|", table, re.MULTILINE))
    package = Path(wechat_datacube_source.__file__).parent
    modules = {path.name for path in package.glob("*.py")} | {
        f"{path.name}/" for path in package.iterdir() if (path / "__init__.py").is_file()
    }
    assert mapped == modules
