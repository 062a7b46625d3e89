"""Stand-in for the module Triton's Python backend injects into model.py (triton_python_backend_utils).

Only what the models use, with the same names and call shapes as the real module, written from
python_backend r25.04 (src/, files named below), plus what the tests read: a log, the responses a
decoupled model sent, and BLS calls routed to `BLS_MODELS` (model name -> handler(request, decoupled)).
A handler returns the response of a model called without `decoupled`; for `exec(decoupled=True)` it
returns the (response, flags) pairs in the order the model sends them, an iterable read as the
caller asks for the next one (an engine that generates when read), or None and delivers them itself
with `request.deliver(response, flags)` from its own thread. Tensors must be numpy arrays, as in the
real backend.

What the real backend does and the models rely on (src/ at r25.04):
- A decoupled model's async `execute` runs on the stub's event loop, on a daemon thread of its own
  (pb_stub.cc:910-925), scheduled with run_coroutine_threadsafe and not awaited (pb_stub.cc:703-709,
  928-938): `StubLoop` below. Every call below blocks its calling thread with the GIL released
  (infer_request.cc:418, pb_cancel.cc:61, pb_bls_cancel.cc:60, response_sender.cc:124,
  pb_response_iterator.cc:86), so one made on the event loop stops every coroutine of the instance
  until it returns.
- `async_exec` runs the blocking `exec` in the event loop's default executor
  (`run_in_executor(None, ...)`, pb_stub.cc:1866-1888).
- `exec(decoupled=True)` returns once the called model's first response is in: the parent's thread
  waits on the first response (python_be.cc:656-661; infer_payload.cc:14-28 sets the future with the
  first response only), and the ResponseIterator starts with it (pb_response_iterator.cc:38-44).
- The iterator's `__next__` waits until the next response arrives (pb_response_iterator.cc:80-94);
  after the one that carried Triton's final flag it is finished and raises StopIteration
  (:70-79, :96-97). `iter()` on a finished iterator starts it over from its first response
  (:104-115), so a for loop over it after its end goes through every response again. A final flag
  sent without a response arrives as an empty response (request_executor.cc:222-228).
- The stub keeps every iterator in a map until its final response has been read
  (GetResponseIterator, pb_stub.cc:1362-1386; Clear at pb_response_iterator.cc:96-99 and :133-146
  enqueues the cleanup that erases it, pb_stub.cc:1186-1191, and the parent's InferPayload,
  python_be.cc:842-848). An iterator the model stops reading stays there, with every response the
  called model still sends, until the model unloads (pb_stub.cc:413-419): `RESPONSE_ITERATORS` below.
  Because the map holds a reference, the model dropping its own does not run the draining destructor
  (pb_response_iterator.cc:46-65).
- `ResponseIterator.cancel()` asks the parent to cancel the BLS request (pb_bls_cancel.cc:57-79 ->
  pb_stub.cc:1228-1265 -> python_be.cc:863-893, SafeCancelRequest); it does nothing once the
  iterator is finished (pb_response_iterator.cc:163-169). The called model sees the request as
  cancelled; the engine then ends it at its next cancellation check.
- `InferenceResponseSender.send` rejects a flag other than 0 or the final flag and a flag 0 without
  a response (response_sender.cc:38-53), and any send after the final flag (:103-111); each send
  waits until a thread of the parent's pool has taken it (response_sender.cc:178-187; posted to the
  pool at python_be.cc:747-755; 32 threads unless the server sets thread-pool-size,
  python_be.cc:2019, :339-340). The parent deletes the request's response factory with the final
  flag (python_be.cc:1191-1199).
- `is_cancelled()` asks the parent each time until the answer is true, then keeps it
  (pb_cancel.cc:58-80); the parent reads the response factory (python_be.cc:897-928), which the
  final flag deleted: asking after the final flag reads a deleted object, so the stand-in raises.
- Cancel and is_cancelled requests go to the parent one at a time through the stub's single
  stub-to-parent thread (pb_stub.cc:1112-1146, 1228-1303) and the parent's single message thread,
  which serves them inline (python_be.cc:704-779); the called model's responses reach the stub one at
  a time through its single parent-to-stub thread (pb_stub.cc:1331-1353, 1490-1569), the sending
  thread waiting until the stub has taken each (python_be.cc:1739-1746).

By default the parent's side of each call runs in the calling thread at once, so unit tests are
deterministic. `use_process_model(round_trip_s)`, for the concurrency tests and the serving
benchmark, makes each call wait as it would for the other process: a round trip of `round_trip_s`
(an assumption, not read anywhere: the order of two futex wake-ups between processes), with the GIL
released, and only as many at once as the threads listed in the last two points serve (one for
cancel and is_cancelled, a pool of 32 for sends and BLS calls, one for deliveries). The work of
those threads runs in the calling thread: real ones belong to the other process or run C++ without
the stub's GIL, and Python threads standing in for them would compete for the GIL as they do not.
"""

