"""Clip datasets: the one on-disk format that simulation and curation write and trainers read.

See `format.py` for the layout. Public API:

- `ClipWriter(out_dir, ...)`: write clips (atomic, resumable shards, stable splits).
- `ClipDataset(root, ...)`: torch IterableDataset of training windows, rank/worker aware.
- `ClipLoader(dataset, batch_size=, num_workers=)`: endless batches with exact, decode-free
  resume (`state_dict()` / `load_state_dict()`, used by the trainer as the data position).
- `iter_clips(root, split=None)`, `read_manifest(root)`, `dataset_info(root)`.
- `split_for_key(key, fractions)`: the stable train/val/test split of a key.
- `import_cosmos(src, out)` / `export_cosmos(root, dst)`: the Cosmos post-training layout
  (`videos/*.mp4` + `metas/*.txt`).
- `bridge.import_bridge(src, out)`: robot videos with per-frame actions in the Cosmos/Bridge
  layout (`videos/` + `annotations/*.json`) -> clips with `actions` [T, A] (and `states`).
"""

from .format import FORMAT_VERSION, split_for_key
from .reader import dataset_info, iter_clips, read_manifest
from .writer import ClipWriter

# torch is imported only when the training reader is used, so `worldsmith --help` stays fast
_LAZY = {"ClipDataset": "dataset", "ClipLoader": "dataset", "slice_array": "dataset"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ClipWriter", "ClipDataset", "ClipLoader", "iter_clips", "read_manifest", "dataset_info",
    "split_for_key", "slice_array", "FORMAT_VERSION",
]
