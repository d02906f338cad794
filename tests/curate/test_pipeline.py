"""The whole job on small real inputs: both engines, bad files, resume after a kill, the dataset."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from worldsmith.curate.pipeline import curate, video_id
from worldsmith.data import ClipDataset, dataset_info, read_manifest
from worldsmith.utils.errors import WorldsmithError


def _summary(out: str) -> list[tuple]:
    """What must not depend on the engine: each written clip's key, span, caption and scores."""
    rows = sorted(read_manifest(out), key=lambda r: r["key"])
    return [(r["key"], r["frames"], r["caption"], json.loads(r["meta_json"])["start_s"],
             json.dumps(json.loads(r["meta_json"])["scores"], sort_keys=True)) for r in rows]


@pytest.fixture(scope="module")
def local_run(input_dir, make_config, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cur") / "out")
    rep = curate(input_dir, out, make_config(workers=2))
    return out, rep


def test_local_engine_end_to_end(local_run, input_dir):
    out, rep = local_run
    st = rep["stages"]
    # 4 bad files recorded with their reason, 4 good videos processed
    assert st["input"]["videos"] == 8 and st["input"]["failed"] == 4
    reasons = {os.path.basename(f["video"]): f["reason"] for f in st["input"]["failures"]}
    assert set(reasons) == {"empty.mp4", "notvideo.mp4", "truncated.mp4", "audio.mkv"}
    assert all(name in reasons[name] for name in reasons)  # each reason names its file
    fails = [json.loads(ln) for ln in open(os.path.join(out, "failures.jsonl"))]
    assert len(fails) == 4
    rows = read_manifest(out)
    by_src = {}
    for r in rows:
        by_src.setdefault(os.path.basename(r["source"]), []).append(r)
    # the still photo fails the motion filter; one of the two identical robot clips is a duplicate
    assert "still.mp4" not in by_src and st["filters"]["dropped_by"].get("motion", 0) >= 1
    assert len(by_src.get("robot.mp4", [])) + len(by_src.get("robot_copy.mp4", [])) == 1
    assert st["dedup"]["duplicates"] >= 1
    # the Sintel cut is split at its hard cuts: clips stay inside one shot, the black frames are trimmed
    sintel = sorted(by_src["sintel.mp4"], key=lambda r: json.loads(r["meta_json"])["start_s"])
    spans = [(json.loads(r["meta_json"])["start_s"], json.loads(r["meta_json"])["end_s"]) for r in sintel]
    cuts = [2.917, 5.5, 5.833, 6.5]  # 286, 348, 356, 372 of the 30 s file, minus 9 s
    assert len(spans) >= 2 and all(not (a < c < b) for a, b in spans for c in cuts), spans
    # every score, the source file and time range are recorded for each clip
    meta = json.loads(rows[0]["meta_json"])
    assert {"motion", "sharpness", "brightness", "contrast", "noise", "text"} <= set(meta["scores"])
    assert meta["source"].startswith(input_dir) and meta["end_s"] > meta["start_s"]
    robot = (by_src.get("robot.mp4") or by_src["robot_copy.mp4"])[0]
    assert robot["caption"] == "two robot arms hand a coffee cup to a woman" or "robot" in robot["caption"]
    assert json.loads(robot["meta_json"])["captioner"] == "metadata"


def test_dataset_trains_and_report_is_readable(local_run):
    out, rep = local_run
    info = dataset_info(out)
    assert info["counts"]["train"] == rep["stages"]["output"]["clips_written"] >= 3
    item = next(iter(ClipDataset(out, num_frames=9, size=(64, 64), shuffle=False)))
    assert tuple(item["video"].shape) == (3, 9, 64, 64) and -1.0 <= float(item["video"].min())
    html = open(os.path.join(out, "report.html")).read()
    assert html.count("<svg") == 6 and "data:image/jpeg;base64," in html and "notvideo.mp4" in html
    saved = json.load(open(os.path.join(out, "report.json")))
    assert saved["stages"] == rep["stages"] and sum(saved["histograms"]["motion"]["counts"]) == \
        rep["stages"]["transcode"]["clips"]


def test_rerun_skips_finished_videos(local_run, input_dir, make_config):
    out, rep = local_run
    before = _summary(out)
    again = curate(input_dir, out, make_config(workers=2))
    assert again["videos_processed_this_run"] == 0 and _summary(out) == before


def test_new_thresholds_reuse_stored_scores(local_run, input_dir, make_config, tmp_path):
    out = str(tmp_path / "copy")
    shutil.copytree(local_run[0], out)
    rep = curate(input_dir, out, make_config(filters={"motion_min": None}))  # let static clips through
    assert rep["videos_processed_this_run"] == 0  # thresholds alone never re-process a video
    still = [r for r in read_manifest(out) if os.path.basename(r["source"]) == "still.mp4"]
    assert still and still[0]["caption"] == "still"  # captioned now, by the metadata captioner
    assert json.loads(still[0]["meta_json"])["captioner"] == "metadata"


_KILL_SCRIPT = """
import sys
from worldsmith.curate.pipeline import curate
sys.path.insert(0, {tests!r})
from conftest import small_config
curate({inp!r}, {out!r}, small_config())
"""


def test_resume_after_kill(input_dir, local_run, make_config, tmp_path):
    out = str(tmp_path / "out")
    code = _KILL_SCRIPT.format(tests=os.path.dirname(__file__), inp=input_dir, out=out)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "WORLDSMITH_NO_PROGRESS": "1"})
    # kill it (SIGKILL: no cleanup) once the first good video is finished
    first = os.path.join(out, "work", video_id(os.path.join(input_dir, "robot.mp4")), "result.json")
    deadline = time.time() + 120
    while not os.path.exists(first) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(first), "the job did not get far enough to be killed mid-way"
    mtime = os.path.getmtime(first)
    rep = curate(input_dir, out, make_config())
    assert os.path.getmtime(first) == mtime  # the finished video was not redone
    assert rep["videos_processed_this_run"] < 8
    assert _summary(out) == _summary(local_run[0])  # nothing lost, same result as one clean run


