"""Export the fetched all-MiniLM-L6-v2 encoder to ONNX for components/sentence_encoder.py.

Converts the model's TensorFlow graph (components/encoder_export.py; transformers loads
the safetensors weights, no PyTorch) with tf2onnx into `encoder.onnx` in the model folder,
after checking that ONNX Runtime gives the same vectors on a few sentences (cosine >=
0.999; tests/test_sentence_encoder.py checks every training example). Idempotent: does
nothing when the file is newer than the weights. Run by `make install` after
scripts/fetch_encoder.py.

    python scripts/export_encoder.py build/minilm
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from components.encoder_export import ONNX_FILE, export  # noqa: E402

# Short and long, a batch with padding, one past the 128-token truncation.
CHECK_TEXTS = ["hi", "What is a SPOC?", "which format should I choose for 200 employees?",
               "We need to train 12 project managers who need coaching, quickly and cheaply",
               " ".join(["the learners follow the course online at their own pace"] * 20)]


def main(folder: Path) -> None:
    target, weights = folder / ONNX_FILE, folder / "model.safetensors"
    if target.is_file() and target.stat().st_mtime >= weights.stat().st_mtime:
        return
    print(f"export_encoder: {weights} -> {target} (about a minute)", flush=True)
    export(str(folder), CHECK_TEXTS)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/minilm"))
