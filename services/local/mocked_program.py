"""The core stack's program (`__main__.py`) run under Pulumi's mocks: every resource it registers (inputs, parent,
URN) and its stack outputs. `make preview` (services/local/preview.py) prints the result; the unit tests
(tests/unit/pulumi_program.py) assert on it.

The mocks stand in for the engine and the AWS provider only, so the program's own code runs unchanged. They answer
with the inputs plus, unless told not to, the few computed attributes a real provider would return (ARNs, ids, DNS
names). Without them (the preview) every computed value stays unknown, as in a first `pulumi preview`.
"""

from __future__ import annotations

import asyncio
import hashlib
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "__main__.py"
ACCOUNT = "123456789012"
STACK_TYPE = "pulumi:pulumi:Stack"
# How Pulumi marks a secret value in serialized properties: {SIG_KEY: SECRET_SIG, "value": ...}
SIG_KEY, SECRET_SIG = rpc._special_sig_key, rpc._special_secret_sig


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def plain(value: Any) -> Any:
    """The value with Pulumi's secret wrappers removed, at any depth."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    id: str = ""
    urn: str = ""
    parent: str = ""
    custom: bool = True

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return plain(self.inputs)

    @property
    def type_chain(self) -> list[str]:
        return self.urn.split("::")[2].split("$") if self.urn else []


@dataclass
class ProgramRun:
    resources: list[Registered]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, typ: str, name: str) -> Registered:
        matches = [r for r in self.of_type(typ) if r.name == name]
        assert len(matches) == 1, f"{typ} {name}: {len(matches)} registered"
        return matches[0]


def _hex(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


class AwsMocks(pulumi.runtime.Mocks):
    """The AWS provider's part: a physical id and computed attributes per resource, answers to the data sources the
    program reads. Keeps what was registered (`resources`, filled by the monitor) and invoked (`calls`)."""

    def __init__(self, region: str, account: str = ACCOUNT, *, computed: bool = True) -> None:
        self.region, self.account, self.computed = region, account, computed
        self.resources: list[Registered] = []
        self.calls: list[str] = []

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if regional else ''}:{self.account}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not self.computed:
            return f"{args.name}-preview-id", dict(args.inputs)
        physical_id, computed = self._computed(args.typ, args.name, plain(args.inputs))
        return physical_id, {**args.inputs, **computed}

    def _computed(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        r, h, account = self.region, _hex(typ, name), self.account
        physical = inputs.get("name") or f"{name}-{h[:7]}"
        module, kind = typ.split(":")[1].split("/")[0], typ.split(":")[-1]
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{h}"
            return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
                            "bucketRegionalDomainName": f"{bucket}.s3.{r}.amazonaws.com"}
        if typ == "aws:lb/loadBalancer:LoadBalancer":
            arn = self.arn("elasticloadbalancing", f"loadbalancer/app/{physical}/{h}{h}")
            dns = f"{'internal-' if inputs.get('internal') else ''}{physical}-{int(h, 16)}.{r}.elb.amazonaws.com"
            return arn, {"arn": arn, "arnSuffix": arn.split(":loadbalancer/")[1], "dnsName": dns, "name": physical}
        if typ == "aws:lb/targetGroup:TargetGroup":
            arn = self.arn("elasticloadbalancing", f"targetgroup/{physical}/{h}{h}")
            return arn, {"arn": arn, "arnSuffix": arn.split(":")[-1], "name": physical}
        if typ == "aws:lb/listener:Listener":
            lb = inputs["loadBalancerArn"].split(":loadbalancer/")[1]
            arn = self.arn("elasticloadbalancing", f"listener/{lb}/{h}{h}")
            return arn, {"arn": arn}
        if typ == "aws:iam/role:Role":
            return physical, {"arn": self.arn("iam", f"role/{physical}", regional=False), "name": physical}
        if typ == "aws:iam/instanceProfile:InstanceProfile":
            return physical, {"arn": self.arn("iam", f"instance-profile/{physical}", regional=False)}
        if typ == "aws:kms/key:Key":
            key_id = f"{h}-0000-4000-8000-{h}{h[:4]}"
            return key_id, {"arn": self.arn("kms", f"key/{key_id}"), "keyId": key_id}
        if typ == "aws:secretsmanager/secret:Secret":
            arn = self.arn("secretsmanager", f"secret:{physical}-{h[:6]}")
            return arn, {"arn": arn}
        if typ == "aws:dynamodb/table:Table":
            return physical, {"arn": self.arn("dynamodb", f"table/{physical}")}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return physical, {"arn": self.arn("logs", f"log-group:{physical}")}
        if typ == "aws:ecs/cluster:Cluster":
            arn = self.arn("ecs", f"cluster/{physical}")
            return arn, {"arn": arn, "name": physical}
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            arn = self.arn("ecs", f"task-definition/{inputs['family']}:1")
            return arn, {"arn": arn, "revision": 1}
        if typ == "aws:ecs/service:Service":
            return self.arn("ecs", f"service/{physical}"), {"name": physical}
        if typ == "aws:opensearch/domain:Domain":
            domain = inputs["domainName"]
            return domain, {"arn": self.arn("es", f"domain/{domain}"),
                            "endpoint": f"vpc-{domain}-{h}.{r}.es.amazonaws.com"}
        if typ == "aws:rds/instance:Instance":
            ident = inputs["identifier"]
            return ident, {"arn": self.arn("rds", f"db:{ident}"), "address": f"{ident}.{h}.{r}.rds.amazonaws.com",
                           "masterUserSecrets": [{"secretArn": self.arn("secretsmanager", f"secret:rds!db-{h}-AbCdEf"),
                                                  "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                                                  "secretStatus": "active"}]}
        if typ == "aws:cloudfront/distribution:Distribution":
            dist_id = f"E{h.upper()}"
            return dist_id, {"arn": f"arn:aws:cloudfront::{account}:distribution/{dist_id}",
                             "domainName": f"d{h}.cloudfront.net"}
        if typ == "aws:cognito/userPool:UserPool":
            pool_id = f"{r}_{h}"
            return pool_id, {"arn": self.arn("cognito-idp", f"userpool/{pool_id}")}
        if typ == "aws:cognito/userPoolClient:UserPoolClient":
            return f"{h}{h}{h[:10]}", {}
        if typ == "aws:ecr/repository:Repository":
            return physical, {"arn": self.arn("ecr", f"repository/{physical}"), "registryId": account,
                              "repositoryUrl": f"{account}.dkr.ecr.{r}.amazonaws.com/{physical}"}
        if typ == "docker-build:index:Image":
            return name, {"ref": f"{inputs['tags'][0].rsplit(':', 1)[0]}@sha256:{h * 8}"}
        prefixes = {"Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "InternetGateway": "igw",
                    "NatGateway": "nat", "RouteTable": "rtb", "Eip": "eipalloc", "VpcEndpoint": "vpce"}
        physical_id = f"{prefixes[kind]}-{h}{h[:9]}" if kind in prefixes else physical
        return physical_id, {"arn": self.arn(module, f"{kind.lower()}/{physical_id}")}

    def call(self, args: pulumi.runtime.MockCallArgs):
        """The data sources the program reads; in a real run the provider asks AWS."""
        self.calls.append(args.token)
        r, account = self.region, self.account
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": account, "arn": f"arn:aws:iam::{account}:user/deployer", "userId": "AIDA",
                    "id": account}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{r}a", f"{r}b", f"{r}c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az4"], "id": r}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args["id"], "cidrBlock": "10.99.0.0/16"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"userName": "AWS", "password": "mock-password", "authorizationToken": "mock",
                    "proxyEndpoint": f"https://{account}.dkr.ecr.{r}.amazonaws.com", "expiresAt": "", "id": r}
        raise NotImplementedError(f"the program reads {token_name(args.token)}, which the mocks cannot answer")


def token_name(token: str) -> str:
    return token.rsplit(":", 1)[-1]


class _RecordingMonitor(MockMonitor):
    """Pulumi's mock engine, keeping every registration with its parent and URN (the tree a preview prints)."""

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            self.mocks.resources.append(Registered(
                request.type, request.name, rpc.deserialize_properties(request.object), id=response.id,
                urn=response.urn, parent=request.parent, custom=bool(request.custom)))
        return response


def run_program(values: dict[str, str], *, stack: str, mocks: AwsMocks, preview: bool = False) -> ProgramRun:
    """Run __main__.py for the stack config `values` (Pulumi's `{"lisa:key": "<string or JSON>"}`) under `mocks`;
    every registration and the outputs, resolved (unknown ones as None in a preview)."""
    # Pulumi's runtime drives the program on the thread's event loop; other code (asyncio.run) may have closed it.
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="lisa", stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(values)
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        holder.update(runpy.run_path(str(PROGRAM), run_name="lisa_program"))
        exports = {k: v for k, v in holder["exports"].items() if v is not None}
        return pulumi.Output.all(*exports.values())

    program()
    run = ProgramRun(resources=mocks.resources, calls=mocks.calls)
    for key, output in holder["exports"].items():
        if output is None:
            continue
        out = pulumi.Output.from_input(output)
        run.outputs[key] = _sync_await(out.future())
        if _sync_await(out.is_secret()):
            run.secret_outputs.add(key)
    return run
