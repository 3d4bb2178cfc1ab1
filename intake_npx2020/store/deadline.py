"""A deadline on a whole HTTP request (connect, headers, body), enforced by shutting its socket down.

``requests`` timeouts bound each socket operation, not the request: a server that trickles one byte per
``timeout`` keeps a read alive for ever. Here every request runs under a :class:`Deadline`; the connections of
:func:`session` report their socket to it before reading the response, and a watcher thread shuts that socket
down when the deadline passes, which wakes a blocked header or body read at once. Connecting is bounded by
the connect timeout, which callers set to at most the time left.
"""

from __future__ import annotations

import functools
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
        self._socks: list = []
        self._done = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="npx2020-deadline", daemon=True)

    def __enter__(self) -> "Deadline":
        _local.deadline = self
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        _local.deadline = None
        with self._cond:
            self._done = True
            self._cond.notify()

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.deadline - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def extend_to(self, seconds_from_start: float) -> None:
        """Move the deadline to ``seconds_from_start`` after the start, if that is later."""
        with self._cond:
            self.deadline = max(self.deadline, self.start + seconds_from_start)

    def watch(self, sock) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it already has)."""
        with self._cond:
            self._socks.append(sock)
            if self.fired:
                _shutdown(sock)

    def _watch(self) -> None:
        with self._cond:
            while not self._done:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    self.fired = True
                    for s in self._socks:
                        _shutdown(s)
                    return
                self._cond.wait(left)


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
