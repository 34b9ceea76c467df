"""The real kubectl reads the server's OpenAPI v3 documents as it reads kube-apiserver's: `kubectl explain`
walks the schemas, and `kubectl apply` finds `fieldValidation` on the PATCH operations and leaves field
validation to the server (``?fieldValidation=Strict``) instead of asking for /openapi/v2."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NAMESPACE = "openapi-check"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: openapi-check}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: web
        image: time-service
        resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
{extra}"""

STRESS_CHAOS = """\
apiVersion: chaos-mesh.org/v1alpha1
kind: StressChaos
metadata: {name: burn, namespace: openapi-check}
spec:
  mode: one
  selector: {namespaces: [openapi-check], labelSelectors: {app: nothing-here}}
  stressors: {cpu: {workers: 1}}
  duration: 10s
  foo: 1
"""


@pytest.fixture(scope="module")
def k(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    kubectl = Kubectl(server, tmp_path_factory.mktemp("kube-cache"))
    kubectl.ok("apply", "-f", "-", stdin=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n")
    yield kubectl


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "pods",
            [
                r"KIND:\s+Pod\n",
                r"VERSION:\s+v1\n",
                r"DESCRIPTION:\n\s+Pod is ",
                r"\n  apiVersion\t<string>\n",
                r"\n  metadata\t<ObjectMeta>",
                r"\n  spec\t<PodSpec>",
                r"\n  status\t<PodStatus>\n",
            ],
        ),
        (
            "pods.spec.containers.resources",
            [
                r"FIELD: resources <ResourceRequirements>",
                r"\n  limits\t<map\[string\]Quantity>\n",
                r"\n  requests\t<map\[string\]Quantity>\n",
            ],
        ),
        (
            "pods.spec.containers",
            [
                r"FIELD: containers <\[\]Container>",
                r"\n  image\t<string> -required-\n",
                r"\n  env\t<\[\]EnvVar>\n",
                r"\n  ports\t<\[\]ContainerPort>\n",
                r"\n  livenessProbe\t<Probe>\n",
                r"\n  imagePullPolicy\t<string>\n  enum: Always, IfNotPresent, Never\n",
            ],
        ),
        (
            "deployments.spec.strategy",
            [
                r"GROUP:\s+apps\n",
                r"KIND:\s+Deployment\n",
                r"FIELD: strategy <DeploymentStrategy>",
                r"\n  rollingUpdate\t<RollingUpdateDeployment>\n",
                r"\n  type\t<string>\n  enum: RollingUpdate, Recreate\n",
            ],
        ),
        (
            "deployments.spec.strategy.rollingUpdate.maxSurge",
            [r"FIELD: maxSurge <IntOrString>", r"percentage"],
        ),
        (
            "services.spec.ports",
            [
                r"FIELD: ports <\[\]ServicePort>",
                r"\n  port\t<integer> -required-\n",
                r"\n  targetPort\t<IntOrString>\n",
            ],
        ),
        (
            "stresschaos.spec",
            [
                r"GROUP:\s+chaos-mesh.org\n",
                r"KIND:\s+StressChaos\n",
                r"VERSION:\s+v1alpha1\n",
                r"FIELD: spec <StressChaosSpec>",
                r"\n  selector\t<PodSelector>",
                r"\n  stressors\t<Stressors>\n",
                r"\n  mode\t<string>",
                r"enum: one, all",
                r"\n  duration\t<string>\n",
            ],
        ),
    ],
)
def test_explain_names_the_fields_and_their_types(k: Kubectl, target: str, expected: list[str]) -> None:
    out = k.ok("explain", target)
    for pattern in expected:
        assert re.search(pattern, out), f"{pattern!r} not in `kubectl explain {target}`:\n{out}"


def test_explain_recursive_walks_every_reference(k: Kubectl) -> None:
    out = k.ok("explain", "deployments", "--recursive")
    for pattern in (
        r"\n    template\t<PodTemplateSpec> -required-\n",
        r"\n          resources\t<ResourceRequirements>\n",
        r"\n            limits\t<map\[string\]Quantity>\n",
        r"\n      matchLabels\t<map\[string\]string>\n",
    ):
        assert re.search(pattern, out), f"{pattern!r} not in:\n{out}"
    assert "stresschaos" in k.ok("explain", "stresschaos", "--recursive").lower()


def test_apply_leaves_field_validation_to_the_server(k: Kubectl) -> None:
    typo = k.run("apply", "-f", "-", "-v=6", stdin=DEPLOYMENT.format(name="typo", extra="  foo: 1\n"))
    assert typo.returncode != 0
    assert 'unknown field "spec.foo"' in typo.stderr, typo.stderr
    assert "fieldValidation=Strict" in typo.stderr, typo.stderr
    assert "/openapi/v2" not in typo.stderr and "error validating data" not in typo.stderr, typo.stderr

    chaos = k.run("apply", "-f", "-", stdin=STRESS_CHAOS)
    assert chaos.returncode != 0 and 'unknown field "spec.foo"' in chaos.stderr, chaos.stderr

    created = k.ok("apply", "-f", "-", stdin=DEPLOYMENT.format(name="web", extra=""))
    assert created.strip() == "deployment.apps/web created"
    assert k.ok(
        "get", "deployment", "web", "-n", NAMESPACE, "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    ) == ("time-service")
    assert "deployment.apps/web unchanged" in k.ok("apply", "-f", "-", stdin=DEPLOYMENT.format(name="web", extra=""))
    replaced = k.run("replace", "-f", "-", stdin=DEPLOYMENT.format(name="web", extra="  foo: 1\n"))
    assert replaced.returncode != 0 and 'unknown field "spec.foo"' in replaced.stderr, replaced.stderr
