"""What a real node cannot check about the OpenSearch store: the managed domain's client signs with SigV4 (the local
node has no security plugin); and the pure parts. The rest runs on a real node in tests/integration/test_rag_stores.py.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.rag.stores.base import ChunkFilter
from services.rag.stores.opensearch import bulk_failure, cosine_from_score, filter_query


@pytest.fixture
def aws_keys(monkeypatch):
    from core import aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    aws.reset()
    yield
    aws.reset()


@pytest.fixture
def captured_requests():
    """A local HTTP server that answers every request with `{}` and keeps the headers it got."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_a_domain_endpoint_without_a_scheme_is_reached_over_https(aws_keys):
    from services.rag.stores.opensearch import opensearch_client

    client = opensearch_client("search-domain.us-east-1.es.amazonaws.com", "us-east-1")
    host = client.transport.hosts[0]
    assert (host["host"], host["port"], host.get("use_ssl")) == ("search-domain.us-east-1.es.amazonaws.com", 443, True)


def test_the_aws_client_signs_every_request_with_sigv4_for_es(aws_keys, captured_requests):
    from services.rag.stores.opensearch import opensearch_client

    url, seen = captured_requests
    opensearch_client(url, "eu-west-1").indices.get_mapping(index="rag-docs")
    headers = {k.lower(): v for k, v in seen[0].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["authorization"] and "x-amz-date" in headers
    assert "secret-example" not in str(headers)


def test_lucene_scores_convert_back_to_cosine():
    assert cosine_from_score(1.0) == 1.0 and cosine_from_score(0.5) == 0.0 and cosine_from_score(0.0) == -1.0


def test_a_filter_becomes_terms_on_keyword_fields():
    assert filter_query(None) is None and filter_query(ChunkFilter()) is None
    assert filter_query(ChunkFilter(document_ids=frozenset({"b", "a"}), document_names=frozenset({"x.md"}))) == {
        "bool": {"filter": [{"terms": {"documentId": ["a", "b"]}}, {"terms": {"documentName": ["x.md"]}}]}}


def test_bulk_failures_name_the_first_refused_item_and_its_cause():
    assert bulk_failure({"errors": False, "items": [{"index": {"status": 201}}]}) is None
    answer = {"errors": True, "items": [{"index": {"status": 201}}, {"index": {"status": 400, "error": {
        "type": "mapper_parsing_exception", "reason": "failed to parse field [embedding]",
        "caused_by": {"type": "illegal_argument_exception", "reason": "Vector dimension mismatch"}}}}]}
    assert bulk_failure(answer) == ("mapper_parsing_exception: failed to parse field [embedding] "
                                    "(Vector dimension mismatch)")
