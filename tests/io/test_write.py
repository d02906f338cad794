"""Writing: lossless RGB round trip, lossy quality, atomic writes, GIF previews."""

from __future__ import annotations

import os

import numpy as np
import pytest

from worldsmith.io import (
    VideoError,
    VideoWriter,
    decode_video,
    encode_video,
    probe_video,
    read_video,
    read_visual,
    write_gif,
    write_video,
)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def test_lossless_is_bit_exact_in_memory_and_on_disk(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (6, 30, 46, 3), dtype=np.uint8)  # worst case, odd-free size
    odd = rng.integers(0, 256, (3, 17, 23, 3), dtype=np.uint8)    # odd sizes are fine in RGB
    for frames in (noise, odd):
        data = encode_video(frames, 10, lossless=True)
        assert np.array_equal(decode_video(data), frames)
    p = tmp_path / "gt.mp4"
    write_video(p, noise, 15, lossless=True)
    v = read_video(p)
    assert np.array_equal(v.frames, noise)
    assert np.allclose(v.timestamps, np.arange(6) / 15)
    info = probe_video(p)
    assert info.codec == "h264" and info.num_frames == 6 and info.fps == 15
    # random access into a lossless file is exact too
    assert np.array_equal(read_video(p, frame_indices=[4, 1]).frames, noise[[4, 1]])


def test_lossy_quality_setting(tmp_path, synth):
    frames = synth.frames(20, 96, 128)
    sizes, psnrs = [], []
    for q in (12, 28, 40):
        data = encode_video(frames, 25, quality=q)
        back = decode_video(data)
        assert back.shape == frames.shape
        sizes.append(len(data))
        psnrs.append(_psnr(back, frames))
    assert sizes[0] > sizes[1] > sizes[2]
    assert psnrs[0] > psnrs[1] > psnrs[2]
    assert psnrs[0] > 38  # CRF 12 on smooth content: near-transparent with BT.709 both ways
    p = tmp_path / "lossy.mp4"
    write_video(p, frames, 25)
    info = probe_video(p)
    assert (info.pix_fmt, info.width, info.height, info.num_frames) == ("yuv420p", 128, 96, 20)
    assert [synth.read(f) for f in read_video(p).frames] == list(range(20))


@pytest.mark.parametrize("fps,exact", [(30000 / 1001, 30000 / 1001), (29.97, 30000 / 1001), (23.976, 24000 / 1001),
                                       (12.5, 12.5), (7, 7)])
def test_fractional_fps(tmp_path, synth, fps, exact):
    """Rates are stored exactly; the rounded NTSC spellings mean the n*1000/1001 rates."""
    p = tmp_path / "rate.mp4"
    write_video(p, synth.frames(5), fps)
    assert probe_video(p).fps == pytest.approx(exact, rel=1e-9)
    assert np.allclose(read_video(p).timestamps, np.arange(5) / exact, atol=1e-9)


def test_write_rejects_bad_input_and_leaves_no_file(tmp_path, synth):
    p = tmp_path / "bad.mp4"
    with pytest.raises(VideoError, match="even frame size"):
        write_video(p, np.zeros((2, 17, 24, 3), np.uint8), 10)
    with pytest.raises(VideoError, match="uint8"):
        write_video(p, np.zeros((2, 16, 24, 3), np.float32), 10)
    with pytest.raises(VideoError, match="shape"):
        write_video(p, np.zeros((2, 16, 24, 5), np.uint8), 10)
    with pytest.raises(VideoError, match="fps"):
        write_video(p, np.zeros((2, 16, 24, 3), np.uint8), 0)
    with pytest.raises(VideoError, match="quality"):
        write_video(p, np.zeros((2, 16, 24, 3), np.uint8), 10, quality=99)
    with pytest.raises(RuntimeError):  # a failure mid-stream leaves neither output nor temp file
        with VideoWriter(p, 10) as w:
            w.write(synth.frames(3))
            raise RuntimeError("simulated crash")
    assert os.listdir(tmp_path) == []


def test_video_writer_streams_and_checks_size(tmp_path, synth):
    frames = synth.frames(12)
    p = tmp_path / "stream.mp4"
    with VideoWriter(p, 12, lossless=True) as w:
        for f in frames:
            w.write(f)
        with pytest.raises(VideoError, match="differs from the first frame"):
            w.write(np.zeros((10, 10, 3), np.uint8))
    assert np.array_equal(read_video(p).frames, frames)
    assert oct(os.stat(p).st_mode & 0o777) != oct(0o600)  # a normal file, not a private temp


def test_gif_preview(tmp_path, synth):
    frames = synth.frames(8, 48, 96)
    p = tmp_path / "preview.gif"
    write_gif(p, frames, fps=10)
    info = probe_video(p)
    assert info.codec == "gif" and info.num_frames == 8 and info.fps == pytest.approx(10)
    v = read_visual(p)  # an animated GIF is read as a video
    assert v.frames.shape == frames.shape
    assert [synth.read(f) for f in v.frames] == list(range(8))
    assert np.abs(v.frames.astype(int) - frames).mean() < 6  # adaptive palette keeps colours close


def test_variable_frame_rate_writing(tmp_path, synth):
    from fractions import Fraction

    frames = synth.frames(9)
    ts = np.array([0, 1, 3, 4, 6, 7, 9, 10, 12]) * 1001 / 24000  # every third frame dropped
    p = tmp_path / "vfr.mp4"
    with VideoWriter(p, 16, time_base=Fraction(1, 24000)) as w:
        w.write(frames[:4], timestamps=ts[:4])
        w.write(frames[4:], timestamps=ts[4:])
    v = read_video(p)
    assert np.allclose(v.timestamps, ts, atol=1e-9) and probe_video(p).is_vfr
    assert [synth.read(f) for f in v.frames] == list(range(9))
    with pytest.raises(VideoError, match="timestamps: must increase"):
        with VideoWriter(tmp_path / "bad.mp4", 16) as w:
            w.write(frames[:2], timestamps=[0.5, 0.5])
    with pytest.raises(VideoError, match="one per frame"):
        with VideoWriter(tmp_path / "bad.mp4", 16) as w:
            w.write(frames[:2], timestamps=[0.5])
    assert not (tmp_path / "bad.mp4").exists()


def test_container_follows_extension(tmp_path, synth):
    frames = synth.frames(6)
    for ext in ("mov", "mkv", "m4v"):
        p = tmp_path / f"clip.{ext}"
        write_video(p, frames, 12, lossless=True)
        assert np.array_equal(read_video(p).frames, frames)
        assert probe_video(p).num_frames == 6
    with pytest.raises(VideoError, match="unsupported output extension '.avi'"):
        write_video(tmp_path / "clip.avi", frames, 12)
    assert not (tmp_path / "clip.avi").exists()
    assert sorted(os.listdir(tmp_path)) == ["clip.m4v", "clip.mkv", "clip.mov"]


def test_read_image_16_bit(tmp_path):
    from PIL import Image

    from worldsmith.io import read_image

    depth = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 100)
    Image.fromarray(depth).save(tmp_path / "d16.png")
    img = read_image(tmp_path / "d16.png")
    assert img.shape == (1, 20, 30, 3)
    assert np.array_equal(img[0, ..., 0], (depth >> 8).astype(np.uint8))  # scaled, not clipped at 255
