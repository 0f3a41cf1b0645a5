"""The guarded serialize_provider: thousands of serializations in one process, as the api app does."""

from __future__ import annotations

import base64
import pickle
import threading

import dill
from pulumi.dynamic import dynamic

import providers  # noqa: F401  (installs the guard)
from providers.hosted_model import HostedModelProvider
from providers.litellm_registration import LiteLLMRegistrationProvider


class _ProviderWithState(LiteLLMRegistrationProvider):
    """A provider whose pickled form contains dicts (what makes the unguarded SDK recurse)."""

    def __init__(self) -> None:
        super().__init__()
        self.settings = {"b": 2, "a": {"nested": 1}}


def test_serializing_thousands_of_providers_leaves_no_recursion_behind():
    for _ in range(1_500):
        dynamic.serialize_provider(HostedModelProvider())
        dynamic.serialize_provider(LiteLLMRegistrationProvider())
    restored = dill.loads(base64.b64decode(dynamic.serialize_provider(_ProviderWithState())))
    assert restored.settings == {"b": 2, "a": {"nested": 1}}


def test_serializing_restores_the_pure_python_pickler():
    before = (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
    dynamic.serialize_provider(_ProviderWithState())
    assert (pickle.Pickler, pickle._Pickler._batch_setitems, pickle._Pickler.save_dict) == before


def test_serialization_is_deterministic():
    assert dynamic.serialize_provider(_ProviderWithState()) == dynamic.serialize_provider(_ProviderWithState())


def test_concurrent_serializations_all_succeed():
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(100):
                dynamic.serialize_provider(_ProviderWithState())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
