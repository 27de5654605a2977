"""Every body of the corpus (tests/fixtures/corpus: bodies other projects captured or wrote,
each with its provenance) lands whole, through the source over HTTP into DuckDB.

A body that cannot be requested as it is (a placeholder date, a date before WeChat's first)
says so in its file (`cannot_request`: why, the date, what the source does with it); the test
pins that, and lands the body with only that date replaced.
"""

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from tests.helpers import ROOT, last_sync_log
from tests.payloads import assert_lands_exactly, label_dates, load_sample
from wechat_datacube_source.catalog import BY_API_NAME, ENDPOINTS

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
FILES = sorted(CORPUS.glob("*/*.json"))
PROVENANCE = ("repository", "path", "commit", "kind")


def entry(path: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_every_endpoint_has_a_body_or_a_reason_and_every_body_its_provenance() -> None:
    covered = {path.parent.name for path in FILES}
    missing = {endpoint.api_name for endpoint in ENDPOINTS} - covered
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    # an endpoint no public source has a body of is named, with what was searched
    assert all(name in readme for name in missing)
    assert len(covered) >= 23
    for path in FILES:
        data = entry(path)
        assert data["endpoint"] == path.parent.name
        assert all(data["source"].get(name) for name in PROVENANCE), path
        assert isinstance(data["body"], dict)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_corpus_body_lands_whole(tmp_path: Path, path: Path) -> None:
    data = entry(path)
    endpoint = BY_API_NAME[data["endpoint"]]
    text = json.dumps(data["body"], ensure_ascii=False)
    unusable = data.get("cannot_request")
    if unusable is None:
        pipeline, payload = load_sample(tmp_path, endpoint, text)
        assert_lands_exactly(pipeline, endpoint, payload)
        return
    # with only its unusable date replaced, every value of it lands...
    redated = text.replace(unusable["date"], unusable["redated_to"])
    pipeline, payload = load_sample(tmp_path / "redated", endpoint, redated)
    assert_lands_exactly(pipeline, endpoint, payload)
    # ...and as it is, asked for the same days, the source says why it cannot land
    start = min(label_dates(endpoint, payload))
    pipeline, _ = load_sample(tmp_path / "verbatim", endpoint, text, start=start)
    log = last_sync_log(pipeline)[endpoint.table]
    assert log["status"] == unusable["status"], unusable["reason"]
    assert unusable["message"] in log["message"], unusable["reason"]
