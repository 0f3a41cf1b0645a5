"""AppImage: the container image of the apps — the configured one, or built from this repository into ECR."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.stage_context import StageContext
from core import naming

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
KEEP_IMAGES = 20


def ecr_repository_arn(image: str, partition: str) -> str | None:
    """The ECR repository an image URI points at (its pull permission), or None for any other registry."""
    match = _ECR_IMAGE.match(image)
    if not match:
        return None
    account, region, repository = match.groups()
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"


def lifecycle_policy(keep: int = KEEP_IMAGES) -> str:
    return json.dumps({"rules": [{
        "rulePriority": 1, "description": f"keep the last {keep} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"},
    }]})


@dataclass(frozen=True)
class AppImageArgs:
    context: StageContext
    image: str | None  # serveConfig.image; None: build services/Dockerfile from the repository root
    build_context: Path
    dockerfile: Path

    def __post_init__(self) -> None:
        if self.image is None and not self.build_context.is_dir():
            raise ValueError(f"build context {self.build_context} is not a directory")


class AppImage(pulumi.ComponentResource):
    image_ref: pulumi.Output[str]
    repository_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lisa:components:AppImage", name, None, opts)
        if args.image is not None:
            self.image_ref = pulumi.Output.from_input(args.image)
            arn = ecr_repository_arn(args.image, args.context.partition)
            self.repository_arns = pulumi.Output.from_input([arn] if arn else [])
        else:
            self._build(name, args)
        self.register_outputs({"imageRef": self.image_ref})

    def _build(self, name: str, args: AppImageArgs) -> None:
        import pulumi_docker_build as docker_build  # only a stage that builds its image needs the docker-build plugin

        ctx = args.context
        child = pulumi.ResourceOptions(parent=self)
        repo = aws.ecr.Repository(
            f"{name}-repository", name=naming.app_repository(ctx.deployment, ctx.stage_name),
            image_tag_mutability="MUTABLE", image_scanning_configuration={"scan_on_push": True},
            force_delete=not ctx.retain, opts=child)
        aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=repo.name, policy=lifecycle_policy(), opts=child)
        token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id,
                                                       opts=pulumi.InvokeOutputOptions(parent=self))
        image = docker_build.Image(
            f"{name}-image",
            context={"location": str(args.build_context)},
            dockerfile={"location": str(args.dockerfile)},
            platforms=["linux/amd64"],
            push=True,
            tags=[repo.repository_url.apply(lambda url: f"{url}:latest")],
            registries=[{"address": repo.repository_url, "username": token.user_name,
                         "password": pulumi.Output.secret(token.password)}],
            opts=child)
        # Tasks run the pushed digest (repo@sha256:…), so a new build always rolls the services.
        self.image_ref = image.ref
        self.repository_arns = repo.arn.apply(lambda arn: [arn])
