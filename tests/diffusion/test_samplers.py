"""Samplers on a known case: the exact denoiser of Gaussian data N(mu, s^2) must sample N(mu, s^2)."""

from __future__ import annotations

import pytest
import torch

from worldsmith.diffusion import SAMPLERS, Denoiser, DiffusionConfig, generate, get_sampler, karras_sigmas

MU, S = 0.3, 0.5
# std error allowed after 35 steps: first-order Euler is visibly biased, the second-order ones are not
# (ancestral Euler plugs in a point estimate of x0 where the posterior has spread: it shrinks the std)
STD_TOL = {"euler": 0.10, "heun": 0.03, "dpmpp_2m": 0.03, "euler_ancestral": 0.2}


def exact_denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """E[x0 | x] for x0 ~ N(MU, S^2), x = x0 + sigma * eps."""
    sg = sigma.view(-1, *([1] * (x.ndim - 1)))
    return MU + S ** 2 / (S ** 2 + sg ** 2) * (x - MU)


class ExactGaussianNet(torch.nn.Module):
    """The network output that makes a Denoiser exact for Gaussian data (inverts the preconditioning)."""

    def __init__(self, formulation: str):
        super().__init__()
        self.formulation = formulation
        self.den = Denoiser(torch.nn.Identity(), DiffusionConfig(formulation=formulation))

    def forward(self, x_in, c_noise, cond):
        c = c_noise.view(x_in.shape[0], 1, -1, 1, 1) if c_noise.ndim == 2 else c_noise.view(-1, 1, 1, 1, 1)
        sigma = (4 * c).exp() if self.formulation == "edm" else c / (1 - c)
        c_skip, c_out, c_in, _ = self.den.scalings(sigma)
        x = x_in / c_in
        d = MU + S ** 2 / (S ** 2 + sigma ** 2) * (x - MU)  # sigma broadcasts per frame
        return (d - c_skip * x) / c_out


def test_karras_schedule():
    s = karras_sigmas(35, 0.002, 80.0)
    assert s.shape == (36,)
    assert s[0].item() == pytest.approx(80.0) and s[-2].item() == pytest.approx(0.002) and s[-1] == 0
    assert torch.all(s[1:] < s[:-1])


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_sampler_reaches_gaussian_data_distribution(name):
    g = torch.Generator().manual_seed(0)
    sigmas = karras_sigmas(35, 0.002, 80.0).double()
    x = torch.randn(4, 25000, generator=g, dtype=torch.float64) * sigmas[0]
    steps = []
    out = get_sampler(name)(exact_denoiser, x, sigmas, callback=lambda info: steps.append(info["i"]),
                            generator=torch.Generator().manual_seed(1))
    assert steps == list(range(35))
    assert out.mean().item() == pytest.approx(MU, abs=0.01)
    assert abs(out.std().item() - S) / S < STD_TOL[name]


def test_second_order_beats_euler():
    sigmas = karras_sigmas(20, 0.002, 80.0).double()
    x = torch.randn(50000, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 80
    err = {n: abs(get_sampler(n)(exact_denoiser, x, sigmas).std().item() - S) for n in ("euler", "heun", "dpmpp_2m")}
    assert err["heun"] < err["euler"] / 2
    assert err["dpmpp_2m"] < err["euler"] / 2


@pytest.mark.parametrize("formulation", ["edm", "rf"])
@pytest.mark.parametrize("sampler", ["heun", "dpmpp_2m"])
def test_generate_with_exact_denoiser_matches_data(formulation, sampler):
    """End to end through Denoiser + generate: both formulations sample N(MU, S^2)."""
    den = Denoiser(ExactGaussianNet(formulation), DiffusionConfig(formulation=formulation))
    cond = {"text": torch.zeros(2, 1, 8)}
    out = generate(den, (2, 4, 5, 32, 32), cond, guidance=0.0, steps=35, sampler=sampler, seed=0)
    assert out.mean().item() == pytest.approx(MU, abs=0.02)
    assert abs(out.std().item() - S) / S < 0.04


def test_stochastic_sampler_is_seeded_by_its_generator():
    sigmas = karras_sigmas(10, 0.002, 80.0)
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 80
    sampler = get_sampler("euler_ancestral")
    a = sampler(exact_denoiser, x, sigmas, generator=torch.Generator().manual_seed(5))
    b = sampler(exact_denoiser, x, sigmas, generator=torch.Generator().manual_seed(5))
    c = sampler(exact_denoiser, x, sigmas, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_unknown_sampler():
    with pytest.raises(ValueError, match="choices"):
        get_sampler("ddpm")
