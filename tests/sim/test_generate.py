"""`worldsmith sim generate`: dataset written by worker processes, bit-exact, resumable."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from worldsmith.cli import main
from worldsmith.data import iter_clips, read_manifest
from worldsmith.sim import clip_key, clip_seed, generate_dataset, simulate_clip
from worldsmith.sim.generate import _simulate_job
from worldsmith.utils.errors import WorldsmithError


def test_generate_two_workers_resume_and_contents(tmp_path):
    out = str(tmp_path / "ds")
    s = generate_dataset(out, ["fall", "robot_push"], num_clips=2, seed=3, workers=2, frames=9)
    assert s["written"] == 4 and s["failed"] == 0 and s["frames"] == 36
    rows = read_manifest(out)
    assert sorted(r["key"] for r in rows) == sorted(clip_key(n, 3, i) for n in ("fall", "robot_push") for i in (0, 1))
    for rec in iter_clips(out):
        meta = rec["meta"]
        assert meta["seed"] == clip_seed(meta["scenario"], 3, int(rec["key"][-5:]))
        ref = simulate_clip(meta["scenario"], meta["seed"], frames=9)
        assert np.array_equal(rec["frames"], ref.rgb)  # lossless video, same clip in another process
        for name in ("states", "depth", "seg"):
            assert np.array_equal(rec["arrays"][name], getattr(ref, name)), name
        assert ("actions" in rec["arrays"]) == (meta["scenario"] == "robot_push")
        assert rec["caption"] == ref.caption and meta["first_contact"]
    again = generate_dataset(out, ["fall", "robot_push"], num_clips=3, seed=3, workers=1, frames=9)
    assert again["skipped"] == 4 and again["written"] == 2
    with pytest.raises(WorldsmithError, match="other settings"):
        generate_dataset(out, "fall", num_clips=1, seed=3, workers=1, frames=9, resolution=128)


def test_failed_clip_is_reported_not_raised():
    res = _simulate_job(dict(key="x-0-00000", scenario="no_such", seed=0, resolution=64, frames=3, fps=15,
                             perturb=0.0, ood=False))
    assert "error" in res and "no_such" in res["error"]


def test_cli_list_and_generate(tmp_path, capsys):
    assert main(["sim", "list", "--json"]) == 0
    names = json.loads(capsys.readouterr().out)
    assert "robot_push" in names and "dominoes" in names
    out = str(tmp_path / "cli")
    assert main(["sim", "generate", "--scenario", "incline", "--num-clips", "1", "--frames", "5", "--workers", "1",
                 "--perturb", "0.01", "--ood", "--out", out]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["written"] == 1
    info = json.load(open(os.path.join(out, "dataset.json")))
    assert info["info"]["sim"]["perturb"] == 0.01 and info["info"]["sim"]["ood"] is True


@pytest.mark.parametrize("argv, where", [
    (["--scenario", "tornado"], "--scenario"), (["--fps", "7"], "--fps"), (["--num-clips", "0"], "--num-clips"),
    (["--resolution", "5"], "--resolution"), (["--workers", "-2"], "--workers"),
])
def test_cli_bad_arguments(tmp_path, capsys, argv, where):
    assert main(["sim", "generate", "--out", str(tmp_path / "bad"), *argv]) == 2
    assert where in capsys.readouterr().err


def test_dead_workers_are_reported_and_the_run_finishes():
    # os._exit kills the worker process outright (like a segfault): every job is retried once,
    # then reported, and the generator still finishes instead of hanging
    from worldsmith.sim.generate import _run

    res = list(_run([3, 4, 5], 2, fn=os._exit))
    assert sorted(r["key"] for r in res) == ["3", "4", "5"]
    assert all("died" in r["error"] for r in res)
    assert [r for r in _run([1, 2, 3], 2, fn=abs)] == [1, 2, 3]


def test_robot_policy_mix_and_resume_guard(tmp_path, capsys):
    """--robot-policy mix drives robot clips with good, noisy, random in turn; other scenarios keep theirs."""
    out = str(tmp_path / "robot")
    assert main(["sim", "generate", "--scenario", "robot_push", "--scenario", "fall", "--num-clips", "3",
                 "--frames", "5", "--resolution", "32", "--workers", "1", "--robot-policy", "mix",
                 "--out", out]) == 0
    policies = {rec["key"]: rec["meta"]["params"].get("policy") for rec in iter_clips(out)}
    assert [policies[clip_key("robot_push", 0, i)] for i in range(3)] == ["good", "noisy", "random"]
    assert all(policies[clip_key("fall", 0, i)] is None for i in range(3))
    rand = next(rec for rec in iter_clips(out) if rec["key"] == clip_key("robot_push", 0, 2))
    assert "random" in rand["caption"] and np.abs(rand["arrays"]["actions"][:-1]).sum() > 0
    capsys.readouterr()
    # the same directory with another policy setting would mix two datasets: refused
    assert main(["sim", "generate", "--scenario", "robot_push", "--num-clips", "3", "--frames", "5",
                 "--resolution", "32", "--workers", "1", "--robot-policy", "good", "--out", out]) == 2
    assert "robot_policy: mix -> good" in capsys.readouterr().err
    assert main(["sim", "generate", "--scenario", "robot_push", "--num-clips", "3", "--frames", "5",
                 "--resolution", "32", "--workers", "1", "--robot-policy", "mix", "--robot-rest", "2",
                 "--out", out]) == 2
    assert "robot_rest: 0 -> 2" in capsys.readouterr().err
    rest = str(tmp_path / "rest")  # --robot-rest: robot clips open with the arm still; other scenarios as before
    assert main(["sim", "generate", "--scenario", "robot_push", "--scenario", "fall", "--num-clips", "1",
                 "--frames", "5", "--resolution", "32", "--workers", "1", "--robot-rest", "2", "--out", rest]) == 0
    clips = {rec["key"]: rec for rec in iter_clips(rest)}
    robot = clips[clip_key("robot_push", 0, 0)]
    assert robot["meta"]["params"]["rest_frames"] == 2 and not robot["arrays"]["actions"][:2].any()
    assert "rest_frames" not in clips[clip_key("fall", 0, 0)]["meta"]["params"]
    with pytest.raises(WorldsmithError, match="no robot"):
        simulate_clip("fall", 1, frames=2, policy="good")


def test_robot_policy_mix_play(tmp_path):
    """--robot-policy mix-play: half random-waypoint play clips, the other half good, noisy, random."""
    out = str(tmp_path / "play")
    assert main(["sim", "generate", "--scenario", "robot_push", "--num-clips", "6", "--frames", "5",
                 "--resolution", "32", "--workers", "1", "--robot-policy", "mix-play", "--out", out]) == 0
    policies = {rec["key"]: rec["meta"]["params"].get("policy") for rec in iter_clips(out)}
    assert [policies[clip_key("robot_push", 0, i)] for i in range(6)] == ["good", "play", "noisy", "play",
                                                                          "random", "play"]
    from worldsmith.sim.clip import MIX_POLICIES, ROBOT_POLICIES
    from worldsmith.sim.generate import ROBOT_POLICY_CHOICES  # spelled out: the CLI must not import pybullet

    assert set(ROBOT_POLICY_CHOICES) == {"scripted", *ROBOT_POLICIES, *MIX_POLICIES}
