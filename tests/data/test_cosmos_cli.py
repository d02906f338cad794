"""Cosmos import/export round trip and the `worldsmith data` commands."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from worldsmith.cli import main
from worldsmith.data import dataset_info, iter_clips, read_manifest
from worldsmith.data.cosmos import export_cosmos, import_cosmos
from worldsmith.io import probe_video, read_video, write_video
from worldsmith.utils.errors import WorldsmithError

sys.path.insert(0, os.path.dirname(__file__))
from clipdata_helpers import clip_frames  # noqa: E402

TEST_VIDEOS = os.path.normpath(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.pardir, "shared", "test-videos"))  # the shared test videos beside the repo


@pytest.fixture(scope="module")
def cosmos_dir(tmp_path_factory):
    """videos/*.mp4 + metas/*.txt: 3 good clips (one stem with a space, one without caption)
    and one truncated file."""
    src = tmp_path_factory.mktemp("cosmos") / "src"
    (src / "videos").mkdir(parents=True)
    (src / "metas").mkdir()
    stems = ["ball_00", "ball 01", "ball_02"]
    for i, stem in enumerate(stems):
        write_video(src / "videos" / f"{stem}.mp4", clip_frames(i, t=9, h=32, w=48), fps=12)
        if i < 2:
            (src / "metas" / f"{stem}.txt").write_text(f"  a ball bounces, take {i}\n")
    good = (src / "videos" / "ball_00.mp4").read_bytes()
    (src / "videos" / "broken.mp4").write_bytes(good[: len(good) // 2])
    (src / "metas" / "broken.txt").write_text("never imported")
    return src


def test_import_export_round_trip(tmp_path, cosmos_dir):
    out = tmp_path / "ds"
    res = import_cosmos(cosmos_dir, out, shard_max_clips=2)
    assert res == {"added": 3, "skipped": 0, "failed": 1, "missing_caption": 1}
    rows = {r["key"]: r for r in read_manifest(out)}
    assert set(rows) == {"ball_00", "ball_01", "ball_02"}  # "ball 01" sanitised
    assert rows["ball_00"]["caption"] == "a ball bounces, take 0" and rows["ball_02"]["caption"] == ""
    assert (rows["ball_01"]["frames"], rows["ball_01"]["height"], rows["ball_01"]["width"]) == (9, 32, 48)
    assert rows["ball_01"]["fps"] == pytest.approx(12.0)
    assert json.loads(rows["ball_01"]["meta_json"]) == {"cosmos_stem": "ball 01"}
    failures = json.loads((out / "dataset.json").read_text())["failures"]
    assert [f["key"] for f in failures] == ["broken"] and "broken.mp4" in failures[0]["reason"]
    for clip in iter_clips(out):  # stored unchanged: decodes to the same frames as the source
        stem = json.loads(rows[clip["key"]]["meta_json"])["cosmos_stem"]
        assert np.array_equal(clip["frames"], read_video(cosmos_dir / "videos" / f"{stem}.mp4").frames)
    # a re-run resumes (nothing added twice)
    assert import_cosmos(cosmos_dir, out, shard_max_clips=2)["skipped"] == 3
    assert len(read_manifest(out)) == 3

    dst = tmp_path / "export"
    assert export_cosmos(out, dst) == {"written": 3, "failed": 0}
    assert sorted(os.listdir(dst / "videos")) == ["ball 01.mp4", "ball_00.mp4", "ball_02.mp4"]
    for stem in ("ball_00", "ball 01", "ball_02"):
        assert (dst / "videos" / f"{stem}.mp4").read_bytes() == (cosmos_dir / "videos" / f"{stem}.mp4").read_bytes()
    assert (dst / "metas" / "ball 01.txt").read_text().strip() == "a ball bounces, take 1"
    # and the exported folder imports again into an equal dataset
    again = tmp_path / "again"
    assert import_cosmos(dst, again)["added"] == 3
    assert {r["key"]: r["caption"] for r in read_manifest(again)} == {k: r["caption"] for k, r in rows.items()}


@pytest.mark.skipif(not os.path.isdir(TEST_VIDEOS), reason="shared test videos not present")
def test_import_a_real_cosmos_transfer_example(tmp_path):
    src = tmp_path / "src"
    (src / "videos").mkdir(parents=True)
    (src / "metas").mkdir()
    os.symlink(f"{TEST_VIDEOS}/cosmos-transfer1/example1_input_video.mp4", src / "videos" / "example1.mp4")
    prompt = json.loads(open(f"{TEST_VIDEOS}/cosmos-transfer1/example1_prompt_short.json").read())["prompt"]
    (src / "metas" / "example1.json").write_text(json.dumps({"prompt": prompt}))  # Transfer1 json metas
    import_cosmos(src, tmp_path / "ds")
    (row,) = read_manifest(tmp_path / "ds")
    info = probe_video(src / "videos" / "example1.mp4")
    assert (row["frames"], row["width"], row["height"]) == (info.num_frames, info.width, info.height)
    assert row["fps"] == pytest.approx(info.fps) and row["caption"] == prompt


def test_import_export_bad_input(tmp_path, cosmos_dir):
    with pytest.raises(WorldsmithError, match="not found"):
        import_cosmos(tmp_path / "nope", tmp_path / "o")
    (tmp_path / "plain").mkdir()
    with pytest.raises(WorldsmithError, match="no videos/ folder"):
        import_cosmos(tmp_path / "plain", tmp_path / "o")
    with pytest.raises(WorldsmithError, match="not a clip dataset"):
        export_cosmos(tmp_path / "plain", tmp_path / "o")


def test_cli_info_preview_and_errors(tmp_path, dataset_dir, capsys):
    root, frames = dataset_dir
    assert main(["data", "info", str(root)]) == 0
    out = capsys.readouterr().out
    assert "clips     12  (train 12, val 0, test 0)  in 6 shards" in out
    assert "16x16 (12)" in out and "a red ball number 0 rolls to the left" in out
    assert main(["data", "info", str(root), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == json.loads(json.dumps(dataset_info(root))) and info["stats"]["total_frames"] == 144

    gif = tmp_path / "grid.gif"
    assert main(["data", "preview", str(root), "--out", str(gif), "--num", "4", "--frames", "6"]) == 0
    grid = read_video(gif).frames
    # 2x2 grid of 16 px clips upscaled to 160 px tiles, each with a caption strip below it
    assert grid.shape[0] == 6 and grid.shape[2] == 2 * 160 + 4
    strip = grid[0, 160:200, 0:160]  # under the first tile: white text on black
    assert (strip.max(axis=-1) > 200).mean() > 0.02 and (strip.max(axis=-1) < 50).mean() > 0.5
    mp4 = tmp_path / "grid.mp4"
    assert main(["data", "preview", str(root), "--out", str(mp4), "--num", "3", "--tile", "64"]) == 0
    assert probe_video(mp4).num_frames == 12

    capsys.readouterr()
    for argv, needle in [(["data", "info", str(tmp_path / "missing")], "not found"),
                         (["data", "info", str(tmp_path)], "not a clip dataset"),
                         (["data", "preview", str(root), "--out", str(tmp_path / "x.txt")], ".mp4 or .gif"),
                         (["data", "import-cosmos", str(tmp_path), "--out", str(tmp_path / "o")], "videos/")]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and err.startswith("worldsmith: error:")


def test_cli_import_and_export_cosmos(tmp_path, cosmos_dir, capsys):
    out, dst = tmp_path / "ds", tmp_path / "dst"
    assert main(["data", "import-cosmos", str(cosmos_dir), "--out", str(out), "--shard-max-clips", "1"]) == 0
    assert "3 added, 0 already present, 1 failed, 1 without caption" in capsys.readouterr().out
    assert sorted(os.listdir(out / "shards")) == [f"shard-00000{i}.tar" for i in range(3)]
    assert main(["data", "export-cosmos", str(out), "--out", str(dst), "--split", "train"]) == 0
    n_train = sum(r["split"] == "train" for r in read_manifest(out))
    assert f"{n_train} clips written, 0 failed" in capsys.readouterr().out
    assert len(os.listdir(dst / "videos")) == len(os.listdir(dst / "metas")) == n_train
