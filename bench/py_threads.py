"""A threaded Python workload for bench/programs.sh: fixed work, timed from outside.

  python3 py_threads.py queue   4 producers and 4 consumers through a queue.Queue(64)
  python3 py_threads.py lock    8 threads incrementing a shared counter under a threading.Lock

CPython's threading.Lock is a POSIX semaphore on Linux, not a pthread mutex: what
libparking-pthread replaces here is the interpreter lock (a pthread mutex and condition
variable), handed over whenever a thread blocks on the queue or the lock and at every switch
interval.  Each mode checks its result and exits non-zero on a mismatch.
"""
import queue
import sys
import threading

ITEMS = 400_000  # queue mode: items through the queue
INCREMENTS = 500_000  # lock mode: per thread


def run_queue():
    q = queue.Queue(64)
    producers, consumers = 4, 4
    per_producer = ITEMS // producers
    totals = [0] * consumers

    def produce(p):
        for i in range(per_producer):
            q.put(p * per_producer + i)

    def consume(c):
        total = 0
        while True:
            item = q.get()
            if item is None:
                break
            total += item
        totals[c] = total

    threads = [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
    threads += [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    for t in threads[consumers:]:
        t.join()
    for _ in range(consumers):
        q.put(None)
    for t in threads[:consumers]:
        t.join()
    n = per_producer * producers
    return sum(totals) == n * (n - 1) // 2


def run_lock():
    lock = threading.Lock()
    counter = [0]
    nthreads = 8

    def work():
        for _ in range(INCREMENTS):
            with lock:
                counter[0] += 1

    threads = [threading.Thread(target=work) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter[0] == nthreads * INCREMENTS


def main():
    modes = {"queue": run_queue, "lock": run_lock}
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        sys.exit("usage: py_threads.py queue|lock")
    if not modes[sys.argv[1]]():
        sys.exit("py_threads.py: result mismatch")


main()
