/**
 * A stack with `deployment.api: openai`: its container runs Triton's own OpenAI-compatible frontend,
 * which the serving image ships (server v2.57.0 build.py:2006-2008 copies python/openai into
 * /opt/tritonserver/python, :1250-1255 install its Python packages). It runs Triton in its own Python
 * process over the artifact's model repository and answers OpenAI chat and completion requests. The
 * names and paths it and the artifact share; pure data.
 */

/** Which API the deployment's container serves: Triton's generate endpoint, or the OpenAI frontend. */
export type DeploymentApi = "triton" | "openai";

export const DEPLOYMENT_APIS: readonly DeploymentApi[] = ["triton", "openai"];

/** Where the image ships the frontend's sources (main.py, engine/, schemas/...). */
export const FRONTEND_DIR = "/opt/tritonserver/python/openai/openai_frontend";

/**
 * The one model the frontend serves, and so the `model` every OpenAI request names. OCI's LangChain
 * clients send "odsc-llm" unless told otherwise (langchain-ai/langchain
 * libs/community/langchain_community/llms/oci_data_science_model_deployment_endpoint.py,
 * `DEFAULT_MODEL_NAME`, which ChatOCIModelDeployment imports as its default), so they work as they
 * come. It is the decoupled model that streams exact text (tensorrt_llm_bls/model.py) under this name.
 */
export const OPENAI_MODEL = "odsc-llm";

/**
 * The artifact folder's subfolder that is the Triton model repository. The frontend loads every
 * model of the repository it is given (main.py:164-170 starts a server over it with Triton's
 * default model control, and engine/triton_engine.py:244-267 lists every model as servable), and
 * Triton takes every subfolder of a repository for a model (core r25.04
 * src/model_repository_manager/model_repository_manager.cc:1169-1183), so the tokenizer, the
 * launcher and the chat template live beside it, not in it.
 */
export const OPENAI_MODELS_FOLDER = "models";

/** The models the frontend loads: exactly what its served model needs, nothing it should not serve. */
export const OPENAI_REPOSITORY_MODELS = ["preprocessing", "tensorrt_llm", OPENAI_MODEL] as const;

/** The launcher (python/launcher/openai_frontend.py), at the top of the artifact folder. */
export const OPENAI_LAUNCHER = "openai_frontend.py";

/**
 * The chat template this stack writes for a model whose tokenizer has none, at the top of the artifact
 * folder; the build merges it into the tokenizer's tokenizer_config.json, where the frontend's
 * tokenizer reads it (engine/utils/tokenizer.py:90-96, AutoTokenizer.from_pretrained).
 */
export const CHAT_TEMPLATE_FILE = "chat_template.jinja";

/** The frontend's readiness route (frontend/fastapi/routers/observability.py:38-49): 200 once Triton is ready. */
export const OPENAI_HEALTH_ROUTE = "/health/ready";

/**
 * The frontend's chat route (frontend/fastapi/routers/chat.py:34-36). OCI forwards
 * `<deployment>/predict/v1/chat/completions` (and `/predictWithResponseStream/...`) to it on a
 * deployment whose `predictApiSpecification` is `openai`, stripping the `/predict` prefix
 * (oracle-samples/oci-data-science-ai-samples model-deployment/multiple_inference_endpoints/README.md,
 * "Invocation" and "BYOC").
 */
export const OPENAI_CHAT_ROUTE = "/v1/chat/completions";

/**
 * A `top_p` that makes TensorRT-LLM's top-p sampling pick the most likely token every step. The
 * chat request cannot ask for greedy decoding: its schema has no `top_k` and refuses unknown fields
 * (schemas/openai.py:823-825), TensorRT-LLM refuses `top_p` 0 (executor samplingConfig.cpp
 * `checkTopP`: top_p > 0), and the frontend always sends the schema's `top_p` default of 1 with a
 * `temperature` of 0.7 (schemas/openai.py:892-901; engine/utils/triton.py:94-103 sends every field
 * that is not None). Top-p sampling draws a threshold uniformly between 0 and `top_p` and takes the
 * first token, by falling probability, at which the probabilities summed reach it (TensorRT-LLM
 * cpp/tensorrt_llm/kernels/samplingTopPKernels.cu, `randNumS = randomNumber * probThreshold`, then
 * the first index whose prefix sum is at least that): the most likely token has at least 1/vocab of
 * the probability (7.8e-6 for Llama-3.1's 128,256 tokens), so a threshold below that always takes it.
 */
export const GREEDY_TOP_P = 1e-6;
