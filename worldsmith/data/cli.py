"""`worldsmith data ...` commands: info, preview, import-cosmos, export-cosmos, import-bridge."""

from __future__ import annotations

import json

from ..cli import add_group

SPLIT_CHOICES = ("train", "val", "test")


def register(sub) -> None:
    """Add the `data` group and its commands to the top-level subparsers."""
    g = add_group(sub, "data", "clip datasets: inspect, preview, import/export")

    p = g.add_parser("info", help="counts, durations, resolutions and a captions sample",
                     description="Summarise a clip dataset: counts per split, durations, "
                     "resolutions, fps, arrays, failures and a few captions.")
    p.add_argument("dir", metavar="DIR", help="clip dataset directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = g.add_parser("preview", help="a grid video/GIF of clips with their captions",
                     description="Render a grid of clips (captions under each tile) to MP4 or GIF.")
    p.add_argument("dir", metavar="DIR", help="clip dataset directory")
    p.add_argument("--out", required=True, help="output file, .mp4 or .gif")
    p.add_argument("--split", choices=SPLIT_CHOICES, help="only clips of this split")
    p.add_argument("--num", type=int, default=16, help="number of clips (default 16)")
    p.add_argument("--cols", type=int, help="grid columns (default: square grid)")
    p.add_argument("--tile", type=int, help="tile width in px (default: clip width capped at 256; at least 160)")
    p.add_argument("--frames", type=int, default=48, help="frames per tile (default 48)")
    p.add_argument("--fps", type=float, help="output fps (default: the first clip's)")
    p.set_defaults(func=cmd_preview)

    p = g.add_parser("import-cosmos", help="import a Cosmos post-training folder (videos/ + metas/)",
                     description="Import SRC/videos/*.mp4 with captions from SRC/metas/*.txt "
                     "(same stems) into a clip dataset. Re-running resumes.")
    p.add_argument("src", metavar="SRC", help="folder with videos/ and metas/")
    p.add_argument("--out", required=True, help="clip dataset directory to create or extend")
    p.add_argument("--shard-max-clips", type=int, default=64, help="clips per shard (default 64)")
    p.set_defaults(func=cmd_import_cosmos)

    p = g.add_parser("export-cosmos", help="export to the Cosmos post-training layout",
                     description="Write the clips of DIR as DST/videos/<stem>.mp4 and "
                     "DST/metas/<stem>.txt (caption), for Cosmos post-training scripts.")
    p.add_argument("dir", metavar="DIR", help="clip dataset directory")
    p.add_argument("--out", required=True, help="destination folder")
    p.add_argument("--split", choices=SPLIT_CHOICES, help="only clips of this split")
    p.set_defaults(func=cmd_export_cosmos)

    p = g.add_parser("import-bridge", help="import robot videos with actions (Bridge layout: videos/ + annotations/)",
                     description="Import SRC/annotations/**/*.json (per-frame `action`, optional `state`, "
                     "`continuous_gripper_state`, caption, video reference) with their SRC/videos/**/*.mp4 "
                     "into a clip dataset with \"actions\" [T, A]. Re-running resumes.")
    p.add_argument("src", metavar="SRC", help="folder with videos/ and annotations/ (or annotation/)")
    p.add_argument("--out", required=True, help="clip dataset directory to create or extend")
    p.add_argument("--action-key", default="action", help="annotation field holding the actions (default action)")
    p.add_argument("--shard-max-clips", type=int, default=64, help="clips per shard (default 64)")
    p.set_defaults(func=cmd_import_bridge)


def format_info(info: dict) -> str:
    """The `data info` summary as readable text."""
    c, s = info["counts"], info["stats"]
    lines = [
        f"dataset   {info['root']}  (format v{info.get('format_version')}, "
        f"{'complete' if info.get('complete') else 'incomplete: writer not closed'})",
        f"clips     {c['total']}  (train {c.get('train', 0)}, val {c.get('val', 0)}, test {c.get('test', 0)})"
        f"  in {s['shards']} shards",
        f"frames    {s['total_frames']}",
        f"duration  {s['total_duration_s']:.1f} s total, {s['min_duration_s']:.2f}-{s['max_duration_s']:.2f} s per clip",
        "sizes     " + ", ".join(f"{k} ({v})" for k, v in s["resolutions"].items()),
        "fps       " + ", ".join(f"{k} ({v})" for k, v in s["fps"].items()),
        "arrays    " + (", ".join(f"{k} ({v})" for k, v in s["arrays"].items()) or "none"),
        f"failures  {info['num_failures']}",
    ]
    lines += [f"  - {f.get('key')}: {f.get('reason', '')[:160]}" for f in info.get("failures_sample", [])]
    if info["missing_shards"]:
        lines.append("MISSING   " + ", ".join(info["missing_shards"]))
    lines.append("captions:")
    lines += [f"  - {cap[:200]}" for cap in info["captions_sample"]] or ["  (none)"]
    return "\n".join(lines)


def cmd_info(args) -> int:
    """`worldsmith data info DIR [--json]`."""
    from .reader import dataset_info

    info = dataset_info(args.dir)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def cmd_preview(args) -> int:
    """`worldsmith data preview DIR --out grid.mp4|.gif`."""
    from ..utils.errors import WorldsmithError
    from .preview import preview

    for name in ("cols", "tile", "frames"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise WorldsmithError(f"--{name} {v}: must be >= 1")
    res = preview(args.dir, args.out, split=args.split, num=args.num, cols=args.cols,
                  tile=args.tile, max_frames=args.frames, fps=args.fps)
    print(f"wrote {res['out']}: {res['clips']} clips, {res['frames']} frames, "
          f"{res['width']}x{res['height']}")
    return 0


def cmd_import_cosmos(args) -> int:
    """`worldsmith data import-cosmos SRC --out DIR`."""
    from .cosmos import import_cosmos

    res = import_cosmos(args.src, args.out, shard_max_clips=args.shard_max_clips)
    print(f"imported into {args.out}: {res['added']} added, {res['skipped']} already present, "
          f"{res['failed']} failed, {res['missing_caption']} without caption")
    return 0


def cmd_export_cosmos(args) -> int:
    """`worldsmith data export-cosmos DIR --out DST`."""
    from .cosmos import export_cosmos

    res = export_cosmos(args.dir, args.out, split=args.split)
    print(f"exported to {args.out}: {res['written']} clips written, {res['failed']} failed")
    return 0


def cmd_import_bridge(args) -> int:
    """`worldsmith data import-bridge SRC --out DIR`."""
    from .bridge import import_bridge

    res = import_bridge(args.src, args.out, action_key=args.action_key, shard_max_clips=args.shard_max_clips)
    print(f"imported into {args.out}: {res['added']} added, {res['skipped']} already present, "
          f"{res['failed']} failed" + (f" (reasons in {args.out}/failures.jsonl)" if res["failed"] else ""))
    return 0
