"""Decoding: frame counts, timestamps, frame-accurate seeking, sampling (H.264, HEVC, MPEG-4, VFR)."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest

from worldsmith.io import iter_frames, probe_video, read_video

FAST = ["pyscenedetect/counter.mp4", "pyscenedetect/goldeneye-vfr-drop3.mp4", "pyscenedetect/fades.mp4",
        "cosmos-transfer1/example1_input_video.mp4", "cosmos-curate/test_clip_10s.mp4"]
SLOW = ["pyscenedetect/testvideo.mp4", "cosmos-curate/test_video_30s.mp4", "video2dataset/test_video.mp4"]


def _check_counts(videos, ground_truth, name):
    facts = ground_truth[name]["facts"]
    items = [(i, t) for i, t, _ in iter_frames(os.path.join(videos, name), size=32)]
    idx = np.array([i for i, _ in items])
    ts = np.array([t for _, t in items])
    assert len(items) == facts["decoded_frames"], name
    assert np.array_equal(idx, np.arange(len(items))), name
    assert ts[0] == pytest.approx(facts["first_pts_s"], abs=1e-6), name
    assert ts[-1] == pytest.approx(facts["last_pts_s"], abs=1e-3), name
    assert np.all(np.diff(ts) > 0), name


@pytest.mark.parametrize("name", FAST)
def test_decoded_frames_match_ground_truth(videos, ground_truth, name):
    _check_counts(videos, ground_truth, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_decoded_frames_match_ground_truth_long(videos, ground_truth, name):
    _check_counts(videos, ground_truth, name)


def test_counter_seek_is_frame_exact(videos):
    """counter.mp4: frame N says "Frame = N+1"; random access must equal sequential decoding."""
    path = os.path.join(videos, "pyscenedetect/counter.mp4")
    seq = read_video(path)
    assert seq.frames.shape == (30, 1080, 1920, 3)
    assert np.allclose(seq.timestamps, np.arange(30) * 0.1)
    # every frame differs from the next (the burned-in number changes), so a wrong index shows
    assert all(not np.array_equal(seq.frames[i], seq.frames[i + 1]) for i in range(29))
    # hand-labelled background: grey 0-9, red 10-19, green 20-29
    mean = seq.frames[:, :200, :200].reshape(30, -1, 3).mean(1)
    assert np.all(np.abs(mean[:10, 0] - mean[:10, 1]) < 10)
    assert np.all(mean[10:20, 0] > mean[10:20, 1] + 30) and np.all(mean[20:, 1] > mean[20:, 0] + 30)
    for n in (29, 0, 17, 10, 9, 20, 5):
        one = read_video(path, frame_indices=[n])
        assert one.indices.tolist() == [n]
        assert np.array_equal(one.frames[0], seq.frames[n]), n
        by_time = read_video(path, start_s=n * 0.1, max_frames=1)
        assert by_time.indices.tolist() == [n]
        assert np.array_equal(by_time.frames[0], seq.frames[n]), n
    many = read_video(path, frame_indices=[3, 3, 28, -1, 0])
    assert many.indices.tolist() == [3, 3, 28, 29, 0]
    assert np.array_equal(many.frames, seq.frames[[3, 3, 28, 29, 0]])


def test_vfr_timestamps_indices_and_cuts(videos, ground_truth):
    """goldeneye-vfr-drop3: PTS steps alternate 1001/2002 ticks; hard cuts at decoded 60 and 140."""
    path = os.path.join(videos, "pyscenedetect/goldeneye-vfr-drop3.mp4")
    v = read_video(path, size=(68, 160))
    assert len(v) == 160 and v.indices.tolist() == list(range(160))
    steps = np.round(np.diff(v.timestamps) * 24000).astype(int)
    assert set(steps.tolist()) == {1001, 2002}
    cuts = ground_truth["pyscenedetect/goldeneye-vfr-drop3.mp4"]["hand_labelled"]
    assert v.timestamps[cuts["hard_cuts_decoded_index"]] == pytest.approx(cuts["hard_cuts_seconds"], abs=1e-3)
    # the two biggest frame-to-frame changes are the labelled cuts: indices line up with content
    diff = np.abs(np.diff(v.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert sorted((np.argsort(diff)[-2:] + 1).tolist()) == cuts["hard_cuts_decoded_index"]
    # seeking by time lands on the cut frame, not round(t * nominal_fps) = 90
    after = read_video(path, start_s=3.75, max_frames=2, size=(68, 160))  # frame 59 is at 3.712 s
    assert after.indices.tolist() == [60, 61]
    assert np.array_equal(after.frames, v.frames[60:62])
    # random access across keyframes equals sequential decoding
    pick = [159, 0, 60, 59, 140, 100, 139]
    got = read_video(path, frame_indices=pick, size=(68, 160))
    assert np.array_equal(got.frames, v.frames[pick])
    assert np.allclose(got.timestamps, v.timestamps[pick])


def test_fades_mpeg4_luma_extrema(videos):
    """fades.mp4 (MPEG-4 part 2): black minima at 0, 83-84, 166-167, 249; white peaks at 41-42, 124-126, 208-209."""
    v = read_video(os.path.join(videos, "pyscenedetect/fades.mp4"), size=(16, 24))
    assert len(v) == 250
    luma = v.frames.mean(axis=(1, 2, 3))
    assert luma[[0, 83, 84, 166, 167, 249]].max() < 20
    assert luma[[41, 42, 124, 125, 126, 208, 209]].min() > 235
    # each third of the file peaks where labelled
    assert int(np.argmax(luma[:83])) in (41, 42)
    assert int(np.argmax(luma[84:166])) + 84 in (124, 125, 126)
    assert int(np.argmax(luma[167:])) + 167 in (208, 209)


@pytest.mark.parametrize("codec,ext", [("libx265", "mp4"), ("mpeg4", "mp4"), ("libx264", "mp4"), ("libx264", "mkv"),
                                       ("libx264", "ts"), ("mpeg4", "avi"), ("libvpx-vp9", "webm")])
def test_generated_codecs_seek_exactly(tmp_path, synth, codec, ext):
    """HEVC / MPEG-4 part 2 / H.264 / VP9 with keyframes every 10 frames and B-frames, in
    MP4, MKV, MPEG-TS, AVI and WebM: every frame is found by index and by time."""
    frames = synth.frames(40)
    path = synth.encode(str(tmp_path / f"clip_{codec}.{ext}"), frames, codec, gop=10, bframes=2)
    info = probe_video(path)
    assert info.codec == {"libx265": "hevc", "mpeg4": "mpeg4", "libx264": "h264", "libvpx-vp9": "vp9"}[codec]
    assert info.num_frames == 40 and info.fps == 25
    seq = read_video(path)
    assert [synth.read(f) for f in seq.frames] == list(range(40))
    assert np.allclose(seq.timestamps, np.arange(40) / 25)
    pick = [39, 0, 10, 9, 11, 25, 19, 20, 31]
    got = read_video(path, frame_indices=pick)
    assert [synth.read(f) for f in got.frames] == pick
    assert np.array_equal(got.frames, seq.frames[pick])
    for n in (9, 10, 23, 39):
        by_time = read_video(path, start_s=n / 25, max_frames=1)
        assert by_time.indices.tolist() == [n] and synth.read(by_time.frames[0]) == n


def test_generated_vfr_index_differs_from_time_times_fps(tmp_path, synth):
    frames = synth.frames(30)
    steps = [40, 40, 120] * 10  # ms: runs of 25 fps with a gap every third frame
    pts = np.concatenate([[0], np.cumsum(steps)[:29]]).tolist()
    path = synth.encode(str(tmp_path / "vfr.mp4"), frames, "libx264", gop=7, bframes=2, pts=pts,
                        time_base=Fraction(1, 1000))
    seq = read_video(path)
    assert np.allclose(seq.timestamps, np.array(pts) / 1000)
    for n in (29, 14, 7, 22):
        t = pts[n] / 1000
        got = read_video(path, start_s=t, max_frames=1)
        assert got.indices.tolist() == [n] and synth.read(got.frames[0]) == n
    window = read_video(path, start_s=pts[10] / 1000, end_s=pts[16] / 1000)
    assert window.indices.tolist() == list(range(10, 16))


def test_time_range_fps_sampling_and_max_frames(videos):
    path = os.path.join(videos, "cosmos-curate/test_clip_10s.mp4")  # 24 fps, 240 frames
    v = read_video(path, start_s=2.0, end_s=4.0, size=(24, 42))
    assert v.indices[0] == 48 and v.indices[-1] == 95 and len(v) == 48
    assert np.all(v.timestamps >= 2.0 - 1e-6) and np.all(v.timestamps < 4.0)
    s = read_video(path, fps=6, size=(24, 42))
    assert s.fps == 6 and len(s) == 60
    assert np.array_equal(s.indices, np.arange(0, 240, 4))
    assert np.allclose(np.diff(s.timestamps), 1 / 6)
    # sampling above the source rate never duplicates frames
    up = read_video(path, fps=100, end_s=1.0, size=(24, 42))
    assert up.indices.tolist() == list(range(24)) and up.fps == 24
    few = read_video(path, fps=1, max_frames=3, size=(24, 42))
    assert few.indices.tolist() == [0, 24, 48]


def test_iter_frames_streams(videos):
    """iter_frames yields one frame at a time and can stop early without decoding the rest."""
    path = os.path.join(videos, "cosmos-transfer1/example1_input_video.mp4")
    gen = iter_frames(path, start_s=1.0, size=48)
    i, t, frame = next(gen)
    assert (i, round(t, 6)) == (30, 1.0)
    assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
    gen.close()


def test_size_and_crop_options(videos):
    path = os.path.join(videos, "pyscenedetect/counter.mp4")
    full = read_video(path, frame_indices=[12])
    assert read_video(path, frame_indices=[12], size=90).frames.shape == (1, 90, 160, 3)
    assert read_video(path, frame_indices=[12], size=(50, 70)).frames.shape == (1, 50, 70, 3)
    c = read_video(path, frame_indices=[12], size=90, crop=(80, 80))
    assert c.frames.shape == (1, 80, 80, 3)
    box = read_video(path, frame_indices=[12], crop=(100, 200, 30, 40))
    assert np.array_equal(box.frames[0], full.frames[0, 100:130, 200:240])


def test_autorotate_follows_display_matrix(tmp_path, synth):
    import av

    frames = synth.frames(4, 32, 64)
    for angle in (90, 270, 180):
        p = str(tmp_path / f"phone{angle}.mp4")
        with av.open(p, "w") as c:
            s = c.add_stream("libx264rgb", rate=10)
            s.width, s.height, s.pix_fmt, s.options = 64, 32, "rgb24", {"qp": "0"}
            s.set_display_rotation(angle)
            for f in frames:
                c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
            c.mux(s.encode(None))
        assert np.array_equal(read_video(p).frames, frames)  # default: frames as coded
        up = read_video(p, autorotate=True)
        assert np.array_equal(up.frames, np.rot90(frames, angle // 90, axes=(1, 2)))  # counter-clockwise
        # sizes refer to the upright frame
        assert read_video(p, autorotate=True, frame_indices=[1], size=(20, 10)).frames.shape[1:3] == (20, 10)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_iter_frames_memory_is_bounded(videos):
    """Streaming 240 full-size frames (295 MB if kept) holds only a few frames at a time."""
    path = os.path.join(videos, "cosmos-curate/test_clip_10s.mp4")
    frame_bytes = 480 * 854 * 3
    gen = iter_frames(path)
    next(gen)  # decoder, threads and first buffers allocated
    base = _rss_bytes()
    peak, n = base, 1
    for _, _, frame in gen:
        n += 1
        peak = max(peak, _rss_bytes())
    assert n == 240
    assert peak - base < 40 * frame_bytes  # keeping the frames would need 240


@pytest.mark.parametrize("codec,ext", [("libx264", "h264"), ("mpeg2video", "mpg"), ("ffv1", "nut")])
def test_raw_streams_and_other_containers(tmp_path, synth, codec, ext):
    """Raw H.264 has no timestamps at all (frames at the nominal rate); MPEG-PS starts at 0.5 s."""
    frames = synth.frames(30)
    path = synth.encode(str(tmp_path / f"clip.{ext}"), frames, codec, gop=10)
    info = probe_video(path)
    assert info.num_frames == 30 and not info.is_vfr
    assert info.duration == pytest.approx(1.2, abs=1e-6)
    v = read_video(path)
    assert [synth.read(f) for f in v.frames] == list(range(30))
    assert np.allclose(v.timestamps, np.arange(30) / 25)
    got = read_video(path, frame_indices=[25, 3])
    assert [synth.read(f) for f in got.frames] == [25, 3]
    t = read_video(path, start_s=0.5, max_frames=2)
    assert t.indices.tolist() == [13, 14] and [synth.read(f) for f in t.frames] == [13, 14]
