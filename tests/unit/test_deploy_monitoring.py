"""deploy/grafana/intake.json and deploy/prometheus/alerts.yml use only series that /metrics exposes.

A renamed metric would otherwise leave a dashboard panel empty and an alert silent, which nobody notices until the
night it should have fired. The exposition is rendered by intake/metrics.py from a real database with a little of
everything in it, so every series has samples.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from intake import metrics
from intake.clock import utcnow
from intake.db import transaction
from intake.models import Alert, OutboxMessage, PollState, Submission, TrustListState
from tests.unit.test_metrics import make_runtime

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Series Prometheus makes itself about every scrape target, not intake's.
PROMETHEUS_OWN = {"up"}
METRIC = re.compile(r"\b(intake_[a-z0-9_]+|up)\b(?!\s*\()")


def exposed_samples(tmp_path: Path) -> set[str]:
    rt = make_runtime(tmp_path)
    now = utcnow()
    with transaction(rt.engine) as session:
        session.add(Submission(office=rt.office, sha256="a" * 64, size=1, received_at=now, claimed_at=now))
        session.add(
            OutboxMessage(
                office=rt.office, kind="receipt", message_id="<m@x>", recipient="a@b.c", raw=b"x",
                next_attempt_at=now, created_at=now - timedelta(minutes=5),
            )
        )  # fmt: skip
        session.add(PollState(account="intake@mail.example", folder="INBOX", office=rt.office, last_success_at=now))
        session.add(TrustListState(source="tl", office=rt.office, issued_at=now, loaded_at=now))
        session.add(Alert(office=rt.office, kind="booking_overflow", key="s", message="x", opened_at=now))
    text = metrics.exposition(metrics.make_registry(rt)).decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def expressions_of(node: Any) -> list[str]:
    """Every `expr` in a Grafana dashboard (panels, rows, targets), wherever it is nested."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [expr for value in node.values() for expr in expressions_of(value)]
    if isinstance(node, list):
        return [expr for value in node for expr in expressions_of(value)]
    return []


def names_in(expressions: list[str]) -> set[str]:
    # Label values (inside quotes) are not metric names.
    return {name for expr in expressions for name in METRIC.findall(re.sub(r'"[^"]*"', '""', expr))}


def test_dashboard_and_alerts_use_only_exposed_series(tmp_path: Path) -> None:
    exposed = exposed_samples(tmp_path)
    dashboard = json.loads((DEPLOY / "grafana" / "intake.json").read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alert_exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    variable_queries = [variable.get("definition", "") for variable in dashboard["templating"]["list"]]
    for source, expressions in (("dashboard", expressions_of(dashboard["panels"]) + variable_queries),
                                ("alerts", alert_exprs)):  # fmt: skip
        used = names_in(expressions)
        assert used - PROMETHEUS_OWN, f"{source}: no intake series found"
        missing = sorted(used - exposed - PROMETHEUS_OWN)
        assert not missing, f"{source} uses series /metrics does not expose: {missing}"


def test_alerts_cover_what_ops_must_hear_about() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert set(by_name) >= {
        "IntakeDown",
        "IntakeNotPolling",
        "IntakePollingFailing",
        "IntakeBacklogGrowing",
        "IntakeOutboxStuck",
        "IntakeTrustedListStale",
        "IntakeBookingOverflow",
    }
    for name, rule in by_name.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_dashboard_panels_are_well_formed() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "intake.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"  # the data source is chosen on import
