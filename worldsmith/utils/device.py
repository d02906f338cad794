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


def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX tiles).

    Without either, bf16 on CPU is emulated and slower than fp32, so callers fall back to fp32.
    """
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # older torch without the probes
        return False


def autocast(device: torch.device, enabled: bool = True, cpu: bool = False):
    """bf16 autocast on GPU; on CPU only when `cpu` is set and the CPU has native bf16.

    Weights, optimiser state and gradients stay fp32 either way (autocast only lowers the
    precision of matmuls and convolutions), so this is safe for training.
    """
    if enabled and device.type == "cuda":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if enabled and cpu and device.type == "cpu" and cpu_has_native_bf16():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
