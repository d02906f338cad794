"""Bridge-style robot data (videos/ + annotations/*.json with actions) -> clip dataset."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from worldsmith.cli import main
from worldsmith.data import ClipDataset, iter_clips, read_manifest
from worldsmith.data.bridge import import_bridge
from worldsmith.data.reader import iter_shard_clips
from worldsmith.io import write_video
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(__file__))
from clipdata_helpers import clip_frames

T = 9
ALL_TRAIN = (1.0, 0.0, 0.0)


def _actions(i: int, n: int) -> list[list[float]]:
    """n rows of dim 7: row t = [t, i, 0.5, ...] so a window tells which transitions it holds."""
    return [[float(t), float(i)] + [0.5] * 5 for t in range(n)]


@pytest.fixture(scope="module")
def bridge_dir(tmp_path_factory):
    """3 videos (9 frames, 32x32, lossless so pixels tell the frame index) and annotations:
    two good (8 and 9 action rows), 7 rows for 9 frames, invalid JSON, no video, ragged
    actions, no action field, and a truncated video."""
    src = tmp_path_factory.mktemp("bridge") / "src"
    (src / "videos" / "train").mkdir(parents=True)
    (src / "annotations" / "train").mkdir(parents=True)
    for i in range(3):
        write_video(src / "videos" / "train" / f"{i}.mp4", clip_frames(i, t=T, h=32, w=32), fps=5, lossless=True)
    good = (src / "videos" / "train" / "0.mp4").read_bytes()
    (src / "videos" / "trunc.mp4").write_bytes(good[: len(good) // 2])

    def ann(name, **fields):
        (src / "annotations" / name).write_text(json.dumps(fields))

    # 0: T-1 actions, matched by stem (videos/train/0.mp4), IRASim-style texts/state/gripper
    ann("train/0.json", action=_actions(0, T - 1), texts=["pick up the cup", "other"],
        state=[[float(t)] * 6 for t in range(T)], continuous_gripper_state=[t % 2 for t in range(T)])
    # 1: T actions, video referenced relative to DIR
    ann("train/1.json", action=_actions(1, T), caption=" push the block ",
        videos=[{"video_path": "videos/train/1.mp4"}])
    # bad ones
    ann("short.json", action=_actions(2, T - 2), video_path="../videos/train/2.mp4")  # relative to the file
    (src / "annotations" / "broken.json").write_text('{"action": [[0.0, 1.0')
    ann("ghost.json", action=_actions(3, T - 1))
    ann("ragged.json", action=[[0.0] * 7] * 7 + [[0.0] * 6], video="videos/train/0.mp4")
    ann("strings.json", action=[["a"] * 7] * 8, video="videos/train/0.mp4")
    ann("noaction.json", actions=_actions(0, T - 1), video="videos/train/0.mp4")
    ann("trunc.json", action=_actions(0, T - 1), video="videos/trunc.mp4")
    return src


EXPECTED_FAILURES = {
    "short": "7 actions for 9 frames", "broken": "invalid JSON", "ghost": "video not found",
    "ragged": "ragged", "strings": "non-numeric", "noaction": "no 'action' field", "trunc": "trunc.mp4",
}


def test_import_bridge(tmp_path, bridge_dir):
    out = tmp_path / "ds"
    res = import_bridge(bridge_dir, out, shard_max_clips=1, split_fractions=ALL_TRAIN)
    assert (res["added"], res["skipped"], res["failed"]) == (2, 0, len(EXPECTED_FAILURES))
    reasons = {f["key"]: f["reason"] for f in res["failures"]}
    recorded = {f["key"]: f["reason"] for f in map(json.loads, (out / "failures.jsonl").read_text().splitlines())}
    assert recorded == reasons and set(reasons) == set(EXPECTED_FAILURES)
    for key, needle in EXPECTED_FAILURES.items():
        assert needle in reasons[key], (key, reasons[key])
    assert reasons["short"].startswith("annotations/short.json: ")

    rows = {r["key"]: r for r in read_manifest(out)}
    assert set(rows) == {"train_0", "train_1"}
    assert rows["train_0"]["caption"] == "pick up the cup" and rows["train_1"]["caption"] == "push the block"
    assert rows["train_0"]["source"] == "bridge" and rows["train_0"]["frames"] == T
    assert json.loads(rows["train_0"]["meta_json"]) == {
        "bridge_annotation": "annotations/train/0.json", "bridge_video": "videos/train/0.mp4",
        "action_dim": 7, "state_dim": 7}
    assert rows["train_1"]["arrays"] == ["actions"]
    clips = {c["key"]: c for c in iter_clips(out)}
    a0 = clips["train_0"]["arrays"]["actions"]
    assert a0.dtype == np.float32 and a0.shape == (T, 7)
    assert np.array_equal(a0[:-1], np.array(_actions(0, T - 1), np.float32)) and not a0[-1].any()
    assert np.array_equal(clips["train_1"]["arrays"]["actions"], np.array(_actions(1, T), np.float32))
    s0 = clips["train_0"]["arrays"]["states"]
    assert s0.shape == (T, 7) and np.array_equal(s0[:, 0], np.arange(T)) and np.array_equal(s0[:, 6], np.arange(T) % 2)
    assert np.array_equal(clips["train_1"]["frames"], clip_frames(1, t=T, h=32, w=32))
    # MP4 bytes stored unchanged
    shard = out / "shards" / rows["train_1"]["shard"]
    (raw,) = iter_shard_clips(str(shard), {"train_1"}, decode=False)
    assert raw["members"]["mp4"] == (bridge_dir / "videos" / "train" / "1.mp4").read_bytes()

    # re-running writes nothing new
    shards = sorted(os.listdir(out / "shards"))
    again = import_bridge(bridge_dir, out, shard_max_clips=1, split_fractions=ALL_TRAIN)
    assert (again["added"], again["skipped"], again["failed"]) == (0, 2, len(EXPECTED_FAILURES))
    assert sorted(os.listdir(out / "shards")) == shards and len(read_manifest(out)) == 2

    # the training reader gives actions aligned with frames: frame j of clip i has red 10*j + i
    ds = ClipDataset(out, split="train", num_frames=T, arrays=("actions",), shuffle=False)  # whole clips
    items = list(ds)
    assert len(items) == 2
    for item in items:
        i = int(item["key"].split("_")[1])
        red = np.rint((item["video"][0, :, 0, 0].numpy() + 1) * 127.5)  # [T] first pixel per frame
        frame_idx = (red - i) / 10
        assert np.array_equal(frame_idx, np.arange(T))
        acts = item["actions"].numpy()  # [T, 7]: the action leaving each frame
        assert acts.shape == (T, 7) and np.array_equal(acts[:-1, 0], frame_idx[:-1])
        assert acts[-1, 0] == (0 if i == 0 else T - 1)  # clip 0 got T - 1 actions: zero last row


def test_bad_input(tmp_path, bridge_dir):
    with pytest.raises(WorldsmithError, match="not found"):
        import_bridge(tmp_path / "nope", tmp_path / "o")
    (tmp_path / "plain" / "videos").mkdir(parents=True)
    with pytest.raises(WorldsmithError, match="no annotations/ folder") as e:
        import_bridge(tmp_path / "plain", tmp_path / "o")
    assert str(tmp_path / "plain") in str(e.value) and len(str(e.value).splitlines()) == 1
    (tmp_path / "plain" / "annotation").mkdir()  # the singular name is accepted too
    with pytest.raises(WorldsmithError, match="no .json annotation files"):
        import_bridge(tmp_path / "plain", tmp_path / "o")
    with pytest.raises(WorldsmithError, match="action_key"):
        import_bridge(bridge_dir, tmp_path / "o", action_key="")


def test_cli_import_bridge(tmp_path, bridge_dir, capsys):
    out = tmp_path / "ds"
    assert main(["data", "import-bridge", str(bridge_dir), "--out", str(out), "--shard-max-clips", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    assert f"2 added, 0 already present, {len(EXPECTED_FAILURES)} failed" in line and "failures.jsonl" in line
    assert len(os.listdir(out / "shards")) == 2
    # another action field: only the annotation that has it imports
    other = tmp_path / "other"
    assert main(["data", "import-bridge", str(bridge_dir), "--out", str(other), "--action-key", "actions"]) == 0
    assert "1 added" in capsys.readouterr().out
    assert [json.loads(r["meta_json"])["bridge_annotation"] for r in read_manifest(other)] == ["annotations/noaction.json"]

    missing = tmp_path / "empty"
    missing.mkdir()
    assert main(["data", "import-bridge", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("worldsmith: error:")
    assert str(missing) in err and "annotations/" in err
