"""`worldsmith quickstart` end to end with the shipped models (slow: simulates and scores 9 scenarios)."""

import json
import os

import pytest

from worldsmith.quickstart import ROBOT_MODEL, WORLD_MODEL


@pytest.mark.slow
def test_quickstart_runs_with_the_shipped_models(tmp_path, capsys):
    from worldsmith.cli import main

    assert os.path.isfile(os.path.join(WORLD_MODEL, "world_model.json")), "shipped world model missing"
    assert os.path.isfile(os.path.join(ROBOT_MODEL, "world_model.json")), "shipped robot model missing"
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), "--clips", "1", "--steps", "2", "--episodes", "1",
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "report:" in printed and "world_model" in printed
    res = json.loads((out / "results.json").read_text())
    methods = {r["method"] for r in res["rows"]}
    assert {"world_model", "world_model_mean", "tokenizer_recon", "copy_last", "const_acceleration",
            "physical_variance"} <= methods
    assert not [r for r in res["rows"] if "error" in r]
    assert len(res["targets"]) == 10  # 5 milestones, for the samples and for the posterior mean
    assert len(list((out / "predictions").glob("*.mp4"))) == 6
    assert (out / "report.html").stat().st_size > 10_000
    robot = json.loads((out / "robot-policies" / "results.json").read_text())  # the shipped action model
    assert set(robot["policies"]) == {"good", "noisy", "random"} and robot["episodes"] == 1


def test_quickstart_without_a_model_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from worldsmith import quickstart
    from worldsmith.cli import main

    monkeypatch.setattr(quickstart, "WORLD_MODEL", str(tmp_path / "nothing"))
    assert main(["quickstart", "--out", str(tmp_path / "qs")]) == 2
    assert "no world model" in capsys.readouterr().err
