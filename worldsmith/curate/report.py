"""The curation report: per-stage counts, score histograms and sample clips.

`report.json` is the machine-readable summary; `report.html` is one self-contained page
(inline SVG histograms, base64 JPEG thumbnails) a person can open anywhere.
"""

from __future__ import annotations

import collections
import html
import os

import numpy as np

from ..utils.atomic import atomic_write_json, atomic_write_text
from ..utils.config import to_dict
from .config import CurateConfig
from .filters import stage_of

SCORES = ("motion", "sharpness", "brightness", "contrast", "noise", "text")


def _thresholds(cfg: CurateConfig) -> dict[str, list[float]]:
    f = cfg.filters
    pairs = {"motion": (f.motion_min, f.motion_max), "sharpness": (f.sharpness_min,),
             "brightness": (f.brightness_min, f.brightness_max), "contrast": (f.contrast_min,),
             "noise": (f.noise_max,), "text": (f.text_max,)}
    return {k: [v for v in vs if v is not None] for k, vs in pairs.items()}


def _histogram(values: list[float], marks: list[float] = (), bins: int = 20) -> dict:
    """Counts over a range that covers the values and the threshold `marks`."""
    a = np.asarray(values, dtype=np.float64)
    if len(a) == 0:
        return {"counts": [], "edges": []}
    lo, hi = min([float(a.min()), *marks]), max([float(a.max()), *marks])
    if hi <= lo:
        hi = lo + 1e-9
    counts, edges = np.histogram(a, bins=bins, range=(lo, hi))
    return {"counts": counts.tolist(), "edges": [round(float(e), 7) for e in edges]}


def _sample(items: list[dict], n: int) -> list[dict]:
    if len(items) <= n:
        return items
    idx = np.linspace(0, len(items) - 1, n).round().astype(int)
    return [items[i] for i in idx]


def _card(c: dict, why: str = "") -> dict:
    return {"key": c["key"], "source": os.path.basename(c["source"]), "start_s": c["start_s"], "end_s": c["end_s"],
            "caption": c.get("caption", ""), "why": why, "thumb": c.get("thumb", "")}


def build_report(results: list[dict], dedup: dict, cfg: CurateConfig, out: str, *, written: int,
                 engine: str, wall_s: float, processed: int) -> dict:
    """Summary of one job from the per-video results and the dedup decisions."""
    ok = [r for r in results if r["status"] == "ok"]
    clips = [c for r in ok for c in r["clips"]]
    n_samples = cfg.output.samples_per_stage
    shot_drop = collections.Counter(d["reason"] for r in ok for d in r["dropped_shots"])
    by_filter = collections.Counter(stage_of(w) for c in clips for w in c["drop_reasons"][:1])
    passed = [c for c in clips if not c["drop_reasons"]]
    dups = [c for c in passed if not dedup.get(c["key"], {"keep": True})["keep"]]
    dup_keys = {c["key"] for c in dups}
    hours = sum(r.get("duration", 0.0) for r in ok) / 3600
    samples = {
        "kept": [_card(c) for c in _sample([c for c in passed if c["key"] not in dup_keys], n_samples)],
        "dropped_by_filters": [_card(c, "; ".join(c["drop_reasons"])) for c in
                               _sample([c for c in clips if c["drop_reasons"]], n_samples)],
        "duplicates": [_card(c, f"duplicate of {dedup[c['key']]['duplicate_of']}") for c in _sample(dups, n_samples)],
    }
    stages = {
        "input": {"videos": len(results), "ok": len(ok), "failed": len(results) - len(ok),
                  "hours": round(hours, 4), "failures": [{"video": r["video"], "reason": r.get("reason", "")}
                                                         for r in results if r["status"] != "ok"]},
        "shots": {"shots": sum(r["num_shots"] for r in ok), "clips_planned": len(clips) + sum(
            len(r.get("clip_failures", [])) for r in ok), "shots_dropped": dict(shot_drop)},
        "transcode": {"clips": len(clips), "failed": sum(len(r.get("clip_failures", [])) for r in ok),
                      "size": cfg.transcode.size, "fps": cfg.transcode.fps},
        "filters": {"in": len(clips), "kept": len(passed), "dropped_by": dict(by_filter),
                    "thresholds": _thresholds(cfg)},
        "captions": {"captioned": sum(1 for c in passed if c.get("captioner")),
                     "by": dict(collections.Counter(c.get("captioner", "") for c in passed))},
        "dedup": {"enabled": cfg.dedup.enabled, "in": len(passed), "duplicates": len(dups),
                  "kept": len(passed) - len(dups), "n_clusters": cfg.dedup.n_clusters, "eps": cfg.dedup.eps},
        "output": {"clips_written": written, "dir": os.path.abspath(out)},
    }
    return {
        "engine": engine, "wall_s": round(wall_s, 3), "videos_processed_this_run": processed,
        "video_hours_per_hour": round(hours / max(wall_s / 3600, 1e-9), 3) if processed else None,
        "stages": stages,
        "histograms": {k: _histogram([c["scores"][k] for c in clips if k in c["scores"]], _thresholds(cfg)[k])
                       for k in SCORES},
        "samples": samples, "config": to_dict(cfg),
    }


