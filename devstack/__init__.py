"""Shared helpers that start and stop this project's processes: used by tests/, by the
benchmarks and the cluster in scripts/, and by deploy/tests/ (from the repository root).
Nothing imports scripts/ (tests/test_layout.py checks it); configuration comes from config/."""
from devstack.procs import (BIN, CHROMIUM, CHROMIUM_ARGS, MODEL, ROOT, SHOTS, START_TIMEOUT,
                            free_port, serving, stop, unique_ports, wait_until)
from devstack.stack import TRACKER_STORE, RasaStack, texts

__all__ = ["BIN", "CHROMIUM", "CHROMIUM_ARGS", "MODEL", "ROOT", "SHOTS", "START_TIMEOUT",
           "TRACKER_STORE", "RasaStack", "free_port", "serving", "stop", "texts", "unique_ports",
           "wait_until"]
