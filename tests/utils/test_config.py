import dataclasses

import pytest

from worldsmith.utils import config
from worldsmith.utils.errors import WorldsmithError


@dataclasses.dataclass
class Optim:
    """Optimiser settings."""
    lr: float = 1e-3
    betas: tuple = (0.9, 0.99)


@dataclasses.dataclass
class Job:
    """A job."""
    name: str = "x"
    steps: int = 10
    optim: Optim = dataclasses.field(default_factory=Optim)


def test_overrides_nested_and_typed():
    cfg = config.resolve(Job(), overrides=["steps=20", "optim.lr=0.5", "optim.betas=[0.8, 0.9]"])
    assert cfg.steps == 20 and cfg.optim.lr == 0.5 and cfg.optim.betas == (0.8, 0.9)
    assert isinstance(cfg.optim, Optim)


def test_unknown_key_names_the_key():
    with pytest.raises(WorldsmithError, match="unknown key 'lrr'"):
        config.resolve(Job(), overrides=["optim.lrr=1"])


def test_wrong_type_is_an_error():
    with pytest.raises(WorldsmithError, match="steps"):
        config.resolve(Job(), overrides=["steps=abc"])


def test_file_then_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: 3\noptim:\n  lr: 0.1\n")
    cfg = config.resolve(Job(), str(p), ["steps=4"])
    assert cfg.steps == 4 and cfg.optim.lr == 0.1
    again = config.from_dict(Job, config.to_dict(cfg))
    assert again == cfg


def test_bad_file(tmp_path):
    with pytest.raises(WorldsmithError, match="not found"):
        config.resolve(Job(), str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(WorldsmithError, match="bad.yaml"):
        config.resolve(Job(), str(bad))


def test_exponent_without_dot_is_a_float():
    cfg = config.resolve(Job(), overrides=["optim.lr=2e-3"])
    assert cfg.optim.lr == 0.002 and isinstance(cfg.optim.lr, float)
