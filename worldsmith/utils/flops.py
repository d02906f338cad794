"""Model FLOPs and model-FLOPs utilisation (MFU): how much of an accelerator's peak a step uses.

`count_flops(fn)` runs `fn` once under PyTorch's `FlopCounterMode` and returns the floating-point
operations of its matrix multiplications, convolutions and attention (forward, and backward when
`fn` calls it): the "model FLOPs" of the PaLM paper's MFU, counted from the ops actually run
instead of a 6 x parameters x tokens formula, so attention, the text cross-attention and AdaLN
count as they are. PyTorch's counter has no formula for the CPU flash-attention kernel that
`scaled_dot_product_attention` uses on CPU, so this module registers the standard one (the same
as for the CUDA kernels): a CPU count and a GPU count of the same step agree.

`peak_tflops(device)` is the dense bf16 tensor-core peak of known accelerators (vendor data
sheets, without sparsity); unknown devices (and CPUs) return None and callers ask for
`--peak-tflops`. MFU = achieved FLOP/s / peak FLOP/s.
"""

from __future__ import annotations

from typing import Callable

import torch

# Dense BF16 tensor-core peak, TFLOP/s (vendor data sheets, no 2:4 sparsity). Matched against
# torch.cuda.get_device_name() in order, so the more specific names come first.
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),       # SXM
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 70.0),       # A10G: AWS's A10 variant
    ("A10", 125.0),
    ("RTX 4090", 165.2),
    ("RTX 3090", 71.0),
)

_registered = False


def _register_cpu_attention() -> None:
    """Teach FlopCounterMode the CPU flash-attention ops (same FLOPs as any SDPA kernel)."""
    global _registered
    if _registered:
        return
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten
    fwd = getattr(aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    bwd = getattr(aten, "_scaled_dot_product_flash_attention_for_cpu_backward", None)
    if fwd is not None and fwd.default not in fc.flop_registry:
        @fc.register_flop_formula(fwd)
        def _fwd(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
            return fc.sdpa_flop_count(query_shape, key_shape, value_shape)
    if bwd is not None and bwd.default not in fc.flop_registry:
        @fc.register_flop_formula(bwd)
        def _bwd(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
            return fc.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)
    _registered = True


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn` (matmuls, convolutions, attention; forward and any backward it runs)."""
    from torch.utils.flop_counter import FlopCounterMode

    _register_cpu_attention()
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def peak_tflops(device: torch.device | str) -> float | None:
    """Dense bf16 peak TFLOP/s of a CUDA device from its name; None when unknown or not a GPU."""
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    return peak_tflops_for_name(torch.cuda.get_device_name(device))


def peak_tflops_for_name(name: str) -> float | None:
    """Dense bf16 peak TFLOP/s for a device name such as "NVIDIA H100 80GB HBM3"; None when unknown."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in name.lower():
            return tflops
    return None


def mfu(flops_per_step: float, seconds_per_step: float, peak: float | None) -> float | None:
    """Model-FLOPs utilisation: (flops / s) / (peak TFLOP/s * 1e12); None without a peak."""
    if not peak or seconds_per_step <= 0:
        return None
    return flops_per_step / seconds_per_step / (peak * 1e12)
