"""`worldsmith train --task video2world ...`: the top-level training command.

It maps to the same function as `worldsmith dit train` (one implementation); tokenizer
training stays `worldsmith tokenizer train`.
"""

from __future__ import annotations

TASKS = {"video2world": "worldsmith.diffusion.cli:cmd_train"}


def register(sub) -> None:
    from ..diffusion.cli import add_train_arguments

    p = sub.add_parser("train", help="train a world model (--task video2world) on a clip dataset",
                       description="Train a world model. --task video2world: a DiT over a trained continuous "
                       "tokenizer's latents (same as `worldsmith dit train`). Tokenizers: `worldsmith tokenizer train`.")
    p.add_argument("--task", default="video2world", help=f"what to train: {', '.join(TASKS)} (default %(default)s)")
    add_train_arguments(p)
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
