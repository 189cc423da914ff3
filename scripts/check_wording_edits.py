"""Which unit tests fail when a training manager rewords the content files?

For each content file (data/knowledge.yml, data/recommendation.yml, data/form_answers.yml,
data/handoff.yml, domain.yml's responses) this rewords what the bot says: "the" becomes
"that", "with" "along with", "about" "around" (REWORDINGS), and " Indeed." is appended to
each value that ends like a sentence. It never
touches keys, payloads, button titles (closed sets), the reading vocabulary of
data/form_answers.yml, the article's sources, nor anything between quotes (the article's
words, examples to type) or braces (placeholders). It runs the unit suite (`make
test-unit`'s selection) on a temporary copy of the work tree with one file reworded at a
time (the work tree itself is never written), and reports the tests that fail then but
pass on the unchanged copy. A test listed is one that pins wording (or one about the
facts of the words changed: look before fixing it).

    .venv/bin/python scripts/check_wording_edits.py [--show] [FILE ...]

--show prints a few of the reworded values of each file. Exits 1 if any test fails only
because of a wording edit.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Set, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import ScalarString

ROOT = Path(__file__).resolve().parents[1]
UNIT_TESTS = ["-m", "not integration and not slow", "tests"]  # as `make test-unit`

# Kept as they are: quoted words (“the article's”, "typed examples") and {placeholders}.
PROTECTED = re.compile(r"“[^”]*”|\"[^\"]*\"|\{[^{}]*\}")
# Words replaced by others that keep the facts (and their capitalised forms).
REWORDINGS = {"the": "that", "with": "along with", "about": "around"}
WORD = re.compile(r"\b(%s)\b" % "|".join(REWORDINGS), re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?][”\"')]*$")

# Which values of each file are wording the bot says, by their path of keys ("*": any key,
# "[]": any item of a list). Everything else (sources, vocabulary, payloads, titles) stays.
Path_ = Tuple[str, ...]
WORDING: Dict[str, List[Path_]] = {
    "data/knowledge.yml": [("answers", "*", "*", "text"), ("general", "*", "text"),
                           ("topics", "*", "silent"), ("topics", "*", "offer")],
    "data/recommendation.yml": [("groups", "text"), ("groups_reason", "text"),
                                ("blended", "text"), ("criteria", "*", "*", "supports"),
                                ("criteria", "*", "*", "conflicts"),
                                ("fillers", "*", "[]", "text"), ("replies", "*", "text"),
                                ("runner_up_when", "*", "text"), ("combine", "*", "text")],
    "data/form_answers.yml": [("questions", "*", "text"), ("hints", "*"),
                              ("messages", "updated"), ("messages", "left_open"),
                              ("messages", "still_unreadable"), ("messages", "noted"),
                              ("messages", "nothing_to_go_on"),
                              ("messages", "open_answer_matters"),
                              ("messages", "open_answers_intro"),
                              ("messages", "nothing_to_explain"), ("noted", "*", "*"),
                              ("open_answers", "*", "what"), ("open_answers", "*", "example"),
                              ("open_answers", "*", "values", "*")],
    "data/handoff.yml": [(key,) for key in (
        "offer", "ask_email", "invalid_email", "ask_project", "confirm", "sent", "sent_go_on",
        "recorded", "failed", "cancelled", "unavailable", "no_contact")],
    "domain.yml": [("responses", "*", "[]", "text")],
}


def reword(text: str) -> str:
    """REWORDINGS outside quotes and placeholders; " Indeed." after a sentence."""
    def swap(words: str) -> str:
        def other(match: "re.Match[str]") -> str:
            word = REWORDINGS[match.group().lower()]
            return word[0].upper() + word[1:] if match.group()[0].isupper() else word
        return WORD.sub(other, words)

    parts, last = [], 0
    for match in PROTECTED.finditer(text):
        parts += [swap(text[last:match.start()]), match.group()]
        last = match.end()
    parts.append(swap(text[last:]))
    reworded = "".join(parts)
    if SENTENCE_END.search(reworded.rstrip()):
        reworded = reworded.rstrip() + " Indeed."
    return reworded


def _matches(pattern: Path_, path: Path_) -> bool:
    return len(pattern) == len(path) and all(
        want == got or (want == "*" and got != "[]") or (want == "[]" and got == "[]")
        for want, got in zip(pattern, path))


def _walk(node: Any, path: Path_, visit: Callable[[Any, Any, Path_], None]) -> None:
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        here = path + ("[]" if isinstance(node, list) else str(key),)
        if isinstance(value, str):
            visit(node, key, here)
        else:
            _walk(value, here, visit)


def reword_file(source: str, patterns: Sequence[Path_]) -> Tuple[str, List[Tuple[str, str]]]:
    """The file's text with its wording reworded (comments and layout kept), and the
    (before, after) pairs."""
    yaml = YAML()  # round trip: comments, order, quotes and anchors stay
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(source)
    done: Dict[int, Any] = {}  # one new value per old one: an &anchor stays shared
    changes: List[Tuple[str, str]] = []

    def visit(parent: Any, key: Any, path: Path_) -> None:
        value = parent[key]
        if not any(_matches(p, path) for p in patterns):
            return
        if id(value) not in done:
            new = reword(str(value))
            if isinstance(value, ScalarString):
                anchor = value.yaml_anchor()
                new = type(value)(new, anchor=anchor.value if anchor else None)
            done[id(value)] = new
            if new != value:
                changes.append((str(value), str(new)))
        parent[key] = done[id(value)]

    _walk(data, (), visit)
    stream = _Text()
    yaml.dump(data, stream)
    return stream.text, changes


class _Text:
    text = ""

    def write(self, chunk: Any) -> None:
        self.text += chunk.decode() if isinstance(chunk, bytes) else chunk


def work_tree_copy(folder: Path) -> None:
    """The files git knows (as they are now, uncommitted edits too), with the virtualenv
    and the built models linked, not copied."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    for name in (".venv", "build"):
        if (ROOT / name).exists():
            os.symlink((ROOT / name).resolve(), folder / name)


