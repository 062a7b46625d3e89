"""Call a stack whose api output is `triton` (or that exports none) from Python, signed by OCI.

    pip install requests oci
    export PREDICT_URL=$(pulumi stack output predictUrl) PREDICT_STREAM_URL=$(pulumi stack output predictStreamUrl)
    python3 docs/snippets/triton_generate.py

The body is Triton's generate request (docs/serving.md lists every input). end_id and pad_id are the
model's own: 11 for Falcon-7B; `pulumi stack output exampleSignedCall` shows the stack's. The stream
URL exists only with deployment.streaming: true; its events are JSON objects with a text_output piece.
"""

import json
import os

import requests

from oci_signer_auth import profile_signer

signer = profile_signer()
body = {"text_input": "What is the capital of France?", "max_tokens": 64, "end_id": 11, "pad_id": 11}

answer = requests.post(os.environ["PREDICT_URL"], json=body, auth=signer, timeout=60)
answer.raise_for_status()
print(answer.json()["text_output"])

stream_url = os.environ.get("PREDICT_STREAM_URL")
if stream_url:
    with requests.post(stream_url, json={**body, "stream": True}, auth=signer, stream=True, timeout=60) as events:
        events.raise_for_status()
        for line in events.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                print(json.loads(line[len("data:"):]).get("text_output", ""), end="", flush=True)
    print()
