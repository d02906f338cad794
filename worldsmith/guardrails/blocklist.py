"""Prompt blocklist: word lists per category, offline lemmatisation, profanity, de-obfuscation, fuzzy match.

Follows the Cosmos blocklist (lemmatise + better_profanity + exact word lists + fuzzy partial
match of long words), with two changes: lemmatisation uses `simplemma` (ships its data, no
NLTK download), and benign homographs common in physical-AI prompts ("screw", "strip",
"pot", "cock" ...) are removed from the profanity list through an allow list.

Word lists are text files, one term or phrase per line, `#` comments; the file name is the
category (`violence.txt` -> "violence"). Users add their own files/directories in the
config (`blocklist.extra_paths`); `allow.txt` files remove terms.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import unicodedata
from dataclasses import asdict, dataclass

from ..utils.errors import WorldsmithError

BLOCKLIST_DIR = os.path.join(os.path.dirname(__file__), "data", "blocklist")
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                      "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"})
_WORD = re.compile(r"[a-z]+")
# letters separated by single punctuation marks: "k.i.l.l", "s-e-x", "p*o*r*n"
_PUNCT_SPLIT = re.compile(r"\b(?:[a-z][.\-_*'~^]){2,}[a-z]\b")
# three or more single letters separated by spaces: "p o r n"
_SPACED = re.compile(r"\b(?:[a-z] ){2,}[a-z]\b")


@dataclass
class BlocklistMatch:
    """Why a prompt was blocked by the word lists."""

    category: str
    term: str
    rule: str  # "word" | "phrase" | "fuzzy" | "profanity"
    found: str  # the (normalised) word or phrase in the prompt

    def to_dict(self) -> dict:
        return asdict(self)


def normalize(text: str) -> str:
    """Lowercase, strip accents, undo leetspeak, rejoin spaced or punctuated letters, squeeze repeats."""
    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    # leetspeak only inside tokens that also contain letters ("k1ll", "pr0n"), not in "3 cups"
    t = " ".join(w.translate(LEET) if re.search(r"[a-z]", w) else w for w in t.split())
    t = _PUNCT_SPLIT.sub(lambda m: re.sub(r"[^a-z]", "", m.group(0)), t)
    t = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), t)
    t = re.sub(r"(.)\1{2,}", r"\1", t)  # "kiiiill" -> "kill" (3+ repeats)
    return t


def _edit_distance(a: str, b: str, cap: int) -> int:
    """Levenshtein distance, stopping early once every row exceeds `cap`."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > cap:
            return cap + 1
        prev = cur
    return prev[-1]


