"""Bad input: each a clear error and a non-zero exit, and the prior champion and artifacts untouched."""
import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import yaml

from conftest import e2eds
from e2eds.core import load_config


def _champion(ws, cfg):
    from mlflow import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{ws / 'mlflow/mlflow.db'}")
    return client.get_model_version_by_alias(load_config(cfg).deploy.model_name, "champion").version


def _variant(ws, cfg, name, **changes):
    "Write a copy of the project's config with `changes` applied to its sources."
    raw = yaml.safe_load(Path(cfg).read_text())
    for key, value in changes.items():
        node = raw
        *path, last = key.split("__")
        for p in path: node = node[p]
        node[last] = value
    out = ws / f"{name}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _runs(ws):
    return {p.name for p in (ws / "runs").iterdir()}


def test_unknown_parameter_is_refused_before_running(quarter):
    ws, cfg, _ = quarter
    before = _runs(ws)
    proc = e2eds("run", "--config", cfg, "-p", "profile_sampel=3", cwd=ws)
    assert proc.returncode == 1
    assert "unknown parameter 'profile_sampel'" in proc.stderr
    assert _runs(ws) == before, "a refused run must not start"


def test_corrupt_parameter_value_is_refused(quarter):
    ws, cfg, _ = quarter
    proc = e2eds("run", "--config", cfg, "--stages", "validate", "-p", "profile=maybe", cwd=ws)
    assert proc.returncode == 1
    assert "parameter 'profile' of stage 'validate'" in proc.stderr and "expects bool" in proc.stderr
    proc = e2eds("run", "--config", cfg, "-p", "novalue", cwd=ws)
    assert proc.returncode == 1 and "NAME=VALUE" in proc.stderr


def test_missing_source_file_names_the_file(quarter):
    ws, cfg, _ = quarter
    champion = _champion(ws, cfg)
    bad = _variant(ws, cfg, "missing_file", sources__airlines__location="data/elsewhere/airlines.csv")
    before = _runs(ws)
    proc = e2eds("run", "--config", bad, cwd=ws)
    assert proc.returncode == 1
    err = proc.stderr
    assert "stage 'collect' failed in notebook 01_collect.ipynb, cell" in err
    assert "SourceError" in err and "airlines" in err and "data/elsewhere/airlines.csv" in err
    (new,) = _runs(ws) - before
    assert (ws / "runs" / new / "notebooks/01_collect.failed.ipynb").is_file(), "the failed notebook is kept"
    assert (ws / "reports" / new / "01_collect.failed.html").is_file()
    assert json.loads((ws / "runs" / new / "manifest.json").read_text())["status"] == "failed"
    assert not (ws / "runs" / new / "collect").exists(), "a failed stage commits nothing"
    assert _champion(ws, cfg) == champion


def test_source_missing_a_column_names_source_and_column(quarter):
    ws, cfg, _ = quarter
    champion = _champion(ws, cfg)
    planes = pd.read_json(ws / "data/sources/planes.json").drop(columns=["seats"])
    (ws / "broken").mkdir(exist_ok=True)
    planes.to_json(ws / "broken/planes.json", orient="records")
    bad = _variant(ws, cfg, "missing_column", sources__planes__location="broken/planes.json")
    proc = e2eds("run", "--config", bad, cwd=ws)
    assert proc.returncode == 1
    assert "01_collect.ipynb" in proc.stderr and "planes" in proc.stderr and "'seats'" in proc.stderr
    assert _champion(ws, cfg) == champion


def test_invalid_config_is_refused_with_the_key(quarter):
    ws, cfg, _ = quarter
    bad = _variant(ws, cfg, "bad_split", split__test_months=[1])
    proc = e2eds("run", "--config", bad, cwd=ws)
    assert proc.returncode == 1
    assert "split" in proc.stderr and "follow in time" in proc.stderr


def test_failed_stage_leaves_previous_outputs_and_champion(quarter):
    ws, cfg, proc = quarter
    # a copy of the fixture's run, so that the other tests keep reading the original
    good = ws / "runs" / re.search(r"^run (\S+): ok", proc.stdout, re.M).group(1)
    run = ws / "runs" / f"{good.name}-copy"
    shutil.copytree(good, run)
    gate = run / "evaluate/gate.json"
    digest = hashlib.sha256(gate.read_bytes()).hexdigest()
    deployed = hashlib.sha256((run / "deploy/stage.json").read_bytes()).hexdigest()
    champion = _champion(ws, cfg)
    bad = _variant(ws, cfg, "bad_slice", evaluate__slices=["carrier", "no_such_column"])
    proc = e2eds("run", "--config", bad, "--run-id", run.name, "--stages", "evaluate", "deploy", cwd=ws)
    assert proc.returncode == 1
    assert "stage 'evaluate' failed in notebook 06_evaluate.ipynb, cell" in proc.stderr
    assert "no_such_column" in proc.stderr
    assert f"e2eds run --config {bad} --run-id {run.name} --stages evaluate deploy" in proc.stderr
    assert hashlib.sha256(gate.read_bytes()).hexdigest() == digest, "the last good evaluation must stay"
    assert _champion(ws, cfg) == champion
    assert hashlib.sha256((run / "deploy/stage.json").read_bytes()).hexdigest() == deployed, "deploy must not run"
    assert (run / "notebooks/06_evaluate.ipynb").is_file() and (run / "notebooks/06_evaluate.failed.ipynb").is_file()
    assert (ws / "reports" / run.name / "06_evaluate.failed.html").is_file()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["stages"]["evaluate"]["status"] == "failed"
    assert manifest["stages"]["train"]["status"] == "ok", "a continued run keeps the record of earlier stages"
    assert manifest["history"][0]["status"] == "ok"


def test_dead_kernel_is_a_failed_stage(quarter, tmp_path):
    # a stage whose kernel dies (as when the system kills it for memory) fails like any other stage
    import nbformat

    from conftest import ROOT
    ws, cfg, _ = quarter
    nbs = tmp_path / "nbs"
    shutil.copytree(ROOT / "nbs", nbs)
    nb = nbformat.read(nbs / "01_collect.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("#| run\nimport os\nos._exit(9)"))
    nbformat.write(nb, nbs / "01_collect.ipynb")
    champion = _champion(ws, cfg)
    before = _runs(ws)
    proc = e2eds("run", "--config", cfg, "--stages", "collect", cwd=ws, env={"E2EDS_NOTEBOOKS": str(nbs)})
    assert proc.returncode == 1
    assert "stage 'collect' failed in notebook 01_collect.ipynb" in proc.stderr and "DeadKernelError" in proc.stderr
    (new,) = _runs(ws) - before
    manifest = json.loads((ws / "runs" / new / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["stages"]["collect"]["status"] == "failed"
    assert (ws / "runs" / new / "notebooks/01_collect.failed.ipynb").is_file()
    assert not list((ws / "runs" / new / "notebooks").glob("*.running.ipynb"))
    assert _champion(ws, cfg) == champion
