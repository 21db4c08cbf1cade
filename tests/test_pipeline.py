"""The quarter slice of the flights project, run end to end through `e2eds run`: real data, real results."""
import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from e2eds.core import STAGES, load_config

# Measured on the quarter slice (train January, validate February, test March): the candidate, the
# logistic model, had test ROC AUC 0.674; the floor leaves room for library versions, not for a broken
# model (the dummy baseline has 0.5).
ROC_AUC_FLOOR = 0.65


def _run(quarter):
    "The workspace, config and folder of the fixture's run, named by the command's last line."
    ws, cfg, proc = quarter
    run_id = re.search(r"^run (\S+): ok", proc.stdout, re.M).group(1)
    return ws, cfg, ws / "runs" / run_id


def test_manifest_records_every_stage(quarter):
    ws, _, run = _run(quarter)
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "ok"
    assert list(m["stages"]) == STAGES
    for name, s in m["stages"].items():
        assert s["status"] == "ok" and s["seconds"] > 0 and s["outputs"], name
        assert all(len(o["sha256"]) == 64 for o in s["outputs"].values()), name
    assert m["versions"]["pandas"] and m["versions"]["mlflow"] and m["versions"]["e2eds"]
    assert set(m["inputs"]["sources"]) == {"flights", "weather", "planes", "airports", "airlines"}
    assert len(m["inputs"]["sources"]["weather"]["files"]) == 12  # one file per monthly drop
    assert m["inputs"]["sources"]["flights"]["rows"] == 109_119


def test_progress_shows_each_stage_with_durations(quarter):
    _, _, proc = quarter
    for stage in STAGES:
        assert f"] {stage} done in " in proc.stderr, stage
    assert "total" in proc.stdout


def test_catalog_row_counts_equal_the_sources(quarter):
    ws, _, run = _run(quarter)
    catalog = {e["source"]: e for e in json.loads((run / "collect/catalog.json").read_text())}
    landing = ws / "data/sources"
    with sqlite3.connect(landing / "flights.sqlite") as con:
        n_flights = con.execute("SELECT COUNT(*) FROM flights WHERE month <= 4").fetchone()[0]
    expected = {
        "flights": n_flights,
        "weather": sum(len(pd.read_csv(f)) for f in (landing / "weather").glob("weather_*.csv")),
        "planes": len(pd.read_json(landing / "planes.json")),
        "airports": len(pd.read_parquet(landing / "airports.parquet")),
        "airlines": len(pd.read_csv(landing / "airlines.csv")),
    }
    assert {k: v["rows"] for k, v in catalog.items()} == expected
    assert expected["flights"] == 109_119 and expected["planes"] == 3_322 and expected["airlines"] == 16
    for e in catalog.values():
        assert len(e["sha256"]) == 64 and e["columns"] and e["extracted_at"]


def test_quarantine_and_orphans_are_counted(quarter):
    ws, _, run = _run(quarter)
    # one weather reading has a wind speed of 1048 mph: quarantined with its reason, the rest kept
    q = pd.read_parquet(run / "validate/quarantine/weather.parquet")
    assert len(q) == 1 and q.wind_speed.iloc[0] > 1000 and "wind_speed" in q.quarantine_reason.iloc[0]
    assert len(pd.read_parquet(run / "validate/clean/weather.parquet")) == 26_115 - 1
    # flights whose plane is not in the planes system: counted, not fatal
    flights = pd.read_parquet(run / "collect/extracts/flights.parquet")
    planes = pd.read_json(ws / "data/sources/planes.json")
    orphans = int((flights.tailnum.notna() & ~flights.tailnum.isin(planes.tailnum)).sum())
    assert orphans == 16_730
    assert str(orphans) in (run / "validate/references.json").read_text()


def test_weather_is_joined_as_of_prediction_time(quarter):
    _, cfg, run = _run(quarter)
    mi = pd.read_parquet(run / "transform/model_input.parquet")
    assert mi.flight_id.is_unique and len(mi) == 109_119
    has = mi.weather_time.notna()
    assert has.mean() > 0.95
    # a reading labelled with its hour is taken during it: usable from the next hour on
    assert (mi.loc[has, "weather_time"] + pd.Timedelta(minutes=60) <= mi.loc[has, "prediction_time"]).all()
    assert mi.loc[has, "weather_age_minutes"].between(60, 240).all()
    hours = (mi.sched_dep - mi.prediction_time).dt.total_seconds() / 3600
    assert (hours == load_config(cfg).time.horizon_hours).all()
    cancelled = mi.dep_time.isna()
    assert (mi.loc[cancelled, "disrupted"] == 1).all()
    late = mi.arr_delay >= 15
    assert (mi.loc[late, "disrupted"] == 1).all() and (mi.loc[mi.arr_delay < 15, "disrupted"] == 0).all()


def test_leakage_guard_rejects_dep_delay(quarter):
    _, cfg, run = _run(quarter)
    verdicts = {v["feature"]: v for v in json.loads((run / "features/leakage.json").read_text())}
    dep = verdicts["dep_delay"]
    assert dep["accepted"] is False
    assert any("departure" in r for r in dep["reasons"])
    assert all(verdicts[f]["accepted"] for f in load_config(cfg).feature_names)
    spec = json.loads((run / "features/feature_spec.json").read_text())
    assert "dep_delay" not in [f["name"] for f in spec]


