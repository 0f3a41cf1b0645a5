"""The api answers whatever schemathesis sends as its OpenAPI says: no server error, no undocumented status, every
response in its declared shape and content type, as an admin and as an ordinary user (make test: a bounded run;
make fuzz: the long one)."""

from __future__ import annotations

import pytest

from tests.fixtures.api_fuzz import FuzzBudget, run_schemathesis


@pytest.mark.parametrize("caller", ["admin", "user"])
def test_every_generated_request_gets_a_documented_answer(fuzz_api, fuzz_platform, caller, test_output):
    report = run_schemathesis(f"{fuzz_api}/openapi.json", fuzz_platform.tables.tokens, caller, FuzzBudget.from_env(),
                              test_output)
    print(report.summary())
    assert report.generated > 0
    assert not report.failures and not report.errors, report.summary()
