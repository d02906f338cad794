"""Curation benchmark: shot-detection F1 and speed vs PySceneDetect, pipeline throughput, motion scores.

1. F1 (+-2 frames) of our content detector and of PySceneDetect's ContentDetector and
   AdaptiveDetector (default settings, PyAV backend) against the known cuts in
   shared/test-videos/ground_truth.json, all in the same run. PySceneDetect reports
   frames on the nominal-fps grid, so its cut *times* are mapped to decoded frame indices.
2. Seconds of video per second of wall time: detection alone (ours vs ContentDetector on
   the same file, interleaved) and the whole pipeline (local engine, all cores) on the
   1080p and 480p files.
3. Our motion score next to the reference values in ground_truth.json.

    .venv/bin/pip install scenedetect   # benchmark only, not a dependency
    WORLDSMITH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_curate.py [--transnet]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time

import numpy as np

from worldsmith.curate.config import CurateConfig, ShotConfig
from worldsmith.curate.filters import ClipAnalyzer
from worldsmith.curate.pipeline import curate
from worldsmith.curate.shots import detect_shots
from worldsmith.io import iter_frames, probe_video

VIDEOS = os.path.normpath(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared", "test-videos"))  # the shared test videos beside the repo
# file -> (cuts, where the labels come from)
LABELLED = {
    "cosmos-curate/test_video_30s.mp4": "hand_labelled.hard_cuts",
    "cosmos-curate/test_clip_10s.mp4": "hand_labelled.hard_cuts",
    "pyscenedetect/goldeneye-vfr-drop3.mp4": "hand_labelled.hard_cuts_decoded_index",
    "pyscenedetect/counter.mp4": "hand_labelled.background_changes_decoded_index",
    "pyscenedetect/fades.mp4": "none (fades only, no hard cut)",
    "cosmos-transfer1/example1_input_video.mp4": "hand_labelled.hard_cuts",
    "pyscenedetect/testvideo.mp4": "upstream_expected ContentDetector(t=27) golden (no hand labels)",
}
THROUGHPUT = ["video2dataset/test_video.mp4", "cosmos-curate/test_video_30s.mp4"]


def truth(gt: dict, name: str) -> list[int]:
    src = LABELLED[name]
    if src.startswith("none"):
        return []
    if src.startswith("upstream"):
        return gt[name]["upstream_expected"]["ContentDetector(default t=27) cuts"]
    d = gt[name]
    for part in src.split("."):
        d = d[part]
    return list(d)


def match(pred: list[int], true: list[int], tol: int = 2) -> tuple[int, int, int]:
    used, tp = set(), 0
    for p in pred:
        m = [t for t in true if abs(t - p) <= tol and t not in used]
        if m:
            used.add(m[0])
            tp += 1
    return tp, len(pred) - tp, len(true) - tp


def f1(tp: int, fp: int, fn: int) -> float:
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def psd_cuts(path: str, kind: str, times: np.ndarray) -> tuple[list[int], float, float]:
    """PySceneDetect cuts as decoded frame indices (nearest timestamp), wall and CPU seconds."""
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    det = ContentDetector() if kind == "content" else AdaptiveDetector()
    t, c = time.perf_counter(), time.process_time()
    scenes = detect(path, det, backend="pyav")
    dt, dc = time.perf_counter() - t, time.process_time() - c
    starts = [s.seconds for s, _ in scenes[1:]]
    return [int(np.argmin(np.abs(times - s))) for s in starts], dt, dc


def bench_f1(gt: dict, transnet: bool) -> list[str]:
    methods = ["ours"] + (["transnetv2"] if transnet else []) + ["psd_content", "psd_adaptive"]
    tot = {m: [0, 0, 0] for m in methods}
    tot_hand = {m: [0, 0, 0] for m in methods}
    lines = ["| file | truth | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    for name in LABELLED:
        path = os.path.join(VIDEOS, name)
        true = truth(gt, name)
        res = detect_shots(path)
        got = {"ours": res.cuts}
        if transnet:
            got["transnetv2"] = detect_shots(path, ShotConfig(detector="transnetv2")).cuts
        got["psd_content"] = psd_cuts(path, "content", res.timestamps)[0]
        got["psd_adaptive"] = psd_cuts(path, "adaptive", res.timestamps)[0]
        cells = []
        for m in methods:
            r = match(got[m], true)
            tot[m] = [a + b for a, b in zip(tot[m], r)]
            if not LABELLED[name].startswith("upstream"):
                tot_hand[m] = [a + b for a, b in zip(tot_hand[m], r)]
            cells.append(f"{got[m]} (tp {r[0]} fp {r[1]} fn {r[2]})")
        lines.append(f"| {name} | {true} | " + " | ".join(cells) + " |")
    lines.append("| **F1, hand-labelled files** | | " + " | ".join(f"**{f1(*tot_hand[m]):.3f}**" for m in methods) + " |")
    lines.append("| **F1, all 7 files** | | " + " | ".join(f"**{f1(*tot[m]):.3f}**" for m in methods) + " |")
    return lines


def bench_speed(repeats: int) -> list[str]:
    """Wall (best of `repeats`) and CPU seconds (process time, all threads; robust to other
    jobs' load) of whole-file detection, ours vs ContentDetector, interleaved."""
    lines = ["| file | video s | ours wall s | Content wall s | ours CPU s | Content CPU s | ours x real time "
             "| Content x real time | wall ratio | CPU ratio |", "|---" * 10 + "|"]
    for name in THROUGHPUT:
        path = os.path.join(VIDEOS, name)
        dur = probe_video(path).duration
        ours, psd, ours_c, psd_c = [], [], [], []
        for _ in range(repeats):  # interleaved so both see the same machine load
            t, c = time.perf_counter(), time.process_time()
            res = detect_shots(path)
            ours.append(time.perf_counter() - t)
            ours_c.append(time.process_time() - c)
            _, pw, pc = psd_cuts(path, "content", res.timestamps)
            psd.append(pw)
            psd_c.append(pc)
        o, p, oc, pc = min(ours), min(psd), min(ours_c), min(psd_c)
        lines.append(f"| {name} | {dur:.1f} | {o:.2f} | {p:.2f} | {oc:.2f} | {pc:.2f} | {dur / o:.1f} | {dur / p:.1f} "
                     f"| {p / o:.2f} | {pc / oc:.2f} |")
    return lines


def bench_pipeline() -> list[str]:
    lines = ["| file | video s | wall s | video s / wall s | clips written | kept / transcoded |",
             "|---|---|---|---|---|---|"]
    for name in THROUGHPUT:
        path = os.path.join(VIDEOS, name)
        tmp = tempfile.mkdtemp(prefix="bench_curate_")
        try:
            os.symlink(path, os.path.join(tmp, os.path.basename(path)))
            t = time.perf_counter()
            rep = curate(tmp, os.path.join(tmp, "out"), CurateConfig())
            wall = time.perf_counter() - t
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        dur = probe_video(path).duration
        st = rep["stages"]
        lines.append(f"| {name} | {dur:.1f} | {wall:.1f} | {dur / wall:.2f} | {st['output']['clips_written']} | "
                     f"{st['filters']['kept']} / {st['transcode']['clips']} |")
    return lines


def motion_of(path: str, size: int) -> float:
    from worldsmith.curate.config import FilterConfig

    a = ClipAnalyzer(probe_video(path).fps, FilterConfig(analysis_size=size))
    for _, _, f in iter_frames(path, size=max(size, 256)):
        a.add(f)
    return a.scores()["motion"]


def bench_motion(gt: dict) -> list[str]:
    lines = ["| file | cosmos mv global_mean (ref) | ours @128 px | ours @256 px | ours@128 / ref |",
             "|---|---|---|---|---|"]
    for name in ["cosmos-curate/test_clip_10s.mp4", "cosmos-curate/test_video_30s.mp4", "pyscenedetect/testvideo.mp4",
                 "cosmos-transfer1/example1_input_video.mp4"]:
        d = gt[name]
        ref = (d.get("upstream_expected", {}).get("motion (MotionVectorDecodeStage defaults target_fps=2, "
                                                   "duration_ratio=0.5; MotionFilterStage)", {}).get("global_mean")
               or d.get("derived_here", {}).get("cosmos_mv_motion", {}))
        ref = ref.get("global_mean") if isinstance(ref, dict) else ref
        if isinstance(ref, str):
            ref = None
        m128, m256 = motion_of(os.path.join(VIDEOS, name), 128), motion_of(os.path.join(VIDEOS, name), 256)
        ratio = f"{m128 / ref:.2f}" if ref else "-"
        lines.append(f"| {name} | {ref if ref is not None else 'n/a (HEVC: no MVs)'} | {m128:.6f} | {m256:.6f} | {ratio} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transnet", action="store_true", help="also run TransNetV2 (slow on CPU)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of sections to skip: f1,speed,pipeline,motion")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    with open(os.path.join(VIDEOS, "ground_truth.json")) as f:
        gt = json.load(f)
    import scenedetect

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"scenedetect {scenedetect.__version__}")
    for title, fn in [("f1", lambda: bench_f1(gt, args.transnet)), ("speed", lambda: bench_speed(args.repeats)),
                      ("pipeline", bench_pipeline), ("motion", lambda: bench_motion(gt))]:
        if title in skip:
            continue
        print(f"\n### {title}\n")
        for ln in fn():
            print(ln, flush=True)


if __name__ == "__main__":
    main()
