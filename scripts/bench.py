#!/usr/bin/env python3
"""`make bench`: the project against Rasa's starter bot (devstack/bench.py, docs/performance.md)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
