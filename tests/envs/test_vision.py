"""Camera-only perception for robot pushing: geometry, colour masks, object estimates, visual policies.

Everything is measured on the real simulator (RobotPushSim at 64 px): the renderer's own
segmentation checks the camera conventions, and closed-loop episodes compare the scripted
pusher seeing through the camera with the same pusher reading the true state.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from worldsmith.envs import vision
from worldsmith.envs.vision import (
    LOOK_UP,
    VisualPolicy,
    estimate_object_xy,
    floor_ray_point,
    largest_component,
    make_visual_policy,
    object_pixels,
    project,
    success_from_image,
    task_from_sim,
)
from worldsmith.sim import RobotPushSim
from worldsmith.sim.policies import good_pusher, make_policy
from worldsmith.sim.robot import ROBOT_COLOUR
from worldsmith.utils.errors import WorldsmithError

SEEDS = range(6, 12)  # 4 boxes + 2 cylinders, 2 scenes with a second object
FRAMES = 40


@pytest.fixture(scope="module")
def sim():
    s = RobotPushSim(resolution=64, fps=15)
    yield s
    s.close()


def test_task_is_plain_json_with_the_episode_facts(sim):
    sim.reset(3)
    task = task_from_sim(sim)
    assert json.loads(json.dumps(task)) == task
    thing = sim.params["objects"][0]
    assert task["object_color"] == thing["color"] and task["object_size"] == thing["size"]
    assert task["target_pos"] == [*sim.params["target"], 0.0] and task["target_radius"] == sim.params["target_radius"]
    assert task["robot_color"] == list(ROBOT_COLOUR) and task["resolution"] == 64
    view, proj = sim.world.camera.matrices()
    assert np.allclose(task["camera"]["view_matrix"], view) and np.allclose(task["camera"]["projection_matrix"], proj)
    assert task["push_speed"] == pytest.approx(sim.params["push_speed"])  # at 15 fps: the scripted controller's


def test_project_and_floor_ray_point_round_trip(sim):
    sim.reset(0)
    cam = task_from_sim(sim)["camera"]
    rng = np.random.default_rng(0)
    for z in (0.0, 0.07, 0.2):
        xyz = np.concatenate([rng.uniform([0.2, -0.5], [0.9, 0.5], (50, 2)), np.full((50, 1), z)], 1)  # [50, 3]
        uv = project(xyz, cam, 64)
        assert uv.shape == (50, 2)
        assert np.allclose(floor_ray_point(uv, cam, 64, z), xyz, atol=1e-6)
    up = floor_ray_point(np.array([[32.0, -500.0]]), cam, 64, 0.0)  # far above the horizon: never meets the floor
    assert np.isnan(up).all()


def test_projection_follows_the_renderer_exactly(sim):
    """Casting the true box through each pixel centre reproduces the segmentation pixel for pixel."""
    checked = 0
    for seed in (0, 2, 3):
        frame = sim.reset(seed)
        task = task_from_sim(sim)
        assert task["object_shape"] == "box"
        for _ in range(3):
            frame = sim.step([0.0, 0.0, 0.03, 0, 0, 0, 0])
            state = sim.object_state()  # [13]: pos, quat xyzw, ...
            yaw = 2 * np.arctan2(state[5], state[6])  # upright box: rotation about z only
            rr, cc = np.mgrid[0:64, 0:64]
            a, d = vision._slab_segments(np.stack([cc.ravel() + 0.5, rr.ravel() + 0.5], 1), task["camera"], 64,
                                         task["object_size"][2])
            sil = vision._silhouettes(a, d, state[None, :2].astype(np.float64), np.array([yaw]),
                                      np.asarray(task["object_size"]) / 2, "box")[0, 0].reshape(64, 64)
            visible = np.isin(frame["seg"], [0, 1])  # skip pixels where the arm or the other object is in front
            assert (sil == (frame["seg"] == 1))[visible].all()
            u, v = project(state[None, :3], task["camera"], 64)[0]  # the centre lands on the object's pixels
            assert frame["seg"][int(v), int(u)] in (1, len(sim.params["objects"]) + 1)
            checked += 1
    assert checked == 9


def test_object_pixels_find_the_object_under_shading(sim):
    for seed in range(4):
        frame = sim.reset(seed)
        colour = sim.params["objects"][0]["color"]
        mask = object_pixels(frame["rgb"], colour)
        truth = largest_component(frame["seg"] == 1)
        assert (mask & truth).sum() / (mask | truth).sum() > 0.95
        assert not (mask & (frame["seg"] == len(sim.params["objects"]) + 1)).any()  # never the arm
        if len(sim.params["objects"]) > 1:  # nor the other object
            assert not (mask & (frame["seg"] == 2)).any()


def test_largest_component_is_8_connected():
    mask = np.zeros((8, 8), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal: one 8-connected blob of 3
    mask[5:7, 5:7] = True  # a square of 4
    mask[4, 0] = True
    assert largest_component(mask).sum() == 4 and largest_component(mask)[5, 5]
    mask[3, 3] = mask[4, 4] = True  # now the diagonal reaches the square: 9 pixels
    assert largest_component(mask).sum() == 9
    assert not largest_component(np.zeros((4, 4), bool)).any()


def test_no_object_no_estimate_and_bad_inputs(sim):
    sim.reset(1)
    task = task_from_sim(sim)
    floor = np.full((64, 64, 3), 128, np.uint8)
    assert estimate_object_xy(floor, task) is None and success_from_image(floor, task) is False
    with pytest.raises(WorldsmithError, match="uint8"):
        estimate_object_xy(floor.astype(np.float32), task)
    with pytest.raises(WorldsmithError, match="square"):
        estimate_object_xy(floor[:32], task)
    with pytest.raises(WorldsmithError, match="missing"):
        estimate_object_xy(floor, {"camera": task["camera"]})
    with pytest.raises(WorldsmithError, match="ee_pos"):
        make_visual_policy("good", task)({"image": floor})
    with pytest.raises(ValueError, match="unknown policy"):
        make_visual_policy("greedy", task)


def test_visual_policy_keeps_the_last_estimate_when_the_object_is_hidden(sim):
    frame = sim.reset(2)
    task = task_from_sim(sim)
    pol = make_visual_policy("good", task)
    ee = sim.observation()["ee_pos"]
    hidden = np.full((64, 64, 3), 35, np.uint8)  # all arm: nothing to see
    assert np.array_equal(pol({"image": hidden, "ee_pos": ee}), LOOK_UP)  # never seen yet: look
    first = pol({"image": frame["rgb"], "ee_pos": ee})
    seen = pol.object_xy.copy()
    assert np.array_equal(pol({"image": frame["rgb"].copy(), "ee_pos": ee}), first)  # same frame: looked at once
    assert np.linalg.norm(seen - sim.observation()["object_pos"][:2]) < 0.02
    state = pol.state({"image": hidden, "ee_pos": ee})
    assert np.array_equal(state["object_pos"][:2], seen)
    assert state["object_pos"][2] == pytest.approx(task["object_size"][2] / 2)
    assert np.allclose(pol({"image": hidden, "ee_pos": ee}), good_pusher(state, task["push_speed"]))
    pol.reset()
    assert pol.object_xy is None and isinstance(VisualPolicy(good_pusher, task), VisualPolicy)


@pytest.fixture(scope="module")
def episodes(sim):
    """Per seed: state-based and camera-based good pusher, camera-based random policy (40 frames each)."""
    out = dict(state=[], visual=[], random=[], errors=[], agree=[])
    for seed in SEEDS:
        sim.reset(seed)
        task = task_from_sim(sim)
        state_policy = make_policy("good", speed=task["push_speed"])
        for _ in range(FRAMES):
            sim.step(state_policy(sim.observation()))
        out["state"].append(sim.success())
        for name in ("good", "random"):
            frame = sim.reset(seed)
            pol = make_visual_policy(name, task, seed=seed)
            for _ in range(FRAMES):
                obs = sim.observation()  # the measured tool tip is the robot's proprioception
                action = pol({"image": frame["rgb"], "ee_pos": obs["ee_pos"]})
                if name == "good":  # what the policy believed vs the truth, and the judge vs the simulator
                    out["errors"].append(float(np.linalg.norm(pol.object_xy - obs["object_pos"][:2])))
                    out["agree"].append(success_from_image(frame["rgb"], task) == sim.success())
                frame = sim.step(action)
            out["visual" if name == "good" else "random"].append(sim.success())
    errors = 100 * np.array(out["errors"])
    print(f"\nobject error {errors.mean():.2f} cm mean, {errors.max():.2f} cm max; success state "
          f"{sum(out['state'])}, visual {sum(out['visual'])}, random {sum(out['random'])} of {len(SEEDS)}; "
          f"image judge agrees on {100 * np.mean(out['agree']):.1f}% of frames")
    return out


def test_object_estimate_error_is_small(episodes):
    errors = np.array(episodes["errors"])
    assert len(errors) == len(SEEDS) * FRAMES  # the object was found in every first frame
    assert errors.mean() < 0.03 and np.percentile(errors, 90) < 0.04


def test_visual_pusher_succeeds_like_the_state_pusher(episodes):
    assert sum(episodes["state"]) >= len(SEEDS) - 2
    assert sum(episodes["visual"]) >= sum(episodes["state"]) - 1
    assert sum(episodes["random"]) <= 1


def test_success_from_image_agrees_with_the_simulator(episodes):
    assert np.mean(episodes["agree"]) >= 0.9


def test_imports_without_pybullet():
    code = ("import sys; sys.modules['pybullet'] = None; sys.modules['pybullet_data'] = None; "
            "import worldsmith.envs.vision as v; print(v.project.__name__)")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
