/**
 * Rules on the serving settings that TensorRT-LLM's executor reads at run time, where a mistake shows
 * only as refused requests after the deployment is up.
 */
import type { Rule } from "../schema";
import { decoupledServing } from "../views";

/**
 * Streaming with `max_utilization` and no chunked context: every streamed request whose prompt +
 * max_tokens − 1 exceeds the engine's max input length is refused. A policy that may evict a request
 * and restart it re-runs its context with the tokens generated so far, and without chunked context
 * that context must fit `max_input_len`; a streamed request's tokens have already gone out, so the
 * executor refuses the request up front rather than truncate it on restart ("Request sequence length
 * is potentially greater than max input length. This cannot be run unless streaming is disabled,
 * context chunking is enabled or the GUARANTEED_NO_EVICT scheduling policy is used": TensorRT-LLM
 * cpp/tensorrt_llm/executor/executorImpl.cpp, `Executor::Impl::fetchNewRequests`, read at commit
 * 036a60f; issue 27 reports the same refusal from the 0.18.2 executor of the 25.04 image). The
 * backend hands the executor `batch_scheduler_policy` and `enable_chunked_context` from the model's
 * config.pbtxt (tensorrtllm_backend v0.18.2 inflight_batcher_llm/src/model_instance_state.cc:329-357,
 * 448-465).
 * The build host's own check never meets it: it asks 16 tokens of a short prompt.
 *
 * Refused rather than mended: turning chunked context on changes the engine (it is built with
 * `--use_paged_context_fmha enable`) and its cache key, which the operator should choose.
 */
export const streamingEvictionRule: Rule = (config) => {
  const { batchSchedulerPolicy, enableChunkedContext } = config.serving;
  // An OpenAI stack serves the decoupled model that streams from the engine, as a streaming stack does.
  if (batchSchedulerPolicy !== "max_utilization" || enableChunkedContext || !decoupledServing(config))
    return [];
  const { maxInputLen, maxOutputLen } = config.engine;
  // The longest request the engine takes is maxInputLen + maxOutputLen tokens; it passes only when
  // that minus one fits maxInputLen.
  if (maxOutputLen <= 1) return [];
  return [
    {
      key: "serving.batchSchedulerPolicy",
      value: batchSchedulerPolicy,
      message:
        `with ${config.deployment.api === "openai" ? "deployment.api openai" : "deployment.streaming true"} and serving.enableChunkedContext false, TensorRT-LLM refuses every streamed request whose prompt + max_tokens - 1 exceeds engine.maxInputLen (${maxInputLen}):` +
        ` max_utilization may evict a request and re-run its context, which must then fit engine.maxInputLen, so a ${maxInputLen}-token prompt could ask for 1 token and a 1-token prompt for ${maxInputLen}, not the ${maxOutputLen} engine.maxOutputLen allows`,
      fix: `pulumi config set --path serving.batchSchedulerPolicy guaranteed_no_evict (the default); or pulumi config set --path serving.enableChunkedContext true (the engine is rebuilt with paged context FMHA)${config.deployment.api === "openai" ? "" : "; or set deployment.streaming false"}`,
    },
  ];
};
