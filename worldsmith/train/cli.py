"""`worldsmith train --task video2world ...`: the top-level training command.

It maps to the same function as `worldsmith dit train` (one implementation); tokenizer
training stays `worldsmith tokenizer train`.
"""

from __future__ import annotations

TASKS = {"video2world": "worldsmith.diffusion.cli:cmd_train",
         "action2world": "worldsmith.train.cli:cmd_train_action",
         "mean-decoder": "worldsmith.train.cli:cmd_train_mean_decoder"}


def register(sub) -> None:
    from ..diffusion.cli import add_train_arguments

    p = sub.add_parser("train", help="train a world model (--task video2world | action2world) on a clip dataset",
                       description="Train a world model. --task video2world: a DiT over a trained continuous "
                       "tokenizer's latents (same as `worldsmith dit train`), from scratch or from a world model "
                       "(--init: fine-tune it on your clips). --task action2world: post-train a "
                       "video2world model (--init) on robot clips with per-frame actions, fully or with LoRA "
                       "(--lora-rank). --task mean-decoder: fine-tune a copy of a world model's (--init) tokenizer "
                       "decoder to render its posterior-mean predictions, on clips it did not train on. Tokenizers: `worldsmith tokenizer train`.")
    p.add_argument("--task", default="video2world", help=f"what to train: {', '.join(TASKS)} (default %(default)s)")
    add_train_arguments(p)
    a = p.add_argument_group("starting from a world model (video2world fine-tuning, action2world, mean-decoder)")
    a.add_argument("--init", help="pretrained world model directory to fine-tune or post-train (a video2world run's "
                                  "model/, or a shipped one), or whose posterior means the mean decoder learns")
    a.add_argument("--lora-rank", type=int, help="LoRA rank on attention and MLP projections (0 / unset: full fine-tuning)")
    a.add_argument("--lora-alpha", type=float, help="LoRA alpha (default 16)")
    a.add_argument("--action-key", help="clip-dataset array holding the per-frame actions (default actions)")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    """Dispatch --task to its training command."""
    import importlib

    from ..utils.errors import WorldsmithError

    if args.task not in TASKS:
        hint = " (tokenizers: worldsmith tokenizer train)" if args.task == "tokenizer" else ""
        raise WorldsmithError(f"--task {args.task!r}: unknown; known tasks: {', '.join(TASKS)}{hint}")
    if args.task != "action2world":
        for flag in ("lora_rank", "lora_alpha", "action_key"):
            if getattr(args, flag, None) is not None:
                raise WorldsmithError(f"--{flag.replace('_', '-')} is for --task action2world")
    module, func = TASKS[args.task].split(":")
    args.preset = args.preset.removeprefix("dit-")  # `--preset dit-tiny` names the DiT preset `tiny`
    return getattr(importlib.import_module(module), func)(args)


def cmd_train_action(args) -> int:
    """`worldsmith train --task action2world --init DIR --data DIR --out DIR [--lora-rank R]`."""
    from ..utils.errors import WorldsmithError
    from .config import dry_run_or_check
    from .action2world import Action2WorldTask, resolve_config

    if args.tokenizer:
        raise WorldsmithError("--tokenizer: action2world uses the tokenizer of the --init model")
    if args.preset != "tiny":  # "tiny" is the flag's default; the shape comes from --init
        raise WorldsmithError(f"--preset {args.preset}: action2world takes the model shape from --init")
    if args.formulation:
        raise WorldsmithError("--formulation: action2world keeps the diffusion formulation of the --init model")
    cfg = resolve_config(args.init, args.config, args.overrides, data__root=args.data, train__steps=args.steps,
                         train__device=args.device, train__max_minutes=args.max_minutes,
                         lora_rank=args.lora_rank, lora_alpha=args.lora_alpha, action_key=args.action_key)
    if dry_run_or_check(cfg, args, "a clip dataset of robot clips with actions"):
        return 0
    from . import Trainer

    task = Action2WorldTask(cfg)
    Trainer(task, cfg.train, args.out).fit()
    kind = f"LoRA rank {cfg.lora_rank} adapter" if cfg.lora_rank else "action-conditioned world model"
    print(f"{kind} written to {args.out}/model (metrics: {args.out}/metrics.jsonl)")
    return 0


def cmd_train_mean_decoder(args) -> int:
    """`worldsmith train --task mean-decoder --init WM_DIR --data DIR --out DIR [--max-minutes M]`."""
    from ..utils.errors import WorldsmithError, require_dir
    from .config import dry_run_or_check
    from .mean_decoder import MeanDecoderTask, resolve_config

    for flag in ("tokenizer", "formulation"):
        if getattr(args, flag, None):
            raise WorldsmithError(f"--{flag}: the mean decoder uses the --init world model's")
    if args.preset != "tiny":
        raise WorldsmithError(f"--preset {args.preset}: the mean decoder takes its shape from the --init tokenizer")
    if not args.init:
        raise WorldsmithError("--init: the world-model directory whose posterior means the decoder learns is required")
    require_dir(args.init, "--init")
    cfg = resolve_config(args.init, args.config, args.overrides, data__root=args.data, train__steps=args.steps,
                         train__device=args.device, train__max_minutes=args.max_minutes)
    if dry_run_or_check(cfg, args, "a clip dataset the world model did not train on"):
        return 0
    from . import Trainer

    task = MeanDecoderTask(cfg, args.out)
    task.prepare()  # the pairs, before the training clock starts
    Trainer(task, cfg.train, args.out).fit()
    print(f"mean decoder written to {args.out}/model (metrics: {args.out}/metrics.jsonl); ship it with "
          f"scripts/ship_model.py --mean-decoder {args.out}/model")
    return 0
