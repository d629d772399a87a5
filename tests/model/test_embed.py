import subprocess
import sys
import textwrap

import numpy as np
import pytest

from model.embed import CachedEmbedder, StaticEmbedder, TeacherEmbedder, static_tokens
from model.errors import NotFittedError
from model.normalize import fold_diacritics, normalize

ORIGINAL = normalize("Ứng dụng phần mềm quản lý hồ sơ bệnh án điện tử tại khoa Nội, giảm thời gian tra cứu")
PARAPHRASE = normalize("Phần mềm quản lý bệnh án điện tử giúp khoa Nội tra cứu hồ sơ nhanh hơn")
UNRELATED = normalize("Lắp đặt hệ thống pin mặt trời trên mái nhà xưởng để tiết kiệm điện")


def cos(a, b):
    return float(np.dot(a, b))


def test_static_rows_are_unit_length_and_deterministic(static_embedder):
    a = static_embedder.transform([ORIGINAL, UNRELATED, ""])
    b = static_embedder.transform([ORIGINAL])
    assert a.shape == (3, static_embedder.dim_) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a[0], b[0])
    assert not np.any(np.isnan(a))


def test_static_fast_path_equals_sentence_transformers_encode(static_embedder):
    texts = [ORIGINAL, PARAPHRASE, fold_diacritics(UNRELATED)]
    exact = static_embedder.encode_tokens(
        [static_tokens(t) if fold_diacritics(t) != t else static_tokens(t, folded=True) for t in texts])
    folded = static_embedder.encode_tokens([static_tokens(t, folded=True) for t in texts])
    reference = np.hstack([exact, folded])
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    assert np.allclose(static_embedder.transform(texts), reference, atol=1e-5)


@pytest.mark.parametrize("texts", [
    [ORIGINAL, PARAPHRASE, UNRELATED],
    ["", "...", "25°C, 汉字 và quản lý", "汉字", "quan ly ho so", "Hồ sơ\nhồ sơ hồ sơ"],
])
def test_batch_pooling_equals_token_by_token_pooling(static_embedder, texts):
    from model.embed import static_token_list

    exact, folded = static_embedder._pool_texts(texts)
    for pooled, is_folded, vocab in ((exact, False, static_embedder.vocab_),
                                     (folded, True, static_embedder.folded_vocab_)):
        reference = static_embedder._pool([static_token_list(t, is_folded) for t in texts], vocab)
        assert np.allclose(pooled, reference, atol=1e-6)


def test_static_similarity_orders_paraphrase_above_unrelated(static_embedder):
    o, p, u, f = static_embedder.transform([ORIGINAL, PARAPHRASE, UNRELATED, fold_diacritics(ORIGINAL)])
    assert cos(o, p) > cos(o, u) + 0.1
    assert cos(o, f) > 0.85 and cos(o, f) > cos(o, u)  # typed without diacritics: still close


def test_teacher_embeds_and_orders_pairs():
    teacher = TeacherEmbedder().fit()
    o, p, u = teacher.transform([ORIGINAL, PARAPHRASE, UNRELATED])
    assert np.isclose(np.linalg.norm(o), 1.0, atol=1e-4)
    assert cos(o, p) > cos(o, u)


@pytest.mark.parametrize("embedder", [StaticEmbedder(), TeacherEmbedder()])
def test_unfitted_embedders_raise(embedder):
    with pytest.raises(NotFittedError, match="fit"):
        embedder.transform(["văn bản"])


def test_missing_static_model_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="build-embedder"):
        StaticEmbedder(tmp_path).fit()


def test_cache_embeds_each_text_once(static_embedder):
    cached = CachedEmbedder(static_embedder)
    first = cached.transform([ORIGINAL, PARAPHRASE, ORIGINAL])
    assert (cached.misses, cached.hits) == (2, 1)
    again = cached.transform([PARAPHRASE])
    assert cached.hits == 2 and np.array_equal(again[0], first[1])
    assert np.array_equal(first[0], first[2])


def test_whole_embedding_path_runs_with_the_network_disabled(tmp_path):
    """Load both models and embed in a fresh process where any socket connection fails."""
    script = textwrap.dedent('''
        import os, socket
        os.environ["HF_HUB_OFFLINE"] = "1"
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from model.embed import StaticEmbedder, TeacherEmbedder
        s = StaticEmbedder().fit().transform(["Cải tiến quy trình khám bệnh"])
        t = TeacherEmbedder().fit().transform(["Cải tiến quy trình khám bệnh"])
        print(s.shape[1], t.shape[1])
    ''')
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["512", "384"]
