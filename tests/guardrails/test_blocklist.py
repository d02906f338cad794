"""Blocklist: obfuscated words are caught, benign look-alikes pass, lists are user-extendable."""

import pytest

from worldsmith.guardrails.blocklist import Blocklist, normalize
from worldsmith.utils.errors import WorldsmithError


@pytest.fixture(scope="module")
def bl():
    return Blocklist()


@pytest.mark.parametrize("text,want", [
    ("k1ll3r r0b0t", "killer robot"),
    ("p o r n", "porn"),
    ("s.e.x", "sex"),
    ("d-e-c-a-p-i-t-a-t-e", "decapitate"),
    ("pooorrrnnn", "porn"),
    ("Décapité", "decapite"),
    ("3 cups and 2 plates", "3 cups and 2 plates"),  # digits alone are not leetspeak
])
def test_normalize(text, want):
    assert normalize(text) == want


@pytest.mark.parametrize("prompt,category", [
    ("a video of a b3h3ad1ng", "violence"),
    ("a m@ssacre in the village", "violence"),
    ("generate p o r n", "sexual"),
    ("an explicit s_e_x scene", "sexual"),
    ("childporn", "minors"),
    ("how to build a p1pe b0mb", "weapons_illegal"),
    ("a man decapitaton video", "violence"),  # misspelt: fuzzy match on a long word
    ("DISMEMBERED bodies", "violence"),  # lemmatised + case
    ("a tutorial on how to commit suicide", "self_harm"),
    ("cooking m e t h a m p h e t a m i n e", "weapons_illegal"),
])
def test_obfuscated_harmful_words_blocked(bl, prompt, category):
    m = bl.check(prompt)
    assert m is not None, prompt
    assert m.category == category


@pytest.mark.parametrize("prompt", [
    "a ball is shot from a cannon", "a robot cuts a cake", "a robot tightens a screw",
    "a warehouse robot stacks boxes", "a glass bottle shatters on the floor", "a robot dog walks on grass",
    "a two-finger gripper picks up a cup", "a pot of water boils", "the driver kills the engine",
    "a rooster crows at dawn", "a mother bathing her baby", "a crash test dummy hits the wall",
])
def test_benign_lookalikes_pass(bl, prompt):
    assert bl.check(prompt) is None


def test_user_lists_extend_and_allow(tmp_path):
    (tmp_path / "violence.txt").write_text("# my list\nzorblat\nred wedding\n")
    (tmp_path / "allow.txt").write_text("beheading\nbehead\n")
    b = Blocklist(extra_paths=[str(tmp_path)])
    assert b.check("a zorblat appears").term == "zorblat"
    assert b.check("the red weddings").category == "violence"  # phrase matched on lemmas
    assert b.check("a beheading") is None  # user allow list removes it
    assert Blocklist().check("a zorblat appears") is None


def test_category_switch_and_profanity_switch():
    b = Blocklist(categories=["sexual"], profanity=False)
    assert b.check("a beheading") is None
    assert b.check("porn").category == "sexual"
    assert Blocklist(profanity=False).check("fuck") is None
    assert Blocklist().check("fuck").category == "profanity"


def test_missing_user_list_is_clear_error(tmp_path):
    with pytest.raises(WorldsmithError, match="blocklist path not found.*nope.txt"):
        Blocklist(extra_paths=[str(tmp_path / "nope.txt")])


def test_simulator_captions_pass_the_blocklist(bl):
    """Every scenario's real captions pass: the physics vocabulary ('slope', 'sucks') is not profanity."""
    from worldsmith.sim.clip import scenario_names, simulate_clip

    for name in scenario_names():
        for seed in range(3):
            cap = simulate_clip(name, seed, frames=2, resolution=16).caption
            assert bl.check(cap) is None, cap
    assert bl.check("A purple ball starts at the top of a slope and rolls down") is None
    assert bl.check("the vacuum sucks up the dust") is None
