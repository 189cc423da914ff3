"""A Redis lock store that really serialises one conversation across processes.

The Rasa defect it fixes (Rasa Open Source 3.6.21, `rasa/core/lock_store.py`):
`RedisLockStore` keeps each conversation's `TicketLock` as one JSON value and changes it
with a read-modify-write that is not atomic across processes: `issue_ticket` does GET,
append a ticket, SET; `finish_serving` and `update_lock` do the same, and `cleanup`
deletes the key after a separate "is someone waiting?" read. Two Rasa processes (two
replicas, or two Sanic workers) that take a ticket for the same conversation at the same
moment both read the same lock, both append "ticket N", and the second SET overwrites
the first: both believe they hold ticket N and both run. A release can likewise
overwrite a ticket issued in between (that waiter then waits until its ticket expires
and fails with `LockError`), and a deleted lock makes a waiter fail at once. With two
holders, one reads a tracker that misses the other's turn, and `SQLTrackerStore.save`
("store the events after the number already stored") then silently drops the user
message of one of them (issue 16: 6-9 user messages lost in 180).

This store keeps Rasa's ticket semantics (tickets in order of arrival, served one at a
time, expired tickets skipped) but every step is one Lua script, which Redis runs
atomically, so no two processes can ever hold the same conversation:

* one hash per conversation, `<prefix>:tlock:<conversation id>`: field `n` counts the
  tickets issued (HINCRBY); each live ticket is a field `<number>` whose value is
  `<expiry in ms>:<token>`, the token being random and known only to its owner;
* the holder is the live ticket with the lowest number; a ticket whose expiry has
  passed is deleted by whichever script sees it next;
* a waiting ticket's expiry is pushed back at each poll (`lock_lifetime` ahead), and
  when a ticket becomes the holder its expiry is set to `lock_lifetime` from then (Rasa's
  `TICKET_LOCK_LIFETIME`, 60 s by default): a crashed holder, or crashed waiters, block
  the conversation for at most that long;
* only the owner (number and token) releases its ticket; a ticket that expired is never
  reissued to someone else (the counter only grows while the hash lives, and the token
  must match anyway);
* times come from the Redis server's clock (`TIME`), never the replicas' (scripts that
  write after `TIME` need Redis 5 or later, which replicates their effects).

A waiter polls with a short, growing interval (5 ms up to `max_poll_interval`, and never
more than Rasa's `wait_time_in_seconds`), instead of Rasa's fixed 1 s. If a waiter's own
ticket expired while it waited (its process stalled longer than `lock_lifetime`), it takes a
new ticket at the end of the queue rather than dropping the message.

Endpoints (config/endpoints.py writes it when REDIS_HOST or REDIS_URL is set):

    lock_store:
      type: stores.redis_lock.RedisTicketLockStore
      url: 127.0.0.1        # and port, db, username, password, use_ssl, key_prefix,
      port: 6379            # as Rasa's `type: redis`
      db: 1
      max_poll_interval: 0.05   # optional

It subclasses Rasa's `RedisLockStore`, so `SANIC_WORKERS > 1` is accepted with it.
"""
import asyncio
import logging
import secrets
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, Optional, Text, Tuple

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# Server time in ms, then the live tickets of the hash (expired ones deleted): `head`
# is the lowest live number, `mine` whether ticket `number` with token ARGV[2] is live.
# Shared by the scripts below, which set the local `number` first.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_LIVE = """
local all = redis.call('HGETALL', KEYS[1])
local head = nil
local mine = false
local last_expiry = now
for i = 1, #all, 2 do
  local field = all[i]
  if field ~= 'n' then
    local expiry, token = string.match(all[i + 1], '^(%d+):(.*)$')
    expiry = tonumber(expiry)
    if expiry <= now then
      redis.call('HDEL', KEYS[1], field)
    else
      local n = tonumber(field)
      if head == nil or n < head then head = n end
      if field == number and token == ARGV[2] then mine = true end
      if expiry > last_expiry then last_expiry = expiry end
    end
  end
