"""`worldsmith dit ...` commands: presets (shapes and parameter counts), train (a diffusion world model)."""

from __future__ import annotations

from ..cli import add_group


def register(sub) -> None:
    g = add_group(sub, "dit", "diffusion world models (DiT over tokenizer latents): presets, train")

    p = g.add_parser("presets", help="list the DiT presets with their shapes and parameter counts")
    p.set_defaults(func=cmd_presets)

    p = g.add_parser("train", help="train a Text/Image/Video2World diffusion model on a clip dataset (resumes from --out)",
                     description="Train a DiT on the latents of a trained continuous tokenizer, conditioned on "
                     "captions (MiniLM by default) and on 0/1/several past latent frames.")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)



def add_train_arguments(p) -> None:
    """The world-model training arguments, shared by `worldsmith dit train` and `worldsmith train`."""
    p.add_argument("--data", help="clip dataset directory (worldsmith sim generate / curate output)")
    p.add_argument("--tokenizer", help="trained continuous tokenizer directory (worldsmith tokenizer train)")
    p.add_argument("--preset", default="tiny", help="DiT preset: tiny, small, base, cosmos-2b ... (default %(default)s)")
    p.add_argument("--formulation", choices=("edm", "rf"), help="diffusion.formulation (default edm)")
    p.add_argument("--steps", type=int, help="optimiser steps (train.steps)")
    p.add_argument("--out", help="run directory: checkpoints, metrics.jsonl, tb/, model/")
    p.add_argument("--config", help="YAML/JSON file with overrides of the resolved config")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set train.batch_size=4 --set data.num_frames=33")
    p.add_argument("--device", help="auto | cpu | cuda[:n] (train.device)")
    p.add_argument("--max-minutes", type=float,
                   help="stop after this much training time (train.max_minutes); with --set train.optim.schedule=time "
                        "the learning-rate cosine runs over it instead of --steps")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def cmd_presets(args) -> int:
    import torch

    from ..models.dit import DIT_PRESETS, DiT

    print(f"{'preset':<12} {'width':>6} {'depth':>6} {'heads':>6} {'text':>6} {'params':>10}")
    for name, make in DIT_PRESETS.items():
        cfg = make()
        with torch.device("meta"):
            n = DiT(cfg).num_params()
        print(f"{name:<12} {cfg.width:>6} {cfg.depth:>6} {cfg.num_heads:>6} {cfg.text_dim:>6} {n / 1e6:>9.1f}M")
    return 0


def cmd_train(args) -> int:
    from ..train.video2world import resolve_config
    from ..train.config import dry_run_or_check
    from ..utils.errors import WorldsmithError

    init = getattr(args, "init", None)  # `worldsmith train --init DIR`: fine-tune a world model
    if init:
        for flag, given in (("tokenizer", args.tokenizer), ("formulation", args.formulation),
                            ("preset", args.preset != "tiny")):  # "tiny": the flag's default
            if given:
                raise WorldsmithError(f"--{flag}: with --init the run keeps the model's own")
    cfg = resolve_config(args.preset, args.config, args.overrides, init=init, data__root=args.data,
                         tokenizer=args.tokenizer, diffusion__formulation=args.formulation,
                         train__steps=args.steps, train__device=args.device,
                         train__max_minutes=args.max_minutes)
    if dry_run_or_check(cfg, args):
        return 0
    if not cfg.tokenizer:
        raise WorldsmithError("--tokenizer: a trained tokenizer directory is required")
    from ..train import Trainer
    from ..train.video2world import Video2WorldTask

    task = Video2WorldTask(cfg)
    Trainer(task, cfg.train, args.out).fit()
    print(f"world model written to {args.out}/model (metrics: {args.out}/metrics.jsonl)")
    return 0
