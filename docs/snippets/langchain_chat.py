"""Chat with a stack whose api output is `openai` through LangChain's ChatOCIModelDeployment.

    pip install langchain-oci langchain-openai oracle-ads
    export PREDICT_URL=$(pulumi stack output predictUrl) OPENAI_MODEL=$(pulumi stack output openaiModel)
    python3 docs/snippets/langchain_chat.py

ChatOCIModelDeployment posts to the URL it is given with the header `route: /v1/chat/completions`
and signs with oracle-ads' auth. The URL below names the same route in its path, the way OCI routes
it on a deployment whose predictApiSpecification is openai. Its default model, odsc-llm, is not a
model of this deployment, and without max_tokens Triton's 25.04 frontend stops at 16 tokens.
"""

import os

import ads
from langchain_oci import ChatOCIModelDeployment

ads.set_auth("api_key", profile=os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
deployment = os.environ["PREDICT_URL"].partition("/predict")[0]
settings = {"model": os.environ["OPENAI_MODEL"], "model_kwargs": {"max_tokens": 128}}

chat = ChatOCIModelDeployment(endpoint=f"{deployment}/predict/v1/chat/completions", **settings)
print(chat.invoke("What is the capital of France?").content)

streaming = ChatOCIModelDeployment(
    endpoint=f"{deployment}/predictWithResponseStream/v1/chat/completions", streaming=True, **settings
)
for chunk in streaming.stream("Count from one to five."):
    print(chunk.content, end="", flush=True)
print()
