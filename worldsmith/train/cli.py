"""`worldsmith train --task video2world ...`: the top-level training command.

It maps to the same function as `worldsmith dit train` (one implementation); tokenizer
training stays `worldsmith tokenizer train`.
"""

from __future__ import annotations

TASKS = {"video2world": "worldsmith.diffusion.cli:cmd_train"}


def register(sub) -> None:
    p = sub.add_parser("train", help="train a world model (--task video2world) on a clip dataset",
                       description="Train a world model. --task video2world: a DiT over a trained continuous "
                       "tokenizer's latents (same as `worldsmith dit train`). Tokenizers: `worldsmith tokenizer train`.")
    p.add_argument("--task", default="video2world", help=f"what to train: {', '.join(TASKS)} (default %(default)s)")
    p.add_argument("--data", help="clip dataset directory (worldsmith sim generate / curate output)")
    p.add_argument("--tokenizer", help="trained continuous tokenizer directory (worldsmith tokenizer train)")
    p.add_argument("--preset", default="tiny", help="DiT preset (worldsmith dit presets; default %(default)s)")
    p.add_argument("--formulation", choices=("edm", "rf"), help="diffusion.formulation (default edm)")
    p.add_argument("--steps", type=int, help="optimiser steps (train.steps)")
    p.add_argument("--out", help="run directory: checkpoints, metrics.jsonl, tb/, model/")
    p.add_argument("--config", help="YAML/JSON file with overrides of the resolved config")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set train.batch_size=4")
    p.add_argument("--device", help="auto | cpu | cuda[:n] (train.device)")
    p.add_argument("--max-minutes", type=float, help="stop after this much training time (train.max_minutes)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    """Dispatch --task to its training command."""
    import importlib

    from ..utils.errors import WorldsmithError

    if args.task not in TASKS:
        hint = " (tokenizers: worldsmith tokenizer train)" if args.task == "tokenizer" else ""
        raise WorldsmithError(f"--task {args.task!r}: unknown; known tasks: {', '.join(TASKS)}{hint}")
    module, func = TASKS[args.task].split(":")
    args.preset = args.preset.removeprefix("dit-")  # `--preset dit-tiny` names the DiT preset `tiny`
    return getattr(importlib.import_module(module), func)(args)
