"""Tokenizer benchmarks: CPU throughput, and the PSNR-vs-training-time curve and held-out
quality (with the copy-last-frame baseline) of trained runs.

    # throughput (random weights: speed does not depend on training)
    python benchmarks/bench_tokenizer.py throughput --threads 2
    # training-step speed of the trainer's options (fused AdamW, channels-last, torch.compile)
    python benchmarks/bench_tokenizer.py train-step --threads 2
    # curve + held-out eval of runs made with `worldsmith tokenizer train --out RUN`
    python benchmarks/bench_tokenizer.py quality --data data/sim64 RUN [RUN ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

from worldsmith.tokenizer import build_tokenizer, decode_video, encode_video

PRESETS = ("cv4x4x4-tiny", "cv4x8x8-tiny", "dv4x8x8-tiny", "cv4x8x8-small")


def throughput(presets, sizes, frames: int, repeats: int) -> list[dict]:
    """Median encode and decode frames/s of each preset at each square size."""
    rows = []
    for name in presets:
        torch.manual_seed(0)
        model = build_tokenizer(name).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        for size in sizes:
            video = np.random.default_rng(0).integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
            enc, dec = [], []
            for _ in range(repeats + 1):  # the first run warms up
                t0 = time.perf_counter()
                z = encode_video(model, video)
                t1 = time.perf_counter()
                decode_video(model, z)
                t2 = time.perf_counter()
                enc.append(t1 - t0)
                dec.append(t2 - t1)
            e, d = statistics.median(enc[1:]), statistics.median(dec[1:])
            rows.append({"preset": name, "params_m": round(params, 2), "size": size, "frames": frames,
                         "encode_fps": frames / e, "decode_fps": frames / d, "roundtrip_fps": frames / (e + d)})
            print(f"| {name} | {params:.2f}M | {frames}x{size}x{size} | {frames / e:.1f} | {frames / d:.1f} "
                  f"| {frames / (e + d):.1f} |", flush=True)
    return rows


TRAIN_VARIANTS = {  # name -> (optim.fused, train.channels_last, train.compile)
    "plain": (False, False, False),
    "fused": (True, False, False),
    "fused + channels_last (tokenizer default)": (True, True, False),
    "fused + compile": (True, False, True),
    "fused + channels_last + compile": (True, True, True),
}


def train_step(preset: str, batch: int, frames: int, size: int, repeats: int) -> list[dict]:
    """Median seconds per training step (forward, MSE, backward, AdamW) of the tokenizer in the
    trainer's precision (bf16 autocast on CPUs with native bf16), for each speed option."""
    from worldsmith.tokenizer.config import preset as get_preset, replace
    from worldsmith.train.config import OptimConfig, TrainConfig
    from worldsmith.train.trainer import _adamw
    from worldsmith.utils.device import autocast

    cpu = torch.device("cpu")
    rows, base = [], None
    for name, (fused, channels_last, compiled) in TRAIN_VARIANTS.items():
        torch.manual_seed(0)
        model = build_tokenizer(replace(get_preset(preset), norm="none"))
        if channels_last:
            model.to(memory_format=torch.channels_last_3d)
        opt = _adamw([{"params": list(model.parameters())}], TrainConfig(optim=OptimConfig(fused=fused)), cpu)
        fwd = torch.compile(model, dynamic=False) if compiled else model
        x = torch.rand(batch, 3, frames, size, size) * 2 - 1

        def step():
            with autocast(cpu, cpu=True):
                recon, _ = fwd(x)
                loss = (recon.float() - x).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        t0 = time.perf_counter()
        step()  # warm-up (and compilation)
        first = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        s = statistics.median(times)
        base = base or s
        rows.append({"variant": name, "s_per_step": s, "speedup": base / s, "first_step_s": first})
        print(f"| {name} | {s:.3f} | {base / s:.2f}x | {first:.1f} |", flush=True)
    return rows


def curve(run: str) -> list[tuple[int, float, float]]:
    """(step, minutes, val PSNR) from a run's metrics.jsonl."""
    out = []
    with open(os.path.join(run, "metrics.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if "eval" in rec and "val_psnr" in rec["eval"]:
                out.append((rec["step"], rec["time_s"] / 60, rec["eval"]["val_psnr"]))
    return out


def quality(runs, data: str, split: str, max_clips: int, frames: int) -> None:
    from worldsmith.tokenizer.evaluate import evaluate

    for run in runs:
        print(f"\n### {os.path.basename(os.path.normpath(run))}\n")
        print("| step | train minutes | val PSNR (dB) |\n|---|---|---|")
        for step, minutes, p in curve(run):
            print(f"| {step} | {minutes:.1f} | {p:.2f} |")
        model_dir = os.path.join(run, "model")
        if not os.path.isdir(model_dir):  # still training: use the latest checkpoint's export
            from worldsmith.train.state import latest_checkpoint

            model_dir = os.path.join(latest_checkpoint(run), "model")
        r = evaluate(model_dir, data, split=split, max_clips=max_clips, frames=frames, device="cpu")
        m = r["mean"]
        print(f"\nheld-out ({split}, {r['clips']} clips x {frames} frames): PSNR {m['psnr']:.2f} dB, "
              f"SSIM {m['ssim']:.3f}; frames 10..{frames}: recon {m['recon_future_psnr']:.2f} dB vs "
              f"copy-last {m['copy_last_psnr']:.2f} dB (margin {r['margin_over_copy_last_db']:+.2f} dB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--presets", nargs="+", default=list(PRESETS))
    t.add_argument("--sizes", nargs="+", type=int, default=[64, 256])
    t.add_argument("--frames", type=int, default=17)
    t.add_argument("--repeats", type=int, default=2)
    t.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("train-step")
    s.add_argument("--preset", default="cv4x8x8-tiny")
    s.add_argument("--batch", type=int, default=4)
    s.add_argument("--frames", type=int, default=9)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--repeats", type=int, default=20)
    s.add_argument("--threads", type=int, default=2)
    q = sub.add_parser("quality")
    q.add_argument("runs", nargs="+")
    q.add_argument("--data", required=True)
    q.add_argument("--split", default="test")
    q.add_argument("--max-clips", type=int, default=0, help="0 = every clip of the split")
    q.add_argument("--frames", type=int, default=33)
    q.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.cmd == "throughput":
        print("| preset | params | video | encode frames/s | decode frames/s | round trip frames/s |\n"
              "|---|---|---|---|---|---|")
        throughput(args.presets, args.sizes, args.frames, args.repeats)
    elif args.cmd == "train-step":
        print(f"{args.preset}, batch {args.batch} x {args.frames} frames x {args.size} px\n"
              "| variant | s/step | vs plain | first step s (compile) |\n|---|---|---|---|")
        train_step(args.preset, args.batch, args.frames, args.size, args.repeats)
    else:
        quality(args.runs, args.data, args.split, args.max_clips, args.frames)


if __name__ == "__main__":
    main()
