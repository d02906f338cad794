"""Fixtures for the curation tests: the shared test videos and a small input folder made from them."""

from __future__ import annotations

import json
import os
import shutil

import pytest

VIDEOS = os.path.normpath(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.pardir, "shared", "test-videos"))  # the shared test videos beside the repo


@pytest.fixture(scope="session")
def videos() -> str:
    if not os.path.isdir(VIDEOS):
        pytest.skip(f"shared test videos not present at {VIDEOS}")
    return VIDEOS


@pytest.fixture(scope="session")
def ground_truth(videos) -> dict:
    with open(os.path.join(videos, "ground_truth.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def input_dir(tmp_path_factory, videos) -> str:
    """Small real inputs (downscaled cuts of the test videos), a duplicate, and bad files.

    sintel.mp4      test_video_30s 9-16 s at 160 px: hard cuts at 11.9, 14.5, 14.8 s, a cut to black at 15.5 s
    robot.mp4       the HEVC robot clip (4 s, static camera), plus robot_copy.mp4 (same bytes: a duplicate)
    still.mp4       a still photo from the slideshow (no motion)
    bad/            empty.mp4 (0 bytes), notvideo.mp4 (text), truncated.mp4 (first 4 kB of a real file),
                    audio.mkv (an audio stream and no video)
    """
    from worldsmith.io import read_video, write_video

    d = tmp_path_factory.mktemp("curate_in")
    v = read_video(os.path.join(videos, "cosmos-curate/test_video_30s.mp4"), start_s=9.0, end_s=16.0, size=160)
    write_video(d / "sintel.mp4", v.frames, v.fps, quality=20)
    s = read_video(os.path.join(videos, "pyscenedetect/testvideo.mp4"), start_s=8.0, end_s=11.0, size=160)
    write_video(d / "still.mp4", s.frames, s.fps, quality=20)
    robot = os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4")
    shutil.copy(robot, d / "robot.mp4")
    shutil.copy(robot, d / "robot_copy.mp4")
    (d / "robot.txt").write_text("two robot arms hand a coffee cup to a woman\n")
    bad = d / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "notvideo.mp4").write_text("this is not a video\n")
    with open(os.path.join(videos, "cosmos-curate/test_clip_10s.mp4"), "rb") as f:
        (bad / "truncated.mp4").write_bytes(f.read(4096))
    _audio_only(str(bad / "audio.mkv"))
    return str(d)


def _audio_only(path: str) -> None:
    import av
    import numpy as np

    with av.open(path, "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray((np.sin(np.arange(8000) / 20) * 3000).astype(np.int16)[None],
                                           format="s16", layout="mono")
        frame.sample_rate = 8000
        c.mux(s.encode(frame))
        c.mux(s.encode(None))


def small_config(**over):
    """Settings for fast tests: 128 px clips, 1 s minimum clips, one worker."""
    from worldsmith.curate.config import CurateConfig
    from worldsmith.utils.config import merge

    base = {"transcode": {"size": 128, "preset": "ultrafast"}, "shots": {"min_clip_s": 1.0, "crop_s": 0.25},
            "output": {"split_fractions": [1.0, 0.0, 0.0], "shard_max_clips": 2}, "workers": 1}
    for k, v in over.items():
        base.setdefault(k, {}).update(v) if isinstance(v, dict) else base.__setitem__(k, v)
    return merge(CurateConfig(), base)


@pytest.fixture(scope="session")
def make_config():
    """`small_config` as a fixture (importlib mode: tests cannot import conftest)."""
    return small_config
