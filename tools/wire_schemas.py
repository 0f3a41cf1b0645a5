"""Prints the documents the web UI's wire types are generated from (tools/api_types.sh: `make api-types`, and
`make test`'s check):

    wire_schemas.py api          the api app's OpenAPI, without starting it
    wire_schemas.py web-config   the UI's config.json (components/web_config.WebRuntimeConfig) as an OpenAPI document

`create_app` wants a platform; the document does not depend on it, so a fixed placeholder stands in, and the
settings are the defaults (not the environment's), so every machine writes the same document.
"""

from __future__ import annotations

import json
import sys

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from components.web_config import WebRuntimeConfig
from core.platform import PlatformOutputs
from core.tables import TABLES
from services.api.app import create_app
from services.api.settings import ApiSettings

PLACEHOLDER_PLATFORM = PlatformOutputs.model_validate({
    "deploymentName": "lisa", "deploymentStage": "schema", "region": "us-east-1",
    "tables": {spec.key: spec.key for spec in TABLES},  # every table, so a new one needs no edit here
    "buckets": {"models": "models", "ragDocuments": "rag-documents", "deploymentState": "deployment-state"},
    "masterKeySecretId": "master-key",
    "auth": {"authority": "https://issuer.invalid", "clientId": "client", "adminGroup": "admins"},
    "modelHosting": {
        "clusterName": "cluster", "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/cluster",
        "loadBalancerArn": "arn:lb", "listenerArn": "arn:listener", "loadBalancerDnsName": "lb.invalid",
        "vpcId": "vpc-0", "privateSubnetIds": ["subnet-0"], "instanceSecurityGroupIds": ["sg-0"],
        "instanceProfileArn": "arn:profile", "taskRoleArn": "arn:task", "executionRoleArn": "arn:execution",
    },
})


def api_document_app() -> FastAPI:
    """The api app on the placeholder platform (its lifespan, which starts the engine, never runs here)."""
    # model_validate skips the settings sources: defaults only, whatever LISA_* variables this shell has.
    return create_app(PLACEHOLDER_PLATFORM, ApiSettings.model_validate({}))


def api_document() -> dict:
    return api_document_app().openapi()


def web_config_document() -> dict:
    _, schema = models_json_schema([(WebRuntimeConfig, "serialization")],
                                   ref_template="#/components/schemas/{model}")
    return {"openapi": "3.1.0", "info": {"title": "The web UI's config.json", "version": "1"}, "paths": {},
            "components": {"schemas": schema["$defs"]}}


DOCUMENTS = {"api": api_document, "web-config": web_config_document}

if __name__ == "__main__":
    json.dump(DOCUMENTS[sys.argv[1]](), sys.stdout, indent=2)
    sys.stdout.write("\n")
