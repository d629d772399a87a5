"""Aligned overlapping passages of two texts, for highlighting what a copy shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from model.normalize import fold_diacritics

_SYLLABLE = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Passage:
    """A run of syllables that both texts share: character spans in each, and the text of a."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    text: str


def _syllable_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    found = list(_SYLLABLE.finditer(text))
    return [fold_diacritics(m.group(0).lower()) for m in found], [m.span() for m in found]


def overlapping_passages(a: str, b: str, min_syllables: int = 4, limit: int = 20) -> list[Passage]:
    """Longest common runs of folded syllables, mapped back to the original spelling.

    >>> [p.text for p in overlapping_passages(
    ...     "Lắp đặt hệ thống pin mặt trời trên mái nhà xưởng",
    ...     "Công ty lap dat he thong pin mat troi tren mai kho")]
    ['Lắp đặt hệ thống pin mặt trời trên mái']
    """
    sa, spans_a = _syllable_spans(a)
    sb, spans_b = _syllable_spans(b)
    matcher = SequenceMatcher(None, sa, sb, autojunk=False)
    blocks = [m for m in matcher.get_matching_blocks() if m.size >= min_syllables]
    blocks.sort(key=lambda m: -m.size)
    out = []
    for m in sorted(blocks[:limit], key=lambda m: m.a):
        a0, a1 = spans_a[m.a][0], spans_a[m.a + m.size - 1][1]
        b0, b1 = spans_b[m.b][0], spans_b[m.b + m.size - 1][1]
        out.append(Passage(a0, a1, b0, b1, a[a0:a1]))
    return out
