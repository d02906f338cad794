"""ClipDataset: exact windows and arrays, resizing, seeded order, ranks x workers, bad clips."""

from __future__ import annotations

import io
import itertools
import logging
import os
import shutil
import sys
import tarfile

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from worldsmith.data import ClipDataset, dataset_info, iter_clips, read_manifest
from worldsmith.data.dataset import WORKER_START_METHOD
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(__file__))
from clipdata_helpers import write_dataset  # noqa: E402


def _pixels(video: torch.Tensor) -> np.ndarray:
    """float [C, T, H, W] in [-1, 1] -> uint8 values [C, T, H, W]."""
    return ((video + 1) * 127.5).round().to(torch.int64).numpy()


def test_items_hold_the_sampled_frames_and_arrays(dataset_dir):
    root, frames = dataset_dir
    ds = ClipDataset(root, num_frames=4, stride=3, shuffle=True, seed=1, arrays=("actions", "states", "depth"))
    items = list(ds)
    assert sorted(it["key"] for it in items) == sorted(frames)
    for it in items:
        i, start = int(it["key"].split("-")[1]), it["start"]
        assert it["video"].dtype == torch.float32 and it["video"].shape == (3, 4, 16, 16)
        assert it["video"].is_contiguous()
        assert -1 <= it["video"].min() and it["video"].max() <= 1
        idx = start + 3 * np.arange(4)
        # channel 0 of frame j of clip i is 10*j + i (lossless), so the window is exact
        assert np.array_equal(_pixels(it["video"])[0, :, 0, 0], 10 * idx + i)
        assert np.array_equal(_pixels(it["video"]), np.transpose(frames[it["key"]][idx], (3, 0, 1, 2)))
        assert torch.equal(it["states"][:, 0], torch.tensor(idx, dtype=torch.float32))  # per frame
        # per-transition actions, grouped per sampled step: [3, stride * 2]
        assert it["actions"].shape == (3, 6)
        assert torch.equal(it["actions"][:, ::2].flatten(), torch.arange(idx[0], idx[-1], dtype=torch.float32))
        assert it["fps"] == pytest.approx(8 / 3) and it["caption"].endswith(f"number {i} rolls to the left")
        assert "depth" not in it  # requested but absent from the dataset: left out
    starts = {it["start"] for it in items}
    assert len(starts) > 1 and max(starts) <= 12 - 10  # random windows that fit


def test_resize_and_batching(dataset_dir):
    root, _ = dataset_dir
    ds = ClipDataset(root, num_frames=5, size=(8, 12), shuffle=False, arrays=("actions",))
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["video"].shape == (4, 3, 5, 8, 12)
    assert batch["actions"].shape == (4, 4, 2) and len(batch["caption"]) == 4
    assert batch["start"].tolist() == [0, 0, 0, 0]  # no shuffle: windows start at frame 0
    sq = next(iter(ClipDataset(root, num_frames=2, size=10, shuffle=False)))
    assert sq["video"].shape == (3, 2, 10, 10)


def test_same_seed_same_order_and_epochs_differ(dataset_dir):
    root, _ = dataset_dir

    def run(seed, epoch=0):
        ds = ClipDataset(root, num_frames=2, seed=seed, shuffle_buffer=4)
        ds.set_epoch(epoch)
        return [(it["key"], it["start"]) for it in ds]

    a = run(0)
    assert a == run(0)
    assert a != run(1) and a != run(0, epoch=1)
    assert sorted(k for k, _ in run(0, epoch=1)) == sorted(k for k, _ in a)
    looped = [it["key"] for it in itertools.islice(iter(ClipDataset(root, num_frames=2, loop=True)), 30)]
    assert len(looped) == 30 and len(set(looped)) == 12


