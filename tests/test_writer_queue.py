"""SQLite writers of one process queue for the write lock in the order they asked (core/db.py)."""

from __future__ import annotations

import threading
import time

from core.db import WriterQueue


def test_writers_are_let_in_in_the_order_they_asked():
    queue, order, started = WriterQueue(), [], []
    assert queue.acquire(1)

    def writer(n: int) -> None:
        started.append(n)
        assert queue.acquire(10)
        order.append(n)
        queue.release()

    threads = []
    for n in range(6):
        threads.append(threading.Thread(target=writer, args=(n,)))
        threads[-1].start()
        while len(started) <= n:  # each asks only after the one before it is waiting
            time.sleep(0.001)
        time.sleep(0.02)
    queue.release()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_writer_that_gives_up_leaves_the_queue_and_the_next_one_still_gets_in():
    queue = WriterQueue()
    assert queue.acquire(1)
    assert queue.acquire(0.05) is False  # timed out: no longer in the line
    got = []
    later = threading.Thread(target=lambda: got.append(queue.acquire(5)))
    later.start()
    time.sleep(0.05)
    queue.release()
    later.join(5)
    assert got == [True]
    queue.release()
    assert queue.acquire(0) is True  # free again


def test_a_lock_taken_in_one_thread_is_released_from_another():
    queue = WriterQueue()
    assert queue.acquire(1)
    threading.Thread(target=queue.release).start()
    assert queue.acquire(5) is True
