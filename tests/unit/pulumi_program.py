"""Runs the core stack program (`__main__.py`) under Pulumi's mocks and records what it registers.

The mocks stand in for the engine and the AWS provider only: they return the inputs plus the few computed
attributes a real provider would (ARNs, ids, DNS names), so the program's own code runs unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "__main__.py"
ACCOUNT = "123456789012"


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value in serialized properties


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and SECRET_SIG in value


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


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        self.resources: list[Registered] = []
        self.calls: list[str] = []

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if regional else ''}:{ACCOUNT}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        physical_id, computed = self._computed(args.typ, args.name, plain(args.inputs))
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), id=physical_id))
        return physical_id, {**args.inputs, **computed}

    def _computed(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        r, h = self.region, _hex(typ, name)
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
            return dist_id, {"arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{dist_id}",
                             "domainName": f"d{h}.cloudfront.net"}
        if typ == "aws:cognito/userPool:UserPool":
            pool_id = f"{r}_{h}"
            return pool_id, {"arn": self.arn("cognito-idp", f"userpool/{pool_id}")}
        if typ == "aws:cognito/userPoolClient:UserPoolClient":
            return f"{h}{h}{h[:10]}", {}
        if typ == "aws:ecr/repository:Repository":
            return physical, {"arn": self.arn("ecr", f"repository/{physical}"), "registryId": ACCOUNT,
                              "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{r}.amazonaws.com/{physical}"}
        if typ == "docker-build:index:Image":
            return name, {"ref": f"{inputs['tags'][0].rsplit(':', 1)[0]}@sha256:{h * 8}"}
        prefixes = {"Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "InternetGateway": "igw",
                    "NatGateway": "nat", "RouteTable": "rtb", "Eip": "eipalloc", "VpcEndpoint": "vpce"}
        physical_id = f"{prefixes[kind]}-{h}{h[:9]}" if kind in prefixes else physical
        return physical_id, {"arn": self.arn(module, f"{kind.lower()}/{physical_id}")}

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args.token)
        r = self.region
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDA",
                    "id": ACCOUNT}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{r}a", f"{r}b", f"{r}c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az4"], "id": r}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args["id"], "cidrBlock": "10.99.0.0/16"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"userName": "AWS", "password": "mock-password", "authorizationToken": "mock",
                    "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{r}.amazonaws.com", "expiresAt": "", "id": r}
        raise NotImplementedError(f"no mock for invoke {args.token}")


def pulumi_values(stage: dict[str, Any], namespace: str = "lisa") -> dict[str, str]:
    """A stage dict as Pulumi hands config to a program: `lisa:key` → string, objects as JSON."""
    return {f"{namespace}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in stage.items()}


def stack_file_config(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in raw.items()}


def run_program(stage: dict[str, Any], *, stack: str = "dev", mocks: RecordingMocks | None = None) -> ProgramRun:
    """Import the program for `stage` under mocks; every registration and output resolved when it returns."""
    mocks = mocks or RecordingMocks(stage.get("region", "us-east-1"))
    # Pulumi's runtime drives the program on the thread's event loop; other tests (asyncio.run) may have closed it.
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = MockMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="lisa", stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(pulumi_values(stage))
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        holder.update(runpy.run_path(str(PROGRAM), run_name="lisa_program"))
        exports = {k: v for k, v in holder["exports"].items() if v is not None}
        return pulumi.Output.all(*exports.values())

    program()
    run = ProgramRun(resources=mocks.resources, calls=mocks.calls)
    urns = {(reg.urn.split("::")[2].split("$")[-1], reg.urn.split("::")[-1]): reg.urn
            for reg in monitor.resources.values()}
    for res in run.resources:
        res.urn = urns.get((res.typ, res.name), "")
    for key, output in holder["exports"].items():
        if output is None:
            continue
        out = pulumi.Output.from_input(output)
        run.outputs[key] = _sync_await(out.future())
        if _sync_await(out.is_secret()):
            run.secret_outputs.add(key)
    return run


def policy_documents(run: ProgramRun) -> dict[str, dict]:
    """Every IAM role policy the program registered, by resource name."""
    return {r.name: json.loads(plain(r.inputs["policy"])) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
