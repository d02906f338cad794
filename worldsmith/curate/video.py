"""One video through stages 1-4 (+ its clip embeddings): the unit of work both engines run.

`process_video` is a plain function of (path, video id, config, work dir). It writes the
clips to `WORK/<vid>/<clip key>.mp4` and, last, `WORK/<vid>/result.json` (atomically):
that file marks the video as finished, so a killed job re-run skips it. A bad input is
not an exception here: its result has `status: "failed"` and the reason.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time

import cv2
import numpy as np

from ..io import VideoError, probe_video
from ..utils.atomic import atomic_write_json
from ..utils.errors import WorldsmithError
from .captions import caption_batches, get_captioner
from .config import CurateConfig, video_stage_hash
from .embed import get_embedder
from .filters import ClipAnalyzer, drop_reasons
from .shots import detect_shots, plan_clips
from .transcode import transcode_clip

log = logging.getLogger(__name__)
RESULT = "result.json"
_N_KEEP = 8          # frames kept per clip for the embedding / captioner
_CAPTION_SIDE = 336  # shorter side of frames handed to a captioner


class _Models:
    """Captioner and embedder, built once per worker process (VLMs are slow to load)."""
    cache: dict = {}

    @classmethod
    def get(cls, cfg: CurateConfig):
        key = (cfg.captions.captioner, cfg.captions.model_path, cfg.dedup.embedder)
        if key not in cls.cache:
            cls.cache[key] = (get_captioner(cfg.captions), get_embedder(cfg.dedup.embedder))
        return cls.cache[key]


class _FrameKeeper:
    """Keeps ~`n` evenly spaced frames (shrunk) of a clip whose length is roughly known."""

    def __init__(self, expected: int, n: int = _N_KEEP):
        self.want = set(np.linspace(0, max(0, expected - 1), num=min(n, max(1, expected))).round().astype(int).tolist())
        self.i = 0
        self.frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        if self.i in self.want:
            h, w = frame.shape[:2]
            s = _CAPTION_SIDE / min(h, w)
            if s < 1:
                frame = cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            self.frames.append(frame)
        self.i += 1


def thumbnail_b64(frame: np.ndarray, height: int = 90) -> str:
    """A small JPEG of one RGB frame, base64 (for the self-contained HTML report)."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (max(2, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def load_result(work_dir: str, vid: str, cfg: CurateConfig) -> dict | None:
    """The finished result of video `vid` if it exists and was made with the same settings
    (failed videos count as finished: a corrupt file is not retried on every run)."""
    p = os.path.join(work_dir, vid, RESULT)
    try:
        with open(p, encoding="utf-8") as f:
            res = json.load(f)
    except (OSError, ValueError):
        return None
    return res if res.get("stage_hash") == video_stage_hash(cfg) else None