def failing_tests(folder: Path) -> Set[str]:
    done = subprocess.run([str(folder / ".venv" / "bin" / "pytest"), "-q", "-rf",
                           "-p", "no:cacheprovider", "--no-header", *UNIT_TESTS],
                          cwd=folder, capture_output=True, text=True)
    failed = {line.split(" ", 1)[1].split(" - ")[0] for line in done.stdout.splitlines()
              if line.startswith(("FAILED ", "ERROR "))}
    if done.returncode not in (0, 1) or (done.returncode == 1 and not failed):
        sys.exit(f"pytest could not run (exit {done.returncode}):\n{done.stdout[-3000:]}"
                 f"{done.stderr[-3000:]}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help=f"content files to reword (default: all): {', '.join(WORDING)}")
    parser.add_argument("--show", action="store_true", help="print some reworded values")
    args = parser.parse_args()
    unknown = [name for name in args.files if name not in WORDING]
    if unknown:
        parser.error(f"not a content file: {', '.join(unknown)}")
    total = 0
    with tempfile.TemporaryDirectory(prefix="wording-edits-") as tmp:
        folder = Path(tmp)
        work_tree_copy(folder)
        baseline = failing_tests(folder)
        if baseline:
            print(f"failing before any edit (not counted): {len(baseline)}")
            for name in sorted(baseline):
                print(f"  {name}")
        for name in args.files or WORDING:
            original = (folder / name).read_text(encoding="utf-8")
            reworded, changes = reword_file(original, WORDING[name])
            (folder / name).write_text(reworded, encoding="utf-8")
            try:
                failed = sorted(failing_tests(folder) - baseline)
            finally:
                (folder / name).write_text(original, encoding="utf-8")
            total += len(failed)
            print(f"{name}: {len(changes)} values reworded, {len(failed)} tests fail")
            if args.show:
                for before, after in changes[:3]:
                    print(f"    {before!r}\n -> {after!r}")
            for test in failed:
                print(f"  {test}")
    print(f"total: {total} failing tests")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