@pytest.mark.parametrize("shard_max_clips", [2, 8])  # 6 shards >= 4 readers; 2 shards < 4 readers
def test_two_ranks_two_workers_are_disjoint_and_cover_the_split(tmp_path, shard_max_clips):
    root = tmp_path / "ds"
    frames = write_dataset(root, n=12, t=4, h=8, w=8, shard_max_clips=shard_max_clips,
                           split_fractions=(1.0, 0.0, 0.0))

    def keys_of_rank(rank):
        ds = ClipDataset(root, num_frames=2, seed=3, rank=rank, world_size=2)
        return [it["key"] for it in DataLoader(ds, batch_size=None, num_workers=2,
                                               multiprocessing_context=WORKER_START_METHOD)]

    r0, r1 = keys_of_rank(0), keys_of_rank(1)
    assert r0 and r1 and not set(r0) & set(r1)
    assert sorted(r0 + r1) == sorted(frames)  # no clip twice, none missing
    assert r0 == keys_of_rank(0)  # same seed: same order through the workers


def test_bad_arguments_and_inputs(tmp_path, dataset_dir):
    root, _ = dataset_dir
    with pytest.raises(WorldsmithError, match="not found"):
        ClipDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorldsmithError, match="not a clip dataset"):
        ClipDataset(tmp_path / "empty")
    with pytest.raises(WorldsmithError, match="split='dev'"):
        ClipDataset(root, split="dev")
    with pytest.raises(WorldsmithError, match="split 'val' has no clips"):
        ClipDataset(root, split="val")
    with pytest.raises(WorldsmithError, match="need"):
        ClipDataset(root, num_frames=13)
    with pytest.raises(WorldsmithError, match="size"):
        ClipDataset(root, size=(0, 4))
    with pytest.raises(WorldsmithError, match="rank"):
        ClipDataset(root, rank=2, world_size=2)
    bad = tmp_path / "badmanifest"
    shutil.copytree(root, bad)
    (bad / "manifest.parquet").write_bytes(b"garbage")
    with pytest.raises(WorldsmithError, match="manifest.parquet"):
        read_manifest(bad)
    shutil.copy(root / "manifest.parquet", bad / "manifest.parquet")
    (bad / "dataset.json").write_text("{not json")
    with pytest.raises(WorldsmithError, match="dataset.json"):
        dataset_info(bad)


def _replace_member(shard: str, name: str, data: bytes) -> None:
    with tarfile.open(shard) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(shard, "w") as tar:
        for m, d in members:
            d = data if m.name == name else d
            m.size = len(d)
            tar.addfile(m, io.BytesIO(d))


def test_corrupt_clip_and_truncated_shard_are_skipped_with_a_warning(tmp_path, dataset_dir, caplog):
    root, frames = dataset_dir
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    _replace_member(str(bad / "shards" / "shard-000000.tar"), "clip-001.mp4", b"\x00" * 500)
    _replace_member(str(bad / "shards" / "shard-000001.tar"), "clip-002.actions.npy", b"broken")
    shard2 = bad / "shards" / "shard-000002.tar"
    with tarfile.open(shard2) as tar:
        cut = tar.getmember("clip-005.mp4").offset_data + 100
    shard2.write_bytes(shard2.read_bytes()[:cut])  # truncated inside clip-005's video
    os.remove(bad / "shards" / "shard-000003.tar")
    shard4 = bad / "shards" / "shard-000004.tar"
    with tarfile.open(shard4) as tar:
        cut = tar.getmember("clip-009.json").offset  # a cut exactly between two clips
    shard4.write_bytes(shard4.read_bytes()[:cut])
    with caplog.at_level(logging.WARNING, logger="worldsmith.data"):
        keys = [it["key"] for it in ClipDataset(bad, num_frames=2, shuffle=False)]
        raw = [c["key"] for c in iter_clips(bad)]
    lost = {"clip-001", "clip-002", "clip-005", "clip-006", "clip-007", "clip-009"}
    assert sorted(keys) == sorted(set(frames) - lost)
    assert sorted(raw) == sorted(keys)
    text = caplog.text
    assert "clip-001" in text and "shard-000000.tar" in text
    assert "clip-002" in text and "shard-000002.tar" in text and "shard-000003.tar" in text
    assert "shard-000004.tar lacks 1 clip(s) the manifest lists: clip-009" in text


