"""Residual decoding (`inference/residual.py`) on a real tiny tokenizer: known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from einops import rearrange

from worldsmith.inference.residual import check_decode, residual_decode
from worldsmith.tokenizer.model import build_tokenizer
from worldsmith.utils.errors import WorldsmithError


@pytest.fixture(scope="module")
def tok():
    torch.manual_seed(0)
    return build_tokenizer("cv4x8x8-tiny").eval()


def _encode(tok, frames: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(frames).float().div(127.5).sub(1)
    return tok.encode(rearrange(x, "b t h w c -> b c t h w")).float()


def _uint8(video: torch.Tensor) -> np.ndarray:
    return rearrange(video.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8), "b c t h w -> b t h w c").numpy()


def test_nothing_moves_gives_the_known_frame_back_exactly(tok):
    """Latents of 'the last known frame held' decode to that frame, pixel for pixel (the tokenizer's
    reconstruction error cancels); the known frames come back unchanged."""
    rng = np.random.default_rng(0)
    known = rng.integers(0, 255, (2, 5, 16, 16, 3), dtype=np.uint8)
    still = np.concatenate([known, np.repeat(known[:, -1:], 4, axis=1)], axis=1)  # 9 frames = 3 latent frames
    out = _uint8(residual_decode(tok, _encode(tok, still), known))
    assert out.shape == (2, 9, 16, 16, 3)
    np.testing.assert_array_equal(out, still)
    plain = _uint8(tok.decode(_encode(tok, still)))
    assert np.abs(plain.astype(int) - still).mean() > 5  # a random tokenizer reconstructs badly; residual does not care


def test_batched_equals_one_by_one_and_dead_zone(tok):
    rng = np.random.default_rng(1)
    known = rng.integers(0, 255, (2, 5, 16, 16, 3), dtype=np.uint8)
    moving = rng.integers(0, 255, (2, 9, 16, 16, 3), dtype=np.uint8)
    moving[:, :5] = known
    lat = _encode(tok, moving)
    both = residual_decode(tok, lat, known)
    for b in range(2):
        torch.testing.assert_close(both[b:b + 1], residual_decode(tok, lat[b:b + 1], known[b:b + 1]))
    gated = residual_decode(tok, lat, known, threshold=1.9)  # almost every change is below 1.9: dropped
    held = torch.from_numpy(known[:, -1:]).float().div(127.5).sub(1)
    frac_held = (rearrange(gated[:, :, 5:], "b c t h w -> b t h w c") == held).all(-1).float().mean()
    assert frac_held > 0.9
    with pytest.raises(WorldsmithError, match="known frames"):
        residual_decode(tok, lat, known[:1])
    with pytest.raises(WorldsmithError, match="--decode"):
        check_decode("sharp", 0.0)
    with pytest.raises(WorldsmithError, match="only used with --decode residual"):
        check_decode("plain", 0.1)
