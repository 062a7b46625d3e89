"""Chat with a stack whose api output is `openai` through the openai Python SDK, signed by OCI.

    pip install openai httpx requests oci
    export PREDICT_URL=$(pulumi stack output predictUrl) OPENAI_MODEL=$(pulumi stack output openaiModel)
    python3 docs/snippets/openai_sdk.py

OCI routes `<deployment>/predict/<path>` to the container's `<path>`, and
`<deployment>/predictWithResponseStream/<path>` for a stream, on a deployment whose
predictApiSpecification is openai: two base URLs, one per kind of call. Triton's 25.04 OpenAI
frontend stops at 16 tokens when a request sends no max_tokens, refuses fields it does not know
(max_completion_tokens, stream_options) and returns no usage.
"""

import os

import httpx
from openai import OpenAI

from oci_signer_auth import OCIRequestSigner, profile_signer

deployment = os.environ["PREDICT_URL"].partition("/predict")[0]
model = os.environ["OPENAI_MODEL"]
http = httpx.Client(auth=OCIRequestSigner(profile_signer()), timeout=60.0)


def client(route):
    # The API key is never sent: the httpx client's auth replaces the Authorization header.
    return OpenAI(base_url=f"{deployment}/{route}/v1", api_key="signed-by-oci", http_client=http)


messages = [{"role": "user", "content": "What is the capital of France?"}]
answer = client("predict").chat.completions.create(model=model, messages=messages, max_tokens=128)
print(answer.choices[0].message.content)

stream = client("predictWithResponseStream").chat.completions.create(
    model=model, messages=messages, max_tokens=128, stream=True
)
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
