"""RobotPushSim step by step, the scripted policies, and the recorded actions of robot clips."""

from __future__ import annotations

import numpy as np
import pytest

from worldsmith.sim import RobotPushSim, simulate_clip
from worldsmith.sim.policies import NoisyPusher, PlayPolicy, RandomPolicy, good_pusher, make_policy
from worldsmith.sim.robot import MAX_DELTA


@pytest.fixture(scope="module")
def sim():
    s = RobotPushSim(resolution=64, fps=15)
    yield s
    s.close()


def test_reset_and_step_frames(sim):
    f = sim.reset(0)
    assert f["rgb"].shape == (64, 64, 3) and f["rgb"].dtype == np.uint8
    assert f["depth"].shape == (64, 64) and f["seg"].shape == (64, 64)
    n = len(sim.params["objects"]) + 1  # pushed object (+ a second one), then the arm's tool flange
    assert f["states"].shape == (n, 13)
    assert set(np.unique(f["seg"])) >= {0, 1, n}
    obs = sim.observation()
    assert {"ee_pos", "object_pos", "target_pos", "object_size", "target_radius"} <= set(obs)
    ee0 = obs["ee_pos"].copy()
    for _ in range(4):
        f = sim.step([0.0, 0.0, 0.04, 0, 0, 0, 0])  # lift 4 cm per frame
    assert sim.observation()["ee_pos"][2] > ee0[2] + 0.08
    assert sim.object_state().shape == (13,)


def test_good_pusher_reaches_target(sim):
    wins = 0
    for seed in range(4):
        sim.reset(seed)
        start = np.linalg.norm(sim.observation()["object_pos"][:2] - sim.observation()["target_pos"][:2])
        assert not sim.success() and start > sim.observation()["target_radius"]
        for _ in range(40):
            sim.step(good_pusher(sim.observation()))
        wins += sim.success()
    assert wins >= 3


def test_random_policy_rarely_succeeds_and_stays_bounded(sim):
    sim.reset(1)
    pol = RandomPolicy(seed=0)
    for _ in range(20):
        a = pol(sim.observation())
        assert a.shape == (7,) and (np.abs(a) <= MAX_DELTA + 1e-6).all()
        f = sim.step(a)
    assert np.isfinite(f["states"]).all()


def test_play_policy_moves_where_its_actions_say(sim):
    """Random-waypoint play: the arm travels far, changes direction, and follows the commanded deltas."""
    sim.reset(3)
    pol = PlayPolicy(seed=1)
    tips, acts = [sim.rig.tool_pose()[0]], []
    for _ in range(32):
        a = pol(sim.observation())
        assert a.shape == (7,) and (np.abs(a) <= MAX_DELTA + 1e-6).all()
        sim.step(a)
        acts.append(sim.last_action[:3])
        tips.append(sim.rig.tool_pose()[0])
    tips, acts = np.array(tips), np.array(acts)
    disp = tips[8::8] - tips[:-8:8]  # [4, 3] displacement over each 8-frame stretch
    commanded = acts.reshape(4, 8, 3).sum(axis=1)
    assert np.linalg.norm(disp, axis=1).mean() > 0.05  # it travels (metres per 8 frames)
    assert np.linalg.norm(disp - commanded, axis=1).mean() < 0.5 * np.linalg.norm(disp, axis=1).mean()
    dirs = disp[:, :2] / np.linalg.norm(disp[:, :2], axis=1, keepdims=True).clip(1e-9)
    assert (dirs[1:] * dirs[:-1]).sum(axis=1).min() < 0.9  # not one straight stroke: the goal changes
    assert np.array_equal(PlayPolicy(5)(sim.observation()), PlayPolicy(5)(sim.observation()))


def test_policies_are_deterministic_callables(sim):
    sim.reset(2)
    obs = sim.observation()
    assert np.array_equal(NoisyPusher(3)(obs), NoisyPusher(3)(obs))
    assert not np.array_equal(NoisyPusher(3)(obs), good_pusher(obs))
    for name in ("good", "noisy", "random", "play"):
        assert make_policy(name, 0)(obs).shape == (7,)
    with pytest.raises(ValueError):
        make_policy("telepathy")


def test_clip_actions_drive_the_arm():
    c = simulate_clip("robot_push", 4)
    assert c.meta["params"]["policy"] in ("good", "noisy")
    robot = [o for o in c.meta["objects"] if o["shape"] == "robot"][0]
    ee = c.states[:, robot["seg_id"] - 1, :3]  # flange positions [T, 3]
    moved = np.linalg.norm(ee[-1] - ee[0])
    assert moved > 0.05
    # the commanded xy motion and the measured flange motion point the same way
    cmd = c.actions[:-1, :2].sum(0)
    assert float(cmd @ (ee[-1, :2] - ee[0, :2])) > 0
    assert "success" in c.meta["outcome"]


def test_step_by_step_is_deterministic_and_matches_across_instances(sim):
    other = RobotPushSim(resolution=64, fps=15)
    try:
        runs = []
        for s in (sim, other):
            s.reset(5)
            pol = NoisyPusher(seed=1)
            frames = [s.step(pol(s.observation()))["rgb"] for _ in range(6)]
            runs.append((np.stack(frames), s.object_state().copy()))
        assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    finally:
        other.close()


def test_rest_clips_start_like_an_episode(sim):
    """`rest` frames of zero actions first: the clip's opening frames are the environments' start frames."""
    from worldsmith.envs.sim_env import sim_start
    from worldsmith.sim.generate import generate_dataset
    from worldsmith.utils.errors import WorldsmithError

    c = simulate_clip("robot_push", 4, frames=13, policy="good", rest=4)
    assert c.meta["params"]["rest_frames"] == 4
    assert not c.actions[:4].any() and np.abs(c.actions[4:12, :3]).sum() > 0  # then the pusher acts
    start = sim_start(sim, 4, 5)
    np.testing.assert_array_equal(c.rgb[:5], start["frames"])
    plain = simulate_clip("robot_push", 4, frames=13, policy="good")
    assert "rest_frames" not in plain.meta["params"] and np.abs(plain.actions[:4]).sum() > 0
    for bad in (13, -1):
        with pytest.raises(WorldsmithError, match="rest"):
            simulate_clip("robot_push", 4, frames=13, rest=bad)
    with pytest.raises(WorldsmithError, match="no robot"):
        simulate_clip("fall", 0, frames=5, rest=2)
    with pytest.raises(WorldsmithError, match="--robot-rest"):
        generate_dataset("unused", "robot_push", num_clips=1, frames=9, robot_rest=9)
