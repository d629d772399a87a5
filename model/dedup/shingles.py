"""Matching keys of a text for the lexical duplicate stage.

Shingles are built on the *folded* syllables (diacritics removed, lowercase), so a copy typed
without tone marks shares its shingles with the original. The folded form is a key only; texts
are stored and shown as written.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

from model.normalize import fold_diacritics

_SYLLABLE = re.compile(r"[^\W_]+")


def match_syllables(text: str) -> list[str]:
    """Folded lowercase syllables, the unit of lexical comparison.

    >>> match_syllables("Quản lý hồ sơ, 2022!")
    ['quan', 'ly', 'ho', 'so', '2022']
    """
    return _SYLLABLE.findall(fold_diacritics(text.lower()))


def shingles(text: str, size: int = 3) -> set[str]:
    """Sets of ``size`` consecutive folded syllables (the whole text when shorter).

    >>> sorted(shingles("Cải tiến quy trình", 3))
    ['cai tien quy', 'tien quy trinh']
    """
    return syllable_shingles(match_syllables(text), size)


def syllable_shingles(sylls: list[str], size: int = 3) -> set[str]:
    if len(sylls) < size:
        return {" ".join(sylls)} if sylls else set()
    return {" ".join(sylls[i : i + size]) for i in range(len(sylls) - size + 1)}


_SYLLABLE_HASH: dict[str, int] = {}
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))


def _syllable_hashes(sylls: list[str]) -> np.ndarray:
    """crc32 of each syllable, memoised: the vocabulary is small, the corpus is not."""
    cache = _SYLLABLE_HASH
    if len(cache) > 2_000_000:
        cache.clear()
    out = list(map(cache.get, sylls))
    if None in out:
        out = [cache.setdefault(s, zlib.crc32(s.encode())) if h is None else h for s, h in zip(sylls, out)]
    return np.array(out, dtype=np.uint64)


def shingle_hashes(sylls: list[str], size: int = 3) -> np.ndarray:
    """Sorted unique 32-bit hashes of the ``size``-syllable shingles (the MinHash input).

    Each shingle's hash mixes the crc32 of its syllables in order (no string is joined): the
    same set semantics as ``syllable_shingles`` at a fraction of the cost on whole exports.
    A text shorter than ``size`` is one shingle, as there.

    >>> a = shingle_hashes(match_syllables("cải tiến quy trình sản xuất"))
    >>> len(a), a.dtype, bool((a == shingle_hashes(match_syllables("Cai tien quy trinh san xuat"))).all())
    (4, dtype('uint32'), True)
    """
    if len(sylls) < size:
        return np.array([zlib.crc32(" ".join(sylls).encode())] if sylls else [], dtype=np.uint32)
    h = _syllable_hashes(sylls)
    m = len(sylls) - size + 1
    x = np.zeros(m, dtype=np.uint64)
    for j in range(size):
        x = (x ^ h[j : j + m]) * _MIX[j % 3]
        x ^= x >> np.uint64(29)
    return np.unique((x >> np.uint64(32)).astype(np.uint32))


def jaccard(a: set[str], b: set[str]) -> float:
    """Exact Jaccard similarity (LSH candidates are verified with this).

    >>> jaccard({"a", "b"}, {"b", "c"})
    0.3333333333333333
    """
    return len(a & b) / len(a | b) if a or b else 0.0


def containment(a: set[str], b: set[str]) -> float:
    """Share of the smaller set found in the larger: high when one text pads or cuts the other.

    >>> containment({"a", "b"}, {"a", "b", "c", "d"})
    1.0
    """
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def exact_key(text: str) -> str:
    """Hash of the normalised text, case-folded: equal keys are exact duplicates."""
    return hashlib.blake2b(text.casefold().encode("utf-8"), digest_size=12).hexdigest()


def folded_key(text: str, sylls: list[str] | None = None) -> str:
    """Hash of the folded syllables: equal keys are the same text up to diacritics and punctuation."""
    sylls = match_syllables(text) if sylls is None else sylls
    return hashlib.blake2b(" ".join(sylls).encode(), digest_size=12).hexdigest()
