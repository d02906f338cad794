"""Device selection: `auto` picks CUDA when present, else CPU. No "cuda" strings elsewhere."""

from __future__ import annotations

import contextlib

import torch

from .errors import WorldsmithError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Turn 'auto' | 'cpu' | 'cuda' | 'cuda:1' | 'mps' into a torch.device, checking it exists."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise WorldsmithError(f"--device: unknown device {name!r} ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise WorldsmithError(f"--device {name}: CUDA is not available on this machine (use --device cpu or auto)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise WorldsmithError(f"--device {name}: MPS is not available on this machine")
    return dev


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on GPU, a no-op (fp32) on CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
