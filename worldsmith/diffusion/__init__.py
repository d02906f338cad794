"""Diffusion formulation: Denoiser (EDM / rectified-flow preconditioning + loss), conditioning, samplers."""

from ..utils.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "VideoCondition": ".conditioning", "cat_conds": ".conditioning", "drop_text": ".conditioning",
    "DiffusionConfig": ".denoiser", "Denoiser": ".denoiser", "edm_scalings": ".denoiser",
    "rf_scalings": ".denoiser", "generate": ".generate", "generate_long": ".generate",
    "guided_denoise": ".generate", "null_text": ".generate", "sampling_plan": ".generate",
    "MEAN_SAMPLER": ".generate", "SAMPLERS": ".samplers",
    "get_sampler": ".samplers", "karras_sigmas": ".samplers", "sample_dpmpp_2m": ".samplers",
    "sample_euler": ".samplers", "sample_euler_ancestral": ".samplers", "sample_heun": ".samplers",
})
