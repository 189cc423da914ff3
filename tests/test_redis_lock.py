"""stores/redis_lock.py against the machine's Redis (127.0.0.1:6379, db 0, a key prefix
of its own, deleted afterwards): one holder at a time across instances and processes,
tickets served in order, a crashed holder's lock expires, only the owner releases.
Also shows the defect of Rasa's RedisLockStore it replaces (issue 16)."""
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from config import endpoints as make_endpoints
from stores.redis_lock import RedisTicketLockStore  # noqa: E402

pytestmark = pytest.mark.integration  # servers, services or the trained model

ROOT = Path(__file__).resolve().parents[1]
DB = 0


@pytest.fixture
def prefix():
    value = f"testlock{secrets.token_hex(4)}"
    yield value
    client = redis.StrictRedis(host="127.0.0.1", port=6379, db=DB)
    keys = list(client.scan_iter(f"{value}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def store(prefix, **options):
    """A new instance, as another Rasa process would have (loaded from endpoints)."""
    return RedisTicketLockStore(EndpointConfig(url="127.0.0.1", port=6379, db=DB,
                                               key_prefix=prefix, **options))


def test_loaded_from_endpoints_as_make_endpoints_writes_it(prefix):
    from rasa.core.lock_store import LockStore
    from rasa.core.utils import number_of_sanic_workers

    env = {"REDIS_HOST": "127.0.0.1", "REDIS_DB": str(DB), "REDIS_KEY_PREFIX": prefix}
    text = make_endpoints.render(env)
    assert "type: stores.redis_lock.RedisTicketLockStore" in text
    assert "type: redis\n" in make_endpoints.render({**env, "REDIS_LOCK_STORE": "stock"})
    with pytest.raises(make_endpoints.ConfigError):
        make_endpoints.render({**env, "REDIS_LOCK_STORE": "other"})
    import yaml

    config = yaml.safe_load(text)["lock_store"]
    endpoint = EndpointConfig.from_dict(config)
    lock_store = LockStore.create(endpoint)
    assert isinstance(lock_store, RedisTicketLockStore)
    assert lock_store._key("c") == f"{prefix}:tlock:c"
    # Rasa accepts several Sanic workers with it.
    os.environ["SANIC_WORKERS"] = "2"
    try:
        assert number_of_sanic_workers(lock_store) == 2
        assert number_of_sanic_workers(endpoint) == 2
    finally:
        del os.environ["SANIC_WORKERS"]


def test_rasa_redis_lock_store_lets_two_holders_in(prefix):
    """The defect: issue_ticket is get, add, save. Two processes interleaving those steps
    (as two replicas receiving one conversation's messages at once can) both hold."""
    a, b = (RedisLockStore(host="127.0.0.1", db=DB, key_prefix=prefix) for _ in range(2))
    lock_a, lock_b = a.get_or_create_lock("c"), b.get_or_create_lock("c")
    ticket_a, ticket_b = lock_a.issue_ticket(60), lock_b.issue_ticket(60)
    a.save_lock(lock_a)
    b.save_lock(lock_b)
    assert ticket_a == ticket_b
    assert not a.get_lock("c").is_locked(ticket_a) and not b.get_lock("c").is_locked(ticket_b)


def test_tickets_issued_at_once_are_all_different(prefix):
    stores = [store(prefix) for _ in range(8)]
    numbers, barrier = [], threading.Barrier(len(stores))

    def take(s):
        barrier.wait()
        for _ in range(25):
            numbers.append(s.issue_ticket("c"))

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 201))
    assert len(stores[0].get_lock("c").tickets) == 200


async def _hold(lock_store, inside, overlaps, order, name, seconds=0.01):
    async with lock_store.lock("c"):
        inside.append(name)
        if len(inside) > 1:
            overlaps.append(list(inside))
        order.append(name)
        await asyncio.sleep(seconds)
        inside.remove(name)


def test_holders_never_overlap_and_are_served_in_arrival_order(prefix):
    stores = [store(prefix) for _ in range(6)]  # six "processes" on one event loop
    inside, overlaps, order = [], [], []

    async def main():
        tasks = []
        for i in range(30):
            tasks.append(asyncio.ensure_future(
                _hold(stores[i % len(stores)], inside, overlaps, order, i)))
            await asyncio.sleep(0.002)  # arrival order = i (each takes its ticket at once)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert overlaps == []
    assert order == list(range(30))


