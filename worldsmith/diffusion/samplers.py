"""Samplers: plain functions with one signature, k-diffusion style.

    sample_x(model_fn, x, sigmas, *, extra_args=None, callback=None, generator=None) -> x

`model_fn(x, sigma [B], **extra_args)` returns the denoised estimate D(x, sigma) of x0 in
the variance-exploding space `x = x0 + sigma * eps` (both EDM and rectified flow are
expressed there by `Denoiser`). `x` starts as `sigmas[0] * noise`; `sigmas` is decreasing
and ends at 0. The probability-flow ODE is dx/dsigma = (x - D(x, sigma)) / sigma.
`callback` receives {"i", "x", "sigma", "sigma_next", "denoised"} after each step.
`generator` seeds the noise a stochastic sampler adds (`euler_ancestral`); the ODE samplers
ignore it, keeping one signature for all.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..utils.progress import progress

ModelFn = Callable[..., torch.Tensor]


def karras_sigmas(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """Karras et al. (2022) schedule: n levels from sigma_max to sigma_min, plus a final 0 -> [n+1]."""
    if n < 1:
        raise ValueError(f"steps: expected >= 1, got {n}")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float().to(device)


def _steps(sigmas: torch.Tensor, desc: str):
    return progress(range(len(sigmas) - 1), desc=desc, unit="step")


def _callback(callback, i, x, sigmas, denoised) -> None:
    if callback is not None:
        callback({"i": i, "x": x, "sigma": sigmas[i], "sigma_next": sigmas[i + 1], "denoised": denoised})


@torch.no_grad()
def sample_euler(model_fn: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, *, extra_args: dict | None = None,
                 callback=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Euler's method on the probability-flow ODE (= DDIM; = flow-matching Euler for rf)."""
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    for i in _steps(sigmas, "euler"):
        denoised = model_fn(x, sigmas[i] * s_in, **extra_args)
        d = (x - denoised) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
        _callback(callback, i, x, sigmas, denoised)
    return x


@torch.no_grad()
def sample_heun(model_fn: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, *, extra_args: dict | None = None,
                callback=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Heun's second-order method (EDM Algorithm 1, deterministic); Euler on the last step to 0."""
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    for i in _steps(sigmas, "heun"):
        denoised = model_fn(x, sigmas[i] * s_in, **extra_args)
        d = (x - denoised) / sigmas[i]
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            denoised_2 = model_fn(x_2, sigmas[i + 1] * s_in, **extra_args)
            d_2 = (x_2 - denoised_2) / sigmas[i + 1]
            x = x + (d + d_2) / 2 * dt
        _callback(callback, i, x, sigmas, denoised)
    return x


@torch.no_grad()
def sample_dpmpp_2m(model_fn: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, *, extra_args: dict | None = None,
                    callback=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """DPM-Solver++(2M): second-order multistep in log-sigma, one model call per step.

    Works on the data prediction with lambda = -ln(sigma); the previous step's denoised
    estimate gives the second-order correction (Lu et al. 2022). The final step to 0 is exact.
    """
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    old_denoised = None
    for i in _steps(sigmas, "dpm++2m"):
        denoised = model_fn(x, sigmas[i] * s_in, **extra_args)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
            h = t_next - t
            if old_denoised is None:
                d = denoised
            else:
                r = (t - (-sigmas[i - 1].log())) / h  # previous step size over this one
                d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * d
        old_denoised = denoised
        _callback(callback, i, x, sigmas, denoised)
    return x


@torch.no_grad()
def sample_euler_ancestral(model_fn: ModelFn, x: torch.Tensor, sigmas: torch.Tensor, *,
                           extra_args: dict | None = None, callback=None,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Ancestral Euler (stochastic): step down to sigma_down, then add fresh noise sigma_up.

    sigma_up^2 + sigma_down^2 = sigma_next^2, with sigma_up the DDPM posterior std (eta = 1).
    Noise comes from `generator` (drawn on its device), so a seed fixes the sample.
    """
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    for i in _steps(sigmas, "euler_a"):
        denoised = model_fn(x, sigmas[i] * s_in, **extra_args)
        s, s_next = sigmas[i], sigmas[i + 1]
        sigma_up = torch.minimum(s_next, (s_next ** 2 * (s ** 2 - s_next ** 2) / s ** 2).sqrt())
        sigma_down = (s_next ** 2 - sigma_up ** 2).sqrt()
        x = x + (x - denoised) / s * (sigma_down - s)
        if s_next > 0:
            gen_device = generator.device if generator is not None else x.device
            noise = torch.randn(x.shape, generator=generator, device=gen_device, dtype=x.dtype).to(x.device)
            x = x + noise * sigma_up
        _callback(callback, i, x, sigmas, denoised)
    return x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
    "euler_ancestral": sample_euler_ancestral,
}


def get_sampler(name: str) -> Callable[..., torch.Tensor]:
    """Sampler by name; ValueError naming the choices."""
    if name not in SAMPLERS:
        raise ValueError(f"sampler: unknown {name!r} (choices: {', '.join(SAMPLERS)})")
    return SAMPLERS[name]
