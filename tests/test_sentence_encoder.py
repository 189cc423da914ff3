"""The sentence encoder on ONNX Runtime gives the vectors the TensorFlow graph gave, on every
training example, so the intent classifier's figures (docs/nlu.md) do not move with the
runtime (issue 24). Needs the encoder fetched and exported by `make install`."""
import numpy as np
import pytest
from rasa.shared.nlu.training_data.loading import load_data

from components.encoder_export import CHECK_COSINE, tf_layer_means
from components.sentence_encoder import DEFAULT_LOWER_LAYER, DIMENSIONS, encoder, tokenize
from devstack import ROOT

MODEL = ROOT / "build" / "minilm"
# Needs the encoder fetched and exported by `make install` (not there for `make test-unit`);
# TensorFlow loads the model and encodes ~1,700 texts: about a minute.
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def training_texts():
    return sorted({m.get("text") for m in load_data(str(ROOT / "data" / "nlu")).training_examples
                   if m.get("text")})


def test_onnx_vectors_match_tensorflow_on_every_training_example():
    import tensorflow as tf

    texts = training_texts()
    onnx = encoder(str(MODEL), DEFAULT_LOWER_LAYER)
    reference = tf_layer_means(str(MODEL))
    least = {"last layer": 1.0, f"layer {DEFAULT_LOWER_LAYER}": 1.0}
    for start in range(0, len(texts), 64):
        batch = texts[start:start + 64]
        ids, mask = tokenize(onnx.tokenizer, batch)
        expected = reference(tf.constant(ids), tf.constant(mask)).numpy()
        # One text at a time, as the server encodes a message (no padding).
        got = np.concatenate([onnx.encode([text]) for text in batch])
        assert got.shape == (len(batch), DIMENSIONS)
        for half, layer in zip(least, (-1, DEFAULT_LOWER_LAYER)):
            part = got[:, :384] if layer == -1 else got[:, 384:]
            cosine = (part * expected[:, layer]).sum(1) / np.linalg.norm(part, axis=1)
            least[half] = min(least[half], float(cosine.min()))
    print(f"{len(texts)} training texts, least cosine ONNX vs TensorFlow: {least}")
    assert len(texts) > 1000
    assert all(c >= CHECK_COSINE for c in least.values()), least


def test_a_batch_gives_the_vectors_of_its_texts_one_by_one():
    texts = ["hi", "What is a SPOC?", "which format should I choose for 200 employees?"]
    onnx = encoder(str(MODEL), DEFAULT_LOWER_LAYER)
    np.testing.assert_allclose(onnx.encode(texts),
                               np.concatenate([onnx.encode([t]) for t in texts]), atol=1e-5)
