"""Quality guards on the shipped models: fast, deterministic checks that fail when a shipped model
stops doing its job (as the robot model did from session 11 to 17, when it was pointed at a tokenizer
it had not been trained on: its actions stopped mattering and nothing else failed)."""

import numpy as np
import pytest

from worldsmith.quickstart import ROBOT_MODEL, WORLD_MODEL

pytestmark = pytest.mark.usefixtures("one_thread")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def test_shipped_world_model_predicts_better_than_copying_the_last_frame():
    """One-step posterior mean from 9 frames on 3 simulator clips, plain decoding: +2.6 dB over
    copy-last as shipped (`wm12`, session 24: 25.3 / 29.8 / 22.1 vs 20.9 / 28.6 / 19.8; `wm10` +2.6 dB, `wm9` +1.8 dB,
    `wm7` +1.9 dB, the last_cond model before them +2.4 dB); on the wrong tokenizer it was 0.9 dB below."""
    from worldsmith.inference.pipeline import WorldPipeline
    from worldsmith.sim import simulate_clip

    pipe = WorldPipeline.from_pretrained(WORLD_MODEL, device="cpu", guardrails=None, upsample=False)
    model, copy = [], []
    for scenario in ("collision", "projectile", "pendulum"):
        clip = simulate_clip(scenario, 0, frames=33)
        out = pipe(clip.caption, input=clip.rgb[:9], num_frames=33, num_cond_frames=9, sampler="mean",
                   guidance=0.0, decode="plain").frames
        model.append(_psnr(out[9:], clip.rgb[9:]))
        copy.append(_psnr(np.repeat(clip.rgb[8:9], 24, axis=0), clip.rgb[9:]))
    assert np.mean(model) > np.mean(copy) + 1.0, (model, copy)


def test_shipped_robot_model_feels_its_actions():
    """The denoiser's error with zeroed actions over true ones (deterministic: fixed noise) on 6 held-out
    clips: 1.74 as shipped (session 24; the sixth model before it 1.29), 1.03 when it read the wrong
    tokenizer's latents (1.00 = actions ignored)."""
    from worldsmith.eval.actions import action_sensitivity, held_out_clips
    from worldsmith.inference.action import ActionWorldModel

    wm = ActionWorldModel.from_pretrained(ROBOT_MODEL, device="cpu")
    clips = held_out_clips(6, 17, wm.size, policies=("good", "noisy", "play"))
    assert action_sensitivity(wm, clips)["zeroed_over_true"] > 1.15
