"""The `worldsmith` command line: one entry point, one subcommand group per package.

Each package has a small `cli.py` with `register(subparsers)` that adds its commands and
sets `func` on each parser to a plain importable function. Registration imports nothing
heavy (torch, pybullet, av are imported inside the command), so `--help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .utils.errors import WorldsmithError

# (module with register(subparsers)); order = order in --help
COMMAND_MODULES = [
    "worldsmith.io.cli",
    "worldsmith.sim.cli",
    "worldsmith.data.cli",
    "worldsmith.curate.cli",
    "worldsmith.tokenizer.cli",
    "worldsmith.guardrails.cli",
    "worldsmith.text.cli",
    "worldsmith.eval.cli",
    "worldsmith.quickstart",
    "worldsmith.diffusion.cli",
    "worldsmith.train.cli",
    "worldsmith.inference.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worldsmith",
        description="Build world foundation models for physical AI: simulate, curate, "
        "tokenize, train, predict and evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"worldsmith {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        # a group without a subcommand (e.g. `worldsmith sim`): show that group's help
        helper = getattr(args, "_help_parser", parser)
        helper.print_help()
        return 0 if args.command is None else 2
    try:
        result = func(args)
    except WorldsmithError as e:
        if args.verbose:
            raise
        print(f"worldsmith: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("worldsmith: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def add_group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """Add a command group (`worldsmith NAME <sub>`) and return its subparsers."""
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(_help_parser=p)
    return p.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