CHILD = textwrap.dedent("""
    import asyncio, sys, time
    sys.path.insert(0, {root!r})
    import redis
    from rasa.utils.endpoints import EndpointConfig
    from stores.redis_lock import RedisTicketLockStore

    prefix, mode, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = RedisTicketLockStore(EndpointConfig(url="127.0.0.1", port=6379, db={db},
                                            key_prefix=prefix))
    r = redis.StrictRedis(host="127.0.0.1", port=6379, db={db})

    async def main():
        if mode == "hold-forever":
            async with s.lock("c", lock_lifetime=lifetime):
                print("held", flush=True)
                await asyncio.sleep(3600)
        print("ready", flush=True)
        while not r.get(prefix + ":go"):  # all processes start together
            time.sleep(0.001)
        for _ in range(40):  # mode "count": mutual exclusion checked in Redis itself
            async with s.lock("c", lock_lifetime=lifetime):
                if r.incr(prefix + ":inside") != 1:
                    r.incr(prefix + ":overlaps")
                time.sleep(0.003)
                r.incr(prefix + ":served")
                r.decr(prefix + ":inside")

    asyncio.run(main())
""").format(root=str(ROOT), db=DB)


def child(prefix, mode, lifetime=60):
    return subprocess.Popen([sys.executable, "-c", CHILD, prefix, mode, str(lifetime)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)


def test_two_processes_never_hold_one_conversation_at_once(prefix):
    procs = [child(prefix, "count") for _ in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    r = redis.StrictRedis(host="127.0.0.1", port=6379, db=DB)
    r.set(f"{prefix}:go", 1)
    for p in procs:
        assert p.wait(timeout=120) == 0
    assert int(r.get(f"{prefix}:served")) == 120
    assert r.get(f"{prefix}:overlaps") is None


def test_a_crashed_holders_lock_expires(prefix):
    holder = child(prefix, "hold-forever", lifetime=2)
    try:
        assert holder.stdout.readline().strip() == "held"
        os.killpg(holder.pid, signal.SIGKILL)  # crashes while holding, never releases
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
    waited = []

    async def main():
        start = time.monotonic()
        async with store(prefix).lock("c", lock_lifetime=2):
            waited.append(time.monotonic() - start)

    asyncio.run(main())
    assert 0.3 < waited[0] < 3.5, waited


def test_a_waiter_that_crashed_blocks_no_one_for_longer_than_its_lifetime(prefix):
    crashed = store(prefix)
    crashed.issue_ticket("c", lock_lifetime=1)  # the holder, then gone
    crashed.issue_ticket("c", lock_lifetime=1)  # a waiter, then gone
    start = time.monotonic()

    async def main():
        async with store(prefix).lock("c", lock_lifetime=5):
            pass

    asyncio.run(main())
    assert time.monotonic() - start < 2.5


def test_only_the_owner_releases_its_ticket(prefix):
    owner, other = store(prefix), store(prefix)
    events = []

    async def main():
        async with owner.lock("c") as lock:
            number = lock.now_serving
            # Another process cannot release it, by number alone or with a wrong token.
            other.finish_serving("c", number)
            assert not other._give_back("c", number, "not-the-token", 60)
            waiter = asyncio.ensure_future(_wait(other, events))
            await asyncio.sleep(0.3)
            assert events == []  # still held
            events.append("released")
        await waiter
        assert events == ["released", "acquired"]

    async def _wait(s, log):
        async with s.lock("c"):
            log.append("acquired")

    asyncio.run(main())
    assert owner.get_lock("c") is None  # nothing left once both are done


def test_redis_unreachable_is_a_lock_error(prefix):
    with socket_closed_port() as port:
        s = RedisTicketLockStore(EndpointConfig(url="127.0.0.1", port=port, db=DB,
                                                socket_timeout=2))

        async def main():
            async with s.lock("c"):
                pass

        with pytest.raises(LockError):
            asyncio.run(main())


class socket_closed_port:
    def __enter__(self):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc):
        return False
