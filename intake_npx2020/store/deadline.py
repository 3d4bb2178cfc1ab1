"""A deadline on a whole HTTP request (connect, headers, body), enforced by shutting its socket down.

``requests`` timeouts bound each socket operation, not the request: a server that trickles one byte per
``timeout`` keeps a read alive for ever. Here every request runs under a :class:`Deadline`; the connections of
:func:`session` report their socket to it before reading the response, and the process's one watcher thread shuts that socket
down when the deadline passes, which wakes a blocked header or body read at once. Connecting is bounded by
the connect timeout, which callers set to at most the time left.
"""

from __future__ import annotations

import functools
import heapq
import os
import socket
import threading
import time

__all__ = ["Deadline", "session"]

_local = threading.local()


def _shutdown(sock) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the base method: an SSL socket's would drop its state
    except (OSError, TypeError, ValueError):
        pass


class _Watcher:
    """One daemon thread per process shutting down the sockets of every :class:`Deadline` that passes.

    A thread per request cost a thread start and its switches on every chunk fetched; this one sleeps until the
    earliest deadline. Entries whose deadline moved later (:meth:`Deadline.extend_to`) are pushed again; stale ones
    and those of requests that ended are skipped when they come up.
    """

    def __init__(self):
        self.cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._count = 0
        self._started = False

    def add(self, dl: "Deadline") -> None:
        """Watch ``dl`` until it is done; call with :attr:`cond` held."""
        if not self._started:
            self._started = True
            threading.Thread(target=self._run, name="npx2020-deadline", daemon=True).start()
        self._count += 1
        heapq.heappush(self._heap, (dl.deadline, self._count, dl))
        self.cond.notify()

    def _run(self) -> None:
        with self.cond:
            while True:
                while self._heap and (self._heap[0][2].done or self._heap[0][0] != self._heap[0][2].deadline):
                    heapq.heappop(self._heap)  # ended, or moved later (pushed again)
                if not self._heap:
                    self.cond.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                heapq.heappop(self._heap)[2].fire()


_watcher = _Watcher()


def _after_fork() -> None:  # the child has no watcher thread, and the parent's lock may have been held
    global _watcher
    _watcher = _Watcher()


os.register_at_fork(after_in_child=_after_fork)


class Deadline:
    """Context manager: a request started inside it (in this thread) is cut off ``seconds`` from now.

    Parameters
    ----------
    seconds : float
        Time allowed; :meth:`extend_to` may move the deadline later (e.g. as bytes of unknown total arrive).
    """

    def __init__(self, seconds: float):
        self.start = time.monotonic()
        self.deadline = self.start + seconds
        self.fired = False
        self.done = False
        self._watched = False
        self._socks: list = []

    def __enter__(self) -> "Deadline":
        _local.deadline = self
        with _watcher.cond:
            self._watched = True
            _watcher.add(self)
        return self

    def __exit__(self, *exc) -> None:
        _local.deadline = None
        with _watcher.cond:  # after this, the watcher never shuts a socket of this request down
            self.done = True
            self._socks.clear()

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.deadline - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def extend_to(self, seconds_from_start: float) -> None:
        """Move the deadline to ``seconds_from_start`` after the start, if that is later."""
        with _watcher.cond:
            later = self.start + seconds_from_start
            if later > self.deadline:
                self.deadline = later
                if self._watched and not self.done and not self.fired:
                    _watcher.add(self)

    def watch(self, sock) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it already has)."""
        with _watcher.cond:
            if self.done:
                return
            self._socks.append(sock)
            if self.fired:
                _shutdown(sock)

    def fire(self) -> None:
        """The deadline passed: shut every watched socket down (called by the watcher, its lock held)."""
        self.fired = True
        for s in self._socks:
            _shutdown(s)


def _report(sock) -> None:
    dl = getattr(_local, "deadline", None)
    if dl is not None and sock is not None:
        dl.watch(sock)


@functools.cache
def _pool_classes() -> dict:
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTP(HTTPConnection):
        def getresponse(self, *args, **kwargs):
            _report(self.sock)
            return super().getresponse(*args, **kwargs)

    class WatchedHTTPS(HTTPSConnection):
        def getresponse(self, *args, **kwargs):
            _report(self.sock)
            return super().getresponse(*args, **kwargs)

    class HTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTP

    class HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPS

    return {"http": HTTPPool, "https": HTTPSPool}


def _adapter(pool: int):
    from requests.adapters import HTTPAdapter

    classes = _pool_classes()

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = classes

        def proxy_manager_for(self, proxy, **kwargs):
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = classes
            return manager

    return DeadlineAdapter(pool_connections=8, pool_maxsize=max(pool, 8), max_retries=0)


def session(pool: int):
    """This thread's ``requests.Session`` (one per thread and process) whose requests honour :class:`Deadline`."""
    import requests

    sess = getattr(_local, "session", None)
    if sess is None or _local.pid != os.getpid():
        sess = requests.Session()
        adapter = _adapter(pool)
        sess.mount("http://", adapter)
        sess.mount("https://", adapter)
        sess.headers.update({"Accept-Encoding": "identity", "User-Agent": "intake_npx2020"})
        _local.session, _local.pid = sess, os.getpid()
    return sess