def _svg_hist(name: str, h: dict, lines: list[float]) -> str:
    counts, edges = h["counts"], h["edges"]
    if not counts:
        return f"<div class=h><b>{name}</b><br><i>no clips</i></div>"
    w, ht, m = 260, 90, max(counts) or 1
    bw = w / len(counts)
    bars = "".join(f'<rect x="{i * bw:.1f}" y="{ht - c / m * ht:.1f}" width="{bw - 1:.1f}" height="{c / m * ht:.1f}"'
                   f' fill="#4a7"><title>{edges[i]:.4g}-{edges[i + 1]:.4g}: {c}</title></rect>'
                   for i, c in enumerate(counts))
    lo, hi = edges[0], edges[-1]
    marks = "".join(f'<line x1="{(v - lo) / (hi - lo) * w:.1f}" x2="{(v - lo) / (hi - lo) * w:.1f}" y1="0" '
                    f'y2="{ht}" stroke="#c33" stroke-width="2"/>' for v in lines if lo <= v <= hi)
    return (f'<div class=h><b>{name}</b><br><svg width="{w}" height="{ht + 2}">{bars}{marks}</svg>'
            f'<br><small>{sum(counts)} clips, {lo:.4g} .. {hi:.4g}; red = threshold</small></div>')


def _fields(d: dict) -> str:
    def val(v):
        if isinstance(v, dict):
            return ", ".join(f"{k}: {val(x)}" for k, x in v.items()) or "-"
        if isinstance(v, list):
            return " / ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v) or "off"
        return f"{v:g}" if isinstance(v, float) else str(v)
    return "<br>".join(f"{html.escape(k)}: <b>{html.escape(val(v))}</b>" for k, v in d.items() if k != "failures")


def render_html(report: dict) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    st = report["stages"]
    rows = "".join(f"<tr><th>{e(k)}</th><td>{_fields(v)}</td></tr>" for k, v in st.items())
    fails = "".join(f"<li>{e(f['video'])}: {e(f['reason'])}</li>" for f in st["input"]["failures"])
    th = report["stages"]["filters"]["thresholds"]
    hists = "".join(_svg_hist(k, h, th.get(k, [])) for k, h in report["histograms"].items())
    samples = ""
    for name, cards in report["samples"].items():
        tiles = "".join(
            f'<figure><img src="data:image/jpeg;base64,{c["thumb"]}" alt=""><figcaption><b>{e(c["key"])}</b>'
            f'<br>{e(c["source"])} {c["start_s"]:.2f}-{c["end_s"]:.2f} s<br>{e(c["caption"])}'
            f'<br><i>{e(c["why"])}</i></figcaption></figure>' for c in cards) or "<i>none</i>"
        samples += f"<h3>{e(name.replace('_', ' '))}</h3><div class=g>{tiles}</div>"
    rate = report.get("video_hours_per_hour")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>worldsmith curate report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}td,th{{text-align:left;padding:3px 8px;
vertical-align:top}}.h{{display:inline-block;margin:8px}}.g{{display:flex;flex-wrap:wrap}}figure{{width:200px;
margin:6px;font-size:12px}}img{{max-width:200px}}code{{white-space:pre-wrap}}</style></head><body>
<h1>Curation report</h1><p>engine <b>{e(report['engine'])}</b>, wall {report['wall_s']:.1f} s,
{'' if rate is None else f'{rate:.2f} hours of video per hour, '}
{st['output']['clips_written']} clips written to <code>{e(st['output']['dir'])}</code></p>
<h2>Stages</h2><table>{rows}</table><h2>Failed inputs</h2><ul>{fails or '<li>none</li>'}</ul>
<h2>Score histograms (clips after transcoding)</h2>{hists}<h2>Sample clips per stage</h2>{samples}</body></html>
"""


def write_reports(report: dict, out: str) -> None:
    """OUT/report.json and OUT/report.html, atomically."""
    atomic_write_json(os.path.join(out, "report.json"), report)
    atomic_write_text(os.path.join(out, "report.html"), render_html(report))
