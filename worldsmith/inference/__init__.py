"""Inference: `WorldPipeline` (guarded Text/Image/Video2World generation) and `worldsmith predict`."""

from .pipeline import WorldPipeline, WorldResult

__all__ = ["WorldPipeline", "WorldResult"]
