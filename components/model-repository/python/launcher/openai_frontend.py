"""Starts Triton's OpenAI-compatible frontend as the serving image ships it, with one change: a
request that sets no max_tokens leaves the answer's length to the served model.

The container of a stack with deployment.api openai runs this file from the artifact:

    python3 openai_frontend.py --model-repository DIR --tokenizer DIR --openai-port N --host 0.0.0.0

Every argument goes to the frontend's own main.py (server v2.57.0
python/openai/openai_frontend/main.py:85-157), which runs Triton in this process over the repository
and serves the OpenAI routes.

Why the change: the frontend's request schema defaults max_tokens to 16 for chat and completions
(schemas/openai.py:105-106, 858-859), and its TensorRT-LLM request carries max_tokens whenever that
is set and not 0 (engine/utils/triton.py:87-88). A client that sets none (LangChain's
ChatOCIModelDeployment does not by default) would get 16 tokens whatever the model, and 25.04 has no
option to change that (main.py:85-157; --default-max-tokens came with a later frontend). So before
main.py runs, the request converter the frontend gives every TensorRT-LLM, Python and ensemble model
(engine/triton_engine.py:224-235, which reads it from its own module's globals when the engine
lists the models at start, :244-267) is wrapped: where the client did not set max_tokens (pydantic
v2's BaseModel.model_fields_set: "the set of fields that have been explicitly set on this model
instance, i.e. that were not filled from defaults", docs.pydantic.dev API reference, BaseModel),
max_tokens is cleared, the converter then sends none (triton.py:87), and the served model generates
its own default_max_tokens (deployment.defaultMaxTokens). A client's own max_tokens is sent exactly
as the frontend sends it. Nothing else changes.

An image without the frontend, without its Python packages or without the converter this wraps
ends this process at once, with exit status 3 and a line on stderr that starts with
"openai_frontend.py:" and says what is missing; the build's validation looks for that line.
"""

import runpy
import sys
from pathlib import Path

# Where the image ships the frontend (server v2.57.0 build.py:2006-2008).
FRONTEND_DIR = Path("/opt/tritonserver/python/openai/openai_frontend")
# The converter engine/triton_engine.py imports from engine/utils/triton.py and hands to every
# model that is not a vLLM one (triton_engine.py:38-43, 224-235).
CONVERTER = "_create_trtllm_inference_request"
EXIT_MISSING = 3


def leave_unset_max_tokens_to_the_model(convert):
    """`convert`, except that a request whose client set no max_tokens is converted without one.
    Later frontends pass more arguments (a LoRA name), which go through as they come."""

    def converter(model, prompt, request, *rest):
        if "max_tokens" not in request.model_fields_set:
            request.max_tokens = None
        return convert(model, prompt, request, *rest)

    return converter


def missing(what):
    print(f"openai_frontend.py: {what}", file=sys.stderr)
    return EXIT_MISSING


def main(frontend_dir, argv):
    """Runs main.py of `frontend_dir` with `argv`, its converter wrapped; the exit status."""
    main_py = Path(frontend_dir) / "main.py"
    if not main_py.is_file():
        return missing(f"the image has no OpenAI frontend: {main_py} does not exist")
    # main.py imports its packages (engine, frontend, schemas) from its own folder, which Python puts
    # first on sys.path when it runs the file as a script.
    sys.path.insert(0, str(main_py.parent))
    try:
        # What main.py imports before it starts anything (main.py:33-35): the in-process Triton
        # bindings, transformers, pydantic, FastAPI and uvicorn among them.
        from engine import triton_engine
        from frontend import fastapi_frontend  # noqa: F401
    except ImportError as error:
        return missing(f"the OpenAI frontend in {main_py.parent} cannot be imported: {error}")
    convert = getattr(triton_engine, CONVERTER, None)
    if convert is None:
        return missing(
            f"{main_py.parent}/engine/triton_engine.py has no {CONVERTER}: not the frontend this launcher wraps"
        )
    setattr(triton_engine, CONVERTER, leave_unset_max_tokens_to_the_model(convert))
    sys.argv = [str(main_py), *argv]
    runpy.run_path(str(main_py), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(FRONTEND_DIR, sys.argv[1:]))
