"""Pulumi dynamic providers for one model's stack: HostedModel (the GPU ECS parts) and LiteLLMRegistration."""

from providers import provider_host, serialization

# Every process that declares our resources serializes providers; make that safe to do thousands of times.
serialization.install()
# Inside the provider process the CLI starts: exit when the CLI dies rather than linger as an orphan.
provider_host.follow_parent()