@pytest.mark.slow  # starting a local Ray instance takes ~30 s on a loaded 2-core machine
def test_ray_engine_matches_local(input_dir, local_run, make_config, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = str(tmp_path / "out")
        rep = curate(input_dir, out, make_config(), engine="ray")
    finally:
        ray.shutdown()
    assert rep["engine"] == "ray" and rep["stages"]["input"]["failed"] == 4
    assert _summary(out) == _summary(local_run[0])


def test_bad_arguments(tmp_path, input_dir, make_config):
    with pytest.raises(WorldsmithError, match="curate input not found"):
        curate(str(tmp_path / "nope"), str(tmp_path / "o"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorldsmithError, match="no videos found"):
        curate(str(tmp_path / "empty"), str(tmp_path / "o"))
    with pytest.raises(WorldsmithError, match="captions.model_path"):
        curate(input_dir, str(tmp_path / "o"), make_config(captions={"captioner": "vlm"}))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("x")
    with pytest.raises(WorldsmithError, match="not a clip dataset"):
        curate(input_dir, str(tmp_path / "full"), make_config())


def test_ray_missing_is_a_clear_error(monkeypatch, input_dir, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(WorldsmithError, match=r"--engine ray needs Ray: pip install"):
        curate(input_dir, str(tmp_path / "o"), engine="ray")


def test_cli(input_dir, tmp_path, capsys):
    from worldsmith.cli import main

    lst = tmp_path / "list.txt"
    lst.write_text(f"{os.path.join(input_dir, 'robot.mp4')}\n# a comment\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("transcode:\n  size: 96\n  preset: ultrafast\nworkers: 1\n")
    assert main(["curate", str(lst), "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 0
    assert "videos 1/1 ok" in capsys.readouterr().out
    assert read_manifest(tmp_path / "o")[0]["height"] == 96
    assert main(["curate", str(lst), "--out", str(tmp_path / "o2"), "--set", "shots.nope=1"]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err
