"""Post-guard on generated videos: face detection + pixelation, and frame content safety.

Face detectors (all local, nothing downloaded):
- "nudenet" (default): the FACE_FEMALE / FACE_MALE classes of the YOLOv8 ONNX model that the
  `nudenet` wheel ships; the same ONNX session also serves the NSFW check.
- "yunet": OpenCV's FaceDetectorYN with a YuNet ONNX file given by path (a stronger detector).
- "haar": OpenCV's Haar cascade (frontal face); needs OpenCV 4.x, since OpenCV 5 dropped
  `CascadeClassifier` and no longer ships the cascade files.
Faces are pixelated as Cosmos does (shrink the box to `pixel_blocks` x `pixel_blocks`, nearest
upsample), with a margin around the box, and boxes are held for `hold_frames` frames on each
side so a face missed in one frame is still covered.

Content safety: NudeNet's "exposed" classes, plus an optional user image classifier
(`"module:function"` or `"file.py:function"`, called on uint8 frames [T, H, W, C] and returning
one unsafe probability per frame).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..utils.errors import WorldsmithError, require_file

NSFW_CLASSES = ("FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
                "BUTTOCKS_EXPOSED", "ANUS_EXPOSED")
FACE_CLASSES = ("FACE_FEMALE", "FACE_MALE")


@dataclass
class Face:
    """One detected face: frame index, box (x, y, w, h) in pixels, detector score."""

    frame: int
    box: tuple[int, int, int, int]
    score: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = list(self.box)
        d["score"] = round(float(self.score), 4)
        return d


@dataclass
class FrameFlag:
    """One frame judged unsafe: which check, what it saw, with what score."""

    frame: int
    source: str  # "nudenet" | "user_classifier"
    label: str
    score: float

    def to_dict(self) -> dict:
        return {"frame": self.frame, "source": self.source, "label": self.label, "score": round(float(self.score), 4)}


class NudeNetModel:
    """The ONNX detector shipped inside the `nudenet` wheel (320 px YOLOv8n, 18 classes)."""

    def __init__(self, model_path: str | None = None):
        if importlib.util.find_spec("nudenet") is None:
            raise WorldsmithError("guardrails: the `nudenet` package is missing (pip install nudenet)")
        from nudenet import NudeDetector

        if model_path is not None:
            require_file(model_path, "NudeNet ONNX model")
        self.detector = NudeDetector(model_path=model_path)

    def detect(self, frame_rgb: np.ndarray) -> list[dict]:
        """Detections [{class, score, box: [x, y, w, h]}] on one RGB uint8 frame [H, W, 3]."""
        bgr = np.ascontiguousarray(frame_rgb[..., ::-1])  # nudenet reads OpenCV (BGR) images
        return self.detector.detect(bgr)


class FaceDetector:
    """Per-frame face boxes with one of the backends named in the module docstring."""

    def __init__(self, backend: str = "nudenet", threshold: float = 0.25, model_path: str | None = None,
                 nudenet: NudeNetModel | None = None):
        import cv2

        self.backend, self.threshold = backend, threshold
        if backend == "nudenet":
            self.model = nudenet or NudeNetModel()
        elif backend == "yunet":
            if not model_path:
                raise WorldsmithError("face_blur.model_path: the yunet detector needs a YuNet .onnx file")
            require_file(model_path, "face_blur.model_path")
            try:
                self.model = cv2.FaceDetectorYN.create(model_path, "", (320, 320), threshold)
            except cv2.error as e:
                raise WorldsmithError(f"face_blur.model_path {model_path}: cannot load YuNet ({e.msg.strip()})") from None
        elif backend == "haar":
            if not hasattr(cv2, "CascadeClassifier"):
                raise WorldsmithError(f"face_blur.detector=haar needs OpenCV 4.x (this is OpenCV {cv2.__version__}, "
                                      "which dropped Haar cascades); use nudenet or yunet")
            path = model_path or os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
            self.model = cv2.CascadeClassifier(require_file(path, "face_blur.model_path"))
        else:
            raise WorldsmithError(f"face_blur.detector: unknown {backend!r} (use nudenet, yunet or haar)")

    def detect(self, frame: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """[(box (x, y, w, h), score)] for one RGB uint8 frame [H, W, 3]."""
        import cv2

        if self.backend == "nudenet":
            return [(tuple(int(v) for v in d["box"]), float(d["score"])) for d in self.model.detect(frame)
                    if d["class"] in FACE_CLASSES and d["score"] >= self.threshold]
        if self.backend == "yunet":
            h, w = frame.shape[:2]
            self.model.setInputSize((w, h))
            _, faces = self.model.detect(np.ascontiguousarray(frame[..., ::-1]))
            return [] if faces is None else [(tuple(int(v) for v in f[:4]), float(f[-1])) for f in faces]
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return [(tuple(int(v) for v in b), 1.0) for b in self.model.detectMultiScale(gray, 1.1, 5, minSize=(20, 20))]


def pixelate(frame: np.ndarray, box: tuple[int, int, int, int], blocks: int = 5, margin: float = 0.2) -> None:
    """Pixelate `box` (x, y, w, h) of `frame` [H, W, C] in place: `blocks` x `blocks` cells, nearest upsample."""
    import cv2

    H, W = frame.shape[:2]
    x, y, w, h = box
    mx, my = int(w * margin), int(h * margin)
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(W, x + w + mx), min(H, y + h + my)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    roi = frame[y0:y1, x0:x1]
    small = cv2.resize(roi, (max(1, blocks), max(1, blocks)), interpolation=cv2.INTER_AREA)
    frame[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


def blur_faces(frames: np.ndarray, detector: FaceDetector, blocks: int = 5, margin: float = 0.2,
               hold_frames: int = 2) -> tuple[np.ndarray, list[Face]]:
    """Detect faces in every frame of uint8 [T, H, W, C] and pixelate them; returns (new frames, faces)."""
    from ..utils.progress import progress

    faces: list[Face] = []
    for t in progress(range(len(frames)), desc="faces", unit="frame"):
        faces += [Face(t, box, score) for box, score in detector.detect(frames[t])]
    out = frames.copy()
    for f in faces:
        # hold each box a few frames either side: a face missed in one frame stays covered
        for t in range(max(0, f.frame - hold_frames), min(len(frames), f.frame + hold_frames + 1)):
            pixelate(out[t], f.box, blocks, margin)
    return out, faces


def load_user_classifier(spec: str) -> Callable[[np.ndarray], np.ndarray]:
    """Resolve "package.module:function" or "path/to/file.py:function" to a callable."""
    if ":" not in spec:
        raise WorldsmithError(f"content_safety.user_classifier {spec!r}: expected 'module:function' or 'file.py:function'")
    mod_name, func_name = spec.rsplit(":", 1)
    try:
        if mod_name.endswith(".py"):
            require_file(mod_name, "content_safety.user_classifier")
            s = importlib.util.spec_from_file_location(f"_ws_user_classifier_{abs(hash(mod_name))}", mod_name)
            module = importlib.util.module_from_spec(s)
            s.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
        fn = getattr(module, func_name)
    except (ImportError, AttributeError, SyntaxError) as e:
        raise WorldsmithError(f"content_safety.user_classifier {spec!r}: cannot load ({e})") from None
    if not callable(fn):
        raise WorldsmithError(f"content_safety.user_classifier {spec!r}: {func_name} is not callable")
    return fn


@dataclass
class SafetyResult:
    """Frames checked and frames flagged by the content-safety checks."""

    checked_frames: list[int] = field(default_factory=list)
    flags: list[FrameFlag] = field(default_factory=list)
    max_scores: dict[str, float] = field(default_factory=dict)


def check_frames(frames: np.ndarray, indices: list[int], nudenet: NudeNetModel | None, nsfw_threshold: float,
                 user_fn: Callable | None = None, user_threshold: float = 0.5) -> SafetyResult:
    """Run NudeNet (exposed classes >= nsfw_threshold) and/or the user classifier on frames[indices]."""
    from ..utils.progress import progress

    res = SafetyResult(checked_frames=list(indices))
    if nudenet is not None:
        best = 0.0
        for t in progress(indices, desc="nsfw", unit="frame"):
            for d in nudenet.detect(frames[t]):
                if d["class"] in NSFW_CLASSES:
                    best = max(best, d["score"])
                    if d["score"] >= nsfw_threshold:
                        res.flags.append(FrameFlag(t, "nudenet", d["class"], d["score"]))
        res.max_scores["nudenet"] = round(float(best), 4)
    if user_fn is not None:
        scores = np.asarray(user_fn(frames[indices]), dtype=np.float64).reshape(-1)
        if scores.shape[0] != len(indices):
            raise WorldsmithError(f"content_safety.user_classifier returned {scores.shape[0]} scores "
                                  f"for {len(indices)} frames")
        res.max_scores["user_classifier"] = round(float(scores.max()), 4) if len(scores) else 0.0
        res.flags += [FrameFlag(t, "user_classifier", "unsafe", s) for t, s in zip(indices, scores)
                      if s >= user_threshold]
    return res
