"""A stand-in for the "tensorrt_llm" model, answering as NVIDIA's tensorrtllm backend v0.18.2 does.

Written from tensorrtllm_backend v0.18.2 (tag in /work/.mirror/triton-inference-server+tensorrtllm_backend),
file inflight_batcher_llm/src/model_instance_state.cc unless another is named:
- A request of several rows becomes one executor request per row (enqueue, :820-901; utils.cc
  splitBatchInputsTensors, :156). Without the decoupled transaction policy a request of several rows, or
  one asking to stream, fails before anything runs (utils.cc:790-798), with one error response that
  carries Triton's final flag (sendEnqueueResponse, :759-768, called at :895-897).
- Each executor response becomes one Triton response (fillTritonResponse, :934-1183): output_ids
  [1, beams, tokens] (:973) and sequence_length [1, beams] (:986), the new tokens only when streaming;
  batch_index [1, 1] only when the request holds more than one row (:1103-1111).
- A row's last response is the executor's final one, and carries its last tokens; Triton's final flag
  goes only on the last row's last response (WaitForResponse, :1223-1228), the others are sent with
  flag 0 (:1228, :1266). So there is no separate empty final response.
- An executor error ends its row with an error response and no tensors ("Executor failed process
  requestId ... due to the following error: ...", :1166-1171), final flag as above.
- Cancellation: a thread polls every request's response factory (WaitForCancel, :1375-1394) and
  cancels the executor requests of a cancelled one; the executor then ends each unfinished row.
Not in that source: the executor leaves the end id out of the output tokens (NVIDIA/TensorRT-LLM
issue #2190, maintainer's answer: "The generation will stop at the endId, but not include it in the
output"), so the streamed response of the step that generated it holds no new token. Assumed, not
read: the tokens of a matched stop word stay in the output, and a cancelled row ends with a response
holding no new token; the models under test must (and do) work either way.

The "model" is scripted: `completions[row]` are the ids the model would generate for row `row`.
Generation ends at the end id, at a stop word of the row's stop_words_list, or at
request_output_len tokens, whichever comes first.
"""

import numpy as np

import triton_python_backend_utils as pb_utils

FINAL = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
KV_CACHE_FULL = "out of KV cache blocks"


def word_sequences(word_list):
    """[2, L] engine word list -> list of token sequences."""
    ids, offsets = word_list[0].tolist(), [offset for offset in word_list[1].tolist() if offset >= 0]
    starts = [0] + offsets[:-1]
    return [ids[start:end] for start, end in zip(starts, offsets)]


