"""scripts/run (`make run`, `make shell`) and the other launchers: closing the terminal
(SIGHUP) stops every server the script started, the hand-off worker included; a second
`make run` refuses at once; CORS_ORIGINS="*" is refused, by one check
(config/endpoints.py `cors_origins`) that every launcher uses."""
import os
import pty
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from devstack import ROOT, unique_ports, wait_until
from config import endpoints as make_endpoints
from devstack.cluster import Cluster


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def session_processes(sid: int) -> str:
    """The processes of the launcher's session (its servers), one per line."""
    return subprocess.run(["ps", "-o", "pid=,args=", "--sid", str(sid)],
                          capture_output=True, text=True).stdout.strip()


def run_again(env: dict) -> subprocess.CompletedProcess:
    """A second `scripts/run`; it must answer at once, before starting anything."""
    return subprocess.run([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=20)


def hangup_as_in_a_terminal() -> None:
    """SIGHUP as a terminal session has it. Tests started under `nohup` (as a CI job may
    be) inherit SIGHUP ignored, and bash cannot trap a signal ignored when it starts: the
    script would rightly outlive the hang-up (what nohup is for), and the test would not
    be testing a terminal."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.mark.integration  # the trained model
@pytest.mark.parametrize("mode", ["run", "shell"])
def test_closing_the_terminal_stops_every_server(mode, tmp_path):
    rasa, web, actions = unique_ports(3)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DB_", "REDIS_", "SLACK_", "TEAMS_", "HANDOFF_"))}
    env.update(RASA_PORT=str(rasa), WEB_PORT=str(web), ACTION_PORT=str(actions))
    log = tmp_path / "run.log"
    # `rasa shell` talks to a terminal: give it one.
    main, terminal = pty.openpty()
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "run")]
                                + (["--shell"] if mode == "shell" else []),
                                cwd=ROOT, env=env, stdin=terminal, stdout=terminal,
                                stderr=out, start_new_session=True,
                                preexec_fn=hangup_as_in_a_terminal)

    def drain() -> None:
        with open(log, "ab") as out:
            while True:
                try:
                    data = os.read(main, 4096)
                except OSError:
                    return
                if not data:
                    return
                out.write(data)

    threading.Thread(target=drain, daemon=True).start()
    ports = [rasa, actions] + ([web] if mode == "run" else [])
    try:
        wait_until(f"http://127.0.0.1:{actions}/health", proc, log)
        wait_until(f"http://127.0.0.1:{rasa}/", proc, log)
        if mode == "run":
            wait_until(f"http://127.0.0.1:{web}/", proc, log, timeout=60)
        time.sleep(2)
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert all(listening(p) for p in ports)
        assert "-m handoff.worker" in session_processes(proc.pid)
        if mode == "run":
            second = run_again(env)
            assert second.returncode == 1 and second.stdout == ""
            for port in ports:
                assert f"port {port} on 127.0.0.1" in second.stderr, second.stderr
            assert "Another `make run` may be running" in second.stderr
            assert proc.poll() is None and all(listening(p) for p in ports)  # untouched
        proc.send_signal(signal.SIGHUP)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # name what is still running, for the diagnosis
            still = subprocess.run(["ps", "-o", "pid,stat,etime,args", "-g", str(proc.pid)],
                                   capture_output=True, text=True).stdout
            pytest.fail(f"scripts/run outlived SIGHUP by 60 s:\n{still}\n"
                        + log.read_text(errors="replace")[-2000:])
        deadline = time.monotonic() + 30
        while any(listening(p) for p in ports) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [p for p in ports if listening(p)], log.read_text(errors="replace")[-3000:]
        while session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert session_processes(proc.pid) == "", "left running after SIGHUP"
    finally:
        # Whatever the outcome, nothing of it stays (a failed run would leave servers).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        os.close(terminal)
        os.close(main)


def test_a_second_run_refuses_at_once_naming_the_taken_port():
    """What a second `make run` meets: the first one's port. It says which and why, and
    starts nothing (before, it said "ready" while its own servers died)."""
    rasa, web, actions = unique_ports(3)
    env = {**os.environ, "RASA_PORT": str(rasa), "WEB_PORT": str(web),
           "ACTION_PORT": str(actions)}
    with socket.socket() as first:
        first.bind(("127.0.0.1", rasa))
        first.listen()
        started = time.monotonic()
        done = run_again(env)
    assert time.monotonic() - started < 10
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"scripts/run: port {rasa} on 127.0.0.1, for Rasa (RASA_PORT), is already in use.",
        "Another `make run` may be running: stop it (Ctrl-C in its terminal), or set the "
        "port variables named above to free ports."]
    assert not listening(actions) and not listening(web)


def test_make_endpoints_refuses_any_origin(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CORS_ORIGINS", "http://intranet.example *")
    assert make_endpoints.main(["--out", str(tmp_path / "endpoints.yml")]) == 1
    assert "CORS_ORIGINS must list origins, not '*'" in capsys.readouterr().err
    assert not (tmp_path / "endpoints.yml").exists()
    monkeypatch.setenv("CORS_ORIGINS", "http://intranet.example http://127.0.0.1:8080")
    assert make_endpoints.cors_origins(os.environ) == ["http://intranet.example",
                                                       "http://127.0.0.1:8080"]


@pytest.mark.parametrize("command", [
    [str(ROOT / "scripts" / "run")],
    [sys.executable, str(ROOT / "web" / "app.py"), "--port", "1"],
])
def test_launchers_refuse_any_origin_before_starting(command):
    env = {**os.environ, "CORS_ORIGINS": "*"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "CORS_ORIGINS must list origins, not '*'" in done.stderr


def test_the_cluster_refuses_any_origin(tmp_path):
    cluster = Cluster(tmp_path, env={"CORS_ORIGINS": "*"})
    with pytest.raises(make_endpoints.ConfigError, match="not '\\*'"):
        cluster._rasa_args(5011)
