"""`worldsmith sim recaption`: a dataset's captions written again from its meta, nothing else touched."""

from __future__ import annotations

import json
import os

import pytest

from worldsmith.data.format import iter_shard_samples
from worldsmith.data.reader import iter_clips, read_manifest
from worldsmith.sim import generate_dataset
from worldsmith.sim.recaption import _rewrite_shard, recaption_dataset


def _members(root):
    out = {}
    for shard in sorted(os.listdir(os.path.join(root, "shards"))):
        for key, members in iter_shard_samples(os.path.join(root, "shards", shard)):
            out[key] = members
    return out


def _age(root, captions):
    """Make the dataset look written by an older captioner: these words in shards and manifest."""
    from worldsmith.data.manifest import load_manifest_rows, write_manifest

    rows = load_manifest_rows(os.path.join(root, "manifest.parquet"))
    for shard in {r["shard"] for r in rows}:
        _rewrite_shard(os.path.join(root, "shards", shard), captions)
    for r in rows:
        r["caption"] = captions.get(r["key"], r["caption"])
    write_manifest(os.path.join(root, "manifest.parquet"), rows)


def test_recaption_restores_todays_words_and_keeps_everything_else(tmp_path, capsys):
    from worldsmith.cli import main

    root = str(tmp_path / "d")
    generate_dataset(root, ["fall", "pendulum"], num_clips=3, seed=4, workers=1, frames=9, shard_max_clips=2)
    today = {r["key"]: r["caption"] for r in read_manifest(root)}
    before = _members(root)
    stale = {k: "an old caption" for k in list(today)[::2]}
    _age(root, stale)
    assert {c["key"]: c["caption"] for c in iter_clips(root)} == {**today, **stale}

    assert recaption_dataset(root, dry_run=True)["changed"] == len(stale)
    assert {r["key"]: r["caption"] for r in read_manifest(root)} == {**today, **stale}  # a dry run writes nothing
    assert main(["sim", "recaption", root]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["changed"] == len(stale) and summary["skipped"] == 0
    assert summary["examples"][0]["old"] == "an old caption"
    assert {r["key"]: r["caption"] for r in read_manifest(root)} == today
    assert {c["key"]: c["caption"] for c in iter_clips(root)} == today  # what training reads: the shards
    after = _members(root)
    for key, members in before.items():  # frames, arrays and meta byte for byte
        assert {e: d for e, d in after[key].items() if e != "json"} == {e: d for e, d in members.items() if e != "json"}
        assert json.loads(after[key]["json"])["meta"] == json.loads(members["json"])["meta"]
    assert recaption_dataset(root)["changed"] == 0  # idempotent
    assert not os.path.exists(os.path.join(root, ".writer.lock"))


def test_recaption_leaves_a_damaged_shard_as_it_is_and_finishes_the_rest(tmp_path, capsys):
    from worldsmith.cli import main

    root = str(tmp_path / "d")
    generate_dataset(root, ["fall"], num_clips=4, seed=2, workers=1, frames=9, shard_max_clips=2)
    rows = read_manifest(root)
    _age(root, {r["key"]: "an old caption" for r in rows})
    bad = rows[0]["shard"]
    with open(os.path.join(root, "shards", bad), "r+b") as f:  # truncated mid-member
        f.truncate(1500)
    assert main(["sim", "recaption", root]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert [f["shard"] for f in summary["failed_shards"]] == [bad]
    assert summary["shards_rewritten"] == summary["shards"] - 1
    words = {r["key"]: (r["shard"], r["caption"]) for r in read_manifest(root)}
    assert all((c == "an old caption") == (s == bad) for s, c in words.values())
    assert summary["changed"] == sum(s != bad for s, _ in words.values())
    assert not os.path.exists(os.path.join(root, ".writer.lock"))


def test_recaption_skips_clips_it_cannot_caption_and_names_a_bad_directory(tmp_path):
    from worldsmith.data.writer import ClipWriter
    from worldsmith.utils.errors import WorldsmithError

    root = str(tmp_path / "d")
    generate_dataset(root, ["fall"], num_clips=2, seed=1, workers=1, frames=9)
    with ClipWriter(root) as w:  # a clip from elsewhere in the same dataset keeps its words
        w.add("camera-00000", video=next(iter_clips(root))["frames"], fps=15, caption="a phone video",
              source="camera")
    summary = recaption_dataset(root)
    assert summary["skipped"] == 1 and "camera" in summary["skipped_examples"][0]["reason"]
    assert {r["key"]: r["caption"] for r in read_manifest(root)}["camera-00000"] == "a phone video"
    with pytest.raises(WorldsmithError, match="nowhere"):
        recaption_dataset(str(tmp_path / "nowhere"))
