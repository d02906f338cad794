"""`worldsmith video probe|convert` run in-process through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from worldsmith.cli import main
from worldsmith.io import probe_video, read_video, write_video


def test_probe_json_matches_ground_truth(videos, ground_truth, capsys):
    name = "pyscenedetect/goldeneye-vfr-drop3.mp4"
    assert main(["video", "probe", os.path.join(videos, name), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    facts = ground_truth[name]["facts"]
    assert info["num_frames"] == facts["decoded_frames"] and info["is_vfr"] is True
    assert (info["width"], info["height"], info["codec"]) == (facts["w"], facts["h"], facts["codec"])
    assert info["fps"] == pytest.approx(facts["avg_fps"], rel=1e-4)


def test_probe_table(videos, capsys):
    assert main(["video", "probe", os.path.join(videos, "pyscenedetect/fades.mp4")]) == 0
    out = capsys.readouterr().out
    assert "codec: mpeg4" in out and "num_frames: 250" in out


def test_convert_mp4_resize_resample(videos, tmp_path, capsys):
    src = os.path.join(videos, "cosmos-curate/test_clip_10s.mp4")  # 854x480, 24 fps, 240 frames
    out = tmp_path / "small.mp4"
    assert main(["video", "convert", src, str(out), "--fps", "8", "--size", "160x90", "--quality", "28",
                 "--start", "1", "--end", "4"]) == 0
    assert "24 frames" in capsys.readouterr().out
    info = probe_video(out)
    assert (info.width, info.height, info.num_frames, info.fps) == (160, 90, 24, 8)
    assert info.codec == "h264" and info.pix_fmt == "yuv420p"
    # content: frame k of the output is source frame 24 + 3k (nearest on the 8 fps grid)
    ref = read_video(src, frame_indices=[24, 27, 93], size=(90, 160)).frames.astype(float)
    got = read_video(out, frame_indices=[0, 1, 23]).frames.astype(float)
    assert np.abs(got - ref).mean() < 6


def test_convert_lossless_and_gif(tmp_path, synth, capsys):
    frames = synth.frames(10)
    src = synth.encode(str(tmp_path / "src.mp4"), frames, "libx264")
    decoded = read_video(src).frames
    assert main(["video", "convert", src, str(tmp_path / "copy.mp4"), "--lossless"]) == 0
    assert np.array_equal(read_video(tmp_path / "copy.mp4").frames, decoded)  # no generation loss
    assert main(["video", "convert", src, str(tmp_path / "prev.gif"), "--size", "32"]) == 0
    gif = read_video(tmp_path / "prev.gif")
    assert gif.frames.shape == (10, 32, 64, 3)
    assert [synth.read(f) for f in gif.frames] == list(range(10))
    capsys.readouterr()


def test_convert_errors(videos, tmp_path, capsys):
    src = os.path.join(videos, "pyscenedetect/counter.mp4")
    assert main(["video", "convert", src, str(tmp_path / "x.avi")]) == 2
    assert ".mp4 or .gif" in capsys.readouterr().err
    assert main(["video", "convert", src, str(tmp_path / "x.mp4"), "--size", "wide"]) == 2
    assert "--size" in capsys.readouterr().err
    assert main(["video", "convert", str(tmp_path / "none.mp4"), str(tmp_path / "x.mp4")]) == 2
    assert "none.mp4" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()


def test_console_script_help():
    exe = os.path.join(os.path.dirname(sys.executable), "worldsmith")
    r = subprocess.run([exe, "video", "convert", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--lossless" in r.stdout and "--quality" in r.stdout


def test_convert_keeps_variable_frame_rate(videos, tmp_path, capsys):
    src = os.path.join(videos, "pyscenedetect/goldeneye-vfr-drop3.mp4")
    out = tmp_path / "vfr.mp4"
    assert main(["video", "convert", src, str(out), "--size", "64", "--quality", "30"]) == 0
    capsys.readouterr()
    a = read_video(src, end_s=2.0, size=(64, 150))
    b = read_video(out, end_s=2.0)
    assert probe_video(out).is_vfr and probe_video(out).num_frames == 160
    assert np.array_equal(a.timestamps, b.timestamps) and b.frames.shape[1:3] == (64, 150)


def test_convert_odd_size_and_rotated_sources(tmp_path, synth, capsys):
    import av

    odd = np.ascontiguousarray(synth.frames(5, 34, 66)[:, :33, :65])  # 33x65: yuv420p cannot hold it
    src = tmp_path / "odd.mp4"
    write_video(src, odd, 10, lossless=True)
    assert main(["video", "convert", str(src), str(tmp_path / "even.mp4"), "--quality", "10"]) == 0
    even = read_video(tmp_path / "even.mp4")
    assert even.frames.shape == (5, 32, 64, 3)  # last row and column dropped, nothing rescaled
    assert np.abs(even.frames.astype(int) - odd[:, :32, :64]).mean() < 4

    rot = str(tmp_path / "phone.mp4")  # coded landscape, displayed portrait
    with av.open(rot, "w") as c:
        s = c.add_stream("libx264rgb", rate=10)
        s.width, s.height, s.pix_fmt, s.options = 64, 32, "rgb24", {"qp": "0"}
        s.set_display_rotation(90)
        for f in synth.frames(3, 32, 64):
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode(None))
    assert main(["video", "convert", rot, str(tmp_path / "upright.mp4"), "--lossless"]) == 0
    up = read_video(tmp_path / "upright.mp4")
    assert np.array_equal(up.frames, read_video(rot, autorotate=True).frames)
    assert probe_video(tmp_path / "upright.mp4").rotation is None
    capsys.readouterr()
