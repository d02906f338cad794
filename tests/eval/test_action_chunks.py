"""Per-chunk rollout metrics and the pushed object's travel in `eval actions`, on hand-made values."""

from __future__ import annotations

import math

import numpy as np

from worldsmith.eval.actions import object_travel, per_chunk, travel_summary


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


def _square(y: int, x: int, size: int = 16) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[y:y + 2, x:x + 2] = True
    return m


def test_object_travel_projects_on_the_true_path():
    start, end = _square(2, 2), _square(2, 10)  # the truth moves 8 px to the right
    assert np.allclose(object_travel(_square(2, 6), start, end), [4.0, 8.0])  # half way
    assert np.allclose(object_travel(end, start, end), [8.0, 8.0])
    assert np.allclose(object_travel(start, start, end), [0.0, 8.0])  # left in place
    assert np.allclose(object_travel(_square(6, 2), start, end), [0.0, 8.0])  # moved, but across the path
    assert np.allclose(object_travel(_square(2, 0), start, end), [-2.0, 8.0])  # pushed the wrong way
    assert np.allclose(object_travel(np.zeros((16, 16), bool), start, end), [0.0, 8.0])  # lost: no credit
    assert np.isnan(object_travel(end, np.zeros((16, 16), bool), end)).all()  # no object in the truth


def test_travel_summary_counts_only_clips_whose_object_moved():
    rows = {"model": [np.array([4.0, 8.0]), np.array([1.0, 0.5]), np.array([np.nan, np.nan]), np.array([6.0, 4.0])]}
    s = travel_summary(rows, min_px=2.0)["model"]
    assert s["clips"] == 2 and np.isclose(s["along_px"], 5.0) and np.isclose(s["true_px"], 6.0)
    assert np.isclose(s["ratio"], 5.0 / 6.0)
    none = travel_summary({"model": [np.array([1.0, 0.5])]})["model"]
    assert none["clips"] == 0 and np.isnan(none["ratio"])
