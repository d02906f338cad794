"""Sampling time of the tiny DiT on CPU: a 33-frame 64 px clip, 35 steps, CFG with a negative prompt.

Latent sizes: 9x16x16 (4x4x4 tokenizer) and 9x8x8 (4x8x8 tokenizer), 16 channels.
Target: at most 10 s per clip on 2 CPU cores. `--pipeline DIR` also times a whole
`WorldPipeline` call with a trained model (encode the given frames, the still latent where the
model is still-anchored, sample, decode), from 1 and from 9 frames, plain and residual decoding.

    .venv/bin/python benchmarks/bench_dit.py --threads 2
    .venv/bin/python benchmarks/bench_dit.py --threads 2 --samplers "" --train-batch 0 \
        --pipeline worldsmith/pretrained/world-model-dit-tiny-sim64
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from worldsmith.diffusion import Denoiser, DiffusionConfig, generate
from worldsmith.models.dit import DIT_PRESETS, DiT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny", choices=list(DIT_PRESETS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=35)
    ap.add_argument("--guidance", type=float, default=7.0)
    ap.add_argument("--samplers", default="euler,dpmpp_2m,heun", help="comma list; empty = only the training step")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--text-len", type=int, default=32)
    ap.add_argument("--train-batch", type=int, default=4, help="batch of the timed training step (0 = skip)")
    ap.add_argument("--pipeline", metavar="DIR", help="also time WorldPipeline end to end with this model directory")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = DiT(DIT_PRESETS[args.preset]()).eval()
    den = Denoiser(net, DiffusionConfig())
    D = net.cfg.text_dim
    cond = {"text": torch.randn(1, args.text_len, D), "text_mask": torch.ones(1, args.text_len, dtype=torch.bool)}
    neg = {"text": torch.randn(1, args.text_len, D), "text_mask": torch.ones(1, args.text_len, dtype=torch.bool)}
    print(f"setup: {args.preset}: {net.num_params() / 1e6:.1f}M params, torch {torch.__version__}, "
          f"{args.threads} threads, {platform.processor() or platform.machine()}, "
          f"{args.steps} steps, CFG {args.guidance} (negative prompt, batched)")
    print("| latent (CxTxHxW) | tokens | sampler | model calls | seconds (median) | s / call |")
    print("|---|---|---|---|---|---|")
    samplers = [name for name in args.samplers.split(",") if name]
    for thw in ((9, 16, 16), (9, 8, 8)) if samplers else ():
        shape = (1, net.cfg.in_channels, *thw)
        tokens = thw[0] * (thw[1] // 2) * (thw[2] // 2)
        generate(den, shape, cond, uncond=neg, guidance=args.guidance, steps=2, sampler="euler")  # warm-up
        for sampler in samplers:
            calls = args.steps * (2 if sampler == "heun" else 1) - (1 if sampler == "heun" else 0)
            times = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                generate(den, shape, cond, uncond=neg, guidance=args.guidance, steps=args.steps,
                         sampler=sampler, seed=r)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(f"| {shape[1]}x{'x'.join(map(str, thw))} | {tokens} | {sampler} | {calls} | {med:.2f} "
                  f"| {med / calls:.3f} |", flush=True)


    if args.train_batch:
        bench_train(den, args)
    if args.pipeline:
        bench_pipeline(args)


def bench_pipeline(args) -> None:
    """Seconds per `WorldPipeline` call: a 33-frame simulator clip continued from 1 and 9 frames."""
    from worldsmith.inference.pipeline import WorldPipeline
    from worldsmith.sim import simulate_clip

    pipe = WorldPipeline.from_pretrained(args.pipeline, device="cpu", guardrails=None, upsample=False)
    clip = simulate_clip("collision", 0, frames=33)
    print(f"\nWorldPipeline end to end, {args.pipeline} (anchor {pipe.denoiser.cfg.anchor!r}), 33 frames, "
          f"dpmpp_2m, {args.steps} steps, CFG {args.guidance} with a negative prompt, guardrails off")
    print("| frames given | decode | seconds (median) |\n|---|---|---|")
    kw = dict(num_frames=33, steps=args.steps, guidance=args.guidance, negative_prompt="blurry, static",
              sampler="dpmpp_2m")  # explicit: the model directory may recommend another (e.g. its mean)
    pipe(clip.caption, input=clip.rgb[:1], **{**kw, "steps": 2})  # warm-up
    for K in (1, 9):
        for decode in ("plain", "residual"):
            times = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                pipe(clip.caption, input=clip.rgb[:K], num_cond_frames=K, seed=r, decode=decode, **kw)
                times.append(time.perf_counter() - t0)
            print(f"| {K} | {decode} | {statistics.median(times):.2f} |", flush=True)


def bench_train(den: Denoiser, args) -> None:
    """Seconds per optimiser step (loss + backward + AdamW) on 16x9x16x16 latents."""
    D = den.net.cfg.text_dim
    x0 = torch.randn(args.train_batch, den.net.cfg.in_channels, 9, 16, 16)
    cond = {"text": torch.randn(args.train_batch, args.text_len, D)}
    opt = torch.optim.AdamW(den.parameters(), lr=1e-4)
    den.train()
    times = []
    for i in range(4):
        t0 = time.perf_counter()
        loss, _ = den.loss(x0, cond)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # first step warms up
            times.append(time.perf_counter() - t0)
    print(f"\ntraining step, batch {args.train_batch} x 16x9x16x16: {statistics.median(times):.2f} s/step")


if __name__ == "__main__":
    main()
