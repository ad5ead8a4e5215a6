"""The public `Clamp` API on a tiny real model: inputs of every kind, normalisation, classify."""

import numpy as np
import pytest
from conftest import FIXTURES

from clamp_core import Clamp, ClampError


@pytest.fixture(scope="module")
def clamp(tmp_path_factory):
    from clamp_core.model.checkpoint import create_model, save_model
    from clamp_core.model.config import preset

    folder = tmp_path_factory.mktemp("m") / "tiny"
    save_model(create_model(preset("tiny"), seed=0), folder)
    return Clamp.load(str(folder), precision="fp32")


def test_scores_of_every_kind_encode_alike(clamp):
    from clamp_core.scores.load import load_score

    path = FIXTURES / "scores" / "lieder_6053984.mxl"
    stream = load_score(path).stream
    abc = clamp.score_abc(path)
    feats = clamp.encode_scores([path, str(path), stream, abc])
    assert feats.shape == (4, clamp.dim)
    assert np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    assert np.allclose(feats[0], feats[1:], atol=1e-5)


def test_classify_returns_sorted_probabilities(clamp):
    out = clamp.classify(FIXTURES / "scores" / "two_tunes.abc", ["reel", "jig", "waltz"])
    labels, probs = zip(*out, strict=True)
    assert sorted(labels) == ["jig", "reel", "waltz"]
    assert abs(sum(probs) - 1) < 1e-5 and list(probs) == sorted(probs, reverse=True)
    with pytest.raises(ClampError, match="at least two"):
        clamp.classify(FIXTURES / "scores" / "two_tunes.abc", ["reel", " "])
    with pytest.raises(ClampError, match="no '{}'"):
        clamp.label_embeddings(["a", "b"], "no placeholder")


def test_template_ensembling_is_the_mean_of_prompts(clamp):
    one = clamp.label_embeddings(["reel"], ["a {}"])
    two = clamp.label_embeddings(["reel"], ["a {}", "an Irish {}"])
    a, b = clamp.encode_texts(["a reel", "an Irish reel"])
    mean = (a + b) / np.linalg.norm(a + b)
    assert np.allclose(two[0], mean, atol=1e-5) and np.allclose(one[0], a, atol=1e-5)
    # a label's own prompts join its templated ones; other labels keep their templates only
    own = clamp.label_embeddings(["reel", "jig"], ["a {}"], {"reel": ["an Irish reel"]})
    assert np.allclose(own[0], two[0], atol=1e-5)
    assert np.allclose(own[1], clamp.encode_texts(["a jig"])[0], atol=1e-5)


def test_int8_precision_stays_close_to_fp32(clamp, tmp_path):
    q = Clamp.load(clamp.name, precision="int8")
    abc = clamp.score_abc(FIXTURES / "scores" / "lieder_5071622.mxl")
    assert float(q.encode_abc([abc])[0] @ clamp.encode_abc([abc])[0]) > 0.99
    with pytest.raises(ClampError, match="precision must be"):
        Clamp.load(clamp.name, precision="fp8")
