"""Serving benchmark of tensorrt_llm_bls: what the model adds to each streamed piece when many
streams share one instance, and how long a client's cancel holds the other streams up.

    npm run -s bench:serving -- [--streams 64] [--json] [--pieces 80] [--step-ms 25]

On a host without node: `--render-to DIR` renders the repository on one that has it, and
`--repository DIR` runs that one (a copy of the model files as they were when it was rendered).

The streaming stack's repository is rendered by cli/render.ts (engine.maxBatchSize --max-batch-size,
default 64); its tensorrt_llm_bls and preprocessing run in this process under the python_backend
stand-in of test/python/triton_python_backend_utils.py, in the mode where each call waits as it
would for the Triton process (`use_process_model`: a round trip of --ipc-us, an assumption, and no
more calls at once than the backend's threads for them serve), on the stub's event loop
(`StubLoop`: an event loop on its own thread, execute scheduled and not awaited, as pb_stub.cc:
703-709 and 910-938 of python_backend r25.04 do). The loop's default executor has 32 threads: asyncio's default,
min(32, CPUs + 4), on any host of 28 CPUs or more (every GPU shape this stack deploys to), whatever
this host has.

The engine stand-in (`PacedEngine`) streams at a fixed rate: every --step-ms it gives each active row
one token, as in-flight batching does (one step for every scheduled sequence), up to the max batch
size of the rendered tensorrt_llm config; every response goes to the model through the stub's
parent-to-stub thread, one at a time (the stand-in's `deliver`). It checks for cancelled requests
every cancellation_check_period_ms of the rendered tensorrt_llm config, 100 ms when the config has
none (tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/model_instance_state.cc:708-718, the
check loop WaitForCancel at :1375-1394), and ends a cancelled request's rows at its next step.
Tokens are words of the word-level stand-in tokenizer (test/python/fake_transformers.py), so each
token is one streamed piece.

Figures (the last line, with --json, is one JSON object):
- added gap per piece: from the moment a token's response reached the model's process to the moment
  the model's send of its text was taken by Triton; p50 and p99 over the pieces of every stream that
  was not cancelled;
- cancel stall: --cancels streams (default one in 16) are cancelled by their clients, spread over
  the middle of the run. After each cancel, the largest added gap of the other streams' pieces that
  arrived within STALL_WINDOW_S; the largest of these, less what a window of the same length without
  a cancel shows (the median of the largest added gaps of the run's other such windows): the largest
  of several hundred pieces is well above p99 on any host, cancel or not;
- pieces per second: pieces sent to clients over the time from the first token to the last piece.
Besides: how long the engine kept generating for a cancelled request, the iterators the stub still
holds after every request has ended (each one leaks until the model unloads), the most threads this
process had, and the backend calls that block their thread which the model made on the event loop.
"""

import argparse
import collections
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "test" / "python"))
sys.dont_write_bytecode = True

import fake_transformers  # noqa: E402
import pbtxt  # noqa: E402
import support  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
STALL_WINDOW_S = 0.25
# The backend's own default when the config sets no cancellation_check_period_ms
# (model_instance_state.cc:708, v0.18.2).
DEFAULT_CANCELLATION_CHECK_MS = 100
DEFAULT_EXECUTOR_WORKERS = 32
# Words of the stand-in tokenizer: "What is the capital of France Paris Hello world User Hi".
WORDS = [100, 101, 102, 103, 104, 105, 107, 108, 110, 112, 114]
STACK = """config:
  oci:region: us-ashburn-1
  triton-trtllm-oci:compartmentId: ocid1.compartment.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexample
  triton-trtllm-oci:tenancyId: ocid1.tenancy.oc1..aaaaaaaaexampleexampleexampleexampleexampleexampleexampleexa
  triton-trtllm-oci:model:
    huggingFaceId: tiiuae/falcon-7b-instruct
    localDir: ./models/falcon
  triton-trtllm-oci:engine:
    prebuiltDir: ./engines/falcon
    maxBatchSize: {max_batch_size}
  triton-trtllm-oci:deployment:
    streaming: true
"""


