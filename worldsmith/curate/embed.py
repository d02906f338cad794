"""Clip embeddings for semantic deduplication.

`BuiltinEmbedder` needs no download: per sampled frame a 16x16 normalised luma layout
(structure, 256 values) and a soft 4x4x4 Lab colour histogram (64 values), averaged over
the clip and L2-normalised. Re-encodes, crops of time and small shifts of the same
footage land within cosine ~0.99 of each other; different shots do not.

`HFEmbedder` uses any local transformers vision model (CLIP, SigLIP, DINOv2, ...) by path:
the mean of its pooled image features over the sampled frames.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..utils.errors import WorldsmithError


def frame_features(frame: np.ndarray) -> np.ndarray:
    """Structure + colour features float32 [320] of one uint8 RGB frame [H, W, 3]."""
    small = cv2.resize(frame, (16, 16), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)  # [16, 16, 3]
    luma = lab[..., 0].reshape(-1)
    struct = (luma - luma.mean()) / (luma.std() + 8.0)
    q = np.clip(lab / 64.0, 0, 3.999).astype(np.int32)  # 4 bins per channel
    hist = np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).reshape(-1), minlength=64).astype(np.float32)
    hist = np.sqrt(hist / hist.sum())  # Hellinger: cosine of sqrt-histograms
    return np.concatenate([struct / np.sqrt(len(struct)), hist]).astype(np.float32)


class BuiltinEmbedder:
    """Colour + structure clip embedding (no model, no download)."""

    name = "builtin"

    def embed(self, frames: list[np.ndarray]) -> np.ndarray:
        """float32 [D] unit vector for a clip's sampled uint8 RGB frames."""
        if not frames:
            raise WorldsmithError("embedding: no frames")
        v = np.mean([frame_features(f) for f in frames], axis=0)
        return (v / (np.linalg.norm(v) + 1e-8)).astype(np.float32)


class HFEmbedder:
    """Mean pooled image features of a local transformers vision model (loaded once)."""

    def __init__(self, path: str):
        if not os.path.isdir(path):
            raise WorldsmithError(f"dedup.embedder: {path} is not a local model directory")
        from transformers import AutoImageProcessor, AutoModel

        self.name = f"hf:{os.path.basename(os.path.normpath(path))}"
        self.processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(self, frames: list[np.ndarray]) -> np.ndarray:
        """float32 [D] unit vector for a clip's sampled uint8 RGB frames."""
        import torch

        inputs = self.processor(images=list(frames), return_tensors="pt")
        with torch.no_grad():
            if hasattr(self.model, "get_image_features"):
                feats = self.model.get_image_features(**inputs)
            else:
                out = self.model(**inputs)
                feats = getattr(out, "pooler_output", None)
                if feats is None:
                    feats = out.last_hidden_state.mean(1)
        v = feats.float().mean(0).numpy()
        return (v / (np.linalg.norm(v) + 1e-8)).astype(np.float32)


def get_embedder(name: str):
    """'builtin' or a local model directory."""
    if name == "builtin":
        return BuiltinEmbedder()
    return HFEmbedder(name)
