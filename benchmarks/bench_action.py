"""Action2World costs on CPU: LoRA vs full fine-tuning, and world-model environment speed.

1. Post-training step of the action-conditioned tiny DiT (batch 8, 9-frame 64 px windows =
   3x16x16 latents with the 4x4x4 tokenizer, 7-D actions): trainable parameters, peak
   resident memory and seconds per step, for full fine-tuning and for LoRA (rank 16 on the
   attention and MLP projections + the action MLPs). Each variant runs in its own process so
   that peak memory (ru_maxrss) is its own.
   The same count for the published Cosmos-2B shape (meta device), where the optimiser state
   LoRA saves is what matters.
2. With --model DIR (an exported action model): `WorldModelEnv` steps per second (one step =
   4 predicted frames) and frames per second, single env and a vector env of 8, for the
   latent-space rollout (the default) and the re-encoding one (`latent_rollout=False`), each
   with 10-step dpmpp_2m samples, and the latent rollout with the one-pass posterior mean
   (`sampler="mean"`), in the same run, with their ratios. `--env-only` skips part 1.

    .venv/bin/python benchmarks/bench_action.py --threads 2 [--model runs/a2w/model] [--env-only]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

import torch


def train_step_child(mode: str, steps: int, threads: int) -> dict:
    """Runs in a child process: build, (LoRA-wrap), time `steps` AdamW steps; report params and peak RSS."""
    from worldsmith.diffusion import Denoiser, DiffusionConfig
    from worldsmith.models.dit import DiT, dit_tiny
    from worldsmith.models.lora import LoRAConfig, apply_lora, mark_only_lora_trainable

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = dit_tiny()
    cfg.action_dim, cfg.actions_per_frame = 7, 4
    den = Denoiser(DiT(cfg), DiffusionConfig(cond_frame_choices=(1, 2), text_dropout=0.0))
    if mode == "lora":
        apply_lora(den.net, LoRAConfig(rank=16, alpha=16.0), under="blocks")
        trainable, total = mark_only_lora_trainable(den, also=("net.action_embedder",))
    else:
        trainable = total = sum(p.numel() for p in den.parameters())
    opt = torch.optim.AdamW([p for p in den.parameters() if p.requires_grad], lr=1e-4)
    B = 8
    x0 = torch.randn(B, 16, 3, 16, 16)
    cond = {"text": torch.randn(B, 4, 384), "actions": torch.randn(B, 8, 7) * 0.02}
    times = []
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports + model + data
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss, _ = den.loss(x0, cond)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:  # the first step allocates optimiser state
            times.append(time.perf_counter() - t0)
    return {"mode": mode, "trainable_params": trainable, "total_params": total,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "training_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_rss,
            "s_per_step": sum(times) / len(times)}


def published_shape_params() -> dict:
    """Trainable parameters, full vs LoRA rank 16 (+ action MLPs), of the Cosmos-2B shape, on the meta device."""
    from worldsmith.models.dit import DiT, cosmos_2b
    from worldsmith.models.lora import LoRAConfig, apply_lora, mark_only_lora_trainable

    cfg = cosmos_2b()
    cfg.action_dim, cfg.actions_per_frame = 7, 4
    with torch.device("meta"):
        net = DiT(cfg)
        full = sum(p.numel() for p in net.parameters())
        apply_lora(net, LoRAConfig(rank=16, alpha=16.0), under="blocks")
        lora, _ = mark_only_lora_trainable(net, also=("action_embedder",))
    return {"full": full, "lora": lora}


def env_speed(model: str, threads: int, steps: int, latent_rollout: bool = True, sampler: str = "dpmpp_2m") -> dict:
    from worldsmith.envs.world_env import WorldModelEnv, WorldModelVectorEnv
    from worldsmith.inference.action import ActionWorldModel

    torch.set_num_threads(threads)
    out = {}
    wm = ActionWorldModel.from_pretrained(model, device="cpu", latent_rollout=latent_rollout, sampler=sampler,
                                          steps=10)
    env = WorldModelEnv(wm, max_steps=steps)
    env.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        env.step(env.action_space.sample() * 0)
    dt = time.perf_counter() - t0
    out["single"] = {"steps_per_s": steps / dt, "frames_per_s": steps * env.k / dt}
    venv = WorldModelVectorEnv(env.wm, num_envs=8, max_steps=steps)
    venv.reset(seed=0)
    t0 = time.perf_counter()
    for _ in range(steps):
        venv.step(venv.action_space.sample() * 0)
    dt = time.perf_counter() - t0
    out["vector8"] = {"env_steps_per_s": 8 * steps / dt, "frames_per_s": 8 * steps * env.k / dt}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--model", default=None, help="exported action model for the env-speed part")
    ap.add_argument("--env-only", action="store_true", help="only the environment speed (needs --model)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(train_step_child(args.child, args.steps, args.threads)))
        return
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {args.threads}")
    if not args.env_only:
        bench_training(args)
    if args.model:
        bench_env(args)


def bench_training(args) -> None:
    """Part 1: full vs LoRA post-training steps, each in its own process."""
    rows = {}
    for mode in ("full", "lora"):
        res = subprocess.run([sys.executable, __file__, "--child", mode, "--steps", str(args.steps),
                              "--threads", str(args.threads)], capture_output=True, text=True, check=True)
        rows[mode] = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"{'mode':<6} {'trainable':>12} {'of total':>10} {'peak RSS MB':>12} {'training MB':>12} {'s/step':>8}")
    for r in rows.values():
        print(f"{r['mode']:<6} {r['trainable_params']:>12,} {r['total_params']:>10,} {r['peak_rss_mb']:>12.0f} "
              f"{r['training_mb']:>12.0f} {r['s_per_step']:>8.3f}")
    f, l_ = rows["full"], rows["lora"]
    print(f"LoRA / full: trainable {l_['trainable_params'] / f['trainable_params']:.3f}, "
          f"peak RSS {l_['peak_rss_mb'] / f['peak_rss_mb']:.2f}, training memory (peak - before the first step) "
          f"{l_['training_mb'] / max(f['training_mb'], 1e-9):.2f}, time/step {l_['s_per_step'] / f['s_per_step']:.2f}")
    big = published_shape_params()
    print(f"at the published Cosmos-2B shape (meta device): full {big['full']:,} trainable vs LoRA {big['lora']:,} "
          f"({big['lora'] / big['full']:.3f}); fp32 grads + AdamW state (12 B/param): "
          f"{12 * big['full'] / 2**30:.1f} GiB vs {12 * big['lora'] / 2**30:.2f} GiB")


def bench_env(args) -> None:
    """Part 2: environment steps per second, per rollout and sampler, with their ratios."""
    speeds = {}
    for name, latent, sampler in (("latent, dpmpp_2m x10", True, "dpmpp_2m"), ("pixel, dpmpp_2m x10", False, "dpmpp_2m"),
                                  ("latent, mean", True, "mean")):
        sp = speeds[name] = env_speed(args.model, args.threads, args.steps, latent_rollout=latent, sampler=sampler)
        print(f"{name} rollout: WorldModelEnv {sp['single']['steps_per_s']:.2f} steps/s "
              f"({sp['single']['frames_per_s']:.1f} frames/s); vector env x8: "
              f"{sp['vector8']['env_steps_per_s']:.2f} env-steps/s ({sp['vector8']['frames_per_s']:.1f} frames/s)")

    def ratio(a: str, b: str) -> str:
        x, y = speeds[a], speeds[b]
        return (f"single {x['single']['steps_per_s'] / y['single']['steps_per_s']:.2f}, "
                f"vector x8 {x['vector8']['env_steps_per_s'] / y['vector8']['env_steps_per_s']:.2f}")

    print(f"latent / pixel rollout speed (10-step samples): {ratio('latent, dpmpp_2m x10', 'pixel, dpmpp_2m x10')}")
    print(f"mean / 10-step samples (latent rollout): {ratio('latent, mean', 'latent, dpmpp_2m x10')}")


if __name__ == "__main__":
    main()
