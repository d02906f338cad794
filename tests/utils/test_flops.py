"""Model FLOPs counting and MFU (worldsmith/utils/flops.py) on cases with known answers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from worldsmith.utils.flops import count_flops, mfu, peak_tflops, peak_tflops_for_name


def test_a_linear_layer_costs_two_flops_per_multiply_add_and_its_weight_gradient_as_much_again():
    lin = torch.nn.Linear(32, 64)
    x = torch.randn(8, 32)
    assert count_flops(lambda: lin(x)) == 2 * 8 * 32 * 64
    assert count_flops(lambda: lin(x).sum().backward()) == 2 * (2 * 8 * 32 * 64)  # no input gradient asked
    xg = torch.randn(8, 32, requires_grad=True)
    assert count_flops(lambda: lin(xg).sum().backward()) == 3 * (2 * 8 * 32 * 64)


def test_attention_is_counted_on_cpu_too():
    """CPU's flash-attention op has no formula in PyTorch's counter; ours is the standard one:
    QK^T and AV, 4 B h N M d forward, 2.5x that backward."""
    B, h, N, M, d = 2, 4, 16, 12, 8
    q = torch.randn(B, h, N, d, requires_grad=True)
    kv = torch.randn(B, h, M, d, requires_grad=True)
    fwd = 4 * B * h * N * M * d
    assert count_flops(lambda: F.scaled_dot_product_attention(q, kv, kv)) == fwd
    mask = torch.ones(B, 1, N, M, dtype=torch.bool)
    assert count_flops(lambda: F.scaled_dot_product_attention(q, kv, kv, attn_mask=mask)) == fwd
    assert count_flops(lambda: F.scaled_dot_product_attention(q, kv, kv).sum().backward()) == fwd * 7 // 2


def test_peak_lookup_and_mfu():
    assert peak_tflops_for_name("NVIDIA H100 80GB HBM3") == 989.4
    assert peak_tflops_for_name("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops_for_name("NVIDIA H200") == 989.4
    assert peak_tflops_for_name("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops_for_name("NVIDIA A10G") == 70.0
    assert peak_tflops_for_name("Some Future Chip") is None
    assert peak_tflops("cpu") is None
    assert mfu(500e12, 1.0, 1000.0) == pytest.approx(0.5)
    assert mfu(1e12, 0.5, None) is None
