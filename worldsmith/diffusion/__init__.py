"""Diffusion formulation: Denoiser (EDM / rectified-flow preconditioning + loss), conditioning, samplers."""

from .conditioning import VideoCondition, cat_conds, drop_text
from .denoiser import DiffusionConfig, Denoiser, edm_scalings, rf_scalings
from .generate import generate, generate_long, guided_denoise, null_text
from .samplers import (SAMPLERS, get_sampler, karras_sigmas, sample_dpmpp_2m, sample_euler,
                       sample_euler_ancestral, sample_heun)

__all__ = [
    "VideoCondition", "cat_conds", "drop_text", "DiffusionConfig", "Denoiser", "edm_scalings",
    "rf_scalings", "generate", "generate_long", "guided_denoise", "null_text", "SAMPLERS",
    "get_sampler", "karras_sigmas", "sample_dpmpp_2m", "sample_euler", "sample_euler_ancestral", "sample_heun",
]
