"""Policy evaluation helpers: rank correlation, action chunks with dead-reckoned proprioception, replay."""

from __future__ import annotations

import math

import numpy as np
import pytest

from worldsmith.envs.policies import action_chunk, load_policy
from worldsmith.eval.policy import ReplayPolicy, run_sim, spearman
from worldsmith.utils.errors import WorldsmithError


def test_spearman_known_values():
    assert spearman([0.9, 0.5, 0.0], [0.8, 0.3, 0.1]) == pytest.approx(1.0)
    assert spearman([0.9, 0.5, 0.0], [0.1, 0.3, 0.8]) == pytest.approx(-1.0)
    # ties share their mean rank: ranks (2, 0.5, 0.5) vs (2, 1, 0) -> 0.866
    assert spearman([3, 1, 1], [3, 2, 1]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(spearman([0, 0, 0], [1, 2, 3]))  # one side cannot rank anything


def test_action_chunk_dead_reckons_the_tool_tip():
    seen = []

    def policy(obs):  # move +1 cm in x per frame, remembering where it thought it was
        seen.append(obs["ee_pos"].copy())
        return np.array([0.01, 0, 0, 0, 0, 0, 0], np.float32)

    obs = {"image": np.zeros((8, 8, 3), np.uint8), "ee_pos": np.array([0.5, 0.0, 0.1], np.float32)}
    acts = action_chunk(policy, obs, 4)
    assert acts.shape == (4, 7)
    assert np.allclose([s[0] for s in seen], [0.50, 0.51, 0.52, 0.53])  # each call sees the previous moves


def test_load_policy_specs():
    assert load_policy("good")[0] == "good"
    assert load_policy("worldsmith.envs.policies:noisy")[0] == "noisy"
    for bad in ("nope", "no.such.module:f", "worldsmith.envs.policies:missing"):
        with pytest.raises(WorldsmithError, match="--policy"):
            load_policy(bad)


def test_replay_policy_plays_rows_then_holds_still():
    p = ReplayPolicy(np.arange(12, dtype=np.float32).reshape(2, 2, 3))  # 2 steps of 2 actions, A = 3
    assert [p({})[0] for _ in range(4)] == [0, 3, 6, 9]
    assert np.array_equal(p({}), np.zeros(3, np.float32))


def test_recorded_actions_replayed_in_the_simulator_reproduce_the_episode():
    """run_sim records what it applied: played back from the same start, the simulator repeats every frame."""
    from worldsmith.envs.policies import SHIPPED

    kw = dict(k=4, context_frames=5, max_steps=2, resolution=32)
    wins, videos, _, actions = run_sim(SHIPPED["noisy"], [3], **kw)
    assert actions[0].shape == (2, 4, 7)
    wins2, videos2, _, actions2 = run_sim(lambda task, seed: ReplayPolicy(actions[0]), [3], **kw)
    assert np.array_equal(videos2[0], videos[0]) and wins2 == wins and np.array_equal(actions2[0], actions[0])