def _clip(path, key, span, info, vdir, cfg, embedder) -> tuple[dict, list[np.ndarray]]:
    """Stages 2-3 (+ embedding) for one clip span -> (record, kept frames)."""
    fps_out = min(info.fps, cfg.transcode.fps) if cfg.transcode.fps else info.fps
    analyzer = ClipAnalyzer(fps_out, cfg.filters)
    keeper = _FrameKeeper(int(round((span["end_s"] - span["start_s"]) * fps_out)))

    def observe(frame):
        analyzer.add(frame)
        keeper.add(frame)

    t = time.perf_counter()
    out = transcode_clip(path, span["start_s"], span["end_s"], os.path.join(vdir, key + ".mp4"), cfg.transcode,
                         src_fps=info.fps, src_hw=(info.height, info.width), on_frame=observe)
    scores = analyzer.scores()
    rec = {"key": key, "source": os.path.abspath(path), **span, **out, "duration": round(out["frames"] / out["fps"], 6),
           "scores": scores, "drop_reasons": drop_reasons(scores, {"height": info.height, "width": info.width},
                                                          cfg.filters),
           "embedding": [round(float(v), 6) for v in embedder.embed(keeper.frames)],
           "thumb": thumbnail_b64(keeper.frames[len(keeper.frames) // 2]) if keeper.frames else "",
           "seconds": round(time.perf_counter() - t, 3)}
    return rec, keeper.frames


def caption_clips(clips: list[dict], cfg: CurateConfig, work_dir: str) -> None:
    """Caption clips (in place) from their transcoded files: for clips that a re-run with
    looser thresholds lets through and that were not captioned when they were made."""
    from ..io import iter_frames

    captioner, _ = _Models.get(cfg)
    items = []
    for c in clips:
        path = os.path.join(work_dir, c["key"].rsplit("-", 1)[0], c["key"] + ".mp4")
        keeper = _FrameKeeper(c["frames"])
        for _, _, f in iter_frames(path):
            keeper.add(f)
        items.append({"source": c["source"], "start_s": c["start_s"], "end_s": c["end_s"], "frames": keeper.frames})
    for c, (cap, who) in zip(clips, caption_batches(captioner, items, cfg.captions.batch_size)):
        c["caption"], c["captioner"] = cap, who


def process_video(path: str, vid: str, cfg: CurateConfig, work_dir: str) -> dict:
    """Stages 1-4 for one video -> its result dict (also written to WORK/vid/result.json)."""
    vdir = os.path.join(work_dir, vid)
    os.makedirs(vdir, exist_ok=True)
    res = {"video": os.path.abspath(path), "vid": vid, "stage_hash": video_stage_hash(cfg), "status": "ok"}
    t0 = time.perf_counter()
    try:
        info = probe_video(path)
        if not info.num_frames:
            raise VideoError(f"{path}: zero video frames")
        shots = detect_shots(path, cfg.shots)
        if shots.num_frames == 0:
            raise VideoError(f"{path}: no frames could be decoded")
        t_detect = time.perf_counter() - t0
        spans, dropped = plan_clips(shots, cfg.shots)
        res.update(width=info.width, height=info.height, fps=info.fps, codec=info.codec, duration=shots.duration,
                   frames=shots.num_frames, cuts=shots.cuts, num_shots=len(shots.cuts) + 1,
                   dropped_shots=dropped, clips=[], clip_failures=[])
        captioner, embedder = _Models.get(cfg)
        pending: list[tuple[dict, list]] = []

        def flush():
            kept = [(r, fr) for r, fr in pending if not r["drop_reasons"]]
            items = [{"source": r["source"], "start_s": r["start_s"], "end_s": r["end_s"], "frames": fr}
                     for r, fr in kept]
            for (r, _), (cap, who) in zip(kept, caption_batches(captioner, items, cfg.captions.batch_size)):
                r["caption"], r["captioner"] = cap, who
            res["clips"].extend(r for r, _ in pending)
            pending.clear()

        for i, span in enumerate(spans):
            key = f"{vid}-{i:04d}"
            try:
                rec, frames = _clip(path, key, span, info, vdir, cfg, embedder)
                pending.append((rec, [] if rec["drop_reasons"] else frames))  # dropped: no caption needed
            except WorldsmithError as e:
                res["clip_failures"].append({"key": key, **span, "reason": str(e)})
            if sum(1 for r, _ in pending if not r["drop_reasons"]) >= cfg.captions.batch_size:
                flush()
        flush()
        res["timing"] = {"detect_s": round(t_detect, 3), "total_s": round(time.perf_counter() - t0, 3)}
    except WorldsmithError as e:
        res.update(status="failed", reason=str(e).splitlines()[0] if str(e) else type(e).__name__)
    except Exception as e:  # noqa: BLE001 - a batch job records any bad input and goes on
        log.debug("video %s failed", path, exc_info=True)
        res.update(status="failed", reason=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    atomic_write_json(os.path.join(vdir, RESULT), res)
    return res
