"""deploy/grafana/trainbridge.json, the Grafana dashboard:

- it is one import-ready dashboard: valid JSON, a uid and title, a
  datasource variable every panel and query uses (no data source id baked
  in), unique panel ids, grid positions, a refId and an expression per
  query;
- it has a panel for each thing an operator watches (clients, rooms,
  deliveries/s, ingest by reason, gaps, slow drops, conflation, lag, runs by
  state, recoveries);
- every query is valid PromQL (promtool check rules on the queries, with
  Grafana's variables filled in), and every metric it queries exists in the
  /metrics of a real bridge -- or is in PENDING below, the metrics other
  issues add (runs, conflation, lag, recoveries), each with the issue that
  brings it. The same holds for the metrics deploy/prometheus/alerts.yml
  uses. When a pending metric lands, the test says so: move it out of
  PENDING then, and fix the name here, in the dashboard and in the alerts
  if it landed under another one.
"""
import json
import re
import shutil
import subprocess
import urllib.request

import pytest
import yaml

from deploycheck import BIN_DIR, DEPLOY, binary

DASHBOARD = DEPLOY / "grafana" / "trainbridge.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

# Metrics the dashboard and the alerts query that the bridge does not serve
# yet. name -> (type, labels, the work that adds it)
PENDING = {
    "trainbridge_recoveries_total": ("counter", "result", "connection-state recovery"),
}

TOPICS = ["Clients", "Rooms", "Deliveries", "Ingest by reason", "Gaps", "Slow-client drops",
          "Conflation", "Lag", "Runs by state", "Recoveries"]

METRIC_RE = re.compile(r"\btrainbridge_[a-z_]+\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def load_dashboard():
    return json.loads(DASHBOARD.read_text())


def queries(dash):
    return [(p["title"], t) for p in dash["panels"] for t in p.get("targets", [])]


def family(name, histograms=()):
    """The family a sample name belongs to: a histogram's _bucket, _sum and
    _count series belong to the histogram (served or pending)."""
    for suffix in HISTOGRAM_SUFFIXES:
        base = name[: -len(suffix)]
        if name.endswith(suffix) and (base in PENDING or base in histograms):
            return base
    return name


def served_families():
    """The metric families a real bridge serves at /metrics."""
    proc = subprocess.Popen([str(binary("trainbridge")), "--listen", "127.0.0.1:0",
                             "--zmq-bind", "tcp://127.0.0.1:*"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().decode().split()
        port = int(line[3].rsplit(":", 1)[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
    finally:
        proc.kill()
        proc.wait(5)
        proc.stdout.close()
    return {m.group(1): m.group(2) for m in re.finditer(r"^# TYPE (\S+) (\S+)", body, re.M)}


def test_dashboard_is_import_ready():
    dash = load_dashboard()
    assert dash["uid"] == "trainbridge" and dash["title"]
    assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 30
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["instance"]["datasource"]["uid"] == "${datasource}"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in dash["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]), p["title"]
        assert p["type"] in ("timeseries", "stat", "gauge", "table"), p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["expr"].strip() and t["datasource"]["uid"] == "${datasource}"


def test_dashboard_covers_every_topic():
    titles = [p["title"] for p in load_dashboard()["panels"]]
    for topic in TOPICS:
        assert any(t.startswith(topic) for t in titles), f"no panel for {topic}: {titles}"


def test_every_query_is_valid_promql(tmp_path):
    if not shutil.which("promtool"):
        pytest.fail("promtool missing: apt-get install prometheus (deploy/install-deps.sh)")
    rules = []
    for i, (title, t) in enumerate(queries(load_dashboard())):
        expr = t["expr"].replace("$__rate_interval", "5m").replace('"$instance"', '".+"')
        assert "$" not in expr, f"{title}: an unknown variable in {t['expr']}"
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_metric_queried_is_served_or_pending():
    types = served_families()
    served = set(types)
    histograms = {name for name, kind in types.items() if kind == "histogram"}
    assert "trainbridge_heartbeats_total" in served
    dash_exprs = [t["expr"] for _, t in queries(load_dashboard())]
    alert_exprs = [r["expr"] for g in yaml.safe_load(ALERTS.read_text())["groups"]
                   for r in g["rules"]]
    used = {family(m, histograms) for e in dash_exprs + alert_exprs for m in METRIC_RE.findall(e)}
    unknown = sorted(used - served - set(PENDING))
    assert unknown == [], f"queried but neither served nor pending: {unknown}"
    landed = sorted(set(PENDING) & served)
    assert landed == [], f"now served, move out of PENDING (and check the name): {landed}"
    unused = sorted(set(PENDING) - used)
    assert unused == [], f"pending but not queried: {unused}"
    # the existing series a panel or an alert is for
    for name in ("trainbridge_clients_connected", "trainbridge_rooms",
                 "trainbridge_deliveries_total", "trainbridge_ingest_rejected_total",
                 "trainbridge_ingest_gaps_total", "trainbridge_clients_dropped_slow_total"):
        assert name in used and name in served, name


if __name__ == "__main__":
    from deploycheck import run_pytest_or_skip

    run_pytest_or_skip(__file__, None if (BIN_DIR / "trainbridge").exists() else f"no binaries in {BIN_DIR}")
