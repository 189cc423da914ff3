"""Export the fetched all-MiniLM-L6-v2 encoder to ONNX for components/sentence_encoder.py.

Converts the model's TensorFlow graph (components/encoder_export.py; transformers loads
the safetensors weights, no PyTorch) with tf2onnx into `encoder.onnx` in the model folder,
after checking that ONNX Runtime gives the same vectors on a few sentences (cosine >=
0.999; tests/test_sentence_encoder.py checks every training example). Run by `make
install` after scripts/fetch_encoder.py. Idempotent: `encoder.onnx.json` records the
weights and the export code it was made from, and nothing is done while both are unchanged.

    python scripts/export_encoder.py build/minilm
"""
import hashlib
import json
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
    target, stamp = folder / ONNX_FILE, folder / (ONNX_FILE + ".json")
    # The weights as scripts/fetch_encoder.py checked them (about 90 MB, read at once).
    made_from = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in (
        ("weights_sha256", folder / "model.safetensors"),
        ("export_code_sha256", ROOT / "components" / "encoder_export.py"))}
    if target.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == made_from:
        return
    print(f"export_encoder: {folder / 'model.safetensors'} -> {target} (a minute or two)",
          flush=True)
    export(str(folder), CHECK_TEXTS)
    stamp.write_text(json.dumps(made_from, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/minilm"))
