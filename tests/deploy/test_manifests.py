"""Static checks of deploy/k8s, deploy/systemd and deploy/prometheus against
the programs themselves:

- every Kubernetes manifest parses (python3-yaml) into objects with
  apiVersion, kind and a name; kustomization.yaml lists them all;
- every flag and TRAINBRIDGE_* / TRAINBRIDGE_PROXY_* variable a container
  passes is documented by that program's --help; listen and health ports,
  container ports, probe paths and ports, Service ports and the bridges'
  --zmq-connect to the proxy Service agree with each other;
- the bridge Deployment has 2+ replicas, readiness and liveness probes on
  /healthz, CPU and memory requests, a SIGTERM grace period; its Service has
  ClientIP affinity; the PodDisruptionBudget and the autoscaling/v2 HPA
  select/target it;
- the systemd units pass `systemd-analyze verify` without a warning (with
  ExecStart pointed at the built binaries), are hardened, and their
  environment files set only documented variables;
- the Prometheus example parses and scrapes the ports the stacks use.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploycheck import BIN_DIR, DEPLOY, binary, program_help

K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.y*ml") if p.name != "kustomization.yaml")


def load_all():
    objs = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objs.append(doc)
    return objs


OBJS = load_all()


def one(kind, name):
    found = [o for o in OBJS if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"one {kind} {name}, found {len(found)}"
    return found[0]


def container(deploy):
    cs = deploy["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def program_of(c):
    return (c.get("command") or ["/usr/local/bin/trainbridge"])[0].rsplit("/", 1)[-1]


def settings(c):
    """Flag -> value from args ('--flag=value' or '--flag value') and env (by name)."""
    helptext = program_help(program_of(c))
    out = {}
    args = list(c.get("args") or []) + list((c.get("command") or [])[1:])
    i = 0
    while i < len(args):
        a = args[i]
        assert a.startswith("--"), f"unexpected argument {a!r}"
        flag, eq, value = a.partition("=")
        if not eq:
            i += 1
            value = args[i]
        assert flag in helptext.flags, f"{flag} is not a flag of {program_of(c)}"
        out[flag] = value
        i += 1
    for e in c.get("env") or []:
        name = e["name"]
        if name.startswith("TRAINBRIDGE_"):
            assert name in helptext.env, f"{name} is not documented by {program_of(c)} --help"
            out.setdefault(helptext.flag_for(name), e["value"])  # a flag wins over its variable
    return out


def port_of(hostport):
    return int(hostport.rsplit(":", 1)[1])


def named_port(c, name_or_number):
    if isinstance(name_or_number, int):
        return name_or_number
    ports = {p["name"]: p["containerPort"] for p in c.get("ports") or []}
    assert name_or_number in ports, f"port {name_or_number!r} is not a container port"
    return ports[name_or_number]


def test_every_manifest_parses_into_named_objects():
    assert MANIFESTS, "no manifests in deploy/k8s"
    for o in OBJS:
        assert o.get("apiVersion") and o.get("kind") and o.get("metadata", {}).get("name"), o
    kinds = {(o["kind"], o["apiVersion"]) for o in OBJS}
    for want in [("Deployment", "apps/v1"), ("Service", "v1"), ("PodDisruptionBudget", "policy/v1"),
                 ("HorizontalPodAutoscaler", "autoscaling/v2")]:
        assert want in kinds, want


def test_kustomization_lists_every_manifest():
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(k["resources"]) == sorted(p.name for p in MANIFESTS)


@pytest.mark.parametrize("name,health_flag", [("trainbridge", "--listen"), ("trainbridge-proxy", "--health")])
def test_probes_ports_and_flags_agree(name, health_flag):
    d = one("Deployment", name)
    c = container(d)
    assert program_of(c) == name
    s = settings(c)
    health_port = port_of(s[health_flag])
    for probe in ("readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == "/healthz", f"{name} {probe} path"
        assert named_port(c, get["port"]) == health_port, f"{name} {probe} port"
    ann = d["spec"]["template"]["metadata"].get("annotations") or {}
    assert int(ann["prometheus.io/port"]) == health_port and ann["prometheus.io/path"] == "/metrics"
    labels = d["spec"]["template"]["metadata"]["labels"]
    assert d["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc = one("Service", name)
    assert svc["spec"]["selector"].items() <= labels.items(), "Service selects the pods"
    for p in svc["spec"]["ports"]:
        assert named_port(c, p["targetPort"]) in {cp["containerPort"] for cp in c["ports"]}
    res = c["resources"]
    assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"]
    assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 2
    sc = d["spec"]["template"]["spec"]["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0


def test_proxy_endpoints_match_its_ports_and_service():
    c = container(one("Deployment", "trainbridge-proxy"))
    s = settings(c)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert port_of(s["--frontend"]) == ports["zmq-frontend"]
    assert port_of(s["--backend"]) == ports["zmq-backend"]
    assert port_of(s["--health"]) == ports["health"]


def test_bridges_subscribe_to_the_proxy_service():
    s = settings(container(one("Deployment", "trainbridge")))
    m = re.fullmatch(r"tcp://([^:]+):(\d+)", s["--zmq-connect"])
    assert m, s["--zmq-connect"]
    svc = one("Service", m.group(1))
    proxy = container(one("Deployment", "trainbridge-proxy"))
    backend = next(p for p in svc["spec"]["ports"] if p["port"] == int(m.group(2)))
    assert named_port(proxy, backend["targetPort"]) == port_of(settings(proxy)["--backend"])
    assert "--zmq-bind" not in s, "behind the proxy a bridge binds nothing"


def test_bridge_deployment_service_pdb_hpa():
    d = one("Deployment", "trainbridge")
    assert d["spec"]["replicas"] >= 2
    svc = one("Service", "trainbridge")
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    pod_labels = d["spec"]["template"]["metadata"]["labels"]
    pdbs = [o for o in OBJS if o["kind"] == "PodDisruptionBudget"]
    assert any(p["spec"]["selector"]["matchLabels"].items() <= pod_labels.items() for p in pdbs)
    hpa = next(o for o in OBJS if o["kind"] == "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "trainbridge"}
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    cpu = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
    assert cpu and cpu[0]["resource"]["target"]["type"] == "Utilization"


# ---------------------------------------------------------------- systemd

UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def unit_keys(path):
    keys = {}
    section = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        keys.setdefault((section, k.strip()), []).append(v.strip())
    return keys


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_is_hardened_and_complete(unit):
    k = unit_keys(unit)
    program = unit.stem
    assert k[("Service", "ExecStart")] == [f"/usr/local/bin/{program}"]
    for key, want in [("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                      ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("Restart", "on-failure")]:
        assert k.get(("Service", key)) == [want], key
    assert k[("Service", "EnvironmentFile")] == [f"-/etc/default/{program}"]
    assert ("Install", "WantedBy") in k


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_env_file_sets_documented_variables(unit):
    env_file = unit.with_suffix(".env")
    helptext = program_help(unit.stem)
    names = re.findall(r"^#?([A-Z][A-Z0-9_]*)=", env_file.read_text(), re.M)
    assert names
    for name in names:
        assert name in helptext.env, f"{env_file.name}: {name} unknown to {unit.stem} --help"


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify(unit, tmp_path):
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze not installed (Debian package systemd); the parse checks above still ran")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(f"/usr/local/bin/{unit.stem}", str(binary(unit.stem))))
    r = subprocess.run([tool, "verify", str(copy)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", f"systemd-analyze verify warned:\n{r.stderr}"


# ---------------------------------------------------------------- prometheus

def test_prometheus_example_scrapes_the_stacks_ports():
    cfg = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in cfg["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]}
    compose = (DEPLOY.parent / "docker-compose.yml").read_text() + (DEPLOY / "compose.scale.yml").read_text()
    for var, default in [("TB_HTTP_PORT", "8080"), ("TB_BRIDGE1_PORT", "8081"), ("TB_BRIDGE2_PORT", "8082"),
                         ("TB_PROXY_HEALTH_PORT", "5558")]:
        assert f"${{{var}:-{default}}}" in compose
        assert f"127.0.0.1:{default}" in targets, var
    assert any(job.get("kubernetes_sd_configs") for job in cfg["scrape_configs"])


if __name__ == "__main__":
    from deploycheck import run_pytest_or_skip

    run_pytest_or_skip(__file__, None if (BIN_DIR / "trainbridge").exists() else f"no binaries in {BIN_DIR}")
