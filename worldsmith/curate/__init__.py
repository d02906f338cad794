"""Video curation: raw long videos -> clip dataset (shots, transcode, filters, captions, dedup).

Each stage is its own module and usable alone; `curate` runs them all, locally over
processes or on Ray, resumably, and writes a clip dataset plus report.json / report.html.

    from worldsmith.curate import curate, CurateConfig
    report = curate("my_videos/", "my_clips/", CurateConfig())
"""

import importlib

# name -> module; imported on first use so that `worldsmith --help` (which imports
# worldsmith.curate.cli, hence this package) stays instant
_EXPORTS = {
    "curate": "pipeline", "list_inputs": "pipeline", "video_id": "pipeline", "process_video": "video",
    "CurateConfig": "config", "ShotConfig": "config", "TranscodeConfig": "config", "FilterConfig": "config",
    "CaptionConfig": "config", "DedupConfig": "config", "OutputConfig": "config", "default_config": "config",
    "detect_shots": "shots", "find_cuts": "shots", "plan_clips": "shots", "FrameScorer": "shots",
    "ShotResult": "shots", "transcode_clip": "transcode", "ClipAnalyzer": "filters", "drop_reasons": "filters",
    "flow_magnitude": "filters", "quality_scores": "filters", "text_mask": "filters",
    "MetadataCaptioner": "captions", "VLMCaptioner": "captions", "NoCaptioner": "captions",
    "get_captioner": "captions", "caption_batches": "captions", "BuiltinEmbedder": "embed",
    "HFEmbedder": "embed", "get_embedder": "embed", "kmeans": "dedup", "semdedup": "dedup",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
