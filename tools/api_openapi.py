"""Prints the api app's OpenAPI document without starting it: the source of the web UI's wire types.

`create_app` wants a platform; the document does not depend on it, so a fixed placeholder stands in, and the
settings are the defaults (not the environment's), so every machine writes the same document.
Used by tools/api_types.sh (`make api-types`, and `make test`'s check).
"""

from __future__ import annotations

import json
import sys

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


def document() -> dict:
    # model_validate skips the settings sources: defaults only, whatever LISA_* variables this shell has.
    return create_app(PLACEHOLDER_PLATFORM, ApiSettings.model_validate({})).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2)
    sys.stdout.write("\n")