import asyncio
import collections
import ctypes
import itertools
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1
# The parent's thread pool: python_be.cc:2019 (default of the backend's thread-pool-size option).
PARENT_THREAD_POOL_SIZE = 32
# prctl(2) option: the slack, in nanoseconds, the kernel may add to the thread's timed sleeps.
PR_SET_TIMERSLACK = 29

# Model name -> handler(request, decoupled); see the module docstring for what it returns.
BLS_MODELS = {}

# Calls that may block their thread (see the module docstring) made from a thread running an event loop:
# on the stub's loop, each would hold up every coroutine of the instance until it returned.
BLOCKED_EVENT_LOOP = []

# The stub's map of response iterators (pb_stub.cc:1362-1386): key -> iterator, erased once the
# iterator has handed out its final response.
RESPONSE_ITERATORS = {}
_ITERATOR_KEYS = itertools.count(1)

_NUMPY_TYPES = {
    "TYPE_BOOL": np.bool_,
    "TYPE_UINT8": np.uint8,
    "TYPE_UINT16": np.uint16,
    "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64,
    "TYPE_INT8": np.int8,
    "TYPE_INT16": np.int16,
    "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64,
    "TYPE_FP16": np.float16,
    "TYPE_FP32": np.float32,
    "TYPE_FP64": np.float64,
    "TYPE_STRING": np.object_,
}


def triton_string_to_numpy(triton_type):
    return _NUMPY_TYPES[triton_type]


def _blocking(call):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    BLOCKED_EVENT_LOOP.append(call)


class _InCallingThread:
    """The parent's side of each call, run where the model made it."""

    def serial(self, call):
        return call()

    def pool(self, call):
        return call()

    def deliver(self, call):
        return call()

    def post_serial(self, call):
        call()

    def settle(self):
        pass

    def close(self):
        pass


class _OtherProcess:
    """The parent's side of each call as the other process serves it: `serial` one at a time (the
    stub's stub-to-parent thread with the parent's message thread), `pool` on one of the parent's
    pool threads, `deliver` one at a time (the stub's parent-to-stub thread); each after a round
    trip. Clear's cleanup is enqueued without waiting (pb_response_iterator.cc:137): one thread runs
    those."""

    def __init__(self, round_trip_s, pool_size=PARENT_THREAD_POOL_SIZE):
        self._round_trip_s = round_trip_s
        self._serial = threading.Lock()
        self._pool = threading.BoundedSemaphore(pool_size)
        self._deliver = threading.Lock()
        self._cleanups = ThreadPoolExecutor(1, thread_name_prefix="stub-cleanups")

    def _answered(self, slot, call):
        with slot:
            time.sleep(self._round_trip_s)
            return call()

    def serial(self, call):
        return self._answered(self._serial, call)

    def pool(self, call):
        return self._answered(self._pool, call)

    def deliver(self, call):
        return self._answered(self._deliver, call)

    def post_serial(self, call):
        self._cleanups.submit(self.serial, call)

    def settle(self):
        """Waits until the cleanups enqueued so far have run."""
        self._cleanups.submit(lambda: None).result()

    def close(self):
        self._cleanups.shutdown(wait=True)


PROCESS = _InCallingThread()


def use_process_model(round_trip_s=20e-6, pool_size=PARENT_THREAD_POOL_SIZE):
    """Serve the parent's side of every call as the other process would (see the module docstring).
    Sleeps that short need the thread's timer slack (50 us by default on Linux) lowered: set here
    for this thread, which the threads it starts afterwards inherit."""
    global PROCESS
    PROCESS.close()
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0)
    PROCESS = _OtherProcess(round_trip_s, pool_size)


