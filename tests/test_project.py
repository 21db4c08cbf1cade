"""The project as a whole: the library is in step with the notebooks, whose examples pass; docs and CI agree."""
import importlib
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BIN = Path(sys.executable).parent
MODULES = ["core", "collect", "validate", "transform", "features", "train", "evaluate", "deploy", "monitor", "pipeline"]


def test_library_is_in_sync_with_notebooks(tmp_path):
    # export the notebooks into a copy of the project and compare with the committed library
    for name in ["nbs", "e2eds"]:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "settings.ini", tmp_path)
    subprocess.run([BIN / "nbdev_export"], cwd=tmp_path, check=True, capture_output=True)
    stale = [p.name for p in sorted((ROOT / "e2eds").glob("*.py"))
             if p.read_text() != (tmp_path / "e2eds" / p.name).read_text()]
    assert not stale, f"e2eds/ is out of sync with nbs/ for {stale}; run nbdev_export"
    exported = {p.name for p in (tmp_path / "e2eds").glob("*.py")}
    assert exported == {p.name for p in (ROOT / "e2eds").glob("*.py")}


def test_notebook_examples_pass():
    proc = subprocess.run([BIN / "nbdev_test", "--n_workers", "2"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "Success." in proc.stdout


def test_every_stage_has_one_parameters_cell():
    import nbformat
    for nb_path in sorted((ROOT / "nbs").glob("0[1-8]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name} has {len(tagged)} parameters cells"
        assert "config_path" in tagged[0].source and "run_dir" in tagged[0].source, nb_path.name


def _own_doc(obj):
    "A docstring of the object itself; a class does not inherit one from its base."
    return obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__


@pytest.mark.parametrize("module", MODULES)
def test_public_functions_have_docstrings(module):
    mod = importlib.import_module(f"e2eds.{module}")
    missing = [name for name in mod.__all__
               if (inspect.isfunction(obj := getattr(mod, name)) or inspect.isclass(obj))
               and obj.__module__ == mod.__name__ and not _own_doc(obj)]
    assert not missing, f"e2eds.{module} lacks docstrings on {missing}"


def test_readme_is_rendered_from_index_notebook():
    proc = subprocess.run([BIN / "jupyter", "nbconvert", "--to", "markdown", "--stdout", "nbs/index.ipynb"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout == (ROOT / "README.md").read_text(), "README.md is stale; regenerate it from nbs/index.ipynb"


def test_ci_runs_the_quickstart_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```")[1].splitlines()[1:]
    assert len(block) == 2, f"the Quickstart block must have exactly two lines, has {block}"
    assert block[0].endswith("e2eds run") and block[1].endswith("pytest")
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert block[1] in ci, ".ci/run must run the README's test command as written"


def test_cli_help_explains_run():
    proc = subprocess.run([BIN / "e2eds", "run", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for word in ["--config", "--stages", "-p NAME=VALUE", "--run-id", "collect, validate, transform"]:
        assert word in proc.stdout, word
