"""Fixtures: a workspace with the quarter slice of the flights project, run once through the CLI."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path(__file__).resolve().parent / "configs"
E2EDS = [str(Path(sys.executable).parent / "e2eds")]


def e2eds(*args, cwd, env=None):
    "Run the e2eds command in `cwd`, with `env` added to the environment, and return the completed process."
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([*E2EDS, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=1800)


@pytest.fixture(scope="session")
def quarter(tmp_path_factory):
    "A workspace where the quarter slice ran end to end: (workspace, config path, completed process)."
    ws = tmp_path_factory.mktemp("quarter")
    cfg = ws / "project.yaml"
    shutil.copy(CONFIGS / "quarter.yaml", cfg)
    proc = e2eds("run", "--config", cfg, cwd=ws)
    assert proc.returncode == 0, f"the quarter run failed:\n{proc.stdout}\n{proc.stderr}"
    return ws, cfg, proc
