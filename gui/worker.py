"""One background thread that runs jobs in order and reports on a queue (the Thonny pattern),
and ``Jobs``: the window's two workers and the poll that brings their results back.

Tk is not thread-safe, so the worker never touches a widget: the main thread
polls ``results`` with ``after()`` and does all painting. A single thread (not
a pool) because the TensorFlow classifier is only thread-compatible.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass


@dataclass
class JobResult:
    job_id: int
    channel: str
    value: object = None
    error: BaseException | None = None
    elapsed_ms: float = 0.0
    skipped: bool = False  # superseded before it started; never ran

    @property
    def ok(self) -> bool:
        return self.error is None and not self.skipped


class Worker:
    """Runs ``fn(*args)`` jobs one after another; each job gets an id and a channel.

    Jobs on a channel supersede older ones on the same channel: a queued job
    that is no longer the newest is skipped, and ``is_current`` tells the main
    thread whether a finished result is still wanted (the user may have opened
    another scan since).
    """

    def __init__(self, expected_errors: tuple = (), name: str = "gui-worker"):
        # Errors of these types are routine (a bad file); others also get a traceback on stderr.
        self._expected_errors = tuple(expected_errors)
        self.results: queue.Queue[JobResult] = queue.Queue()
        self._jobs: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()
        # Daemon: a TensorFlow call cannot be interrupted, and quitting must not wait for it.
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, channel: str, fn, *args) -> int:
        with self._lock:
            job_id = next(self._ids)
            self._latest[channel] = job_id
        self._jobs.put((job_id, channel, fn, args))
        return job_id

    def is_current(self, result: JobResult) -> bool:
        with self._lock:
            return self._latest.get(result.channel) == result.job_id

    def stop(self) -> None:
        self._jobs.put(None)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job_id, channel, fn, args = job
            with self._lock:
                superseded = self._latest.get(channel) != job_id
            if superseded:
                self.results.put(JobResult(job_id, channel, skipped=True))
                continue
            started = time.perf_counter()
            try:
                value, error = fn(*args), None
            except Exception as err:  # reported to the window, never raised on this thread
                value, error = None, err
                if not isinstance(err, self._expected_errors):
                    traceback.print_exc(file=sys.stderr)
            elapsed = (time.perf_counter() - started) * 1000
            self.results.put(JobResult(job_id, channel, value, error, elapsed))


POLL_MS = 30


class Jobs:
    """The window's workers: TensorFlow work on ``model``, file reading and writing on ``io`` (so a
    scan previews at once while the model is still loading), and the poll of their results.

    Each result goes, on the Tk main loop, to the handler of its channel (the part before ":");
    a result the user has moved past (a newer job on its channel) is dropped, never painted.
    """

    def __init__(self, root, expected_errors: tuple, on_busy):
        self.root = root
        self.model = Worker(expected_errors, name="model-worker")
        self.io = Worker(expected_errors, name="io-worker")
        self.handlers: dict = {}  # channel -> handler(result, context), filled by the controllers
        self._contexts: dict = {}
        self._pending = 0
        self._serials = itertools.count(1)
        self._on_busy = on_busy
        self._stopped = False
        self._poll_id = root.after(POLL_MS, self._poll)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def own_channel(self, kind: str) -> str:
        """A channel of its own (``kind:N``): a second save never supersedes the first."""
        return f"{kind}:{next(self._serials)}"

    def submit(self, worker: Worker, channel: str, fn, *args, context=None) -> int:
        job_id = worker.submit(channel, fn, *args)
        self._contexts[(channel, job_id)] = context
        self._pending += 1
        self._on_busy(True)
        return job_id

    def _poll(self) -> None:
        try:
            for worker in (self.io, self.model):
                while True:
                    try:
                        result = worker.results.get_nowait()
                    except queue.Empty:
                        break
                    self._pending -= 1
                    context = self._contexts.pop((result.channel, result.job_id), None)
                    if result.skipped or not worker.is_current(result):
                        continue  # the user has moved on: drop it, never paint it
                    self.handlers[result.channel.split(":")[0]](result, context)
            self._on_busy(self._pending > 0)
        finally:
            if not self._stopped:
                self._poll_id = self.root.after(POLL_MS, self._poll)

    def stop(self) -> None:
        self._stopped = True
        self.root.after_cancel(self._poll_id)
        for worker in (self.model, self.io):
            worker.stop()
