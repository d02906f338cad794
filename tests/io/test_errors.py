"""Bad input: missing, empty, truncated, corrupt or non-video files give one line naming the file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from worldsmith.cli import main
from worldsmith.io import (
    VideoError,
    decode_video,
    iter_frames,
    probe_video,
    read_image,
    read_video,
    read_visual,
    write_video,
)

READERS = {
    "probe_video": probe_video,
    "read_video": read_video,
    "read_video(frame_indices)": lambda p: read_video(p, frame_indices=[3]),
    "read_video(start_s)": lambda p: read_video(p, start_s=0.5),
    "iter_frames": lambda p: list(iter_frames(p)),
    "read_visual": read_visual,
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, videos, synth):
    d = tmp_path_factory.mktemp("bad")
    files = {"missing": str(d / "missing.mp4")}
    (d / "empty.mp4").write_bytes(b"")
    files["empty"] = str(d / "empty.mp4")
    os.mkdir(d / "folder.mp4")
    files["directory"] = str(d / "folder.mp4")
    (d / "notes.mp4").write_text("this is not a video\n" * 50)
    files["text"] = str(d / "notes.mp4")
    (d / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    files["random bytes"] = str(d / "noise.mp4")
    # counter.mp4 keeps its index (moov) at the end: cutting it loses the index
    with open(os.path.join(videos, "pyscenedetect/counter.mp4"), "rb") as f:
        data = f.read()
    (d / "cut_index.mp4").write_bytes(data[: len(data) // 2])
    files["truncated (index at end)"] = str(d / "cut_index.mp4")
    # our writer puts the index first (faststart): cutting it loses frames, not the index
    rng = np.random.default_rng(1)
    write_video(d / "whole.mp4", rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8), 10, quality=30)
    whole = (d / "whole.mp4").read_bytes()
    (d / "cut_frames.mp4").write_bytes(whole[: int(len(whole) * 0.6)])
    files["truncated (frames missing)"] = str(d / "cut_frames.mp4")
    # Matroska states no frame count, only a duration: a cut file still claims all of it
    mkv = synth.encode(str(d / "whole.mkv"), synth.frames(40), "libx264", gop=10)
    with open(mkv, "rb") as f:
        data = f.read()
    (d / "cut.mkv").write_bytes(data[: int(len(data) * 0.7)])
    files["truncated mkv (no frame count)"] = str(d / "cut.mkv")
    files["audio only"] = _audio_only(str(d / "tone.wav"))
    return files


def _audio_only(path: str) -> str:
    import av

    with av.open(path, "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


@pytest.mark.parametrize("reader", list(READERS))
def test_every_bad_file_gives_one_line_naming_it(bad_files, reader):
    fn = READERS[reader]
    for kind, path in bad_files.items():
        with pytest.raises(VideoError) as e:
            fn(path)
        msg = str(e.value)
        assert os.path.basename(path) in msg, (kind, msg)
        assert "\n" not in msg, (kind, msg)


def test_messages_say_what_is_wrong(bad_files):
    expect = {"missing": "not found", "empty": "empty", "directory": "directory",
              "truncated (frames missing)": "truncated", "truncated (index at end)": "truncated",
              "truncated mkv (no frame count)": "truncated",
              "text": "not a video", "audio only": "no video stream"}
    for kind, words in expect.items():
        with pytest.raises(VideoError, match=words):
            probe_video(bad_files[kind])


def test_decode_video_bytes_errors(bad_files):
    with pytest.raises(VideoError, match="shard/clip.mp4: empty"):
        decode_video(b"", name="shard/clip.mp4")
    with pytest.raises(VideoError, match="shard/clip.mp4: cannot open"):
        decode_video(b"not a video at all", name="shard/clip.mp4")
    with open(bad_files["truncated (frames missing)"], "rb") as f:
        cut = f.read()
    with pytest.raises(VideoError, match="truncated"):
        decode_video(cut, name="shard/clip.mp4")


def test_bad_arguments_name_the_argument(videos):
    path = os.path.join(videos, "pyscenedetect/counter.mp4")
    with pytest.raises(VideoError, match="frame_indices: 30 is out of range"):
        read_video(path, frame_indices=[30])
    with pytest.raises(VideoError, match="frame_indices: cannot be combined"):
        read_video(path, frame_indices=[1], start_s=0.2)
    with pytest.raises(VideoError, match="end_s"):
        read_video(path, start_s=2, end_s=1)
    with pytest.raises(VideoError, match="fps"):
        read_video(path, fps=0)
    with pytest.raises(VideoError, match="no frames in the requested range"):
        read_video(path, start_s=5.0)
    with pytest.raises(VideoError, match="crop"):
        read_video(path, frame_indices=[0], crop=(1000, 1900, 200, 200))
    with pytest.raises(VideoError, match="size"):
        read_video(path, frame_indices=[0], size=(0, 10))


def test_read_image_errors(bad_files, tmp_path):
    with pytest.raises(VideoError, match="image not found"):
        read_image(bad_files["missing"])
    with pytest.raises(VideoError, match="not an image"):
        read_image(bad_files["text"])
    from PIL import Image

    Image.fromarray(np.zeros((40, 40, 3), np.uint8) + 100).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.png"):
        read_image(tmp_path / "cut.png")


def test_cli_prints_one_line_and_exits_2(bad_files, capsys):
    for kind in ("missing", "truncated (frames missing)", "text"):
        assert main(["video", "probe", bad_files[kind]]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("worldsmith: error:") and "\n" not in err
        assert os.path.basename(bad_files[kind]) in err


def test_complete_vfr_mkv_with_a_pause_is_not_called_truncated(tmp_path, synth):
    """Screen recordings hold frames for seconds; only missing frames count as truncation."""
    from fractions import Fraction

    pts = [0, 40, 80, 120, 160, 2160, 2200, 2240]  # ms: a 2 s pause before the last three
    path = synth.encode(str(tmp_path / "pause.mkv"), synth.frames(8), "libx264", bframes=0, pts=pts,
                        time_base=Fraction(1, 1000))
    info = probe_video(path)
    assert info.num_frames == 8 and info.is_vfr
    v = read_video(path)
    assert np.allclose(v.timestamps, np.array(pts) / 1000)
    with open(path, "rb") as f:
        data = f.read()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mkv"):
        read_video(tmp_path / "cut.mkv")
