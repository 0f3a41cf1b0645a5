"""Which Pulumi secrets provider new model stacks get: the stage's KMS key when it exists (as in AWS), through the
emulator's endpoint here; the passphrase when there is no key."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from core import aws
from services.api.engine.stacks import stage_key_secrets_provider


def test_the_stage_key_through_the_emulator(platform):
    outputs, _ = platform
    url = urlsplit(stage_key_secrets_provider(outputs, aws.endpoint_url()))
    assert (url.scheme, url.netloc + url.path) == ("awskms", f"alias/lisa/{outputs.deployment_name}-{outputs.deployment_stage}")
    assert parse_qs(url.query) == {"region": [outputs.region], "endpoint": [aws.endpoint_url()]}


def test_no_endpoint_in_aws(platform):
    outputs, _ = platform
    assert "endpoint" not in parse_qs(urlsplit(stage_key_secrets_provider(outputs, None)).query)


def test_the_passphrase_when_the_stage_has_no_key(platform):
    outputs, _ = platform
    keyless = outputs.model_copy(update={"deployment_name": "nokey"})
    assert stage_key_secrets_provider(keyless, aws.endpoint_url()) is None
