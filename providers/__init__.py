"""Pulumi dynamic providers for one model's stack: HostedModel (the GPU ECS parts) and LiteLLMRegistration."""

from providers import serialization

# Every process that declares our resources serializes providers; make that safe to do thousands of times.
serialization.install()
