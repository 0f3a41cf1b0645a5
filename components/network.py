"""Network: a new VPC (private + public subnets in 2 AZs, NAT, endpoints, flow logs) or an existing one; app SGs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam_policies, network_plan
from components.app_containers import APP_PORT
from components.stage_context import StageContext
from core.config import ExistingVpcConfig, NewVpcConfig

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class NetworkArgs:
    context: StageContext
    vpc: NewVpcConfig | ExistingVpcConfig

    def __post_init__(self) -> None:
        if not isinstance(self.vpc, (NewVpcConfig, ExistingVpcConfig)):
            raise TypeError("vpc must be a NewVpcConfig or an ExistingVpcConfig")


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    internet_facing: bool
    public_alb_security_group_id: pulumi.Output[str]
    serve_tasks_security_group_id: pulumi.Output[str]
    api_tasks_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:Network", name, None, opts)
        self._name = name
        self._ctx = args.context
        if isinstance(args.vpc, NewVpcConfig):
            self._new_vpc(args.vpc)
        else:
            self._existing_vpc(args.vpc)
        self._app_security_groups()
        self.register_outputs({
            "vpcId": self.vpc_id,
            "privateSubnetIds": self.private_subnet_ids,
            "publicSubnetIds": self.public_subnet_ids,
            "publicAlbSecurityGroupId": self.public_alb_security_group_id,
            "serveTasksSecurityGroupId": self.serve_tasks_security_group_id,
            "apiTasksSecurityGroupId": self.api_tasks_security_group_id,
        })

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _tags(self, suffix: str) -> dict[str, str]:
        return {"Name": f"{self._ctx.prefix}-{suffix}"}

    def _new_vpc(self, config: NewVpcConfig) -> None:
        n = self._name
        vpc = aws.ec2.Vpc(f"{n}-vpc", cidr_block=config.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=self._tags("vpc"), opts=self._opts())
        self.vpc_id, self.vpc_cidr = vpc.id, vpc.cidr_block
        self.internet_facing = True
        # Nothing may use the default security group: it allows all traffic between its members.
        aws.ec2.DefaultSecurityGroup(f"{n}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=self._opts())
        zones = aws.get_availability_zones_output(
            state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self)).names
        subnets: dict[str, aws.ec2.Subnet] = {}
        for plan in network_plan.plan_subnets(config.vpc_cidr):
            subnets[plan.logical_name] = aws.ec2.Subnet(
                f"{n}-{plan.logical_name}", vpc_id=vpc.id, cidr_block=plan.cidr,
                availability_zone=zones[plan.index], map_public_ip_on_launch=False,
                tags=self._tags(plan.logical_name), opts=self._opts())
        azs = range(network_plan.AZ_COUNT)
        public = [subnets[f"public-{i}"] for i in azs]
        private = [subnets[f"private-{i}"] for i in azs]
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        private_route_tables = self._routing(vpc, public, private, config.nat_gateways)
        self._flow_logs(vpc)
        self._endpoints(vpc, private, private_route_tables)

    def _routing(self, vpc: aws.ec2.Vpc, public: list[aws.ec2.Subnet], private: list[aws.ec2.Subnet],
                 nat_gateways: int) -> list[aws.ec2.RouteTable]:
        n = self._name
        igw = aws.ec2.InternetGateway(f"{n}-igw", vpc_id=vpc.id, tags=self._tags("igw"), opts=self._opts())
        public_rt = aws.ec2.RouteTable(f"{n}-public-rt", vpc_id=vpc.id, tags=self._tags("public"), opts=self._opts())
        aws.ec2.Route(f"{n}-public-default", route_table_id=public_rt.id, destination_cidr_block=ANYWHERE,
                      gateway_id=igw.id, opts=self._opts())
        for i, subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(f"{n}-public-{i}-rta", subnet_id=subnet.id, route_table_id=public_rt.id,
                                          opts=self._opts())
        nats = []
        for i in range(nat_gateways):
            eip = aws.ec2.Eip(f"{n}-nat-{i}-eip", domain="vpc", tags=self._tags(f"nat-{i}"), opts=self._opts())
            nats.append(aws.ec2.NatGateway(f"{n}-nat-{i}", allocation_id=eip.id, subnet_id=public[i].id,
                                           tags=self._tags(f"nat-{i}"), opts=self._opts(depends_on=[igw])))
        tables = []
        for i, nat_index in enumerate(network_plan.nat_for_private_subnet(nat_gateways)):
            rt = aws.ec2.RouteTable(f"{n}-private-{i}-rt", vpc_id=vpc.id, tags=self._tags(f"private-{i}"),
                                    opts=self._opts())
            aws.ec2.Route(f"{n}-private-{i}-default", route_table_id=rt.id, destination_cidr_block=ANYWHERE,
                          nat_gateway_id=nats[nat_index].id, opts=self._opts())
            aws.ec2.RouteTableAssociation(f"{n}-private-{i}-rta", subnet_id=private[i].id, route_table_id=rt.id,
                                          opts=self._opts())
            tables.append(rt)
        return tables

    def _flow_logs(self, vpc: aws.ec2.Vpc) -> None:
        n, ctx = self._name, self._ctx
        group = aws.cloudwatch.LogGroup(f"{n}-flow-logs", name=f"/lisa/{ctx.prefix}/vpc-flow-logs",
                                        retention_in_days=ctx.log_retention_days, opts=self._opts())
        role = aws.iam.Role(f"{n}-flow-logs-role",
                            assume_role_policy=pulumi.Output.from_input(ctx.account_id).apply(
                                lambda a: iam_policies.to_json(iam_policies.flow_logs_trust(a))),
                            opts=self._opts())
        aws.iam.RolePolicy(f"{n}-flow-logs-policy", role=role.id,
                           policy=group.arn.apply(lambda arn: iam_policies.to_json(iam_policies.flow_logs_policy(arn))),
                           opts=self._opts())
        aws.ec2.FlowLog(f"{n}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=group.arn, iam_role_arn=role.arn, opts=self._opts())

    def _endpoints(self, vpc: aws.ec2.Vpc, private: list[aws.ec2.Subnet],
                   route_tables: list[aws.ec2.RouteTable]) -> None:
        n, region = self._name, self._ctx.region
        endpoint_sg = aws.ec2.SecurityGroup(f"{n}-endpoints-sg", vpc_id=vpc.id,
                                            description="VPC interface endpoints: HTTPS from inside the VPC",
                                            tags=self._tags("endpoints"), opts=self._opts())
        aws.vpc.SecurityGroupIngressRule(f"{n}-endpoints-https", security_group_id=endpoint_sg.id,
                                         cidr_ipv4=vpc.cidr_block, ip_protocol="tcp", from_port=443, to_port=443,
                                         description="HTTPS from the VPC", opts=self._opts())
        for service in network_plan.GATEWAY_ENDPOINTS:
            aws.ec2.VpcEndpoint(f"{n}-{service}-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
                                service_name=network_plan.endpoint_service_name(region, service),
                                route_table_ids=[rt.id for rt in route_tables], tags=self._tags(service),
                                opts=self._opts())
        for service in network_plan.INTERFACE_ENDPOINTS:
            slug = service.replace(".", "-")
            aws.ec2.VpcEndpoint(f"{n}-{slug}-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Interface",
                                service_name=network_plan.endpoint_service_name(region, service),
                                private_dns_enabled=True, subnet_ids=[s.id for s in private],
                                security_group_ids=[endpoint_sg.id], tags=self._tags(slug), opts=self._opts())

    def _existing_vpc(self, config: ExistingVpcConfig) -> None:
        # Someone else's VPC: we add security groups only, never subnets, routes, NAT or endpoints.
        self.vpc_id = pulumi.Output.from_input(config.vpc_id)
        self.private_subnet_ids = pulumi.Output.from_input(list(config.private_subnet_ids))
        self.public_subnet_ids = pulumi.Output.from_input(list(config.public_subnet_ids))
        self.internet_facing = network_plan.alb_is_internet_facing(config.public_subnet_ids, creates_vpc=False)
        found = aws.ec2.get_vpc_output(id=config.vpc_id, opts=pulumi.InvokeOutputOptions(parent=self))
        self.vpc_cidr = found.cidr_block

    def _app_security_groups(self) -> None:
        n = self._name

        def group(suffix: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(f"{n}-{suffix}", vpc_id=self.vpc_id, description=description,
                                         tags=self._tags(suffix), opts=self._opts())

        alb = group("public-alb-sg", "serve and api ALBs: HTTPS from clients, HTTP only to redirect")
        serve = group("serve-tasks-sg", "serve tasks: from the ALB only")
        api = group("api-tasks-sg", "api tasks: from the ALB only")
        # An internal ALB (existing VPC without public subnets) is reachable from the VPC, not the internet.
        clients = ANYWHERE if self.internet_facing else self.vpc_cidr
        for port, purpose in ((443, "HTTPS"), (80, "HTTP, answered with a redirect to HTTPS")):
            aws.vpc.SecurityGroupIngressRule(f"{n}-public-alb-{port}", security_group_id=alb.id, cidr_ipv4=clients,
                                             ip_protocol="tcp", from_port=port, to_port=port, description=purpose,
                                             opts=self._opts())
        for app, tasks in (("serve", serve), ("api", api)):
            aws.vpc.SecurityGroupEgressRule(f"{n}-public-alb-to-{app}", security_group_id=alb.id,
                                            referenced_security_group_id=tasks.id, ip_protocol="tcp",
                                            from_port=APP_PORT, to_port=APP_PORT, description=f"to the {app} tasks",
                                            opts=self._opts())
            aws.vpc.SecurityGroupIngressRule(f"{n}-{app}-from-alb", security_group_id=tasks.id,
                                             referenced_security_group_id=alb.id, ip_protocol="tcp",
                                             from_port=APP_PORT, to_port=APP_PORT, description="from the ALB",
                                             opts=self._opts())
            # Out: AWS APIs, Bedrock, OpenAI-compatible upstreams, the model ALB (through NAT or endpoints).
            aws.vpc.SecurityGroupEgressRule(f"{n}-{app}-egress", security_group_id=tasks.id, cidr_ipv4=ANYWHERE,
                                            ip_protocol="-1", description="outbound", opts=self._opts())
        self.public_alb_security_group_id = alb.id
        self.serve_tasks_security_group_id = serve.id
        self.api_tasks_security_group_id = api.id