def use_calling_thread():
    global PROCESS
    PROCESS.close()
    PROCESS = _InCallingThread()


def settle():
    """Lets posted cleanups run (RESPONSE_ITERATORS is then up to date)."""
    PROCESS.settle()


class StubLoop:
    """The stub's event loop (pb_stub.cc:910-925: new_event_loop, run_forever on a daemon thread)
    and how a decoupled model's async execute is started on it (pb_stub.cc:703-709, 928-938)."""

    def __init__(self, default_executor_workers=None):
        """`default_executor_workers` sizes the loop's default executor, which asyncio otherwise
        sizes from this host's CPU count (min(32, cpus + 4))."""
        self.loop = asyncio.new_event_loop()
        if default_executor_workers is not None:
            self.loop.set_default_executor(ThreadPoolExecutor(default_executor_workers))
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def execute(self, model, requests):
        """The concurrent future of model.execute(requests), which the stub does not wait for."""
        coroutine = model.execute(requests)
        if not asyncio.iscoroutine(coroutine):
            raise TypeError("a decoupled model's execute is expected to be async here")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self):
        """Cancels what still runs on the loop (a model's background tasks), then stops it."""
        asyncio.run_coroutine_threadsafe(self._cancel_tasks(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()

    @staticmethod
    async def _cancel_tasks():
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class TritonError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self._message = message

    def message(self):
        return self._message


class TritonModelException(Exception):
    pass


class Tensor:
    def __init__(self, name, array):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Tensor {name}: expected a numpy array, got {type(array).__name__}")
        self._name = name
        self._array = array

    def name(self):
        return self._name

    def as_numpy(self):
        return self._array


class InferenceRequest:
    def __init__(self, model_name="", inputs=(), requested_output_names=(), parameters=None, request_id=""):
        self.model_name = model_name
        self._inputs = list(inputs)
        self._requested = list(requested_output_names)
        self._parameters = dict(parameters or {})
        self._request_id = request_id
        self._sender = InferenceResponseSender()
        # Set by ResponseIterator.cancel(): what the called model sees as its request's cancellation.
        self.cancel_event = threading.Event()
        self.response_iterator = None

    @property
    def cancelled(self):
        return self.cancel_event.is_set()

    def inputs(self):
        return list(self._inputs)

    def requested_output_names(self):
        return list(self._requested)

    def parameters(self):
        return json.dumps(self._parameters)

    def request_id(self):
        return self._request_id

    def get_response_sender(self):
        return self._sender

    def exec(self, decoupled=False):
        _blocking("InferenceRequest.exec")
        if decoupled:
            # Where the called model's responses go, even those that come before exec returns
            # (pb_stub.cc:1549-1561 keeps them for the iterator exec then builds).
            self.response_iterator = ResponseIterator(self)
        return PROCESS.pool(lambda: self._exec_in_parent(decoupled))

    def _exec_in_parent(self, decoupled):
        if not decoupled:
            return BLS_MODELS[self.model_name](self, decoupled)
        iterator = self.response_iterator
        source = BLS_MODELS[self.model_name](self, decoupled)
        if source is not None:
            iterator._source = iter(source)
        iterator._wait_for_first()
        return iterator

    async def async_exec(self, decoupled=False):
        return await asyncio.get_running_loop().run_in_executor(None, self.exec, decoupled)

    def deliver(self, response, flags=0):
        """A called model's response on its way to the caller's iterator (see the module docstring);
        the calling (engine) thread waits until the stub has taken it."""
        PROCESS.deliver(lambda: self.response_iterator._enqueue(response, flags))


class InferenceResponseSender:
    """Records what a decoupled model sends (`sent`, and `sent_at`: time.perf_counter() of each);
    the client's cancellation is `cancel()` or, for the tests, `cancelled_after` responses."""

    def __init__(self):
        self.sent = []
        self.sent_at = []
        self.cancelled_after = None
        self.is_cancelled_calls = 0
        self._client_gone = threading.Event()
        self._known_cancelled = False
        self._closed = False
        self._lock = threading.Lock()

    def cancel(self):
        """The client went away: Triton marks the request cancelled."""
        self._client_gone.set()

    def send(self, response=None, flags=0):
        if flags not in (0, TRITONSERVER_RESPONSE_COMPLETE_FINAL):
            raise TritonModelException("Unable to send response. Unsupported flag provided.")
        if flags == 0 and response is None:
            raise TritonModelException(
                "Inference Response object must be provided when the response flags is set to zero."
            )
        _blocking("InferenceResponseSender.send")
        with self._lock:
            if self._closed:
                raise TritonModelException("Unable to send response. Response sender has been closed.")
            if flags == TRITONSERVER_RESPONSE_COMPLETE_FINAL:
                self._closed = True
        PROCESS.pool(lambda: self._record(response, flags))

    def _record(self, response, flags):
        with self._lock:
            self.sent.append((response, flags))
            self.sent_at.append(time.perf_counter())

    def is_cancelled(self):
        _blocking("InferenceResponseSender.is_cancelled")
        if self._known_cancelled:
            return True
        self._known_cancelled = PROCESS.serial(self._ask_parent)
        return self._known_cancelled

    def _ask_parent(self):
        with self._lock:
            if self._closed:
                raise TritonModelException("is_cancelled() after the final flag reads a deleted response factory")
            self.is_cancelled_calls += 1
            by_count = self.cancelled_after is not None and len(self.sent) >= self.cancelled_after
        return self._client_gone.is_set() or by_count


class ResponseIterator:
    """The responses of a decoupled BLS call, each as it arrives (see the module docstring)."""

    def __init__(self, request):
        self._request = request
        self._source = None
        self._buffer = collections.deque()
        self._arrived = threading.Condition()
        self._finished = False
        # Every response handed out, and where a finished iterator is in going over them again.
        self._handed = []
        self._again = 0
        self.cancelled = False
        self._key = next(_ITERATOR_KEYS)
        RESPONSE_ITERATORS[self._key] = self

    def __iter__(self):
        if self._finished and self._again >= len(self._handed):
            self._again = 0
        return self

    def _enqueue(self, response, flags):
        with self._arrived:
            self._buffer.append((response, flags))
            self._arrived.notify_all()

    def _wait_for_first(self):
        with self._arrived:
            if self._source is None:
                self._arrived.wait_for(lambda: self._buffer)
                return
        self._enqueue(*self._pull())

    def _pull(self):
        try:
            return next(self._source)
        except StopIteration:
            raise AssertionError("the called model stopped sending without Triton's final flag") from None

    def __next__(self):
        _blocking("ResponseIterator.__next__")
        if self._finished:
            if self._again >= len(self._handed):
                raise StopIteration
            self._again += 1
            return self._handed[self._again - 1]
        with self._arrived:
            if self._source is None:
                self._arrived.wait_for(lambda: self._buffer)
            item = self._buffer.popleft() if self._buffer else None
        response, flags = item if item is not None else self._pull()
        response = InferenceResponse() if response is None else response
        self._handed.append(response)
        if flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL:
            self._finished = True
            self._again = len(self._handed)
            PROCESS.post_serial(lambda: RESPONSE_ITERATORS.pop(self._key, None))
        return response

    def cancel(self):
        _blocking("ResponseIterator.cancel")
        if self._finished or self.cancelled:
            return
        PROCESS.serial(self._request.cancel_event.set)
        self.cancelled = True


class InferenceResponse:
    def __init__(self, output_tensors=None, error=None):
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self):
        return list(self._outputs)

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error


def get_input_tensor_by_name(request, name):
    for tensor in request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(response, name):
    for tensor in response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


def get_input_config_by_name(model_config, name):
    for entry in model_config.get("input", []):
        if entry["name"] == name:
            return entry
    return None


def get_output_config_by_name(model_config, name):
    for entry in model_config.get("output", []):
        if entry["name"] == name:
            return entry
    return None


class Logger:
    messages = []

    @classmethod
    def log_info(cls, message):
        cls.messages.append(("info", message))

    @classmethod
    def log_warn(cls, message):
        cls.messages.append(("warn", message))

    @classmethod
    def log_error(cls, message):
        cls.messages.append(("error", message))

    @classmethod
    def log_verbose(cls, message):
        cls.messages.append(("verbose", message))
