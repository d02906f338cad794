"""Images as one-frame videos, content sniffing, resize and crop."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from worldsmith.io import VideoError, center_crop, read_image, read_visual, resize_frames, write_video


def _gradient(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), np.full_like(xx, 60)], -1).astype(np.uint8)


def test_read_image_formats(tmp_path):
    from PIL import Image

    img = _gradient(30, 50)
    Image.fromarray(img).save(tmp_path / "a.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), img[None])
    Image.fromarray(img).save(tmp_path / "a.jpg", quality=95)
    jpg = read_image(tmp_path / "a.jpg")
    assert jpg.shape == (1, 30, 50, 3) and np.abs(jpg.astype(int) - img).mean() < 3
    Image.fromarray(img[..., 0]).save(tmp_path / "grey.png")  # greyscale -> RGB
    grey = read_image(tmp_path / "grey.png")
    assert grey.shape == (1, 30, 50, 3) and np.array_equal(grey[0, ..., 1], img[..., 0])
    rgba = np.concatenate([img, np.full((30, 50, 1), 255, np.uint8)], -1)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert np.array_equal(read_image(tmp_path / "rgba.png"), img[None])


def test_read_image_applies_exif_orientation(tmp_path):
    from PIL import Image

    img = _gradient(20, 40)
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    out = read_image(tmp_path / "phone.jpg")
    assert out.shape == (1, 40, 20, 3)
    expected = np.rot90(img, k=-1)
    assert np.abs(out[0].astype(int) - expected).mean() < 3


def test_read_visual_decides_by_content_not_extension(tmp_path, synth):
    from PIL import Image

    img = _gradient(24, 32)
    Image.fromarray(img).save(tmp_path / "still.png")
    shutil.copy(tmp_path / "still.png", tmp_path / "looks_like_video.mp4")
    frames = synth.frames(6)
    write_video(tmp_path / "clip.mp4", frames, 12, lossless=True)
    shutil.copy(tmp_path / "clip.mp4", tmp_path / "looks_like_image.png")

    still = read_visual(tmp_path / "looks_like_video.mp4")
    assert still.frames.shape == (1, 24, 32, 3) and np.array_equal(still.frames[0], img)
    assert still.indices.tolist() == [0] and still.timestamps.tolist() == [0.0]
    clip = read_visual(tmp_path / "looks_like_image.png")
    assert np.array_equal(clip.frames, frames) and clip.fps == 12
    assert read_visual(tmp_path / "still.png", size=12).frames.shape == (1, 12, 16, 3)
    assert read_visual(tmp_path / "clip.mp4", frame_indices=[4]).indices.tolist() == [4]
    with pytest.raises(VideoError, match="is an image, so fps do not apply"):
        read_visual(tmp_path / "still.png", fps=2)


def test_resize_frames():
    frames = np.stack([_gradient(60, 80)] * 3)
    assert resize_frames(frames, (30, 40)).shape == (3, 30, 40, 3)
    assert resize_frames(frames, 30).shape == (3, 30, 40, 3)     # shorter side
    assert resize_frames(frames, 45).shape == (3, 45, 60, 3)
    assert resize_frames(frames, 25).shape == (3, 25, 34, 3)     # 33.3 -> nearest even
    assert resize_frames(frames.transpose(0, 2, 1, 3), 30).shape == (3, 40, 30, 3)
    # shrinking averages: a half-size gradient matches a 2x2 box average closely
    small = resize_frames(frames, (30, 40)).astype(float)
    box = frames.astype(float).reshape(3, 30, 2, 40, 2, 3).mean((2, 4))
    assert np.abs(small - box).max() <= 2
    same = resize_frames(frames, (60, 80))
    assert np.array_equal(same, frames) and same is not frames
    with pytest.raises(VideoError, match="size"):
        resize_frames(frames, (0, 5))
    with pytest.raises(VideoError, match="uint8"):
        resize_frames(frames.astype(np.float32), 10)


def test_center_crop():
    frames = np.arange(2 * 6 * 8 * 3, dtype=np.uint8).reshape(2, 6, 8, 3)
    c = center_crop(frames, (2, 4))
    assert np.array_equal(c, frames[:, 2:4, 2:6])
    assert center_crop(frames, 6).shape == (2, 6, 6, 3)
    with pytest.raises(VideoError, match="does not fit"):
        center_crop(frames, (7, 2))
