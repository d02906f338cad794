"""Short content digests of torch modules: which weights produced a cache, or a model's latents."""

from __future__ import annotations

import hashlib

import torch


def module_fingerprint(module: torch.nn.Module, *, half: bool = False, keep: tuple[str, ...] = ()) -> str:
    """sha256 (16 hex) of a module's state (names, shapes, dtypes, bytes): same weights, same print.

    `half`: floating tensors are hashed as float16 (those named in `keep` as float32), so the
    float32 training copy and a float16 shipped copy of the same weights print the same.
    """
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.float() if name in keep else t.half()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]
