"""Normalisation and word-segmentation throughput on the project's records.

    .venv/bin/python benchmarks/segmentation.py

Prints texts/s and words/s for ``normalize`` and for underthesea ``word_tokenize`` (cold, i.e.
every text new to the cache), and the speed of a cache hit.
"""

from __future__ import annotations

import json
import time

from model.normalize import normalize, segment
from training.dataset import load_all, load_copies


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
    segment("khởi động")  # load the CRF model once, outside the timing
    segment.cache_clear()
    out = {
        "texts": len(texts), "mean_syllables_per_text": round(words, 1),
        "normalize_texts_per_s": round(rate(normalize, raw), 1),
        "segment_cold_texts_per_s": round(rate(segment, texts), 1),
        "segment_cached_texts_per_s": round(rate(segment, texts), 1),
    }
    out["segment_cold_syllables_per_s"] = round(out["segment_cold_texts_per_s"] * words)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
