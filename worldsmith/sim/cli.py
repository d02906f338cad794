"""`worldsmith sim ...` commands: list the scenarios, generate a clip dataset, write its captions again."""

from __future__ import annotations

import json

from ..cli import add_group
from .generate import ROBOT_POLICY_CHOICES


def register(sub) -> None:
    """Add the `sim` group: `list`, `generate` and `recaption`."""
    g = add_group(sub, "sim", "physics simulator: ground-truth video of physical events")

    p = g.add_parser("list", help="list the scenarios", description="List the simulator's scenarios.")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_list)

    p = g.add_parser("generate", help="simulate clips into a clip dataset",
                     description="Simulate N clips per scenario (pybullet, 240 Hz physics, TinyRenderer) "
                     "into a clip dataset with RGB video, depth, segmentation, object states, robot actions "
                     "and captions. Re-running the same command resumes.")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="scenario name or 'all' (repeatable; default all)")
    p.add_argument("--num-clips", type=int, default=10, help="clips per scenario (default 10)")
    p.add_argument("--resolution", type=int, default=64, help="square frame size in px: 64, 128, 256 (default 64)")
    p.add_argument("--frames", type=int, default=33, help="frames per clip (default 33)")
    p.add_argument("--fps", type=int, default=15, help="frames per second, a divisor of 240 (default 15)")
    p.add_argument("--seed", type=int, default=0, help="base seed; per-clip seeds derive from it (default 0)")
    p.add_argument("--out", required=True, help="clip dataset directory (created or resumed)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default 0 = all cores)")
    p.add_argument("--perturb", type=float, default=0.0,
                   help="re-simulate with the initial state perturbed by this fraction (0.01 = 1%%)")
    p.add_argument("--ood", action="store_true", help="sample speed, size or mass outside the training range")
    p.add_argument("--shard-max-clips", type=int, default=64, help="clips per shard (default 64)")
    p.add_argument("--robot-policy", default="scripted", choices=ROBOT_POLICY_CHOICES,
                   help="robot_push clips: the seed's scripted pick, one policy, mix = good/noisy/random in turn, "
                   "or mix-play = half random-waypoint play + the mix (the data for action-conditioned "
                   "post-training; default scripted)")
    p.add_argument("--robot-rest", type=int, default=0,
                   help="robot_push clips: the arm holds still for this many frames before the policy acts, "
                   "as at the start of an episode (default 0)")
    p.set_defaults(func=cmd_generate)

    p = g.add_parser("recaption", help="write a simulator dataset's captions again with today's captioner",
                     description="Write every simulator clip's caption again from its stored meta (scenario, "
                     "seed, parameters, outcome) with today's captioner, e.g. after a captioner fix. Frames, "
                     "arrays and meta are kept; shards with a changed caption are rewritten atomically, then "
                     "the manifest. A latent cache built from the old words is refused afterwards: rebuild it.")
    p.add_argument("dataset", help="clip dataset directory (from `worldsmith sim generate`)")
    p.add_argument("--dry-run", action="store_true", help="only count the captions that would change")
    p.set_defaults(func=cmd_recaption)


def cmd_list(args) -> int:
    """`worldsmith sim list`: scenario names and summaries."""
    from .clip import scenario_table

    table = scenario_table()
    if args.json:
        print(json.dumps({name: sc.summary for name, sc in table.items()}, indent=2))
    else:
        width = max(map(len, table))
        for name, sc in table.items():
            print(f"{name:<{width}}  {sc.summary}")
    return 0


def cmd_generate(args) -> int:
    """`worldsmith sim generate`: simulate clips into a dataset; prints a JSON summary."""
    from .generate import generate_dataset

    summary = generate_dataset(args.out, args.scenario or "all", num_clips=args.num_clips,
                               resolution=args.resolution, frames=args.frames, fps=args.fps, seed=args.seed,
                               workers=args.workers, perturb=args.perturb, ood=args.ood,
                               shard_max_clips=args.shard_max_clips, robot_policy=args.robot_policy,
                               robot_rest=args.robot_rest)
    print(json.dumps(summary))
    return 1 if summary["failed"] and not summary["written"] and not summary["skipped"] else 0


def cmd_recaption(args) -> int:
    """`worldsmith sim recaption`: captions written again from the meta; prints a JSON summary."""
    from .recaption import recaption_dataset

    summary = recaption_dataset(args.dataset, dry_run=args.dry_run)
    print(json.dumps(summary, indent=1))
    return 1 if summary["failed_shards"] else 0
