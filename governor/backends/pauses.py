"""Pause announcements: a thread that hears the pauses other processes set on an account.

A reconcile that pauses the fleet (a 429's ``Retry-After``) is published by ``acquire.lua`` on
``<account key>:pauses`` as ``"<µs from now> <bucket>"`` (how long the pause lasts on the
server's clock, so a listener with a skewed clock still hears it right); workers asleep on
slots granted earlier hear it here and decide again when they wake. Best effort: a lost notice
only means a call may meet the provider's 429. :class:`PauseWatcher` is a daemon thread (sync
backend); :class:`AsyncPauseWatcher` a task on the asyncio backend's loop. Both reconnect after
a failure and stop when their backend closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["AsyncPauseWatcher", "PauseWatcher", "pause_news"]

log = logging.getLogger("governor")


def pause_news(data: object, on_pause: Callable[[str, int], None]) -> None:
    """Hand a published "<µs from now> <bucket>" to ``on_pause(bucket, delay_us)``; ignore
    anything else."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    delay, _, bucket = text.partition(" ")
    if delay.isdigit():
        on_pause(bucket, int(delay))


class PauseWatcher(threading.Thread):
    """Listens to an account's pause channel until stopped; reconnects after a failure."""

    def __init__(self, client: Any, channel: str, on_pause: Callable[[str, int], None]) -> None:
        super().__init__(name=f"governor-pauses-{channel[-20:]}", daemon=True)
        self._client, self._channel, self._on_pause = client, channel, on_pause
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self._channel)
                    while not self._stopped.is_set():
                        message = pubsub.get_message(timeout=0.5)
                        if message is not None:
                            pause_news(message["data"], self._on_pause)
            except (RedisError, OSError, ValueError):  # down or closed: try again shortly
                self._stopped.wait(1.0)
            except Exception:  # redis-py after a close() from another thread, or a bug
                if self._stopped.is_set():  # close() pulled the connection away: done
                    return
                log.warning("governor: the pause watcher of %s failed; retrying", self.name,
                            exc_info=True)
                self._stopped.wait(1.0)


class AsyncPauseWatcher:
    """The asyncio twin of :class:`PauseWatcher`: a task on the running loop until stopped."""

    def __init__(self, client: Any, channel: str, on_pause: Callable[[str, int], None]) -> None:
        self._client, self._channel, self._on_pause = client, channel, on_pause
        self._task = asyncio.get_running_loop().create_task(
            self._listen(), name=f"governor-pauses-{channel[-20:]}"
        )

    async def stop(self) -> None:
        """Cancel the task and wait for it (a second at most: a close must never hang)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(self._task, 1.0)

    async def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=0.5)
                    if message is not None:
                        pause_news(message["data"], self._on_pause)
            except (RedisError, OSError, ValueError):  # down or closed: try again shortly
                await asyncio.sleep(1.0)
            except Exception:  # a bug, here or in redis-py: say so, and keep listening
                log.warning("governor: the pause watcher of %s failed; retrying",
                            self._channel[-20:], exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
