"""A sentence embedding from the all-MiniLM-L6-v2 encoder, as a dense sentence feature.

Why not Rasa's LanguageModelFeaturizer: it calls the model eagerly (220-500 ms a message
on this machine), needs a vocab.txt, and takes the [CLS] vector, which this model was not
trained to produce. This component computes what sentence-transformers computes for the
model (the mean of the token vectors under the attention mask, L2-normalised), with the
same mean taken from a lower layer appended (`lower_layer`). The model runs on ONNX
Runtime: `make install` fetches it (scripts/fetch_encoder.py) and exports it once from
TensorFlow to `encoder.onnx` in the same folder (scripts/export_encoder.py,
components/encoder_export.py, checked against the TensorFlow graph). ONNX Runtime takes
about half of TensorFlow's CPU per message, without its per-call overhead and thread pools
(docs/performance.md). The `tokenizers` library reads the model's tokenizer.json. The model
folder is not part of the trained archive.
"""
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.encoder_export import ONNX_FILE

BATCH_SIZE = 64
MAX_TOKENS = 128  # far beyond any chat message; longer ones are truncated
# The last layer carries the meaning of the sentence; a lower layer (`lower_layer` in
# config.yml, a config value so that changing it retrains the classifier) keeps more of its
# words and phrasing. Both, appended, gave 5-fold intent accuracy 0.922 against 0.901 for
# the last layer alone (layers 1-5 tried, 2 best; the same gain with other regularisation
# and fold seeds: docs/nlu.md).
DEFAULT_LOWER_LAYER = 2
DIMENSIONS = 2 * 384
# ONNX Runtime threads for one forward pass. Two (or one on a one-core machine): one message
# is encoded in 2.6 ms instead of 4.1 ms on an idle 2-core machine, and the Rasa server's
# throughput at 8 conversations did not drop (`make bench`). When other processes keep both
# cores busy, the second thread waits for one (8 ms instead of 5): ENCODER_THREADS=1 there
# (docs/performance.md).
THREADS = int(os.environ.get("ENCODER_THREADS") or min(2, os.cpu_count() or 1))


def tokenize(tokenizer: Any, texts: List[Text]) -> Tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask, padded to the longest text (int32)."""
    encodings = tokenizer.encode_batch(texts)
    return (np.array([e.ids for e in encodings], dtype=np.int32),
            np.array([e.attention_mask for e in encodings], dtype=np.int32))


class OnnxEncoder:
    """The exported model and its tokenizer; `encode` maps texts to vectors
    (n, DIMENSIONS): two unit vectors side by side (last layer, `lower_layer`)."""

    def __init__(self, folder: Text, lower_layer: int = DEFAULT_LOWER_LAYER) -> None:
        path = Path(folder)
        if not (path / ONNX_FILE).is_file():
            raise FileNotFoundError(f"No {ONNX_FILE} in {path}: run `make install` "
                                    f"(scripts/fetch_encoder.py and scripts/export_encoder.py).")
        self.tokenizer = self.tokenizer_for(folder)
        self.session = self.session_for(path / ONNX_FILE)
        self.layers = [-1, lower_layer]  # indices into (embeddings, layer 1, ..., layer 6)
        self.encode(["warm up"])  # ONNX Runtime allocates on the first run, not on a user's

    @staticmethod
    def tokenizer_for(folder: Text) -> Any:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0)
        return tokenizer

    @staticmethod
    def session_for(onnx_path: Path) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])

    def encode(self, texts: List[Text]) -> np.ndarray:
        batches = []
        for start in range(0, len(texts), BATCH_SIZE):
            ids, mask = tokenize(self.tokenizer, texts[start:start + BATCH_SIZE])
            means = self.session.run(None, {"ids": ids, "mask": mask})[0]
            batches.append(means[:, self.layers].reshape(len(ids), DIMENSIONS))
        return np.concatenate(batches) if batches else np.zeros((0, DIMENSIONS), np.float32)


_ENCODERS: Dict[Text, OnnxEncoder] = {}


def encoder(folder: Text, lower_layer: int = DEFAULT_LOWER_LAYER) -> OnnxEncoder:
    """One encoder per folder and process (training builds the graph node more than once)."""
    key = f"{Path(folder).resolve()}|{lower_layer}"
    if key not in _ENCODERS:
        _ENCODERS[key] = OnnxEncoder(folder, lower_layer)
    return _ENCODERS[key]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
                          is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.encoder = encoder(config["model_path"], config["lower_layer"])

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model_path": "build/minilm",
                "lower_layer": DEFAULT_LOWER_LAYER}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    @staticmethod
    def required_packages() -> List[Text]:
        return ["onnxruntime", "tokenizers"]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        vectors = self.encoder.encode([m.get(TEXT) for m in with_text])
        for message, vector in zip(with_text, vectors):
            self.add_features_to_message(sequence=None, sentence=vector[None, :],
                                         attribute=TEXT, message=message)
        return messages


def sentence_vector(message: Message) -> Optional[np.ndarray]:
    _, sentence = message.get_dense_features(TEXT)
    return None if sentence is None else sentence.features[0]


def cached_encode(folder: Text, texts: List[Text], cache: Path,
                  lower_layer: int = DEFAULT_LOWER_LAYER) -> np.ndarray:
    """Vectors for texts, reusing those saved in `cache` (an .npz; for offline evaluation)
    when they were computed with the same layers."""
    layout = f"mean(last)+mean(layer {lower_layer})"
    known: Dict[Text, np.ndarray] = {}
    if cache.exists():
        with np.load(cache, allow_pickle=False) as saved:
            if "layout" in saved and str(saved["layout"]) == layout:
                known = dict(zip(saved["texts"].tolist(), saved["vectors"]))
    missing = sorted({t for t in texts if t not in known})
    if missing:
        known.update(zip(missing, encoder(folder, lower_layer).encode(missing)))
        cache.parent.mkdir(parents=True, exist_ok=True)
        names = sorted(known)
        np.savez(cache, texts=np.array(names), vectors=np.stack([known[t] for t in names]),
                 layout=np.array(layout))
    return np.stack([known[t] for t in texts])