_DIST_SCRIPT = """
import json, os, sys
import torch.distributed as dist
from torch.utils.data import DataLoader
from worldsmith.data import ClipDataset

from worldsmith.data.dataset import WORKER_START_METHOD

if __name__ == "__main__":  # spawned loader workers import this file again
    dist.init_process_group("gloo")
    ds = ClipDataset(sys.argv[1], num_frames=2, seed=5)  # rank/world_size from torch.distributed
    assert ds.rank_world() == (dist.get_rank(), 2)
    keys = [it["key"] for it in DataLoader(ds, batch_size=None, num_workers=2,
                                           multiprocessing_context=WORKER_START_METHOD)]
    with open(os.path.join(sys.argv[2], f"rank{dist.get_rank()}.json"), "w") as f:
        json.dump(keys, f)
    dist.barrier()
    dist.destroy_process_group()
"""


@pytest.mark.slow  # ~17 s: starts torchrun with 2 processes x 2 loader workers
def test_torchrun_two_ranks_take_rank_from_torch_distributed(tmp_path, dataset_dir):
    import json
    import subprocess

    root, frames = dataset_dir
    script = tmp_path / "dist_read.py"
    script.write_text(_DIST_SCRIPT)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(script), str(root), str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0 and r1 and sorted(r0 + r1) == sorted(frames)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_clip_loader_resumes_exactly(dataset_dir, num_workers):
    from worldsmith.data import ClipLoader

    root, _ = dataset_dir

    def loader():
        ds = ClipDataset(root, num_frames=3, seed=7, shuffle_buffer=4, loop=True)
        return ClipLoader(ds, batch_size=5, num_workers=num_workers)

    def sig(batch):
        return list(zip(batch["key"], batch["start"].tolist())), batch["video"]

    full = loader()
    seen = [sig(next(full)) for _ in range(9)]  # 45 items: the stream crosses 3 epochs
    state = None
    part = loader()
    for _ in range(4):
        next(part)
    state = part.state_dict()
    resumed = loader()
    resumed.load_state_dict(state)
    for want in seen[4:]:
        got = sig(next(resumed))
        assert got[0] == want[0] and torch.equal(got[1], want[1])
    assert resumed.state_dict()["batches"] == 9
    with pytest.raises(WorldsmithError, match="batch_size"):
        ClipLoader(ClipDataset(root, loop=True, num_frames=3), batch_size=4).load_state_dict(state)
    with pytest.raises(WorldsmithError, match="loop=True"):
        ClipLoader(ClipDataset(root, num_frames=3), batch_size=4)


def test_decoded_cache_gives_the_same_items_without_decoding_again(dataset_dir, monkeypatch):
    from worldsmith.data import dataset as dsmod

    root, _ = dataset_dir
    calls = []
    real = dsmod.decode_clip
    monkeypatch.setattr(dsmod, "decode_clip", lambda *a, **k: calls.append(a[0]) or real(*a, **k))

    def items(mb):
        calls.clear()
        ds = ClipDataset(root, num_frames=3, seed=0, loop=True, decoded_cache_mb=mb)
        got = [(it["key"], it["start"], _pixels(it["video"])) for it in itertools.islice(iter(ds), 36)]
        return got, list(calls), ds

    plain, plain_calls, _ = items(0)
    cached, cached_calls, ds = items(64)
    assert len(plain_calls) == 36 and len(cached_calls) == 12  # 3 epochs of 12 clips: decoded once each
    assert [(k, s) for k, s, _ in plain] == [(k, s) for k, s, _ in cached]
    assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(plain, cached))
    assert len(ds._decoded) == 12
    # a budget smaller than one clip caches nothing; a bad budget is one clear error
    _, tiny_calls, tiny = items(1e-6)
    assert len(tiny_calls) == 36 and not tiny._decoded
    with pytest.raises(WorldsmithError, match="decoded_cache_mb"):
        ClipDataset(root, num_frames=3, decoded_cache_mb=-1)
