"""ClipWriter: layout on disk, exact round trip, stable splits, resume after a kill, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest

from worldsmith.data import ClipWriter, dataset_info, iter_clips, read_manifest, split_for_key
from worldsmith.data.format import dump_array, load_array
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(__file__))
from clipdata_helpers import clip_frames, write_dataset  # noqa: E402


def test_split_is_stable_and_follows_fractions():
    keys = [f"k{i}" for i in range(4000)]
    splits = [split_for_key(k) for k in keys]
    assert splits == [split_for_key(k) for k in keys]  # deterministic
    frac = {s: splits.count(s) / len(keys) for s in ("train", "val", "test")}
    assert abs(frac["train"] - 0.9) < 0.02 and abs(frac["val"] - 0.05) < 0.015
    assert {split_for_key(k, (0.0, 1.0, 0.0)) for k in keys[:50]} == {"val"}
    # the blake2b mapping, not Python's salted hash(): a fixed key has a fixed split
    other = subprocess.run([sys.executable, "-c", "from worldsmith.data import split_for_key as s;"
                            "print(','.join(s(f'k{i}') for i in range(20)))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert other == ",".join(splits[:20])
    with pytest.raises(WorldsmithError, match="split_fractions"):
        split_for_key("a", (0.5, 0.2, 0.2))


def test_arrays_are_stored_compressed_and_round_trip():
    a = np.zeros((100, 64), np.float32)
    data = dump_array(a)
    assert len(data) < a.nbytes / 10  # compressed
    assert np.array_equal(load_array(data), a)
    import io

    buf = io.BytesIO()
    np.save(buf, np.arange(5))
    assert np.array_equal(load_array(buf.getvalue()), np.arange(5))  # plain .npy accepted too


def test_layout_and_exact_round_trip(tmp_path):
    root = tmp_path / "ds"
    frames = write_dataset(root, n=5, shard_max_clips=2)
    assert sorted(os.listdir(root / "shards")) == [f"shard-00000{i}.tar" for i in range(3)]
    with tarfile.open(root / "shards" / "shard-000000.tar") as tar:
        names = tar.getnames()
    assert names == ["clip-000.json", "clip-000.mp4", "clip-000.actions.npy", "clip-000.states.npy",
                     "clip-001.json", "clip-001.mp4", "clip-001.actions.npy", "clip-001.states.npy"]
    rows = read_manifest(root)
    assert [r["key"] for r in rows] == list(frames)
    r = rows[3]
    assert (r["frames"], r["height"], r["width"], r["fps"]) == (12, 16, 16, 8.0)
    assert r["duration"] == pytest.approx(1.5) and r["shard"] == "shard-000001.tar"
    assert r["split"] == split_for_key("clip-003") and json.loads(r["meta_json"]) == {"index": 3}
    assert r["arrays"] == ["actions", "states"]
    info = json.loads((root / "dataset.json").read_text())
    assert info["format_version"] == 1 and info["complete"] is True
    assert info["counts"]["total"] == 5 and info["stats"]["total_frames"] == 60
    assert info["info"] == {"test": True} and info["failures"] == []
    clips = list(iter_clips(root))
    assert [c["key"] for c in clips] == list(frames)
    for c in clips:  # lossless: bit-exact pixels and arrays
        assert np.array_equal(c["frames"], frames[c["key"]])
        assert c["arrays"]["states"].shape == (12, 3) and c["arrays"]["actions"].shape == (11, 2)
        assert c["caption"].startswith("a red ball") and c["source"] == "test"
    only = list(iter_clips(root, split="train"))
    assert {c["key"] for c in only} == {r["key"] for r in rows if r["split"] == "train"}


def test_resume_after_kill_redoes_only_the_open_shard(tmp_path):
    root = tmp_path / "ds"
    # a real process that writes 5 clips (2 per shard) and is killed before close()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from clipdata_helpers import clip_frames
        from worldsmith.data import ClipWriter
        w = ClipWriter({str(root)!r}, shard_max_clips=2, lossless=True)
        for i in range(5):
            w.add(f"clip-{{i:03d}}", video=clip_frames(i), fps=8)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert len(read_manifest(root)) == 4  # two finished shards; clip 4 was in the open one
    assert any(n.endswith(".tmp.tar") for n in os.listdir(root / "shards"))
    added = []
    with ClipWriter(root, shard_max_clips=2, lossless=True) as w:
        assert w.has("clip-003") and not w.has("clip-004")
        for i in range(6):
            if w.add(f"clip-{i:03d}", video=clip_frames(i), fps=8):
                added.append(i)
    assert added == [4, 5]
    assert not any(n.endswith(".tmp.tar") for n in os.listdir(root / "shards"))
    keys = [r["key"] for r in read_manifest(root)]
    assert keys == [f"clip-{i:03d}" for i in range(6)]
    assert [c["key"] for c in iter_clips(root)] == keys


def test_shard_renamed_but_not_in_manifest_is_recovered(tmp_path):
    root = tmp_path / "ds"
    write_dataset(root, n=4, shard_max_clips=2)
    os.remove(root / "manifest.parquet")  # killed between the shard rename and the manifest write
    with ClipWriter(root, shard_max_clips=2) as w:
        assert all(w.has(f"clip-{i:03d}") for i in range(4))
    assert len(read_manifest(root)) == 4


def test_failures_are_recorded_and_cleared_on_success(tmp_path):
    root = tmp_path / "ds"
    with ClipWriter(root) as w:
        assert not w.add("broken", mp4_bytes=b"not an mp4 at all", fps=10)
        assert not w.add("gray", video=np.zeros((4, 8, 8), np.uint8), fps=10)
        assert not w.add("float", video=np.zeros((4, 8, 8, 3), np.float32), fps=10)
        assert not w.add("bad.key", video=clip_frames(0), fps=10)
        assert not w.add("nofps", video=clip_frames(0), fps=0)
        assert w.add("good", video=clip_frames(1), fps=10)
    info = json.loads((root / "dataset.json").read_text())
    reasons = {f["key"]: f["reason"] for f in info["failures"]}
    assert set(reasons) == {"broken", "gray", "float", "bad.key", "nofps"}
    assert "uint8 [T, H, W, 3]" in reasons["gray"] and "fps" in reasons["nofps"]
    assert "bad.key" in reasons["bad.key"]
    lines = [json.loads(x) for x in (root / "failures.jsonl").read_text().splitlines()]
    assert {x["key"] for x in lines} == set(reasons)
    assert dataset_info(root)["num_failures"] == 5
    with ClipWriter(root) as w:  # a re-run that succeeds on one of them
        assert w.add("gray", video=clip_frames(2), fps=10)
    info = json.loads((root / "dataset.json").read_text())
    assert "gray" not in {f["key"] for f in info["failures"]} and info["counts"]["total"] == 2


def test_writer_rejects_bad_arguments(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorldsmithError, match="not a directory"):
        ClipWriter(tmp_path / "file")
    with pytest.raises(WorldsmithError, match="shard_max_clips"):
        ClipWriter(tmp_path / "a", shard_max_clips=0)
    write_dataset(tmp_path / "b", n=1)
    with pytest.raises(WorldsmithError, match="split_fractions"):
        ClipWriter(tmp_path / "b", split_fractions=(0.8, 0.1, 0.1))
    assert not (tmp_path / "b" / ".writer.lock").exists()  # a writer that failed to open holds no lock
    w = ClipWriter(tmp_path / "c")
    w.close()
    with pytest.raises(WorldsmithError, match="closed"):
        w.add("x", video=clip_frames(0), fps=8)


def test_one_writer_per_directory(tmp_path):
    root = tmp_path / "ds"
    write_dataset(root, n=1)
    assert not (root / ".writer.lock").exists()  # released by close()
    (root / ".writer.lock").write_text(f"{os.getppid()}\n")  # a live process holds it
    with pytest.raises(WorldsmithError, match="another ClipWriter"):
        ClipWriter(root)
    (root / ".writer.lock").write_text("999999999\n")  # a dead one (killed run): taken over
    with ClipWriter(root) as w:
        assert w.has("clip-000")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(WorldsmithError, match="not a clip dataset"):
        ClipWriter(tmp_path / "other")


def test_trusted_video_shape_skips_the_check_and_round_trips(tmp_path):
    from worldsmith.io import encode_video

    frames = clip_frames(3, t=5, h=16, w=24)
    mp4 = encode_video(frames, 10, lossless=True)
    with ClipWriter(tmp_path / "ds", lossless=True) as w:
        assert w.add("a", mp4_bytes=mp4, fps=10, video_shape=frames.shape[:3])
        assert not w.add("bad", mp4_bytes=mp4, fps=10, video_shape=(0, 16, 24))
    rows = read_manifest(tmp_path / "ds")
    assert [(r["key"], r["frames"], r["height"], r["width"]) for r in rows] == [("a", 5, 16, 24)]
    clip = next(iter_clips(tmp_path / "ds"))
    assert (clip["frames"] == frames).all()
