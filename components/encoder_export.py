"""The all-MiniLM-L6-v2 encoder as a TensorFlow graph, and its export to ONNX.

components/sentence_encoder.py runs the exported file on ONNX Runtime. The TensorFlow graph
here is the reference it is checked against (tests/test_sentence_encoder.py) and what
tf2onnx converts, once, at install time (scripts/export_encoder.py): the model as
transformers' TFBertModel loads it from the fetched safetensors weights, no PyTorch.

The graph takes token ids and the attention mask (int32, [batch, tokens]) and returns, for
every hidden state (the embeddings and each of the 6 layers), the mean of the token
vectors under the mask, L2-normalised: [batch, 7, 384]. Which layers make the sentence
vector stays a choice of the component (`lower_layer`), not of the exported file.
"""
from pathlib import Path
from typing import Any, Callable, List, Text

import numpy as np

ONNX_FILE = "encoder.onnx"
OPSET = 17
CHECK_COSINE = 0.999  # the least cosine allowed between the two runtimes' vectors


def tf_layer_means(folder: Text) -> Callable[[np.ndarray, np.ndarray], Any]:
    """The reference: a tf.function (ids, mask) -> [batch, layers, 384]."""
    import tensorflow as tf
    from transformers import TFBertModel

    model = TFBertModel.from_pretrained(str(folder))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="ids"),
                                  tf.TensorSpec([None, None], tf.int32, name="mask")])
    def layer_means(ids, mask):
        layers = model(input_ids=ids, attention_mask=mask, token_type_ids=tf.zeros_like(ids),
                       output_hidden_states=True, training=False).hidden_states
        weights = tf.cast(mask, layers[-1].dtype)[:, :, None]
        count = tf.maximum(tf.reduce_sum(weights, 1), 1e-9)
        return tf.stack([tf.math.l2_normalize(tf.reduce_sum(layer * weights, 1) / count, axis=1)
                         for layer in layers], axis=1)

    return layer_means


def export(folder: Text, texts: List[Text]) -> Path:
    """Writes `folder`/encoder.onnx from the weights in `folder`, after checking on `texts`
    that ONNX Runtime gives the TensorFlow graph's vectors."""
    import tensorflow as tf
    import tf2onnx

    from components.sentence_encoder import OnnxEncoder, tokenize

    folder_path = Path(folder)
    layer_means = tf_layer_means(folder)
    target = folder_path / ONNX_FILE
    partial = folder_path / (ONNX_FILE + ".partial")
    tf2onnx.convert.from_function(layer_means, input_signature=layer_means.input_signature,
                                  opset=OPSET, output_path=str(partial))
    ids, mask = tokenize(OnnxEncoder.tokenizer_for(folder), texts)
    expected = layer_means(tf.constant(ids), tf.constant(mask)).numpy()
    got = OnnxEncoder.session_for(partial).run(None, {"ids": ids, "mask": mask})[0]
    cosine = float((expected * got).sum(-1).min())
    if cosine < CHECK_COSINE:
        partial.unlink()
        raise RuntimeError(f"ONNX export differs from TensorFlow: least cosine {cosine:.6f}")
    partial.replace(target)
    return target
