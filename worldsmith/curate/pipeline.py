"""The curation job: raw videos -> clip dataset + report.

    inputs -> [engine: per video, streaming]
                1 shots  2 transcode  3 filters  4 captions  (+ embeddings)
           -> 5 semantic dedup over all kept clips
           -> 6 ClipWriter shards + manifest, report.json / report.html

OUT holds the clip dataset itself (dataset.json, manifest.parquet, shards/,
failures.jsonl; `ClipDataset(OUT)` trains on it), the per-video work area (work/) and
the reports. Every step is resumable: finished videos are skipped, finished shards kept.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import time

import numpy as np

from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from .config import CurateConfig
from .dedup import semdedup
from .engines import get_engine
from .video import load_result

log = logging.getLogger(__name__)
VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp")
WORK = "work"


def list_inputs(src: str | os.PathLike) -> list[str]:
    """Videos under a directory (recursive, by extension), in a list file (one path per line,
    relative to the list), or a single video file."""
    p = os.fspath(src)
    if os.path.isdir(p):
        out = [os.path.join(d, n) for d, _, names in os.walk(p) for n in names
               if n.lower().endswith(VIDEO_EXTS) and not n.startswith(".")]
    elif os.path.isfile(p) and p.lower().endswith(VIDEO_EXTS):
        out = [p]
    elif os.path.isfile(p):
        base = os.path.dirname(os.path.abspath(p))
        with open(p, encoding="utf-8", errors="replace") as f:
            out = [ln.strip() if os.path.isabs(ln.strip()) else os.path.join(base, ln.strip())
                   for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    else:
        raise WorldsmithError(f"curate input not found: {p} (give a folder of videos, a list file or a video)")
    if not out:
        raise WorldsmithError(f"curate input {p}: no videos found (extensions: {', '.join(VIDEO_EXTS)})")
    return sorted(set(os.path.abspath(x) for x in out))


def video_id(path: str) -> str:
    """Stable id of a video: its sanitised name + a hash of its absolute path."""
    from ..data.format import sanitize_key

    stem = sanitize_key(os.path.splitext(os.path.basename(path))[0])[:40] or "video"
    return f"{stem}-{hashlib.blake2b(os.path.abspath(path).encode(), digest_size=4).hexdigest()}"


def _check_config(cfg: CurateConfig) -> None:
    c = cfg.captions
    if c.captioner == "vlm" and (not c.model_path or not os.path.isdir(c.model_path)):
        raise WorldsmithError(f"captions.model_path: {c.model_path!r} is not a local model directory "
                              "(captioner=vlm needs one; nothing is downloaded)")
    if c.captioner not in ("metadata", "vlm", "none"):
        raise WorldsmithError(f"captions.captioner: unknown {c.captioner!r} (metadata, vlm, none)")
    if cfg.shots.detector not in ("content", "transnetv2"):
        raise WorldsmithError(f"shots.detector: unknown {cfg.shots.detector!r} (content, transnetv2)")
    if cfg.dedup.embedder != "builtin" and not os.path.isdir(cfg.dedup.embedder):
        raise WorldsmithError(f"dedup.embedder: {cfg.dedup.embedder!r} is neither 'builtin' nor a local model dir")
    if not 0 < cfg.shots.min_clip_s <= cfg.shots.max_clip_s:
        raise WorldsmithError("shots: need 0 < min_clip_s <= max_clip_s")


def _run_videos(tasks, cfg, work_dir, engine, results, t_start):
    """Run the engine with a progress bar: videos, clips kept/dropped, hours of video per hour."""
    from .filters import stage_of

    bar = progress(total=len(tasks), desc="curate", unit="video")
    kept, failed, hours = 0, 0, 0.0
    drops: collections.Counter = collections.Counter()
    try:
        for res in get_engine(engine)(tasks, cfg, work_dir):
            results[res["vid"]] = res
            failed += res["status"] != "ok"
            drops["shots"] += len(res.get("dropped_shots", []))
            for c in res.get("clips", []):
                if c["drop_reasons"]:
                    drops[stage_of(c["drop_reasons"][0])] += 1
                else:
                    kept += 1
            hours += res.get("duration", 0.0) / 3600
            rate = hours / max((time.time() - t_start) / 3600, 1e-9)
            dropped = " ".join(f"{k} {v}" for k, v in sorted(drops.items()) if v)
            bar.set_postfix_str(f"bad {failed}, clips kept {kept}, dropped: {dropped or 0}; {rate:.1f} h video/h")
            bar.update(1)
            if res["status"] != "ok":
                log.warning("skipped %s: %s", res["video"], res.get("reason"))
    finally:
        bar.close()


def _apply_thresholds(results: list[dict], cfg: CurateConfig, work: str, written) -> None:
    """Re-apply the current filter thresholds to the stored scores (they may have changed
    since a video was processed) and caption clips that now pass but never were."""
    from .filters import drop_reasons
    from .video import caption_clips

    missing = []
    for r in results:
        if r["status"] != "ok":
            continue
        for c in r["clips"]:
            c["drop_reasons"] = drop_reasons(c["scores"], {"height": r["height"], "width": r["width"]}, cfg.filters)
            if not c["drop_reasons"] and "captioner" not in c and not written(c["key"]):
                missing.append(c)
    if missing:
        log.info("captioning %d clips that the current thresholds let through", len(missing))
        caption_clips(missing, cfg, work)


def curate(inputs: str | os.PathLike | list[str], out_dir: str | os.PathLike, cfg: CurateConfig | None = None,
           *, engine: str = "local") -> dict:
    """Curate videos into a clip dataset at `out_dir`; returns the summary report (also
    written to OUT/report.json and OUT/report.html)."""
    from ..data import ClipWriter
    from .report import write_reports

    cfg = cfg or CurateConfig()
    _check_config(cfg)
    get_engine(engine)  # fail early if Ray is missing
    paths = list_inputs(inputs) if not isinstance(inputs, list) else sorted(os.path.abspath(p) for p in inputs)
    out = os.fspath(out_dir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise WorldsmithError(f"--out {out}: exists and is not a directory")
    o = cfg.output
    # opened first: it validates OUT (new, empty or an earlier curate output) and locks it
    with ClipWriter(out, shard_max_clips=o.shard_max_clips, split_fractions=o.split_fractions,
                    info={"created_by": "worldsmith curate"}) as writer:
        work = os.path.join(out, WORK)
        os.makedirs(work, exist_ok=True)
        report = _curate_into(writer, paths, work, cfg, engine)
    write_reports(report, out)
    return report


def _curate_into(writer, paths: list[str], work: str, cfg: CurateConfig, engine: str) -> dict:
    """Stages 1-6 with an open ClipWriter -> the report."""
    from .report import build_report

    t_start = time.time()

    # 1-4: per video (skipping those a previous run finished with the same settings)
    results: dict[str, dict] = {}
    tasks = []
    for p in paths:
        vid = video_id(p)
        prev = load_result(work, vid, cfg)
        if prev is not None:
            results[vid] = prev
        else:
            tasks.append((p, vid))
    if len(tasks) < len(paths):
        log.info("resuming: %d of %d videos already done", len(paths) - len(tasks), len(paths))
    if tasks:
        _run_videos(tasks, cfg, work, engine, results, t_start)
    ordered = [results[video_id(p)] for p in paths]
    _apply_thresholds(ordered, cfg, work, writer.has)

    # 5: semantic dedup over the clips every filter kept
    passed = [c for r in ordered if r["status"] == "ok" for c in r["clips"] if not c["drop_reasons"]]
    dedup = {}
    if cfg.dedup.enabled and passed:
        d = cfg.dedup
        dedup = semdedup(np.array([c["embedding"] for c in passed]), [c["key"] for c in passed],
                         [c["duration"] for c in passed], n_clusters=d.n_clusters, eps=d.eps,
                         iterations=d.iterations, seed=d.seed)

    # 6: write the clip dataset (ClipWriter skips clips a previous run already wrote)
    for r in ordered:
        if r["status"] != "ok":
            reason = r.get("reason", "failed")
            writer.add_failure(r["vid"], reason if r["video"] in reason else f"{r['video']}: {reason}")
        for f in r.get("clip_failures", []):
            writer.add_failure(f["key"], f"{r['video']} {f['start_s']:.3f}-{f['end_s']:.3f} s: {f['reason']}")
    for c in passed:
        dd = dedup.get(c["key"], {"keep": True})
        if not dd["keep"] or writer.has(c["key"]):
            continue
        with open(os.path.join(work, c["key"].rsplit("-", 1)[0], c["key"] + ".mp4"), "rb") as f:
            data = f.read()
        meta = {"source": c["source"], "start_s": c["start_s"], "end_s": c["end_s"], "shot": c["shot"],
                "scores": c["scores"], "captioner": c.get("captioner", ""), "dedup_cluster": dd.get("cluster")}
        writer.add(c["key"], mp4_bytes=data, fps=c["fps"], caption=c.get("caption", ""),
                   source=c["source"], meta=meta)
    writer.close()
    return build_report(ordered, dedup, cfg, writer.root, written=writer.num_clips, engine=engine,
                        wall_s=time.time() - t_start, processed=len(tasks))
