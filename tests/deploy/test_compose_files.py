"""Static checks of every compose file in the repository and of the images'
Dockerfiles:

- each base file, and each override merged with the base it names
  ('# compose-base: PATH'), passes `compose-local.sh config` (docker-compose
  1.29's schema and references);
- overrides put every service on network_mode: host;
- only what docker-compose 1.29 validates and podman-compose 1.0.3 runs:
  mapping forms of build, environment and depends_on, no !reset, no
  start_interval; every ${VAR} has a default and is listed in
  deploy/.env.example;
- every TRAINBRIDGE_*, TRAINBRIDGE_PROXY_* and TRAINSIM_* variable a
  service sets is a flag of the program it runs (from --help);
- the Dockerfiles: multi-stage bookworm -> bookworm-slim, non-root USER,
  exec-form ENTRYPOINT, EXPOSE of the bridge's default ports, HEALTHCHECK.

Run as a script (ctest does): exits 77 (skipped) without docker-compose.
"""
import os
import re
import shutil
import subprocess

import pytest
import yaml

from deploycheck import COMPOSE_LOCAL, DEPLOY, REPO, compose_base, compose_files, program_help, run_pytest_or_skip

FILES = compose_files()
BASES = [f for f in FILES if compose_base(f) is None]
OVERRIDES = [f for f in FILES if compose_base(f) is not None]
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def rel(p):
    return str(p.relative_to(REPO))


