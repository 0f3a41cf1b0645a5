"""Pulumi dynamic providers for one model's stack: HostedModel (the GPU ECS parts) and LiteLLMRegistration.

Importing them changes nothing: what the engine patches in Pulumi lives in services/api/engine/pulumi_internals.py.
"""
