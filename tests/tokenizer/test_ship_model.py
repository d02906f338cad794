"""scripts/ship_model.py keeps shipped models and the tokenizer they share consistent."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest
import torch

from worldsmith.tokenizer.model import CausalVideoTokenizer, build_tokenizer

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "ship_model.py")


def _ship_module():
    spec = importlib.util.spec_from_file_location("ship_model", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ship_records_the_fingerprint_and_refuses_mismatched_tokenizers(tmp_path):
    ship = _ship_module()
    pre = tmp_path / "pretrained"
    toks = {}
    for name, seed in (("a", 0), ("b", 1)):
        torch.manual_seed(seed)
        tok = build_tokenizer("cv4x8x8-tiny")
        tok.save_pretrained(tmp_path / f"tok-{name}")
        toks[name] = tok.fingerprint()
    ship.ship(str(tmp_path / "tok-a"), str(pre / "tok"), None)  # a tokenizer nobody references yet
    src = tmp_path / "run" / "model"  # a trained model: its own copy of tokenizer a
    ship.shutil.copytree(tmp_path / "tok-a", src / "tokenizer")
    (src / "world_model.json").write_text(json.dumps({"tokenizer": "tokenizer"}))
    ship.ship(str(src), str(pre / "wm"), "../tok")
    meta = json.loads((pre / "wm" / "world_model.json").read_text())
    assert meta == {"tokenizer": "../tok", "tokenizer_fingerprint": toks["a"]}
    assert not (pre / "wm" / "tokenizer").exists()
    # a model trained on tokenizer b cannot be pointed at the shipped tokenizer a
    other = tmp_path / "run-b" / "model"
    ship.shutil.copytree(tmp_path / "tok-b", other / "tokenizer")
    (other / "world_model.json").write_text(json.dumps({"tokenizer": "tokenizer"}))
    with pytest.raises(SystemExit, match="not the tokenizer"):
        ship.ship(str(other), str(pre / "wm-b"), "../tok")
    assert not (pre / "wm-b").exists()
    # nor can tokenizer b replace a while the shipped model still reads a's latents
    with pytest.raises(SystemExit, match="referenced by .*wm"):
        ship.ship(str(tmp_path / "tok-b"), str(pre / "tok"), None)
    assert CausalVideoTokenizer.from_pretrained(pre / "tok").fingerprint() == toks["a"]


def test_ship_writes_the_recommended_settings_it_is_given_and_refuses_bad_ones(tmp_path):
    ship = _ship_module()
    torch.manual_seed(0)
    tok = build_tokenizer("cv4x8x8-tiny")
    src = tmp_path / "run" / "model"
    tok.save_pretrained(src / "tokenizer")
    (src / "world_model.json").write_text(json.dumps({"tokenizer": "tokenizer",
                                                      "inference": {"video2world": {"sampler": "euler"}}}))
    rec = '{"video2world": {"sampler": "mean", "guidance": 0, "decode": "residual", "change_threshold": 0.3}}'
    assert ship.main([str(src), str(tmp_path / "wm"), "--inference", rec]) == 0
    text = (tmp_path / "wm" / "world_model.json").read_text()
    assert text.endswith("}\n")
    assert json.loads(text)["inference"] == json.loads(rec)
    ship.ship(str(src), str(tmp_path / "wm-kept"), None)  # without --inference the run's own block stays
    assert json.loads((tmp_path / "wm-kept" / "world_model.json").read_text())["inference"] == {
        "video2world": {"sampler": "euler"}}
    for bad, match in (("{nope", "--inference: not JSON"), ('{"video2world": {"sampler": "ddim"}}', "sampler 'ddim'"),
                       ('{"video2world": {"steps_": 3}}', "may set only"), ("[]", "expected an object")):
        with pytest.raises(SystemExit, match=match):
            ship.main([str(src), str(tmp_path / "wm-bad"), "--inference", bad])
    assert not (tmp_path / "wm-bad").exists()
    with pytest.raises(SystemExit, match="is a tokenizer"):
        ship.ship(str(src / "tokenizer"), str(tmp_path / "tok"), None, {"video2world": {"sampler": "mean"}})