end
"""

# KEYS[1] hash; ARGV[1] ticket number ('' to issue one), ARGV[2] token,
# ARGV[3] lifetime in ms. Returns {number, state, ahead}: state 1 = holder (its expiry
# is now + lifetime), 0 = waiting behind `ahead` live tickets (expiry pushed back),
# -1 = this ticket is gone (it expired and was removed).
_POLL = _NOW + """
local lifetime = tonumber(ARGV[3])
local number = ARGV[1]
if number == '' then
  number = tostring(redis.call('HINCRBY', KEYS[1], 'n', 1))
  redis.call('HSET', KEYS[1], number, tostring(now + lifetime) .. ':' .. ARGV[2])
end
""" + _LIVE + """
if not mine then
  return {tonumber(number), -1, 0}
end
redis.call('HSET', KEYS[1], number, tostring(now + lifetime) .. ':' .. ARGV[2])
if now + lifetime > last_expiry then last_expiry = now + lifetime end
redis.call('PEXPIRE', KEYS[1], last_expiry - now + lifetime)
if head == tonumber(number) then return {tonumber(number), 1, 0} end
local ahead = 0
for i = 1, #all, 2 do
  local field = all[i]
  if field ~= 'n' and tonumber(field) < tonumber(number)
      and redis.call('HEXISTS', KEYS[1], field) == 1 then
    ahead = ahead + 1
  end
end
return {tonumber(number), 0, ahead}
"""

# KEYS[1] hash; ARGV[1] number, ARGV[2] token, ARGV[3] lifetime in ms (how long the
# counter outlives the last ticket). Returns 1 if this owner's live ticket was removed.
_RELEASE = _NOW + """
local number = ARGV[1]
""" + _LIVE + """
local released = 0
if mine then
  redis.call('HDEL', KEYS[1], number)
  released = 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], last_expiry - now + tonumber(ARGV[3]))
end
return released
"""

# The live tickets, for `get_lock` (inspection only): {number, expiry ms, ...}.
_TICKETS = _NOW + """
local number = ''
""" + _LIVE + """
local out = {}
for i = 1, #all, 2 do
  local field = all[i]
  if field ~= 'n' and redis.call('HEXISTS', KEYS[1], field) == 1 then
    table.insert(out, tonumber(field))
    table.insert(out, tonumber(string.match(all[i + 1], '^(%d+):')))
  end
