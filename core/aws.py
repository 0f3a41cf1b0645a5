"""The one AWS client factory. Every boto3 call in the project gets its client (or resource) here.

`LISA_AWS_ENDPOINT_URL` points every service at one endpoint (the moto server in the local stack and in tests);
unset, boto3 resolves real AWS endpoints (and still honours AWS_ENDPOINT_URL_<SERVICE> if set).
Clients are cached per (service, region, endpoint) and are thread-safe; boto3 resources are not, so those are
cached per thread.
"""

from __future__ import annotations

import functools
import os
import threading

import boto3
from botocore.config import Config

_DEFAULT_REGION = "us-east-1"
_local = threading.local()
_session_lock = threading.Lock()


def endpoint_url() -> str | None:
    return os.environ.get("LISA_AWS_ENDPOINT_URL") or None


def region() -> str:
    return os.environ.get("LISA_REGION") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or _DEFAULT_REGION


def _config() -> Config:
    # Short connect timeout and few retries: a caller (an HTTP request, a deployment job) would rather fail fast.
    return Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=float(os.environ.get("LISA_AWS_CONNECT_TIMEOUT", "5")),
        read_timeout=float(os.environ.get("LISA_AWS_READ_TIMEOUT", "30")),
        max_pool_connections=50,
    )


@functools.lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@functools.lru_cache(maxsize=64)
def _client(service: str, region_name: str, endpoint: str | None):
    with _session_lock:  # creating clients from one session is not thread-safe; using them is
        return _session().client(service, region_name=region_name, endpoint_url=endpoint, config=_config())


def client(service: str, *, region_name: str | None = None):
    """A boto3 client for `service`, honouring the endpoint override."""
    return _client(service, region_name or region(), endpoint_url())


def resource(service: str, *, region_name: str | None = None):
    """A boto3 resource (DynamoDB tables, S3 objects); one per thread since resources are not thread-safe."""
    key = (service, region_name or region(), endpoint_url())
    cache = getattr(_local, "resources", None)
    if cache is None:
        cache = _local.resources = {}
    if key not in cache:
        with _session_lock:
            cache[key] = boto3.session.Session().resource(service, region_name=key[1], endpoint_url=key[2], config=_config())
    return cache[key]


def credentials():
    """The session's AWS credentials, for request signers that are not boto3 clients (OpenSearch's SigV4)."""
    return _session().get_credentials()


def reset() -> None:
    """Forget cached clients (after the endpoint or credentials change, e.g. between test sessions)."""
    _client.cache_clear()
    _session.cache_clear()
    _local.resources = {}


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (`ResourceNotFoundException`, …), else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None
