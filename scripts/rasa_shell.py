"""`rasa shell ARGS...` without the known deprecation warnings of Rasa 3.6's dependencies
(patches/rasa36.py KNOWN_WARNINGS) before the prompt. Run from the repository root:

    .venv/bin/python -m scripts.rasa_shell --model models/assistant.tar.gz ...
"""
import sys

from patches import rasa36


def main() -> None:
    rasa36.hide_known_warnings()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "shell", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