def config(*files):
    return subprocess.run([str(COMPOSE_LOCAL), "config", *map(str, files)], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def services(path):
    return (yaml.safe_load(path.read_text()) or {}).get("services") or {}


def program_of(svc):
    entry = svc.get("entrypoint")
    if entry:
        return (entry if isinstance(entry, list) else entry.split())[0].rsplit("/", 1)[-1]
    return "trainbridge"  # the image's ENTRYPOINT


def test_the_expected_files_are_found():
    names = {rel(f) for f in FILES}
    assert {"docker-compose.yml", "deploy/compose.local.yml", "deploy/compose.scale.yml",
            "deploy/compose.scale.local.yml"} <= names, names


@pytest.mark.parametrize("path", BASES, ids=rel)
def test_base_file_validates(path):
    r = config(path)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", OVERRIDES, ids=rel)
def test_override_validates_on_its_base_with_host_network_only(path):
    base = compose_base(path)
    assert base.exists(), f"{rel(path)} names a missing base {base}"
    r = config(base, path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not on network_mode: host" not in r.stderr, r.stderr
    assert set(services(path)) == set(services(base)), "the override covers every service of its base"
    for name, svc in services(path).items():
        assert svc.get("network_mode") == "host", name


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_portable_forms_only(path):
    text = path.read_text()
    assert "!reset" not in text and "!override" not in text
    assert "start_interval" not in text
    for name, svc in services(path).items():
        for key in ("build", "environment", "depends_on"):
            if key in svc:
                assert isinstance(svc[key], dict), f"{name}.{key} must be a mapping"


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_variables_have_defaults_and_are_documented(path):
    example = (DEPLOY / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    for name, rest in VAR_RE.findall(path.read_text()):
        assert rest.startswith(":-"), f"${{{name}{rest}}} needs a default (${{{name}:-...}})"
        assert name in documented, f"{name} is missing from deploy/.env.example"
        default = rest[2:]
        example_value = re.search(rf"^{name}=(.*)$", example, re.M).group(1)
        assert default == example_value, f"{name}: default {default!r} here, {example_value!r} in .env.example"


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_service_variables_are_flags_of_their_program(path):
    base_services = services(compose_base(path)) if compose_base(path) else {}
    for name, svc in services(path).items():
        program = program_of({**base_services.get(name, {}), **svc})
        env = svc.get("environment") or {}
        for var in env:
            if var.startswith("TRAINSIM_"):
                helptext = program_help("trainsim")
                assert program == "trainsim", f"{name}: {var} on {program}"
                assert helptext.flag_for(var) in helptext.flags, f"{name}: {var} is no trainsim flag"
            elif var.startswith("TRAINBRIDGE_PROXY_"):
                assert program == "trainbridge-proxy", f"{name}: {var} on {program}"
                assert var in program_help("trainbridge-proxy").env, f"{name}: {var} unknown to trainbridge-proxy --help"
            elif var.startswith("TRAINBRIDGE_"):
                assert program == "trainbridge", f"{name}: {var} on {program}"
                assert var in program_help("trainbridge").env, f"{name}: {var} unknown to trainbridge --help"


def dockerfile_stages(path):
    return re.findall(r"^FROM\s+(\S+)", path.read_text(), re.M)


def test_bridge_dockerfile():
    path = DEPLOY / "Dockerfile"
    text = path.read_text()
    assert dockerfile_stages(path) == ["debian:bookworm", "debian:bookworm-slim"]
    runtime = text[text.rindex("FROM "):]
    assert "-dev" not in runtime, "only runtime libraries in the final image"
    user = re.search(r"^USER\s+(\S+)", runtime, re.M)
    assert user and user.group(1).split(":")[0] not in ("0", "root")
    entry = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", runtime, re.M)
    assert entry and entry.group(1).startswith('["/usr/local/bin/trainbridge"'), "exec-form ENTRYPOINT"
    exposed = set(re.search(r"^EXPOSE\s+(.*)$", runtime, re.M).group(1).split())
    bridge_help = program_help("trainbridge").text
    assert re.search(r"default 0\.0\.0\.0:8080", bridge_help) and "8080" in exposed
    assert re.search(r"default tcp://\*:5556", bridge_help) and "5556" in exposed
    assert re.search(r"^HEALTHCHECK .*CMD \[\"/usr/local/bin/trainbridge-healthcheck\"\]", runtime, re.M | re.S)
    for prog in ("trainbridge", "trainbridge-proxy", "trainsim", "trainsub"):
        assert f"/build/bin/{prog}" in runtime, f"{prog} in the image"


def test_healthcheck_script_is_bash_only():
    script = (DEPLOY / "healthcheck.sh").read_text()
    assert script.startswith("#!/bin/bash")
    assert "/dev/tcp/" in script
    for tool in ("curl", "wget", "nc "):
        assert tool not in script
    if shutil.which("bash"):
        assert subprocess.run(["bash", "-n", str(DEPLOY / "healthcheck.sh")]).returncode == 0


def test_nginx_dockerfile_and_template():
    path = DEPLOY / "nginx" / "Dockerfile"
    assert dockerfile_stages(path) == ["debian:bookworm-slim"]
    text = path.read_text()
    assert re.search(r"^USER\s+www-data", text, re.M)
    assert re.search(r"^ENTRYPOINT\s+\[", text, re.M)
    template = (DEPLOY / "nginx" / "trainbridge.conf.template").read_text()
    for needle in ("proxy_set_header Upgrade $http_upgrade", "proxy_set_header Connection $connection_upgrade",
                   "hash $remote_addr consistent", "proxy_next_upstream error timeout", "@SERVERS@", "@LISTEN@"):
        assert needle in template, needle


def test_nginx_template_renders_and_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        pytest.skip("nginx not installed")
    env = {"TB_NGINX_RUN_DIR": str(tmp_path), "TB_NGINX_LISTEN": "127.0.0.1:1",
           "TB_NGINX_UPSTREAMS": "127.0.0.1:2,127.0.0.1:3", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["sh", str(DEPLOY / "nginx" / "render.sh"), str(DEPLOY / "nginx" / "trainbridge.conf.template")],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    conf = tmp_path / "nginx.conf"
    assert conf.read_text().count("server 127.0.0.1:2 ") == 2
    t = subprocess.run([nginx, "-t", "-e", "stderr", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert t.returncode == 0, t.stderr


if __name__ == "__main__":
    missing = None
    if not COMPOSE_LOCAL.exists():
        missing = f"{COMPOSE_LOCAL} not found (set TB_COMPOSE_LOCAL)"
    elif not shutil.which("docker-compose"):
        missing = f"docker-compose not installed: run {COMPOSE_LOCAL} setup"
    run_pytest_or_skip(__file__, missing)
