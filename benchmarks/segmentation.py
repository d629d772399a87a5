"""Normalisation and word-segmentation throughput on the project's records.

    .venv/bin/python benchmarks/segmentation.py

Prints texts/s and words/s for ``normalize``, for underthesea's ``word_tokenize`` (the
baseline) and for ``segment`` (``model.wordseg``, same words; cold, i.e. every text new to the
cache), the ratio of the two in this run, and the speed of a cache hit.
"""

from __future__ import annotations

import json
import time

from underthesea import word_tokenize

from model.normalize import normalize, segment
from training.dataset import load_all, load_copies


def _underthesea(text: str) -> str:
    return word_tokenize(text, format="text")


def rate(fn, texts: list[str]) -> float:
    t = time.perf_counter()
    for text in texts:
        fn(text)
    return len(texts) / (time.perf_counter() - t)


def main() -> None:
    _, records = load_all()
    raw = [r.text for r in records] + [c.text for c in load_copies()]
    texts = [normalize(t) for t in raw]
    words = sum(len(t.split()) for t in texts) / len(texts)
    segment("khởi động")  # load both CRF models once, outside the timing
    word_tokenize("khởi động")
    segment.cache_clear()
    out = {
        "texts": len(texts), "mean_syllables_per_text": round(words, 1),
        "normalize_texts_per_s": round(rate(normalize, raw), 1),
        "underthesea_word_tokenize_texts_per_s": round(rate(_underthesea, texts), 1),
        "segment_cold_texts_per_s": round(rate(segment, texts), 1),
        "segment_cached_texts_per_s": round(rate(segment, texts), 1),
    }
    out["segment_cold_syllables_per_s"] = round(out["segment_cold_texts_per_s"] * words)
    out["speedup_vs_underthesea"] = round(out["segment_cold_texts_per_s"]
                                          / out["underthesea_word_tokenize_texts_per_s"], 2)
    out["identical_output"] = all(segment(t) == _underthesea(t) for t in texts)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