end
return out
"""

KEY_INFIX = "tlock:"  # not Rasa's "lock:", whose keys hold JSON strings


class RedisTicketLockStore(RedisLockStore):
    """Rasa's ticket lock, kept in Redis and changed only by atomic Lua scripts."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None,
                 max_poll_interval: float = 0.05, **kwargs: Any) -> None:
        if endpoint_config is not None:
            options = dict(endpoint_config.kwargs)
            options.pop("type", None)
            max_poll_interval = float(options.pop("max_poll_interval", max_poll_interval))
            if endpoint_config.url:
                options.setdefault("host", endpoint_config.url)
            kwargs = {**options, **kwargs}
        super().__init__(**kwargs)
        self.max_poll_interval = max(0.005, float(max_poll_interval))
        self._poll = self.red.register_script(_POLL)
        self._release = self.red.register_script(_RELEASE)
        self._tickets = self.red.register_script(_TICKETS)
        self._tokens: Dict[Tuple[Text, int], Text] = {}

    def _key(self, conversation_id: Text) -> Text:
        # Rasa's prefix is "[<key_prefix>:]lock:"; ours "[<key_prefix>:]tlock:".
        return self.key_prefix[:-len("lock:")] + KEY_INFIX + conversation_id

    # ------------------------------------------------------------ the lock itself
    def _try(self, conversation_id: Text, number: Optional[int], token: Text,
             lifetime: float) -> Tuple[int, int, int]:
        try:
            number, state, ahead = self._poll(
                keys=[self._key(conversation_id)],
                args=["" if number is None else str(number), token,
                      max(1, int(lifetime * 1000))])
        except Exception as e:  # a Redis error, as Rasa reports it
            raise LockError(f"Error while acquiring lock. Error:\n{e}")
        return int(number), int(state), int(ahead)

    def _give_back(self, conversation_id: Text, number: int, token: Text,
                   lifetime: float) -> bool:
        return bool(self._release(keys=[self._key(conversation_id)],
                                  args=[str(number), token, max(1, int(lifetime * 1000))]))

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Holds the conversation from the moment its ticket is served until exit.

        Same contract as `LockStore.lock`: tickets are served in the order they were
        issued; raises `LockError` when Redis cannot be reached.
        """
        token = secrets.token_hex(12)
        number, state, ahead = self._try(conversation_id, None, token, lock_lifetime)
        try:
            interval = 0.005
            cap = max(0.005, min(self.max_poll_interval, wait_time_in_seconds or 1))
            while state != 1:
                if state == -1:
                    logger.warning(
                        f"The lock ticket of conversation '{conversation_id}' expired while "
                        f"waiting (longer than {lock_lifetime} s): queueing again.")
                    number = None
                else:
                    logger.debug(f"Waiting for the lock of conversation '{conversation_id}' "
                                 f"({ahead} ahead).")
                    await asyncio.sleep(interval)
                    interval = min(cap, interval * 2)
                number, state, ahead = self._try(conversation_id, number, token,
                                                 lock_lifetime)
            logger.debug(f"Acquired lock for conversation '{conversation_id}'.")
            yield TicketLock(conversation_id,
                             tickets=deque([Ticket(number, time.time() + lock_lifetime)]))
        finally:
            if number is not None:
                try:
                    if not self._give_back(conversation_id, number, token, lock_lifetime):
                        logger.warning(
                            f"The lock of conversation '{conversation_id}' had expired "
                            f"before it was released (held longer than {lock_lifetime} s?).")
                except Exception as e:  # noqa: BLE001 - the ticket expires on its own
                    logger.warning(f"Could not release the lock of conversation "
                                   f"'{conversation_id}' ({e}); it expires on its own.")

    # ------------------------------------------- LockStore's other public methods
    def issue_ticket(self, conversation_id: Text,
                     lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issues a ticket (atomically); `finish_serving` or `cleanup` gives it back."""
        token = secrets.token_hex(12)
        number, _, _ = self._try(conversation_id, None, token, lock_lifetime)
        self._tokens[(conversation_id, number)] = token
        return number

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        token = self._tokens.pop((conversation_id, ticket_number), None)
        if token is not None:
            self._give_back(conversation_id, ticket_number, token, LOCK_LIFETIME)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # The hash expires on its own once empty: deleting it here could race.
        self.finish_serving(conversation_id, ticket_number)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """The live tickets, lowest number first (a snapshot, for inspection)."""
        flat = self._tickets(keys=[self._key(conversation_id)], args=["", ""])
        if not flat:
            return None
        tickets = sorted((int(flat[i]), int(flat[i + 1]) / 1000) for i in range(0, len(flat), 2))
        return TicketLock(conversation_id,
                          tickets=deque([Ticket(n, expires) for n, expires in tickets]))

    def is_someone_waiting(self, conversation_id: Text) -> bool:
        lock = self.get_lock(conversation_id)
        return bool(lock and lock.is_someone_waiting())

    def delete_lock(self, conversation_id: Text) -> None:
        deleted = self.red.delete(self._key(conversation_id))
        self._log_deletion(conversation_id, bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError(
            "RedisTicketLockStore changes locks only through its atomic scripts; "
            "use lock() or issue_ticket()/finish_serving().")

    def update_lock(self, conversation_id: Text) -> None:
        self.get_lock(conversation_id)  # deletes expired tickets as a side effect