def _read_terms(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise WorldsmithError(f"blocklist file {path}: cannot read ({e})") from None
    return [ln.strip().lower() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _profanity_words() -> list[str]:
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or not spec.submodule_search_locations:
        raise WorldsmithError("blocklist: the `better_profanity` package is missing (pip install better-profanity)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "profanity_wordlist.txt")
    return _read_terms(path)


def _english_words() -> set[str]:
    """Whole words of the shipped MiniLM WordPiece vocabulary: a 20k-word English lexicon, offline."""
    from ..text.encoder import default_model_dir

    try:
        with open(os.path.join(default_model_dir(), "vocab.txt"), encoding="utf-8") as f:
            return {w for w in f.read().split() if w.isalpha() and w.islower()}
    except (OSError, WorldsmithError):
        return set()


class Blocklist:
    """Word-list matcher. `check(prompt) -> BlocklistMatch | None`.

    Args:
        extra_paths: more word-list files or directories of `<category>.txt` files.
        profanity: also block the better_profanity list (category "profanity").
        fuzzy_max: largest edit distance / word length for the fuzzy match (0 = off); only
            words of at least `fuzzy_min_len` characters are fuzzy-matched.
        categories: categories to enforce (None = all found in the files).
    """

    def __init__(self, extra_paths: list[str] | None = None, profanity: bool = True,
                 fuzzy_max: float = 0.2, fuzzy_min_len: int = 6, categories: list[str] | None = None):
        import simplemma  # noqa: F401  (fail early with a clear import error)

        self.fuzzy_max = fuzzy_max
        self.fuzzy_min_len = fuzzy_min_len
        files = self._collect([BLOCKLIST_DIR] + list(extra_paths or []))
        is_allow = [os.path.splitext(os.path.basename(p))[0] == "allow" for p in files]
        # allow lists (shipped + user) remove terms from every list
        allow = {self._lemma_phrase(normalize(t)) for p, a in zip(files, is_allow) if a for t in _read_terms(p)}
        terms: dict[str, str] = {}  # lemmatised term -> category
        for path, a in zip(files, is_allow):
            cat = os.path.splitext(os.path.basename(path))[0]
            if a or (categories is not None and cat not in categories):
                continue
            for t in _read_terms(path):
                key = self._lemma_phrase(normalize(t))
                if key not in allow:
                    terms.setdefault(key, cat)
        if profanity and (categories is None or "profanity" in categories):
            for t in _profanity_words():
                key = self._lemma_phrase(normalize(t))
                if key not in allow:
                    terms.setdefault(key, "profanity")
        self.words = {t: c for t, c in terms.items() if " " not in t}
        self.phrases = {t: c for t, c in terms.items() if " " in t}
        # fuzzy matching uses only the curated category lists (the profanity list is exact-only:
        # fuzzy profanity turns "warehouse" into "whorehouse"), and only on tokens that are
        # not ordinary English words (misspellings and obfuscations are, "shatters" is not)
        self.long_words = [t for t, c in self.words.items() if len(t) >= fuzzy_min_len and c != "profanity"]
        self.english = _english_words()

    @staticmethod
    def _collect(paths: list[str]) -> list[str]:
        files = []
        for p in paths:
            if os.path.isdir(p):
                files += sorted(glob.glob(os.path.join(p, "*.txt")))
            elif os.path.isfile(p):
                files.append(p)
            else:
                raise WorldsmithError(f"blocklist path not found: {p}")
        return files

    @staticmethod
    def _lemma(word: str) -> str:
        import simplemma

        return simplemma.lemmatize(word, lang="en").lower()

    def _lemma_phrase(self, phrase: str) -> str:
        return " ".join(self._lemma(w) for w in _WORD.findall(phrase))

    def check(self, prompt: str) -> BlocklistMatch | None:
        """First match (exact word, phrase, then fuzzy) or None when the prompt passes."""
        text = normalize(prompt)
        tokens = _WORD.findall(text)
        lemmas = [self._lemma(w) for w in tokens]
        # 1. exact words (surface form or lemma); also concatenated phrases ("childporn")
        for tok, lem in zip(tokens, lemmas):
            for w in (tok, lem):
                if w in self.words:
                    cat = self.words[w]
                    return BlocklistMatch(cat, w, "profanity" if cat == "profanity" else "word", tok)
            for ph, cat in self.phrases.items():
                if tok == ph.replace(" ", ""):
                    return BlocklistMatch(cat, ph, "phrase", tok)
        # 2. phrases on the lemma sequence and on the surface sequence
        for seq in (" " + " ".join(lemmas) + " ", " " + " ".join(tokens) + " "):
            for ph, cat in self.phrases.items():
                if f" {ph} " in seq:
                    return BlocklistMatch(cat, ph, "phrase", ph)
        # 3. fuzzy partial match for long words: misspellings and blocked words inside longer tokens
        if self.fuzzy_max > 0:
            for tok in tokens:
                if len(tok) < self.fuzzy_min_len:
                    continue
                known = tok in self.english or self._lemma(tok) in self.english
                for w in self.long_words:
                    if w in tok and not known:
                        return BlocklistMatch(self.words[w], w, "fuzzy", tok)
                    if known or abs(len(w) - len(tok)) > 2:
                        continue
                    cap = int(self.fuzzy_max * len(w))
                    if cap and _edit_distance(tok, w, cap) <= cap:
                        return BlocklistMatch(self.words[w], w, "fuzzy", tok)
        return None
