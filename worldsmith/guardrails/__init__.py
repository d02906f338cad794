"""Guardrails: pre-guard on prompts (blocklist, MiniLM classifier, optional LLM guard) and
post-guard on videos (NudeNet content safety, user classifier, face pixelation).

`Guardrails(GuardrailConfig())` is the object pipelines call; see `guard.py` for the wiring.
"""

from .guard import (
                    BlocklistConfig,
                    ClassifierConfig,
                    ContentSafetyConfig,
                    FaceBlurConfig,
                    GuardrailBlocked,
                    GuardrailConfig,
                    Guardrails,
                    LLMGuardConfig,
                    PromptDecision,
                    VideoDecision,
)

__all__ = ["BlocklistConfig", "ClassifierConfig", "ContentSafetyConfig", "FaceBlurConfig", "GuardrailBlocked",
           "GuardrailConfig", "Guardrails", "LLMGuardConfig", "PromptDecision", "VideoDecision"]
