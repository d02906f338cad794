"""Inference: `WorldPipeline` (guarded Text/Image/Video2World generation) and `worldsmith predict`."""

from ..utils.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "WorldPipeline": ".pipeline", "WorldResult": ".pipeline",
})
