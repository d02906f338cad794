"""`worldsmith curate INPUT --out DIR [--config curate.yaml] [--engine ray] [--set k=v]`."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("curate", help="curate raw videos into a clip dataset (shots, filters, captions, dedup)",
                       description="Split videos into shots, transcode clips to H.264, score and filter them "
                       "(motion, quality, text, size), caption, deduplicate, and write a clip dataset with "
                       "report.json / report.html. Re-running the same command resumes.")
    p.add_argument("input", help="folder of videos (recursive), a text file listing videos, or one video")
    p.add_argument("--out", required=True, help="output folder (the clip dataset, work area and reports)")
    p.add_argument("--config", default=None, help="YAML/JSON file with curation settings")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set filters.motion_min=0.001 (repeatable)")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="local processes or Ray")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_curate)


def cmd_curate(args) -> int:
    """Resolve the config, run `curate`, print a short summary."""
    from ..utils.config import dump_json, resolve
    from .config import default_config
    from .pipeline import curate

    cfg = resolve(default_config(), args.config, args.set)
    if args.workers is not None:
        cfg.workers = args.workers
    if args.dry_run:
        print(dump_json(cfg))
        return 0
    rep = curate(args.input, args.out, cfg, engine=args.engine)
    st = rep["stages"]
    print(f"videos {st['input']['ok']}/{st['input']['videos']} ok ({st['input']['failed']} failed), "
          f"shots {st['shots']['shots']}, clips {st['transcode']['clips']}, after filters "
          f"{st['filters']['kept']}, after dedup {st['dedup']['kept']}, written {st['output']['clips_written']}")
    if rep.get("video_hours_per_hour") is not None:
        print(f"{rep['video_hours_per_hour']:.2f} hours of video per hour ({rep['wall_s']:.1f} s wall)")
    print(f"report: {args.out}/report.html")
    return 0
