"""probe_video against ground_truth.json (no decoding) and on generated files."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

from worldsmith.io import VideoError, probe_video


def test_probe_matches_ground_truth(videos, ground_truth):
    for name, entry in ground_truth.items():
        facts = entry["facts"]
        info = probe_video(os.path.join(videos, name))
        assert info.codec == facts["codec"], name
        assert (info.width, info.height) == (facts["w"], facts["h"]), name
        assert info.num_frames == facts["decoded_frames"], name
        assert info.fps == pytest.approx(facts["avg_fps"], rel=1e-4), name
        # duration is the video stream's (the audio track of test_video.mp4 runs 71 ms longer)
        video_dur = facts["container_dur_s"] if not facts["audio_streams"] else facts["decoded_frames"] / facts["avg_fps"]
        assert info.duration == pytest.approx(video_dur, abs=2e-3), name
        assert info.start_time == pytest.approx(facts["first_pts_s"]), name
        assert info.pix_fmt == facts["pix"], name
        assert info.has_audio == (facts["audio_streams"] > 0), name
        assert info.rotation == facts["rotation"], name
        assert info.bit_rate and info.bit_rate > 0, name
        # only the file re-muxed with alternating 1001/2002 durations is variable-rate
        assert info.is_vfr == (facts["avg_fps"] != facts["base_fps"]), name


def test_probe_headers_only_agrees_on_cfr_and_vfr(videos):
    for name, vfr in [("pyscenedetect/counter.mp4", False), ("pyscenedetect/goldeneye-vfr-drop3.mp4", True)]:
        quick = probe_video(os.path.join(videos, name), scan=False)
        full = probe_video(os.path.join(videos, name))
        assert quick.is_vfr == full.is_vfr == vfr
        assert quick.num_frames == full.num_frames


def test_probe_reports_display_rotation(tmp_path):
    import av

    for angle in (90, 180, 270):
        p = str(tmp_path / f"rot{angle}.mp4")
        with av.open(p, "w") as c:
            s = c.add_stream("libx264", rate=10)
            s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
            s.set_display_rotation(angle)
            for i in range(3):
                c.mux(s.encode(av.VideoFrame.from_ndarray(np.full((32, 64, 3), 40 * i, np.uint8), format="rgb24")))
            c.mux(s.encode(None))
        with av.open(p) as c:  # what FFmpeg itself attaches to decoded frames
            ffmpeg_angle = next(c.decode(video=0)).rotation % 360
        assert probe_video(p).rotation == ffmpeg_angle == angle


def test_probe_detects_generated_vfr(tmp_path, synth):
    frames = synth.frames(12)
    pts = np.cumsum([0] + [40, 80] * 6)[:12].tolist()  # ms: alternating 25 and 12.5 fps
    p = synth.encode(str(tmp_path / "vfr.mp4"), frames, "libx264", bframes=0, pts=pts,
                     time_base=Fraction(1, 1000))
    info = probe_video(p)
    assert info.is_vfr and info.num_frames == 12
    # average rate = frames / duration, not the nominal rate
    assert info.fps == pytest.approx(12 / info.duration, rel=1e-6)
    cfr = synth.encode(str(tmp_path / "cfr.mp4"), frames, "libx264")
    assert not probe_video(cfr).is_vfr


def test_probe_error_names_file(tmp_path):
    with pytest.raises(VideoError, match="not found: .*nope.mp4"):
        probe_video(tmp_path / "nope.mp4")
