"""The guardrail runner: one config, prompt checks before generation, video checks after.

Wiring into a pipeline (`worldsmith predict`, inference pipelines):

    guard = Guardrails(GuardrailConfig())             # or resolve(GuardrailConfig(), file, --set ...)
    pd = guard.check_prompt(prompt)                   # before any model runs
    record["guardrails"] = [pd.to_dict()]
    if not pd.allowed:
        raise GuardrailBlocked(pd)                    # CLI prints pd.message, exits 2; nothing generated
    if text_only:                                     # upsampling: on by default, shown, switchable off
        up = PromptUpsampler(UpsamplerConfig(), index_dir=model_dir).upsample(prompt)
        print(f"upsampled prompt ({up.method}): {up.upsampled}")
        record["upsampler"] = up.to_dict()
        record["guardrails"].append(guard.ensure_prompt(up.upsampled).to_dict())  # check what the model sees
    frames = generate(...)                            # uint8 [T, H, W, C]
    frames, vd = guard.check_video(frames, fps=fps)   # content safety, then face pixelation
    record["guardrails"].append(vd.to_dict())
    if not vd.allowed:
        raise GuardrailBlocked(vd)                    # the video is withheld, not written
    guard.offload()                                   # free accelerator memory between uses

`guard.ensure_prompt(prompt)` / `guard.ensure_video(frames, fps)` do the check-and-raise in one
call. Every decision is JSON-serialisable (`to_dict()`) and also kept in `guard.history`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..utils.errors import WorldsmithError

HARMFUL = ["violence", "sexual", "minors", "self_harm", "hate", "weapons_illegal"]


@dataclass
class BlocklistConfig:
    """Word lists: shipped per-category files + user files/dirs; profanity list; fuzzy match."""

    enabled: bool = True
    extra_paths: list[str] = field(default_factory=list)
    profanity: bool = True
    fuzzy_max: float = 0.2  # edit distance / word length for words of >= 6 letters (0 = off)


@dataclass
class ClassifierConfig:
    """MiniLM embedding classifier; blocks when P(enabled harmful categories) >= threshold."""

    enabled: bool = True
    path: str | None = None  # None = the shipped weights (data/prompt_classifier)
    encoder_path: str | None = None  # None = the shipped MiniLM
    threshold: float = 0.7  # picked from a sweep on the dev sets (held-out, blind 1, blind 2)


@dataclass
class LLMGuardConfig:
    """Optional local LLM guard (e.g. a Llama Guard 3 directory); off unless a path is given."""

    enabled: bool = False
    path: str | None = None
    fail_closed: bool = True  # an unreadable reply blocks the prompt
    max_new_tokens: int = 24


@dataclass
class FaceBlurConfig:
    """Face detection + pixelation on output videos."""

    enabled: bool = True
    detector: str = "nudenet"  # nudenet | yunet | haar
    model_path: str | None = None  # YuNet .onnx or Haar .xml
    threshold: float = 0.25
    pixel_blocks: int = 5  # cells across a face; smaller = stronger pixelation
    margin: float = 0.2  # box grown by this fraction on each side
    hold_frames: int = 2  # a box also covers this many frames before/after


@dataclass
class ContentSafetyConfig:
    """Frame content safety: NudeNet exposed-class detector and/or a user image classifier."""

    enabled: bool = True
    nudenet: bool = True
    nudenet_model_path: str | None = None
    nsfw_threshold: float = 0.5
    sample_fps: float = 2.0  # frames checked per second of video (Cosmos: 2 fps)
    user_classifier: str | None = None  # "module:function" or "file.py:function"
    user_threshold: float = 0.5


@dataclass
class GuardrailConfig:
    """All guardrail switches in one place (on by default)."""

    enabled: bool = True
    categories: list[str] = field(default_factory=lambda: HARMFUL + ["profanity"])
    device: str = "cpu"  # where the text models run while in use
    offload: bool = True  # move text models back to the CPU after each check
    blocklist: BlocklistConfig = field(default_factory=BlocklistConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    llm_guard: LLMGuardConfig = field(default_factory=LLMGuardConfig)
    face_blur: FaceBlurConfig = field(default_factory=FaceBlurConfig)
    content_safety: ContentSafetyConfig = field(default_factory=ContentSafetyConfig)


@dataclass
class PromptDecision:
    """The pre-guard's verdict on one prompt, with every check that ran."""

    prompt: str
    allowed: bool
    category: str | None = None
    message: str = ""
    checks: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"stage": "prompt", "prompt": self.prompt, "allowed": self.allowed, "category": self.category,
                "message": self.message, "checks": self.checks}


