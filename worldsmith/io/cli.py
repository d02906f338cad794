"""`worldsmith video ...` commands: probe metadata, convert to H.264 MP4 or GIF."""

from __future__ import annotations

import dataclasses
import json

from ..cli import add_group


def register(sub) -> None:
    group = add_group(sub, "video", "probe and convert video files")

    p = group.add_parser("probe", help="show a video's metadata (no decoding)",
                         description="Show codec, size, frame count, fps, duration, VFR flag and more.")
    p.add_argument("file", help="video file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_probe)

    c = group.add_parser("convert", help="re-encode to H.264 MP4 or a GIF preview",
                         description="Re-encode a video to H.264 MP4 (lossy CRF or lossless RGB) or GIF.")
    c.add_argument("input", help="input video")
    c.add_argument("output", help="output: .mp4 (or .m4v/.mov/.mkv) for H.264, .gif for a preview")
    c.add_argument("--fps", type=float, default=None, help="resample to this frame rate (default: source rate)")
    c.add_argument("--size", default=None,
                   help="WIDTHxHEIGHT (e.g. 640x360) or one number for the shorter side (aspect kept)")
    c.add_argument("--quality", type=int, default=18, help="x264 CRF, 0..51, lower is better (default 18)")
    c.add_argument("--lossless", action="store_true", help="bit-exact RGB H.264 (libx264rgb, QP 0)")
    c.add_argument("--start", type=float, default=None, help="start time in seconds")
    c.add_argument("--end", type=float, default=None, help="end time in seconds (exclusive)")
    c.set_defaults(func=cmd_convert)


def cmd_probe(args) -> int:
    """Print `probe_video(args.file)` as aligned lines or JSON."""
    from .probe import probe_video

    info = dataclasses.asdict(probe_video(args.file))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        print(f"{key:>11}: {value}")
    return 0


def cmd_convert(args) -> int:
    """Run `convert_video` with the command-line options and print a one-line summary."""
    from .convert import convert_video
    from .transforms import parse_size

    size = parse_size(args.size) if args.size else None
    out = convert_video(args.input, args.output, fps=args.fps, size=size, quality=args.quality,
                        lossless=args.lossless, start_s=args.start, end_s=args.end)
    print(f"wrote {out['output']}: {out['frames']} frames, {out['width']}x{out['height']}, "
          f"{out['fps']:.6g} fps, {out['codec']}")
    return 0
