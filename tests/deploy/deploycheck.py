"""deploycheck: what the static deployment checks share: where things are,
the flags and environment variables each program documents in --help, and
finding the repository's compose files.

Environment: TB_BIN_DIR (default <repo>/build/bin), TB_COMPOSE_LOCAL
(default <repo>/../shared/tools/compose-local.sh).
"""
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN_DIR = Path(os.environ.get("TB_BIN_DIR", REPO / "build" / "bin"))
COMPOSE_LOCAL = Path(os.environ.get("TB_COMPOSE_LOCAL", REPO.parent / "shared" / "tools" / "compose-local.sh"))
SKIP = 77  # ctest SKIP_RETURN_CODE

PRUNE_DIRS = {".git", "node_modules", "__pycache__", ".pytest_cache"}
COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][\w.-]+)?\.ya?ml$")


def binary(name):
    path = BIN_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: build first or set TB_BIN_DIR")
    return path


class Help:
    """A program's --help: its flags and the environment variable of each."""

    def __init__(self, text, env_prefix):
        self.text = text
        self.prefix = env_prefix
        self.flags = set(re.findall(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", text, re.M))
        self.env = set(re.findall(rf"\b({env_prefix}[A-Z0-9_]+)\b", text))

    def env_for(self, flag):
        """--zmq-connect -> TRAINBRIDGE_ZMQ_CONNECT (the name --help documents)."""
        return self.prefix + flag[2:].upper().replace("-", "_")

    def flag_for(self, env_name):
        """TRAINBRIDGE_ZMQ_CONNECT -> --zmq-connect."""
        return "--" + env_name[len(self.prefix):].lower().replace("_", "-")


@functools.lru_cache(maxsize=None)
def program_help(name):
    prefix = {"trainbridge": "TRAINBRIDGE_", "trainbridge-proxy": "TRAINBRIDGE_PROXY_", "trainsim": "TRAINSIM_"}[name]
    out = subprocess.run([str(binary(name)), "--help"], capture_output=True, text=True, timeout=10, check=True)
    return Help(out.stdout, prefix)


def compose_files():
    """Every compose file in the repository (build trees and modules left out)."""
    found = []
    for root, dirs, files in os.walk(REPO):
        rel = Path(root).relative_to(REPO)
        dirs[:] = sorted(d for d in dirs if d not in PRUNE_DIRS and not (rel == Path(".") and d.startswith("build")))
        for f in sorted(files):
            if COMPOSE_NAME.match(f):
                found.append(Path(root) / f)
    return found


def compose_base(path):
    """The base file an override names in a '# compose-base: PATH' line, or None."""
    for line in path.read_text().splitlines()[:10]:
        m = re.match(r"#\s*compose-base:\s*(\S+)", line)
        if m:
            return REPO / m.group(1)
    return None


def run_pytest_or_skip(test_file, missing):
    """Runs pytest on test_file; exits SKIP naming what is missing instead."""
    if missing:
        print(f"SKIP: {missing}", file=sys.stderr)
        sys.exit(SKIP)
    import pytest

    sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", str(test_file)]))
