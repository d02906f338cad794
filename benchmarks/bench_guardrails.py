"""Guardrail quality and cost: prompt pre-guard on the held-out set, face pixelation and NSFW on real video.

1. Prompt pre-guard on data/prompts_heldout.json (240 prompts, 120 harmful in 6 categories,
   120 benign incl. tricky look-alikes; disjoint from the training set): recall per
   category and benign false-positive rate, for blocklist only, classifier only and both
   (the default). Goal: recall >= 0.9 at FPR <= 0.05.
2. Face pixelation recall on cosmos-transfer1/example1_input_video.mp4 (121 frames, one woman
   whose lower face (mouth, chin) is in view in every frame at the top edge; nose and mouth
   clearly visible in frames 40-120, hand-checked every 10 frames). Per-frame detection
   recall and coverage after the +-hold_frames hold; ms per frame.
   Also the blind sets data/prompts_blind{,2}.json (120 hand-written prompts each, 10 per
   harmful category + 60 benign; now development sets) and data/prompts_blind3.json (240
   hand-written by a separate writer, committed before the shipped classifier's training
   data was broadened and never used for tuning: the clean estimate).
3. NSFW false-positive rate and spurious faces on real safe frames (all shared test videos at 2 fps).

    WORLDSMITH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_guardrails.py
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import time

import numpy as np

VIDEOS = os.path.normpath(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared", "test-videos"))  # the shared test videos beside the repo
EXAMPLE = os.path.join(VIDEOS, "cosmos-transfer1/example1_input_video.mp4")


def bench_prompts(encoder, path: str, sweep: bool) -> None:
    from worldsmith.guardrails import GuardrailConfig, Guardrails
    from worldsmith.guardrails.evaluate import evaluate_prompts, format_report

    rows = []
    for name, bl, clf in (("blocklist only", True, False), ("classifier only", False, True), ("both (default)", True, True)):
        cfg = GuardrailConfig()
        cfg.blocklist.enabled, cfg.classifier.enabled = bl, clf
        encoder.clear_cache()  # time real embeddings, not cache hits
        m = evaluate_prompts(path, guard=Guardrails(cfg, encoder=encoder))
        rows.append((name, m))
    print("| guard | recall | FPR (benign) | " + " | ".join(rows[0][1]["per_category"]) + " | ms/prompt |")
    print("|---|---|---|" + "---|" * len(rows[0][1]["per_category"]) + "---|")
    for name, m in rows:
        per = " | ".join(f"{v['recall']:.2f}" for v in m["per_category"].values())
        print(f"| {name} | {m['recall']:.3f} | {m['false_positive_rate']:.3f} | {per} | {m['ms_per_prompt']:.1f} |")
    print()
    print(format_report(rows[-1][1]))
    if not sweep:
        return
    # threshold sweep of the default guard (blocklist + classifier)
    print("\nthreshold sweep (blocklist + classifier):")
    for th in (0.5, 0.6, 0.7, 0.8, 0.9):
        cfg = GuardrailConfig()
        cfg.classifier.threshold = th
        m = evaluate_prompts(path, guard=Guardrails(cfg, encoder=encoder))
        print(f"  threshold {th}: recall {m['recall']:.3f}  FPR {m['false_positive_rate']:.3f}")


def bench_faces() -> None:
    from worldsmith.guardrails.video_guard import FaceDetector, NudeNetModel, blur_faces
    from worldsmith.io import read_video

    frames = read_video(EXAMPLE).frames
    nn = NudeNetModel()
    for th in (0.2, 0.25, 0.4):
        det = FaceDetector("nudenet", th, nudenet=nn)
        t0 = time.perf_counter()
        _, faces = blur_faces(frames, det, hold_frames=2)
        ms = (time.perf_counter() - t0) * 1000 / len(frames)
        hit = np.zeros(len(frames), bool)
        hit[[f.frame for f in faces]] = True
        covered = np.zeros(len(frames), bool)
        for f in faces:
            covered[max(0, f.frame - 2):f.frame + 3] = True
        clear = slice(40, 121)
        print(f"| {th} | {hit.mean():.3f} | {covered.mean():.3f} | {hit[clear].mean():.3f} | "
              f"{covered[clear].mean():.3f} | {ms:.0f} |")


def bench_safe_frames() -> None:
    from worldsmith.guardrails.video_guard import FACE_CLASSES, NSFW_CLASSES, NudeNetModel
    from worldsmith.io import read_video

    nn = NudeNetModel()
    n = flagged = 0
    faces_per_video = {}
    t0 = time.perf_counter()
    for path in sorted(glob.glob(os.path.join(VIDEOS, "*", "*.mp4"))):
        try:
            v = read_video(path, fps=2.0)
        except Exception as e:  # a video PyAV cannot read is skipped and reported
            print(f"  skip {path}: {e}")
            continue
        nf = 0
        for fr in v.frames:
            dets = nn.detect(fr)
            n += 1
            flagged += any(d["class"] in NSFW_CLASSES and d["score"] >= 0.5 for d in dets)
            nf += any(d["class"] in FACE_CLASSES and d["score"] >= 0.25 for d in dets)
        faces_per_video[os.path.relpath(path, VIDEOS)] = f"{nf}/{len(v.frames)}"
    ms = (time.perf_counter() - t0) * 1000 / max(1, n)
    print(f"NSFW flags (exposed class >= 0.5) on {n} real safe frames at 2 fps: {flagged} "
          f"(rate {flagged / max(1, n):.3f}); {ms:.0f} ms/frame incl. decoding")
    print("frames with a face >= 0.25 per video: " + ", ".join(f"{k} {v}" for k, v in faces_per_video.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-video", action="store_true")
    args = ap.parse_args()
    import torch

    from worldsmith.text import TextEncoder

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, {args.threads} threads\n")
    from worldsmith.guardrails.prompt_data import DATA_DIR

    enc = TextEncoder()
    print("## held-out set (240 prompts; guided one revision of the training data and the threshold)")
    bench_prompts(enc, os.path.join(DATA_DIR, "prompts_heldout.json"), sweep=True)
    print("\n## blind set 1 (120 hand-written; clean for classifier v1, a dev set since v3)")
    bench_prompts(enc, os.path.join(DATA_DIR, "prompts_blind.json"), sweep=False)
    print("\n## blind set 2 (120 hand-written; clean for v2, a dev set since v3)")
    bench_prompts(enc, os.path.join(DATA_DIR, "prompts_blind2.json"), sweep=False)
    print("\n## blind set 3 (240 hand-written; committed before v3's training data: clean for v3)")
    bench_prompts(enc, os.path.join(DATA_DIR, "prompts_blind3.json"), sweep=False)
    if args.skip_video or not os.path.exists(EXAMPLE):
        return
    print("\nface pixelation on example1_input_video.mp4 (121 frames, 640x480), nudenet detector")
    print("| threshold | frames detected | frames covered (hold 2) | detected, frames 40-120 | covered, 40-120 | ms/frame |")
    print("|---|---|---|---|---|---|")
    bench_faces()
    print()
    bench_safe_frames()


if __name__ == "__main__":
    main()
