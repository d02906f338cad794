import os

import pytest

from worldsmith.cli import main
from worldsmith.utils.atomic import atomic_path, atomic_write_json


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, "wb").write(b"half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_atomic_json_roundtrip(tmp_path):
    import json
    import numpy as np

    atomic_write_json(tmp_path / "a.json", {"x": np.float32(1.5), "y": np.arange(3)})
    assert json.load(open(tmp_path / "a.json")) == {"x": 1.5, "y": [0, 1, 2]}


def test_cli_help_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "worldsmith" in capsys.readouterr().out
