"""DiT speed: sampling a clip, and training throughput with model-FLOPs utilisation (MFU).

Sampling: a 33-frame clip, 35 steps, CFG with a negative prompt, at latent sizes 9x16x16 (a
64 px clip through the 4x4x4 tokenizer) and 9x8x8 (4x8x8), 16 channels. Target for `tiny`: at
most 10 s per clip on 2 CPU cores. `--pipeline DIR` also times a whole `WorldPipeline` call with
a trained model (encode the given frames, the still latent where the model is still-anchored,
sample, decode), from 1 and from 9 frames, plain and residual decoding.

Training (`--train-batch B`, on `--train-latent CxTxHxW`): the trainer's own step (Denoiser
loss under the trainer's autocast, bf16 on GPU, backward, gradient clipping, AdamW as the
trainer builds it), median seconds per step, samples and latent tokens per second, the step's
model FLOPs (counted by `worldsmith.utils.flops`, attention included), achieved TFLOP/s, MFU
against the device's dense bf16 peak (known GPUs, or `--peak-tflops`) and peak GPU memory.

    .venv/bin/python benchmarks/bench_dit.py --threads 2
    .venv/bin/python benchmarks/bench_dit.py --threads 2 --samplers "" --train-batch 0 \
        --pipeline worldsmith/pretrained/world-model-dit-tiny-sim64
    # on a GPU: training throughput and MFU of small and base, and one clip's sampling time
    python benchmarks/bench_dit.py --device cuda --preset small --train-batch 32 --train-latent 16x9x32x32 \
        --samplers dpmpp_2m --repeats 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from worldsmith.diffusion import Denoiser, DiffusionConfig, generate
from worldsmith.models.dit import DIT_PRESETS, DiT
from worldsmith.utils.device import resolve_device


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
    ap.add_argument("--train-latent", default="16x9x16x16", help="CxTxHxW of one training sample's latent")
    ap.add_argument("--train-steps", type=int, default=3, help="timed training steps (after 2 warm-up steps)")
    ap.add_argument("--no-bf16", action="store_true", help="train in fp32 on GPU too (the trainer's train.bf16=false)")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the device's peak TFLOP/s for MFU (default: known GPUs' dense bf16 peak; none on CPU)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    ap.add_argument("--pipeline", metavar="DIR", help="also time WorldPipeline end to end with this model directory")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = resolve_device(args.device)
    net = DiT(DIT_PRESETS[args.preset]()).eval().to(device)
    den = Denoiser(net, DiffusionConfig())
    D = net.cfg.text_dim
    cond = {"text": torch.randn(1, args.text_len, D), "text_mask": torch.ones(1, args.text_len, dtype=torch.bool)}
    neg = {"text": torch.randn(1, args.text_len, D), "text_mask": torch.ones(1, args.text_len, dtype=torch.bool)}
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{args.threads} threads, {platform.processor() or platform.machine()}")
    print(f"setup: {args.preset}: {net.num_params() / 1e6:.1f}M params, torch {torch.__version__}, {where}, "
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
                         sampler=sampler, seed=r).cpu()  # .cpu(): wait for the GPU
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
    """The trainer's optimiser step on random latents: s/step, throughput, model FLOPs, MFU, memory."""
    from worldsmith.train.config import TrainConfig
    from worldsmith.train.trainer import _adamw
    from worldsmith.utils.device import autocast
    from worldsmith.utils.flops import count_flops, mfu, peak_tflops

    try:
        C, T, H, W = (int(v) for v in args.train_latent.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--train-latent {args.train_latent!r}: expected CxTxHxW, e.g. 16x9x16x16") from None
    device = next(den.parameters()).device
    cfg = TrainConfig(bf16=not args.no_bf16)
    B, D, p = args.train_batch, den.net.cfg.text_dim, den.net.cfg.patch_spatial
    tokens = B * T * (H // p) * (W // p)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(B, C, T, H, W, generator=g).to(device)
    cond = {"text": torch.randn(B, args.text_len, D, generator=g).to(device),
            "text_mask": torch.ones(B, args.text_len, dtype=torch.bool, device=device)}
    opt = _adamw([{"params": [q for q in den.parameters() if q.requires_grad]}], cfg, device)
    den.train()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast(device, enabled=cfg.bf16, cpu=cfg.cpu_bf16):
            loss, _ = den.loss(x0, cond, generator=None, num_cond_frames=min(2, T - 1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(den.parameters(), cfg.optim.grad_clip)
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    flops = count_flops(step)  # also the first warm-up step
    step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(args.train_steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    peak = args.peak_tflops or peak_tflops(device)
    util = mfu(flops, sec, peak)
    precision = "bf16 autocast" if cfg.bf16 and device.type == "cuda" else "fp32"
    print(f"\ntraining step ({args.preset}, batch {B} x {C}x{T}x{H}x{W} latents, {tokens // B} tokens each, "
          f"{precision}, {device}):")
    print("| s/step | samples/s | tokens/s | model TFLOPs/step | achieved TFLOP/s | peak TFLOP/s | MFU | peak GPU mem |")
    print("|---|---|---|---|---|---|---|---|")
    mem = f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB" if device.type == "cuda" else "-"
    print(f"| {sec:.3f} | {B / sec:.1f} | {tokens / sec:,.0f} | {flops / 1e12:.3f} | {flops / sec / 1e12:.2f} | "
          f"{peak if peak else '-'} | {f'{util:.1%}' if util is not None else '- (no peak known)'} | {mem} |")


if __name__ == "__main__":
    main()