@dataclass
class VideoDecision:
    """The post-guard's verdict on one video: safety flags, faces found and pixelated."""

    allowed: bool
    message: str = ""
    num_frames: int = 0
    checked_frames: list[int] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    max_scores: dict = field(default_factory=dict)
    face_blur: bool = False
    faces: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"stage": "video", "allowed": self.allowed, "message": self.message, "num_frames": self.num_frames,
                "checked_frames": self.checked_frames, "flags": self.flags, "max_scores": self.max_scores,
                "face_blur": self.face_blur, "num_faces": len(self.faces), "faces": self.faces,
                "seconds": round(self.seconds, 3)}


class GuardrailBlocked(WorldsmithError):
    """Raised when a guardrail refuses a prompt or withholds a video; `.decision` says why."""

    def __init__(self, decision: PromptDecision | VideoDecision):
        super().__init__(decision.message)
        self.decision = decision


class Guardrails:
    """Runs the configured checks; components load lazily on first use."""

    def __init__(self, config: GuardrailConfig | None = None, image_classifier=None, encoder=None):
        self.config = config or GuardrailConfig()
        unknown = sorted(set(self.config.categories) - set(HARMFUL + ["profanity"]))
        if unknown:
            raise WorldsmithError(f"guardrails.categories: unknown {unknown} (known: {HARMFUL + ['profanity']})")
        self._image_classifier = image_classifier  # a callable frames -> unsafe probabilities
        self._encoder = encoder
        self._blocklist = self._classifier = self._llm = self._nudenet = self._faces = None
        self.history: list[dict] = []

    # ------------------------------------------------------------------ lazy components
    def _get_blocklist(self):
        if self._blocklist is None:
            from .blocklist import Blocklist

            c = self.config.blocklist
            self._blocklist = Blocklist(c.extra_paths, profanity=c.profanity, fuzzy_max=c.fuzzy_max,
                                        categories=self.config.categories)
        return self._blocklist

    def _get_classifier(self):
        if self._classifier is None:
            from .classifier import PromptClassifier

            enc = self._encoder
            if enc is None:
                from ..text.encoder import TextEncoder

                enc = TextEncoder(self.config.classifier.encoder_path)
            self._classifier = PromptClassifier(self.config.classifier.path, encoder=enc)
        return self._classifier

    def _get_nudenet(self):
        if self._nudenet is None:
            from .video_guard import NudeNetModel

            self._nudenet = NudeNetModel(self.config.content_safety.nudenet_model_path)
        return self._nudenet

    def offload(self) -> None:
        """Move the text models to the CPU (frees accelerator memory between uses)."""
        if self._classifier is not None:
            self._classifier.encoder.to("cpu")
        if self._llm is not None:
            self._llm.to("cpu")

    # ------------------------------------------------------------------ prompts
    def check_prompt(self, prompt: str) -> PromptDecision:
        """Blocklist, then classifier, then the optional LLM guard; the first refusal wins."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise WorldsmithError("prompt: expected a non-empty string")
        cfg = self.config
        d = PromptDecision(prompt=prompt, allowed=True)
        if not cfg.enabled:
            d.checks.append({"check": "guardrails", "verdict": "disabled"})
            return self._done(d)
        if cfg.blocklist.enabled:
            m = self._get_blocklist().check(prompt)
            d.checks.append({"check": "blocklist", "verdict": "block" if m else "pass", **(m.to_dict() if m else {})})
            if m:
                return self._done(self._refuse(d, m.category, f"{m.rule} match {m.found!r}"))
        if cfg.classifier.enabled:
            self._check_classifier(d)
            if not d.allowed:
                return self._done(d)
        if cfg.llm_guard.enabled:
            self._check_llm(d)
        return self._done(d)

    def _check_classifier(self, d: PromptDecision) -> None:
        clf = self._get_classifier()
        clf.encoder.to(self.config.device)
        _, _, probs = clf.classify(d.prompt)
        if self.config.offload:
            clf.encoder.to("cpu")
        enabled = {c: p for c, p in probs.items() if c in self.config.categories}
        p_block = sum(enabled.values())
        cat = max(enabled, key=enabled.get) if enabled else None
        th = self.config.classifier.threshold
        d.checks.append({"check": "classifier", "verdict": "block" if p_block >= th else "pass",
                         "p_unsafe": round(p_block, 4), "threshold": th, "category": cat, "probs": probs})
        if p_block >= th:
            self._refuse(d, cat, f"classifier P(unsafe)={p_block:.2f} >= {th}")

    def _check_llm(self, d: PromptDecision) -> None:
        c = self.config.llm_guard
        if self._llm is None:
            from .llm_guard import LLMGuard

            if not c.path:
                raise WorldsmithError("guardrails.llm_guard.path: required when llm_guard.enabled is true")
            self._llm = LLMGuard(c.path, device="cpu", max_new_tokens=c.max_new_tokens)
        self._llm.to(self.config.device)
        unsafe, cat, reply = self._llm.check(d.prompt)
        if self.config.offload:
            self._llm.to("cpu")
        block = unsafe is True or (unsafe is None and c.fail_closed)
        if cat is not None and cat not in self.config.categories and cat != "other":
            block = False  # the user switched that category off
        d.checks.append({"check": "llm_guard", "verdict": "block" if block else "pass", "reply": reply.strip(),
                         "category": cat, "parsed": unsafe})
        if block:
            self._refuse(d, cat or "unparsed_guard_reply", f"LLM guard replied {reply.strip()[:60]!r}")

    def _refuse(self, d: PromptDecision, category: str, why: str) -> PromptDecision:
        d.allowed, d.category = False, category
        d.message = f"prompt refused by the guardrail: category '{category}' ({why}); no video was generated"
        return d

    def _done(self, d):
        if d.allowed and not d.message:
            d.message = "prompt passed the guardrail" if self.config.enabled else "guardrails disabled"
        self.history.append(d.to_dict())
        return d

    def ensure_prompt(self, prompt: str) -> PromptDecision:
        """check_prompt, raising GuardrailBlocked on refusal."""
        d = self.check_prompt(prompt)
        if not d.allowed:
            raise GuardrailBlocked(d)
        return d

    # ------------------------------------------------------------------ videos
    def check_video(self, frames: np.ndarray, fps: float | None = None) -> tuple[np.ndarray | None, VideoDecision]:
        """Content safety on sampled frames, then face pixelation; (None, decision) when withheld."""
        from .video_guard import FaceDetector, blur_faces, check_frames, load_user_classifier

        frames = _check_frames_arg(frames)
        t0 = time.perf_counter()
        cfg = self.config
        d = VideoDecision(allowed=True, num_frames=len(frames))
        cs = cfg.content_safety
        if cfg.enabled and cs.enabled:
            step = max(1, round(fps / cs.sample_fps)) if fps and cs.sample_fps > 0 else 1
            idx = list(range(0, len(frames), step))
            user_fn = self._image_classifier
            if user_fn is None and cs.user_classifier:
                user_fn = self._image_classifier = load_user_classifier(cs.user_classifier)
            res = check_frames(frames, idx, self._get_nudenet() if cs.nudenet else None, cs.nsfw_threshold,
                               user_fn, cs.user_threshold)
            d.checked_frames, d.max_scores = res.checked_frames, res.max_scores
            d.flags = [f.to_dict() for f in res.flags]
            if res.flags:
                first = res.flags[0]
                d.allowed = False
                d.message = (f"video withheld by the guardrail: unsafe content in {len(res.flags)} check(s), "
                             f"first at frame {first.frame} ({first.source}: {first.label}, score {first.score:.2f})")
                d.seconds = time.perf_counter() - t0
                self.history.append(d.to_dict())
                return None, d
        fb = cfg.face_blur
        if cfg.enabled and fb.enabled:
            if self._faces is None:
                self._faces = FaceDetector(fb.detector, fb.threshold, fb.model_path,
                                           nudenet=self._get_nudenet() if fb.detector == "nudenet" else None)
            frames, faces = blur_faces(frames, self._faces, fb.pixel_blocks, fb.margin, fb.hold_frames)
            d.face_blur, d.faces = True, [f.to_dict() for f in faces]
        n_face_frames = len({f["frame"] for f in d.faces})
        d.message = ("video passed the guardrail" + (f"; faces pixelated in {n_face_frames} frame(s)"
                                                     if d.face_blur else "; face blur off"))
        d.seconds = time.perf_counter() - t0
        self.history.append(d.to_dict())
        return frames, d

    def ensure_video(self, frames: np.ndarray, fps: float | None = None) -> tuple[np.ndarray, VideoDecision]:
        """check_video, raising GuardrailBlocked when the video is withheld."""
        out, d = self.check_video(frames, fps)
        if not d.allowed:
            raise GuardrailBlocked(d)
        return out, d


def _check_frames_arg(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise WorldsmithError(f"frames: expected uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    if len(frames) == 0:
        raise WorldsmithError("frames: the video has no frames")
    return frames
