"""Per-chunk rollout metrics of `eval actions` on hand-made per-frame values."""

from __future__ import annotations

import math

import numpy as np

from worldsmith.eval.actions import per_chunk


def test_per_chunk_pools_squared_error_and_averages_iou_per_chunk():
    # 2 clips x 6 frames, chunks of 3 (a trailing partial chunk would be dropped)
    frames = [{"mse": np.array([1.0, 1.0, 1.0, 4.0, 4.0, 4.0]), "object_iou": np.array([1.0, 0.8, 0.6, 0.4, np.nan, 0.2])},
              {"mse": np.array([1.0, 1.0, 1.0, 16.0, 16.0, 16.0]), "object_iou": np.array([0.9, 0.9, 0.9, 0.0, 0.0, 0.0])}]
    out = per_chunk(frames, 3)
    assert np.allclose(out["psnr"], [10 * math.log10(255 ** 2 / 1.0), 10 * math.log10(255 ** 2 / 10.0)])
    assert np.allclose(out["object_iou"], [(1.0 + 0.8 + 0.6 + 2.7) / 6, (0.4 + 0.2) / 5])  # NaN frames skipped
    no_seg = [{"mse": np.ones(4), "object_iou": np.full(4, np.nan)}]
    res = per_chunk(no_seg, 4)
    assert len(res["object_iou"]) == 1 and math.isnan(res["object_iou"][0])
    assert per_chunk([{"mse": np.ones(5), "object_iou": np.ones(5)}], 4)["object_iou"] == [1.0]
