"""What the validation-clip benchmarks (bench_mean_sigma, bench_change_threshold, bench_mbr,
bench_predict_defaults, bench_use_of_past, bench_anchor) share: their common arguments, the
model and clips, one scored pass of the pipeline over the clips (`score_cases`), and how they
print and save a table of `physics.scenario_means` rows.
Imported as a sibling module (`python benchmarks/X.py` puts this folder on sys.path)."""

from __future__ import annotations

import argparse
import json


def parser(doc: str, model: bool = True, out: bool = True) -> argparse.ArgumentParser:
    """--model, --cache, --first-clip, --clips, --cond-frames, --out (without --model / --out when
    not wanted: bench_anchor takes a tokenizer and prints only); scripts add their own."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if model:
        ap.add_argument("--model", required=True, help="world-model directory")
    ap.add_argument("--cache", required=True, help="test-clip cache directory (built here when empty)")
    ap.add_argument("--first-clip", type=int, default=10, help="first test-seed clip index per scenario")
    ap.add_argument("--clips", type=int, default=4, help="clips per scenario")
    ap.add_argument("--cond-frames", type=int, default=9)
    if out:
        ap.add_argument("--out", help="write the table as JSON here")
    return ap


def setup(doc: str, add_args=None):
    """Parse the common arguments (plus `add_args(parser)`'s), load the model's pipeline (no guardrails,
    no upsampling) and the validation clips: (args, pipe, scenario names, cases)."""
    ap = parser(doc)
    if add_args is not None:
        add_args(ap)
    args = ap.parse_args()
    from worldsmith.eval import physics
    from worldsmith.inference.pipeline import WorldPipeline

    pipe = WorldPipeline.from_pretrained(args.model, guardrails=None, upsample=False)
    names, cases = physics.validation_cases(args.cache, args.first_clip, args.clips)
    return args, pipe, names, cases


def floats(text: str, flag: str, lo: float = float("-inf"), hi: float = float("inf")) -> list[float]:
    """Comma-separated numbers in [lo, hi) from a command-line value, or exit with one line naming `flag`."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(lo <= v < hi for v in values):
        raise SystemExit(f"{flag} {text!r}: expected comma-separated numbers in [{lo:g}, {hi:g}), e.g. 0.1,0.3")
    return values


def score_cases(pipe, cases: list, K: int, desc: str, settings: dict | None = None, **call) -> dict:
    """`physics.scenario_means` of the pipeline's prediction from the first K frames of every case,
    `call` passed to the pipeline (sampler, decode, ...), seed 0; `settings`, when given, is
    updated with the settings the pipeline used (its record's "settings")."""
    from worldsmith.eval import physics
    from worldsmith.utils.progress import progress

    per: dict = {}
    for case in progress(cases, desc=desc):
        res = pipe(case.caption or "a physical scene", input=case.rgb[:K], num_cond_frames=K,
                   num_frames=case.rgb.shape[0], seed=0, **call)
        per.setdefault(case.scenario, []).append(physics.clip_means(res.frames[K:], case, K))
        if settings is not None:
            settings.update(res.record["settings"])
    return physics.scenario_means(per)


def report(args, table: dict, label: str, names: list[str], iou: bool = True, **extra) -> None:
    """Print the markdown table; with --out, write {"settings", "table", **extra} as JSON."""
    from worldsmith.eval import physics

    print(physics.scenario_means_markdown(table, label, names, iou=iou))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"settings": vars(args), "table": table, **extra}, f, indent=1)
