"""A fuzz run of the server's OpenAPI document (schemathesis): generated requests, as the admin, never get a
server error from the /v1 API; the MicroRemed-CS endpoints answer their contract (500 is a failed operation,
with a {"message"} body)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok

from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
# these wait by design (up to their timeout parameter) for pods to become Ready: exercised in their own tests
WAITING = frozenset(
    {"/check_status", "/deploy_env", "/restore_by_original_manifest", "/v1/apps/{name}/deploy", "/v1/grade"}
)
MICROREMED = frozenset(
    {"/inject_failure", "/stop_injection", "/execute_playbook", "/execute_probe", *WAITING} - {"/v1/apps/{name}/deploy"}
)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as server:
        yield server


def test_generated_requests_get_no_server_errors(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {server.token()}"}
    sent: list[str] = []
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path in WAITING:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            sent.append(f"{case.method} {case.formatted_path}")
            if response.status_code < 500:
                return
            if case.path in MICROREMED:
                body = response.json()
                if isinstance(body, dict) and isinstance(body.get("message"), str):
                    return
            failures.append(
                f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: {response.text[:200]}"
            )

        run()
    print(f"{len(sent)} generated requests over {operations} operations")
    assert operations >= 20 and len(sent) >= 400, (operations, len(sent))
    assert not failures, "\n".join(failures[:20])
    assert server.request("GET", "/healthz", scope=None)[0] == 200
