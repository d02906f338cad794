"""PSNR / SSIM in worldsmith.eval.metrics (shared with the physics benchmark)."""

import math

import numpy as np
import pytest
import torch

from worldsmith.eval.metrics import psnr, psnr_per_frame, ssim, ssim_map, ssim_per_frame


def test_psnr_matches_its_definition():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-5, 6, a.shape), 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / mse), rel=1e-6)
    assert psnr(a, a) == float("inf")
    per = psnr_per_frame(a, b)
    assert len(per) == 4 and min(per) <= psnr(a, b) <= max(per)
    with pytest.raises(ValueError, match="shape"):
        psnr(a, b[:2])


def test_ssim_properties():
    rng = np.random.default_rng(1)
    img = (rng.random((2, 32, 32, 3)) * 255).astype(np.uint8)
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    noisy = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    noisier = np.clip(img + rng.normal(0, 40, img.shape), 0, 255).astype(np.uint8)
    s1, s2 = ssim(noisy, img), ssim(noisier, img)
    assert 0 < s2 < s1 < 1
    # layouts agree, per-frame values average to the mean
    chw = torch.from_numpy(img).permute(0, 3, 1, 2)
    assert ssim(torch.from_numpy(noisy).permute(0, 3, 1, 2), chw, layout="chw") == pytest.approx(s1, abs=1e-6)
    assert np.mean(ssim_per_frame(noisy, img)) == pytest.approx(s1, abs=1e-6)


def test_ssim_map_known_value_and_gradient():
    # constant images: SSIM = (2 mx my + c1) / (mx^2 + my^2 + c1) exactly
    x = torch.full((1, 1, 16, 16), 0.2)
    y = torch.full((1, 1, 16, 16), 0.6)
    c1 = (0.01 * 2.0) ** 2
    expect = (2 * 0.2 * 0.6 + c1) / (0.2 ** 2 + 0.6 ** 2 + c1)
    assert float(ssim_map(x, y, data_range=2.0).mean()) == pytest.approx(expect, rel=1e-4)
    z = torch.rand(1, 3, 12, 12, requires_grad=True)
    ssim_map(z, torch.rand(1, 3, 12, 12), data_range=1.0).mean().backward()
    assert z.grad.abs().sum() > 0


def test_reconstruction_loss_terms_add_up():
    from worldsmith.tokenizer.losses import LossConfig, ReconstructionLoss

    x = torch.zeros(1, 3, 2, 8, 8)
    recon = torch.full_like(x, 0.1)
    recon[:, :, 1] = -0.1  # frame differences of recon: -0.2, of x: 0
    loss, logs = ReconstructionLoss(LossConfig(l1=1.0, mse=2.0, ssim=0.0, temporal=0.5))(recon, x)
    assert logs["l1"] == pytest.approx(0.1) and logs["mse"] == pytest.approx(0.01)
    assert logs["temporal"] == pytest.approx(0.2)
    assert float(loss) == pytest.approx(0.1 + 2 * 0.01 + 0.5 * 0.2, rel=1e-5)
    # PSNR on [-1, 1] data (peak-to-peak 2): 10 log10(4 / 0.01)
    assert logs["psnr"] == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-5)
    # a weight of 0 leaves the term out of the loss and the logs
    loss0, logs0 = ReconstructionLoss(LossConfig(l1=0.0, mse=1.0, ssim=0.0, temporal=0.0))(recon, x)
    assert float(loss0) == pytest.approx(0.01, rel=1e-5) and "temporal" not in logs0