def test_split_follows_time(quarter):
    _, _, run = _run(quarter)
    f = pd.read_parquet(run / "features/features.parquet", columns=["month", "split", "sched_dep"])
    months = f.groupby("split").month.unique().map(sorted).to_dict()
    assert months == {"train": [1], "valid": [2], "test": [3], "score": [4]}
    ends = f.groupby("split").sched_dep.agg(["min", "max"])
    assert ends.loc["train", "max"] < ends.loc["valid", "min"] < ends.loc["test", "min"] < ends.loc["score", "min"]


def test_model_registered_as_champion_and_beats_floor(quarter):
    from mlflow import MlflowClient
    ws, cfg, run = _run(quarter)
    c = load_config(cfg)
    client = MlflowClient(tracking_uri=f"sqlite:///{ws / 'mlflow/mlflow.db'}")
    champion = client.get_model_version_by_alias(c.deploy.model_name, "champion")
    gate = json.loads((run / "evaluate/gate.json").read_text())
    assert gate["passed"] is True
    assert champion.run_id == gate["candidate_run_id"]
    headline = json.loads((run / "evaluate/stage.json").read_text())["headline"]
    assert headline["test_roc_auc"] > ROC_AUC_FLOOR
    # the dummy's PR AUC is the test month's disruption rate; the candidate must do clearly better
    features = pd.read_parquet(run / "features/features.parquet", columns=["split", "disrupted"])
    rate = features.loc[features.split == "test", "disrupted"].mean()
    assert abs(gate["baseline_score"] - rate) < 0.01
    assert gate["candidate_score"] > gate["baseline_score"] + 0.1


def test_missing_tail_number_does_not_give_cancellations_away(quarter):
    # in these records a flight without a tail number was always cancelled: the tail was never recorded
    _, _, run = _run(quarter)
    mi = pd.read_parquet(run / "transform/model_input.parquet", columns=["flight_id", "tailnum", "cancelled"])
    scored = pd.read_parquet(run / "deploy/reference/test.parquet").merge(mi, on="flight_id")
    no_tail = scored[scored.tailnum.isna()]
    assert len(no_tail) > 100 and no_tail.cancelled.all()
    cancelled_with_tail = scored[scored.cancelled & scored.tailnum.notna()]
    assert no_tail.score.mean() <= cancelled_with_tail.score.mean() + 0.05


def test_predictions_carry_model_version_and_run(quarter):
    ws, cfg, run = _run(quarter)
    preds = pd.read_parquet(run / "deploy/predictions/2013-04.parquet")
    dep = json.loads((run / "deploy/deployment.json").read_text())
    assert len(preds) > 25_000 and preds.score.between(0, 1).all()
    assert (preds.model_version.astype(str) == str(dep["champion_version"])).all()
    assert (preds.model_run_id == dep["champion_run_id"]).all() and len(dep["champion_run_id"]) == 32
    assert (preds.run_id == run.name).all()
    assert dep["champion_trained_in"] == run.name  # monitor measures drift against this run's training months


def test_drift_is_computed_for_each_scored_month(quarter):
    _, cfg, run = _run(quarter)
    drift = pd.read_parquet(run / "monitor/drift.parquet")
    features = load_config(cfg).feature_names
    assert set(drift.month) == {"2013-04"}
    assert set(drift.feature) == set(features)
    assert drift.psi.notna().all() and (drift.psi >= 0).all()
    perf = json.loads((run / "monitor/performance.json").read_text())
    assert set(perf) == {"2013-03", "2013-04"}  # the test month as reference, then each scored month
    april = perf["2013-04"]
    assert april["rows"] == 28_330 and 0.55 < april["roc_auc"] < 0.85
    assert abs(april["calibration_gap"] - (april["mean_score"] - april["base_rate"])) < 1e-9


REPORT_SECTIONS = {
    "01_collect": ["catalog"],
    "02_validate": ["quarantine", "profile_flights.html"],
    "03_transform": ["weather"],
    "04_features": ["dep_delay", "leakage"],
    "05_train": ["coef"],
    "06_evaluate": ["calibration", "threshold", "gate"],
    "07_deploy": ["champion"],
    "08_monitor": ["drift", "calibrat", "alert"],
}


@pytest.mark.parametrize("stem", list(REPORT_SECTIONS))
def test_every_report_exists_with_its_sections(quarter, stem):
    ws, _, run = _run(quarter)
    page = (ws / "reports" / run.name / f"{stem}.html").read_text()
    low = page.lower()
    for word in REPORT_SECTIONS[stem]:
        assert word.lower() in low, f"{stem}.html lacks {word!r}"
    assert "open_stage(" not in page, "the report shows code"
    index = (ws / "reports/index.html").read_text()
    assert f'{run.name}/{stem}.html' in index


def test_profile_report_is_linked_and_present(quarter):
    ws, _, run = _run(quarter)
    assert (ws / "reports" / run.name / "profile_flights.html").stat().st_size > 100_000
