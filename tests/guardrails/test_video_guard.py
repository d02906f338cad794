"""Post-guard on real frames: faces pixelated (or not, when off), NSFW detector, unsafe videos withheld."""

import json

import numpy as np
import pytest

from worldsmith.guardrails import GuardrailBlocked, GuardrailConfig, Guardrails
from worldsmith.guardrails.video_guard import FaceDetector, load_user_classifier, pixelate
from worldsmith.utils.config import resolve
from worldsmith.utils.errors import WorldsmithError


@pytest.fixture(scope="module")
def checked(guard, face_frames):
    return guard.check_video(face_frames, fps=30.0)


def test_faces_found_and_pixelated_on_real_frames(checked, face_frames):
    out, d = checked
    assert d.allowed and d.face_blur
    frames_with_face = {f["frame"] for f in d.faces}
    assert len(frames_with_face) >= 6  # the woman's face is in view in all 8 frames (hand-checked)
    # her face is in the upper middle of the frame
    for f in d.faces:
        x, y, w, h = f["box"]
        assert 200 < x + w / 2 < 440 and y < 120 and f["score"] >= 0.25
    # inside a box the image is now flat 5x5 cells: far fewer distinct values than before
    f = d.faces[0]
    x, y, w, h = f["box"]
    before = face_frames[f["frame"], y:y + h, x:x + w].reshape(-1, 3)
    after = out[f["frame"], y:y + h, x:x + w].reshape(-1, 3)
    assert len(np.unique(after, axis=0)) <= 49 < len(np.unique(before, axis=0))
    # outside the faces nothing changed
    assert np.array_equal(out[:, 300:], face_frames[:, 300:])
    rec = json.loads(json.dumps(d.to_dict()))
    assert rec["num_faces"] == len(d.faces) and rec["stage"] == "video"


def test_nsfw_detector_runs_and_real_frames_are_safe(checked):
    _, d = checked
    assert d.checked_frames == [0]  # 2 fps of a 30 fps clip: every 15th of the 8 frames
    assert "nudenet" in d.max_scores and d.max_scores["nudenet"] < 0.5
    assert d.flags == []


def test_face_blur_switch_off(encoder, face_frames):
    cfg = resolve(GuardrailConfig(), overrides=["face_blur.enabled=false", "content_safety.enabled=false"])
    out, d = Guardrails(cfg, encoder=encoder).check_video(face_frames, fps=30.0)
    assert d.allowed and not d.face_blur and d.faces == []
    assert np.array_equal(out, face_frames)
    assert "face blur off" in d.message


def test_blur_strength_is_configurable(face_frames):
    det = FaceDetector("nudenet", 0.25)
    box = det.detect(face_frames[0])[0][0]
    coarse, fine = face_frames[0].copy(), face_frames[0].copy()
    pixelate(coarse, box, blocks=2, margin=0.0)
    pixelate(fine, box, blocks=12, margin=0.0)
    x, y, w, h = box
    n = [len(np.unique(a[y:y + h, x:x + w].reshape(-1, 3), axis=0)) for a in (coarse, fine)]
    assert n[0] <= 4 < n[1] <= 144


def _user_module(tmp_path, score):
    p = tmp_path / "myclf.py"
    p.write_text(f"import numpy as np\n\ndef classify(frames):\n    return np.full(len(frames), {score})\n")
    return f"{p}:classify"


def test_unsafe_video_is_withheld_via_user_classifier(encoder, face_frames, tmp_path):
    spec = _user_module(tmp_path, 0.9)
    cfg = resolve(GuardrailConfig(), overrides=[f"content_safety.user_classifier={spec}",
                                               "content_safety.nudenet=false"])
    g = Guardrails(cfg, encoder=encoder)
    out, d = g.check_video(face_frames, fps=30.0)
    assert out is None and not d.allowed
    assert "withheld" in d.message and "user_classifier" in d.message
    assert d.flags[0]["source"] == "user_classifier" and d.faces == []
    with pytest.raises(GuardrailBlocked):
        g.ensure_video(face_frames, fps=30.0)
    # same classifier, threshold above its score: passes
    cfg.content_safety.user_threshold = 0.95
    assert Guardrails(cfg, encoder=encoder).check_video(face_frames, fps=30.0)[1].allowed


def test_in_process_image_classifier_flags_the_bad_frame(encoder, face_frames):
    # a callable passed to Guardrails (the in-process adapter) flags the one blown-out frame
    bright = face_frames.copy()
    bright[3] = 255
    g = Guardrails(GuardrailConfig(), encoder=encoder,
                   image_classifier=lambda fr: (fr.reshape(len(fr), -1).mean(1) > 250).astype(float))
    out, d = g.check_video(bright, fps=None)  # no fps: every frame is checked
    assert out is None and d.flags[0]["frame"] == 3 and d.checked_frames == list(range(8))


def test_bad_inputs(guard, tmp_path):
    with pytest.raises(WorldsmithError, match="frames: expected uint8"):
        guard.check_video(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(WorldsmithError, match="no frames"):
        guard.check_video(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(WorldsmithError, match="user_classifier"):
        load_user_classifier("no_colon_here")
    with pytest.raises(WorldsmithError, match="cannot load"):
        load_user_classifier("worldsmith.nope:fn")
    with pytest.raises(WorldsmithError, match="yunet detector needs"):
        FaceDetector("yunet")
    with pytest.raises(WorldsmithError, match="face_blur.model_path not found"):
        FaceDetector("yunet", model_path=str(tmp_path / "yunet.onnx"))
    with pytest.raises(WorldsmithError, match="unknown 'retina'"):
        FaceDetector("retina")


def test_haar_backend_works_or_says_why(face_frames):
    import cv2

    if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 dropped Haar cascades
        with pytest.raises(WorldsmithError, match="needs OpenCV 4.x"):
            FaceDetector("haar")
        return
    det = FaceDetector("haar")
    assert all(len(b) == 4 for b, _ in det.detect(face_frames[0]))
