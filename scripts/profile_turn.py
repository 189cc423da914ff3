#!/usr/bin/env python3
"""Where a turn goes: per-stage time of the Rasa server under the bench's session mix.

    scripts/profile_turn.py                       # models/assistant.tar.gz, 1 user, 300 messages
    scripts/profile_turn.py --users 8 --messages 400 --model M --out bench/profile-x.json

Serves the model as `make bench` does (action server, SQLite tracker store, REST), with
devstack/turn_profile.py loaded into the Rasa server (through a `sitecustomize` on
PYTHONPATH): it times NLU (and each pipeline component), the policies, custom action calls
(HTTP to the action server and back), the tracker store and the whole turn inside the
server. After an unmeasured warm-up pass, the project's bench sessions are played by
`--users` closed-loop users; the report gives, per message, wall and CPU milliseconds of
each stage, the client's latency (the rest is Sanic, the REST channel and the HTTP client),
and the CPU time each process used (from /proc). Load goes to 127.0.0.1 only.
"""
import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devstack.bench import (PROJECT_SESSIONS, SESSION_LENGTH, BenchStack,  # noqa: E402
                           run_phase)

HOOK = ROOT / "devstack" / "turn_profile.py"
# `rasa run` only (not `rasa run actions`): load the timing hook by its path.
SITECUSTOMIZE = f"""import sys
if sys.argv[1:2] == ["run"] and "actions" not in sys.argv:
    import importlib.util
    spec = importlib.util.spec_from_file_location("turn_profile", {str(HOOK)!r})
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
"""
STAGES = ["nlu", "policies", "action server call", "tracker store"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: Optional[int]) -> float:
    """User + system CPU of a process and its children that were waited for."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICKS


def snapshot(stack: BenchStack, out: Path, timeout: float = 30) -> Dict[str, dict]:
    """Asks the hook for its totals (and resets them)."""
    out.unlink(missing_ok=True)
    os.kill(stack.rasa_proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not out.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the Rasa server wrote no profile: is the hook loaded?")
        time.sleep(0.05)
    return json.loads(out.read_text())


def report(totals: Dict[str, dict], messages: int, latencies: List[float],
           cpu: Dict[str, float], seconds: float) -> dict:
    per = lambda v: round(v * 1000 / messages, 2)  # noqa: E731 - seconds -> ms per message
    turn = totals.get("turn", {"wall": 0.0, "cpu": 0.0})
    stages = {name: {"wall_ms": per(totals.get(name, {}).get("wall", 0.0)),
                     "cpu_ms": per(totals.get(name, {}).get("cpu", 0.0)),
                     "calls_per_message": round(totals.get(name, {}).get("calls", 0) / messages, 2)}
              for name in ["turn"] + STAGES}
    stages["other (in handle_message)"] = {
        "wall_ms": round(stages["turn"]["wall_ms"] - sum(stages[s]["wall_ms"] for s in STAGES), 2),
        "cpu_ms": round(stages["turn"]["cpu_ms"] - sum(stages[s]["cpu_ms"] for s in STAGES), 2)}
    client = statistics.mean(latencies) * 1000
    stages["HTTP front (Sanic, REST channel, client)"] = {
        "wall_ms": round(client - turn["wall"] * 1000 / messages, 2)}
    nodes = {name[5:]: {"wall_ms": per(t["wall"]), "cpu_ms": per(t["cpu"])}
             for name, t in sorted(totals.items(), key=lambda x: -x[1]["wall"])
             if name.startswith("node ")}
    return {"messages": messages, "seconds": round(seconds, 1),
            "throughput_msg_s": round(messages / seconds, 2),
            "client_latency_ms": {"mean": round(client, 2),
                                  "median": round(statistics.median(latencies) * 1000, 2)},
            "stages": stages, "graph_nodes": nodes,
            "process_cpu_ms_per_message": {k: round(v * 1000 / messages, 2)
                                           for k, v in cpu.items()}}


def print_report(r: dict) -> None:
    print(f"\n{r['messages']} messages in {r['seconds']} s ({r['throughput_msg_s']} msg/s); "
          f"client latency mean {r['client_latency_ms']['mean']} ms, "
          f"median {r['client_latency_ms']['median']} ms")
    print("\n| stage, per message | wall ms | CPU ms (Rasa server) |\n| --- | --- | --- |")
    for name, s in r["stages"].items():
        print(f"| {name} | {s['wall_ms']:.1f} | "
              + (f"{s['cpu_ms']:.1f} |" if "cpu_ms" in s else "- |"))
    print("\n| graph node, per message | wall ms | CPU ms |\n| --- | --- | --- |")
    for name, s in r["graph_nodes"].items():
        if s["wall_ms"] >= 0.05:
            print(f"| {name} | {s['wall_ms']:.2f} | {s['cpu_ms']:.2f} |")
    print("\nCPU per message: " + ", ".join(f"{k} {v} ms"
                                             for k, v in r["process_cpu_ms_per_message"].items()))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "assistant.tar.gz"))
    ap.add_argument("--users", type=int, default=1)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=300, help="time limit of the measured phase")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment of the Rasa server")
    ap.add_argument("--out", default=str(ROOT / "bench" / "profile.json"))
    ap.add_argument("--label", default="")
    ap.add_argument("--cprofile", metavar="FILE",
                    help="also run cProfile in the Rasa server during the measured phase and "
                         "write its statistics to FILE (slows Python code down: the stage "
                         "times are then not comparable)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="rasa-profile-"))
    try:
        (tmp / "hook").mkdir()
        (tmp / "hook" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        dump = tmp / "profile.json"
        env = dict(kv.partition("=")[::2] for kv in args.env)
        env.update({"PYTHONPATH": str(tmp / "hook"), "RASA_TURN_PROFILE": str(dump)})
        if args.cprofile:
            env["RASA_TURN_CPROFILE"] = str(Path(args.cprofile).resolve())
        stack = BenchStack(tmp / "stack", Path(args.model), True, env=env)
        with stack:
            print(f"profile: server up in {stack.start_seconds:.1f} s, warming up", flush=True)
            asyncio.run(run_phase(stack.url, PROJECT_SESSIONS, len(PROJECT_SESSIONS),
                                  SESSION_LENGTH * len(PROJECT_SESSIONS), 300, "warm"))
            snapshot(stack, dump)  # drop the warm-up's totals
            pids = {"rasa server": stack.rasa_proc.pid, "action server": stack.action_proc.pid}
            before = {k: cpu_seconds(p) for k, p in pids.items()}
            phase = asyncio.run(run_phase(stack.url, PROJECT_SESSIONS, args.users,
                                          args.messages, args.seconds, "profile"))
            cpu = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
            totals = snapshot(stack, dump)
        if phase["errors"] or phase["dialog_errors"] or phase["empty"]:
            print(f"WARNING: unexpected replies: {phase['samples']}")
        result = report(totals, phase["messages"], phase["latencies"], cpu, phase["seconds"])
        result.update(users=args.users, label=args.label, model=args.model,
                      date=time.strftime("%Y-%m-%d %H:%M"),
                      loadavg=[round(x, 2) for x in os.getloadavg()])
        print_report(result)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nprofile: wrote {args.out}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
