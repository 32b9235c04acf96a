"""docs/alerts.yml, the sample alert rules: valid YAML in Prometheus's rule-file shape, and
every metric an expression names is one a live server's GET /metrics exposes (promtool is
not pip-installable; this catches a renamed metric, which promtool would not either)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import Running

RULES = Path(__file__).parents[2] / "docs" / "alerts.yml"
# Names in PromQL that are functions, keywords or Prometheus's own series, not ours.
NOT_OURS = {"increase", "rate", "sum", "by", "and", "or", "histogram_quantile", "le"}
NOT_OURS |= {"instance", "up", "job", "outcome", "duty", "humanizeDuration"}
MUST_WAKE = {
    "dispatch_consoles_open",
    "dispatch_duty_up",
    "dispatch_log_commit_seconds_bucket",
    "dispatch_handhelds_connected",
    "dispatch_webhook_deliveries_total",
}


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = [r for group in doc["groups"] for r in group["rules"]]
    return found


def named_metrics(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_ranges))
    return {n for n in names if n not in NOT_OURS}


def test_the_rules_file_has_the_shape_prometheus_reads() -> None:
    found = rules()
    assert found
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[A-Za-z]+", rule["alert"]) and rule["expr"].strip()
        assert rule["labels"]["severity"] == "page"
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])


async def test_every_metric_the_rules_name_is_exposed(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        text = (await c.get("/metrics")).text
    exposed = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    named = set().union(*(named_metrics(r["expr"]) for r in rules()))
    assert named >= MUST_WAKE
    assert named <= exposed, named - exposed
