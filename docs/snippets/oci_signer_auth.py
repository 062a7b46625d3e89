"""OCI request signing for httpx, the HTTP client the openai Python SDK sends through.

OCI's signature covers the request's method and path, host, date, and for a body its type, length
and SHA-256. The oci SDK's signers do that for a `requests.PreparedRequest` (oci.signer.Signer is a
requests auth class), so each httpx request is copied into one, signed, and the signed headers
copied back. `requires_request_body` makes httpx read the body before the flow runs (httpx
`Auth.requires_request_body`), so streamed uploads are signed whole.
"""

import os

import httpx
import oci
import requests


class OCIRequestSigner(httpx.Auth):
    requires_request_body = True

    def __init__(self, signer):
        self.signer = signer

    def auth_flow(self, request):
        prepared = requests.Request(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            data=request.content,
        ).prepare()
        self.signer(prepared)
        # date, host, content-type, content-length, x-content-sha256 and authorization: the
        # signature replaces the SDK's "Bearer" header, which OCI would refuse.
        request.headers.update(prepared.headers)
        yield request


def profile_signer(profile=None):
    """The signer of an API-key profile of ~/.oci/config (OCI_CLI_PROFILE, else DEFAULT)."""
    config = oci.config.from_file(profile_name=profile or os.environ.get("OCI_CLI_PROFILE", "DEFAULT"))
    return oci.signer.Signer(
        tenancy=config["tenancy"],
        user=config["user"],
        fingerprint=config["fingerprint"],
        private_key_file_location=config["key_file"],
        pass_phrase=config.get("pass_phrase"),
    )
