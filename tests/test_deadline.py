"""store/deadline.py: one watcher thread for every request's deadline, firing each in time and never after the end."""

import os
import socket
import threading
import time

from helpers import cut_off_after

from intake_npx2020.store.deadline import Deadline


def _still_open(sock, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        sock.recv(10)
    except socket.timeout:
        return True
    return False


def _watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "npx2020-deadline"]


def test_many_requests_in_many_threads_share_one_watcher():
    entered = threading.Barrier(9)

    def request():
        with Deadline(30.0):
            entered.wait(10)
            entered.wait(10)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    entered.wait(10)  # all eight inside their deadline
    assert len(_watchers()) == 1 and _watchers()[0].daemon
    entered.wait(10)
    for t in threads:
        t.join(10)


def test_each_deadline_fires_at_its_own_time_earliest_first(socket_pair):
    pairs = [socket_pair() for _ in range(3)]
    release = threading.Event()
    made: dict[str, Deadline] = {}

    def request(name, seconds, sock, hold):
        with Deadline(seconds) as d:
            made[name] = d
            d.watch(sock)
            if hold:
                release.wait(5)

    threads = [threading.Thread(target=request, args=args) for args in
               (("late", 1.2, pairs[0][0], True), ("early", 0.3, pairs[1][0], True),
                ("ended", 0.3, pairs[2][0], False))]
    try:
        for t in threads:
            t.start()
        assert 0.1 < cut_off_after(pairs[1][0], 3) and made["early"].fired
        assert not made["late"].fired and _still_open(pairs[0][0], 0.3)
        assert cut_off_after(pairs[0][0], 3) < 2.5 and made["late"].fired
        assert _still_open(pairs[2][0], 0.3) and not made["ended"].fired  # its request ended in time
    finally:
        release.set()
        for t in threads:
            t.join(10)


def test_a_deadline_moved_later_fires_at_the_new_time_only(socket_pair):
    a, _ = socket_pair()
    with Deadline(0.2) as d:
        d.watch(a)
        d.extend_to(0.9)
        d.extend_to(0.5)  # earlier than the new one: no change
        t = time.monotonic()
        assert _still_open(a, 0.5) and not d.fired
        cut_off_after(a, 3)
        assert 0.75 <= time.monotonic() - t + 0.2 and d.fired


def test_a_deadline_never_entered_is_not_watched(socket_pair):
    a, _ = socket_pair()
    d = Deadline(0.1)
    d.watch(a)
    d.extend_to(0.2)
    assert _still_open(a, 0.5) and not d.fired


def test_a_forked_child_gets_its_own_watcher():
    with Deadline(30.0):  # the parent's watcher exists (and its lock may be held across the fork)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            code = 1
            try:
                a, b = socket.socketpair()
                with Deadline(0.2) as d:
                    d.watch(a)
                    a.settimeout(5)
                    code = 0 if a.recv(10) == b"" and d.fired else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
