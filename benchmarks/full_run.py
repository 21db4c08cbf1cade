"""Time the full default job, stage by stage, and the per-stage overhead against a naive peer.

    python benchmarks/full_run.py [--workspace DIR] [--config FILE]

Runs `e2eds run` (in process) on the embedded flights project in a fresh workspace and prints, per stage,
the wall time, the stage's own work (its cells), and the overhead (kernel start, parameter injection,
notebook I/O, report rendering). Each stage's kernel starts, and imports the stage's module, in the
background while the stage before it runs; "bg start s" is how long that took, hidden from the wall time
except for the first stage. The peer is what the overhead costs done naively: Papermill on a notebook with
one empty cell, then `jupyter nbconvert --to html` as a subprocess, measured in the same run.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from e2eds.core import configure_logging
from e2eds.pipeline import run_pipeline


def naive_overhead(tmp: Path, repeats: int = 3) -> float:
    "Median seconds of Papermill on an empty notebook plus nbconvert to HTML in a subprocess."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp / "empty.ipynb"
    nbformat.write(nb, src)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        pm.execute_notebook(str(src), str(tmp / "out.ipynb"), parameters={"x": 2}, progress_bar=False)
        subprocess.run([Path(sys.executable).parent / "jupyter", "nbconvert", "--to", "html", "--no-input",
                        str(tmp / "out.ipynb")], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", help="workspace folder (default: a new temporary folder)")
    ap.add_argument("--config", help="project YAML (default: the embedded flights project)")
    args = ap.parse_args()
    configure_logging(30)
    ws = Path(args.workspace or tempfile.mkdtemp(prefix="e2eds-bench-")).resolve()
    ws.mkdir(parents=True, exist_ok=True)
    os.chdir(ws)
    t = time.perf_counter()
    run = run_pipeline(args.config)
    total = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        peer = naive_overhead(Path(d))

    print(f"workspace {ws}, run {run.run_id}, {os.cpu_count()} cores")
    print(f"{'stage':<10} {'wall s':>7} {'work s':>7} {'overhead s':>10} {'kernel s':>8} {'render s':>8} "
          f"{'bg start s':>10}")
    for s in run.stages:
        print(f"{s.stage:<10} {s.seconds:7.1f} {s.work_seconds:7.1f} {s.overhead_seconds:10.2f} "
              f"{s.kernel_seconds:8.2f} {s.render_seconds:8.2f} {s.kernel_start_seconds:10.2f}")
    overheads = [s.overhead_seconds for s in run.stages]
    print(f"{'total':<10} {total:7.1f} {sum(s.work_seconds for s in run.stages):7.1f} {sum(overheads):10.2f}")
    print(f"overhead per stage: mean {sum(overheads) / len(overheads):.2f} s, max {max(overheads):.2f} s; "
          f"naive peer (papermill + nbconvert subprocess) {peer:.2f} s; ratio {sum(overheads) / len(overheads) / peer:.2f}")
    print(f"targets: total <= 180 s: {'met' if total <= 180 else 'MISSED'}; "
          f"overhead <= 2 s per stage: {'met' if max(overheads) <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