def render(folder, max_batch_size):
    """The streaming stack's model repository, rendered by cli/render.ts into `folder`/out."""
    project = folder / "project"
    project.mkdir(parents=True)
    (project / "Pulumi.bench.yaml").write_text(STACK.format(max_batch_size=max_batch_size))
    out = folder / "out"
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not on PATH: the repository under test is rendered by cli/render.ts")
    result = subprocess.run(
        [node, "--import", "tsx", "cli/render.ts", "--stack", "bench", "--dir", str(project), "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        sys.exit(f"cli/render.ts failed:\n{result.stdout}{result.stderr}")
    return read_repository(out / "triton")


def read_repository(root):
    return root, {path.parent.name: pbtxt.parse(path.read_text()) for path in root.glob("*/config.pbtxt")}


def parameter(config, key):
    value = config.get("parameters", {}).get(key, {}).get("string_value", "")
    return value or None


class PacedEngine:
    """The tensorrt_llm model at a fixed step: see the module docstring."""

    def __init__(self, config, step_s, pieces):
        self.step_s = step_s
        self.pieces = pieces
        self.max_rows = int(config["max_batch_size"])
        check_ms = parameter(config, "cancellation_check_period_ms")
        self.check_s = (int(check_ms) if check_ms else DEFAULT_CANCELLATION_CHECK_MS) / 1000
        self._lock = threading.Lock()
        self._waiting = []
        self._active = []
        self._cancelled = set()
        self._stop = threading.Event()
        # Request -> perf_counter() of each response's arrival in the model's process; of its end.
        self.arrivals = {}
        self.ended_at = {}
        # The prompt's token ids -> the engine request, to tell which client a request serves.
        self.prompts = {}
        self.peak_threads = 0
        self._threads = [
            threading.Thread(target=self._steps, name="engine-steps", daemon=True),
            threading.Thread(target=self._check_cancelled, name="engine-cancel-check", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def __call__(self, request, decoupled):
        assert decoupled, "the engine of a streaming stack is decoupled"
        inputs = {tensor.name(): tensor.as_numpy() for tensor in request.inputs()}
        assert bool(inputs["streaming"].all()), "the benchmark streams"
        assert inputs["input_ids"].shape[0] == 1, "one row per request"
        prompt = tuple(inputs["input_ids"][0, : int(inputs["input_lengths"].reshape(-1)[0])].tolist())
        with self._lock:
            self.arrivals[request] = []
            self.prompts[prompt] = request
            self._waiting.append(request)
        return None

    def _check_cancelled(self):
        while not self._stop.wait(self.check_s):
            with self._lock:
                for request in self._active:
                    if request.cancelled:
                        self._cancelled.add(request)

    def _steps(self):
        next_step = time.perf_counter()
        while not self._stop.is_set():
            next_step += self.step_s
            time.sleep(max(0.0, next_step - time.perf_counter()))
            self.peak_threads = max(self.peak_threads, threading.active_count())
            with self._lock:
                while self._waiting and len(self._active) < self.max_rows:
                    self._active.append(self._waiting.pop(0))
                active = list(self._active)
            for request in active:
                produced = len(self.arrivals[request])
                if request in self._cancelled:
                    self._send(request, [], FINAL)
                elif produced + 1 == self.pieces:
                    self._send(request, [WORDS[produced % len(WORDS)]], FINAL)
                else:
                    self._send(request, [WORDS[produced % len(WORDS)]], 0)

    def _send(self, request, tokens, flags):
        response = pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("output_ids", np.array(tokens, np.int32).reshape(1, 1, len(tokens))),
                pb_utils.Tensor("sequence_length", np.array([[len(tokens)]], np.int32)),
            ]
        )
        request.deliver(response, flags)
        now = time.perf_counter()
        if tokens:
            self.arrivals[request].append(now)
        if flags & FINAL:
            with self._lock:
                self._active.remove(request)
                self.ended_at[request] = now

    def idle(self):
        with self._lock:
            return not self._waiting and not self._active

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def prompt(index):
    return f"What is the capital of France {index}"


class ClientSender(pb_utils.InferenceResponseSender):
    """Keeps what each response was ("piece", "empty", "final" or the error message), not the
    response: a real sender keeps nothing in Python, and thousands of kept responses would make the
    garbage collector's pauses this process's own (a full collection took 22 ms here)."""

    def _record(self, response, flags):
        if response is None:
            kind = "final"
        elif response.has_error():
            kind = response.error().message()
        else:
            kind = "piece" if pb_utils.get_output_tensor_by_name(response, "text_output").as_numpy()[0, 0] else "empty"
        super()._record(kind, flags)


class ClientRequest(pb_utils.InferenceRequest):
    def __init__(self, index, max_tokens):
        text = np.array([[prompt(index).encode()]], dtype=np.object_)
        super().__init__(
            inputs=[
                pb_utils.Tensor("text_input", text),
                pb_utils.Tensor("max_tokens", np.array([[max_tokens]], np.int32)),
                pb_utils.Tensor("stream", np.array([[True]], np.bool_)),
            ]
        )
        self.sender = ClientSender()

    def get_response_sender(self):
        return self.sender


def measure(streams, pieces, step_s, max_batch_size, cancels, repository, round_trip_s):
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        root, configs = read_repository(repository) if repository else render(Path(scratch), max_batch_size)
        support.RENDERED["root"] = root
        tokenizer = fake_transformers.FakeTokenizer()
        pb_utils.use_process_model(round_trip_s)
        preprocessing, _ = support.load_model("preprocessing", tokenizer, configs["preprocessing"])
        bls, _ = support.load_model("tensorrt_llm_bls", tokenizer, configs["tensorrt_llm_bls"])
    engine = PacedEngine(configs["tensorrt_llm"], step_s, pieces)
    pb_utils.BLS_MODELS.clear()
    pb_utils.BLOCKED_EVENT_LOOP.clear()
    pb_utils.BLS_MODELS["preprocessing"] = lambda request, decoupled: preprocessing.execute([request])[0]
    pb_utils.BLS_MODELS["tensorrt_llm"] = engine
    stub = pb_utils.StubLoop(default_executor_workers=DEFAULT_EXECUTOR_WORKERS)

    clients = [ClientRequest(index, pieces) for index in range(streams)]
    generation_s = pieces * step_s
    cancelled = clients[:: max(1, streams // cancels)][:cancels] if cancels else []
    cancel_at = {}

    def cancel(client):
        cancel_at[client] = time.perf_counter()
        client.get_response_sender().cancel()

    # The collector is off while the streams run: the stand-in keeps every response it hands out
    # as Python objects (python_backend keeps them in C++, pb_response_iterator.cc:92), and in this
    # small process they made a full collection pause everything for 14 to 35 ms every second or
    # two. Reference cycles the run leaves are counted after it instead.
    # What the round trip's sleep takes on this host.
    calibration = time.perf_counter()
    for _ in range(200):
        time.sleep(round_trip_s)
    sleep_s = (time.perf_counter() - calibration) / 200
    gc.collect()
    gc.freeze()
    gc.disable()
    started = time.perf_counter()
    timers = [
        threading.Timer(generation_s * (0.3 + 0.4 * index / max(1, len(cancelled))), cancel, (client,))
        for index, client in enumerate(cancelled)
    ]
    for timer in timers:
        timer.start()
    futures = [stub.execute(bls, [client]) for client in clients]
    for future in futures:
        future.result(timeout=60)
    deadline = time.perf_counter() + 10
    while not engine.idle() and time.perf_counter() < deadline:
        time.sleep(0.01)
    for timer in timers:
        timer.join()
    engine.stop()
    gc.enable()
    cycles = gc.collect()
    gc.unfreeze()
    pb_utils.settle()
    leaked = len(pb_utils.RESPONSE_ITERATORS)
    on_loop = collections.Counter(pb_utils.BLOCKED_EVENT_LOOP)
    if hasattr(bls, "finalize"):
        bls.finalize()
    stub.close()
    pb_utils.use_calling_thread()

    added, arrived_added, piece_times, first_arrival = [], [], [], None
    engine_requests = {
        client: engine.prompts[tuple(tokenizer.encode(prompt(index)))] for index, client in enumerate(clients)
    }
    for client in clients:
        sender = client.get_response_sender()
        assert sender.sent and sender.sent[-1][1] & FINAL, "every request ends with the final flag"
        errors = [kind for kind, _ in sender.sent if kind not in ("piece", "empty", "final")]
        assert not errors, errors
        sent_at = [at for (kind, _), at in zip(sender.sent, sender.sent_at) if kind == "piece"]
        piece_times.extend(sent_at)
        if client in cancel_at:
            continue
        arrivals = engine.arrivals[engine_requests[client]]
        assert len(arrivals) == len(sent_at) == pieces, (len(arrivals), len(sent_at))
        first_arrival = min(arrivals[0], first_arrival or arrivals[0])
        for arrival, sent in zip(arrivals, sent_at):
            added.append(sent - arrival)
            arrived_added.append((arrival, sent - arrival))

    p50 = percentile(added, 0.5)

    def largest_gap(start):
        return max((gap for arrival, gap in arrived_added if start <= arrival < start + STALL_WINDOW_S), default=None)

    after_cancels = [gap for gap in (largest_gap(at) for at in cancel_at.values()) if gap is not None]
    last_arrival = max(arrival for arrival, _ in arrived_added)
    starts = np.arange(first_arrival, last_arrival - STALL_WINDOW_S, STALL_WINDOW_S)
    quiet = [
        gap
        for gap in (
            largest_gap(start)
            for start in starts
            if all(start + STALL_WINDOW_S <= at or at + STALL_WINDOW_S <= start for at in cancel_at.values())
        )
        if gap is not None
    ]
    baseline = float(np.median(quiet)) if quiet else p50
    stop_after_cancel = [engine.ended_at[engine_requests[client]] - at for client, at in cancel_at.items()]
    return {
        "figures": {
            "streams": streams,
            "p50AddedGapMs": round(p50 * 1000, 2),
            "p99AddedGapMs": round(percentile(added, 0.99) * 1000, 2),
            "cancelStallMs": round(max(0.0, max(after_cancels, default=baseline) - baseline) * 1000, 2),
            "piecesPerSecond": round(len(piece_times) / (max(piece_times) - first_arrival)),
        },
        "cancels": len(cancel_at),
        "after_cancel_ms": round(max(after_cancels, default=0.0) * 1000, 2),
        "quiet_ms": (round(baseline * 1000, 2), round(max(quiet, default=0.0) * 1000, 2)),
        "engine_ms_after_cancel": [round(seconds * 1000, 1) for seconds in stop_after_cancel],
        "leaked_iterators": leaked,
        "cycles": cycles,
        "on_loop": on_loop,
        "peak_threads": engine.peak_threads,
        "check_ms": engine.check_s * 1000,
        "max_rows": engine.max_rows,
        "wall_s": time.perf_counter() - started,
        "round_trip_us": round(sleep_s * 1e6, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--pieces", type=int, default=80, help="tokens each stream generates")
    parser.add_argument("--step-ms", type=float, default=25.0, help="the engine's step")
    parser.add_argument("--max-batch-size", type=int, default=64, help="engine.maxBatchSize of the rendered stack")
    parser.add_argument("--cancels", type=int, default=None, help="streams cancelled (default one in 16)")
    parser.add_argument("--ipc-us", type=float, default=20.0, help="round trip to the Triton process, assumed")
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    parser.add_argument("--render-to", type=Path, help="only render the repository into DIR/out, for --repository")
    parser.add_argument("--repository", type=Path, help="run a repository rendered before (DIR/out/triton)")
    args = parser.parse_args()
    if args.render_to:
        render(args.render_to.resolve(), args.max_batch_size)
        return
    if args.streams < 1 or args.pieces < 2:
        parser.error("--streams must be at least 1 and --pieces at least 2")
    cancels = args.cancels if args.cancels is not None else max(1, args.streams // 16)
    if cancels >= args.streams:
        parser.error("--cancels must leave at least one stream that is not cancelled")
    repository = args.repository.resolve() / "out" / "triton" if args.repository else None
    result = measure(
        args.streams, args.pieces, args.step_ms / 1000, args.max_batch_size, cancels, repository, args.ipc_us / 1e6
    )
    figures = result["figures"]
    print(f"host: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; wall {result['wall_s']:.1f} s")
    print(f"round trip to the Triton process: {args.ipc_us} us assumed, {result['round_trip_us']} us slept")
    print(
        f"{figures['streams']} streams x {args.pieces} pieces, engine step {args.step_ms} ms, "
        f"max batch {result['max_rows']}, engine cancellation check every {result['check_ms']:.0f} ms"
    )
    print(f"added per piece: p50 {figures['p50AddedGapMs']} ms, p99 {figures['p99AddedGapMs']} ms (goal <= 5 at p99)")
    print(
        f"cancel stall: {figures['cancelStallMs']} ms over {result['cancels']} cancels (goal <= 20): largest added "
        f"gap within {STALL_WINDOW_S * 1000:.0f} ms after a cancel {result['after_cancel_ms']} ms; in windows "
        f"without one, median of the largest {result['quiet_ms'][0]} ms, largest {result['quiet_ms'][1]} ms"
    )
    print(f"engine kept generating after a cancel: {result['engine_ms_after_cancel']} ms")
    print(f"pieces per second: {figures['piecesPerSecond']}")
    print(f"iterators the stub still holds at the end: {result['leaked_iterators']}")
    print(f"objects in reference cycles the run left for the collector: {result['cycles']}")
    print(f"most threads in the process: {result['peak_threads']}")
    calls = ", ".join(f"{name} {count}" for name, count in sorted(result["on_loop"].items())) or "none"
    print(f"calls that block their thread made on the event loop: {calls}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