class StandInEngine:
    def __init__(self, config, completions, step=1, fail_after=None):
        """`config` is the rendered tensorrt_llm config (what Triton checks requests against);
        `step` tokens per streamed response; `fail_after` responses before an executor error."""
        self.config = config
        self.completions = [list(ids) for ids in completions]
        self.step = step
        self.fail_after = fail_after
        self.decoupled = config.get("model_transaction_policy", {}).get("decoupled", False)
        # What each request sent (input name -> array), and the BLS requests themselves.
        self.calls = []
        self.requests = []
        self.generated = {}

    # Triton's checks before the backend sees a request.
    def _check(self, inputs, requested):
        declared = {entry["name"]: entry for entry in self.config["input"]}
        batch = inputs["input_ids"].shape[0]
        for name, array in inputs.items():
            assert name in declared, f"{name} is not an input of tensorrt_llm"
            entry = declared[name]
            assert array.dtype == pb_utils.triton_string_to_numpy(entry["data_type"]), name
            assert array.shape[0] == batch and len(array.shape) == 1 + len(entry["dims"]), name
            for size, dim in zip(array.shape[1:], entry["dims"]):
                assert dim == -1 or size == dim, name
        for entry in declared.values():
            assert entry.get("optional", False) or entry["name"] in inputs, f"required {entry['name']} missing"
        assert set(requested) <= {entry["name"] for entry in self.config["output"]}, requested

    def __call__(self, engine_request, decoupled_call):
        """As a BLS target: `exec(decoupled=...)` on the model."""
        assert decoupled_call == self.decoupled, "a BLS call must match the engine's transaction policy"
        inputs = {tensor.name(): tensor.as_numpy() for tensor in engine_request.inputs()}
        self.requests.append(engine_request)
        return self.respond(inputs, engine_request.requested_output_names(), lambda: engine_request.cancelled)

    def respond(self, inputs, requested, cancelled=lambda: False):
        """(response, flags) pairs, in the order the backend sends them."""
        self._check(inputs, requested)
        self.calls.append(inputs)
        batch = inputs["input_ids"].shape[0]
        streaming = "streaming" in inputs and bool(inputs["streaming"].all())
        if not self.decoupled and batch > 1:
            message = "Batch size > 1 requires the tensorrt_llm backend to be using decoupled transaction policy"
            return [(_error(message), FINAL)]
        if streaming and not self.decoupled:
            return [(_error("Streaming is only supported if model is deployed using decoupled mode."), FINAL)]
        assert "output_ids" in requested and "sequence_length" in requested, "the backend throws without them"
        return self._responses(inputs, set(requested), batch, streaming, cancelled)

    def _generate(self, inputs, row):
        """The ids generated for `row`, and whether an end id ended them."""
        limit = int(inputs["request_output_len"].reshape(-1)[row])
        end_id = int(inputs["end_id"].reshape(-1)[row]) if "end_id" in inputs else None
        stops = word_sequences(inputs["stop_words_list"][row]) if "stop_words_list" in inputs else []
        generated = []
        for token in self.completions[row]:
            if token == end_id:
                return generated, True
            generated.append(token)
            if len(generated) == limit or any(generated[-len(stop) :] == stop for stop in stops if stop):
                break
        return generated, False

    def _responses(self, inputs, requested, batch, streaming, cancelled):
        rows = {row: self._generate(inputs, row) for row in range(batch)}
        self.generated = {row: ids for row, (ids, _) in rows.items()}
        # Each row's responses: (tokens, is_final). Streaming sends `step` tokens at a time; the
        # step that generated the end id sends none (the end id is left out).
        plans = {}
        for row, (ids, ended_by_end_id) in rows.items():
            if not streaming:
                plans[row] = [(ids, True)]
                continue
            chunks = [ids[start : start + self.step] for start in range(0, len(ids), self.step)] or [[]]
            if ended_by_end_id and len(ids) % self.step == 0 and ids:
                chunks.append([])
            plans[row] = [(chunk, index == len(chunks) - 1) for index, chunk in enumerate(chunks)]
        pending = set(range(batch))
        sent = 0
        position = 0
        while pending:
            for row in sorted(pending):
                if cancelled():
                    yield from self._cancelled(pending, requested, batch)
                    return
                tokens, is_final = plans[row][position] if position < len(plans[row]) else ([], True)
                sent += 1
                if sent - 1 == self.fail_after:
                    pending.discard(row)
                    message = f"Executor failed process requestId {row + 1} due to the following error: {KV_CACHE_FULL}"
                    yield _error(message), (FINAL if not pending else 0)
                    continue
                if is_final:
                    pending.discard(row)
                yield self._tokens(tokens, row, requested, batch), (FINAL if is_final and not pending else 0)
            position += 1

    def _cancelled(self, pending, requested, batch):
        for row in sorted(pending):
            pending.discard(row)
            yield self._tokens([], row, requested, batch), (FINAL if not pending else 0)

    def _tokens(self, tokens, row, requested, batch):
        tensors = [
            pb_utils.Tensor("output_ids", np.array([[tokens]], dtype=np.int32).reshape(1, 1, len(tokens))),
            pb_utils.Tensor("sequence_length", np.array([[len(tokens)]], dtype=np.int32)),
        ]
        if "batch_index" in requested and batch > 1:
            tensors.append(pb_utils.Tensor("batch_index", np.array([[row]], dtype=np.int32)))
        return pb_utils.InferenceResponse(output_tensors=tensors)


def _error(message):
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message))
