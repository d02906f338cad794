"""Fixtures for the guardrail tests: the shipped MiniLM encoder (loaded once) and real video frames."""

import os

import numpy as np
import pytest

EXAMPLE = os.path.join(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.pardir, "shared", "test-videos"), "cosmos-transfer1", "example1_input_video.mp4")


@pytest.fixture(scope="session")
def encoder():
    from worldsmith.text import TextEncoder

    return TextEncoder()


@pytest.fixture(scope="session")
def guard(encoder):
    from worldsmith.guardrails import GuardrailConfig, Guardrails

    return Guardrails(GuardrailConfig(), encoder=encoder)


@pytest.fixture(scope="session")
def face_frames():
    """Frames 80-87 of the cosmos-transfer1 example: a woman whose lower face is in view (hand-checked)."""
    if not os.path.exists(EXAMPLE):
        pytest.skip(f"shared test video not present: {EXAMPLE}")
    from worldsmith.io import read_video

    v = read_video(EXAMPLE, frame_indices=list(range(80, 88)))
    assert v.frames.shape == (8, 480, 640, 3)
    return np.ascontiguousarray(v.frames)
