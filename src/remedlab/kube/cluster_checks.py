"""`remedlab doctor --kubeconfig`: can this cluster run remedlab's benchmark? Each check says what it
found, and a failing one says what to install, in one line."""

from __future__ import annotations

from remedlab.api.errors import ClusterError
from remedlab.api.fidelity_check import FidelityCheck
from remedlab.api.kinds import CHAOS_KINDS, KINDS
from remedlab.kube.api_client import KubeApi
from remedlab.kube.metrics_history import METRICS_PATH

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CHAOS_MESH_GROUP = "chaos-mesh.org"
CHAOS_MESH_INSTALL = (
    "install Chaos Mesh: helm repo add chaos-mesh https://charts.chaos-mesh.org && "
    "helm install chaos-mesh chaos-mesh/chaos-mesh -n chaos-mesh --create-namespace"
)
METRICS_INSTALL = (
    "install metrics-server: kubectl apply -f "
    "https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml"
)
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")


def _api_reachable(api: KubeApi) -> FidelityCheck:
    try:
        version = api.request("GET", "/version")
    except ClusterError as exc:
        return FidelityCheck("kubernetes api", "none", f"{exc.message}: check the kubeconfig's server and credentials")
    return FidelityCheck("kubernetes api", "full", f"{api.creds.server} ({version.get('gitVersion', 'unknown')})")


def _chaos_mesh(api: KubeApi) -> FidelityCheck:
    wanted = {f"{k.plural}.{k.group}" for k in KINDS if k.kind in CHAOS_KINDS and k.group == CHAOS_MESH_GROUP}
    try:
        served = {str(c["metadata"]["name"]) for c in api.request("GET", CRD_PATH).get("items") or []}
    except ClusterError as exc:
        return FidelityCheck("chaos mesh", "none", f"cannot list CRDs ({exc.message}): {CHAOS_MESH_INSTALL}")
    missing = sorted(wanted - served)
    if len(missing) == len(wanted):
        return FidelityCheck("chaos mesh", "none", f"no Chaos Mesh CRDs: {CHAOS_MESH_INSTALL}")
    version = _chaos_mesh_version(api)
    if missing:
        return FidelityCheck(
            "chaos mesh", "degraded", f"{version}; missing CRDs {', '.join(missing)}: upgrade Chaos Mesh"
        )
    return FidelityCheck("chaos mesh", "full", f"{version}; {len(wanted)} CRDs")


def _chaos_mesh_version(api: KubeApi) -> str:
    """The controller manager's image tag, where Chaos Mesh's chart puts it."""
    try:
        deployments = api.request(
            "GET", "/apis/apps/v1/deployments", params={"fieldSelector": "metadata.name=chaos-controller-manager"}
        ).get("items")
    except ClusterError:
        return "version unknown"
    for deployment in deployments or []:
        for container in deployment["spec"]["template"]["spec"].get("containers") or []:
            image = str(container.get("image") or "")
            if "chaos-mesh" in image and ":" in image.rsplit("/", 1)[-1]:
                return f"Chaos Mesh {image.rsplit(':', 1)[-1]}"
    return "version unknown (no chaos-controller-manager Deployment)"


def _metrics_api(api: KubeApi) -> FidelityCheck:
    try:
        api.request("GET", METRICS_PATH)
    except ClusterError as exc:
        return FidelityCheck("metrics api", "none", f"{exc.message}: {METRICS_INSTALL}")
    return FidelityCheck("metrics api", "full", "metrics.k8s.io/v1beta1 is served")


def _may_create_namespaces(api: KubeApi) -> FidelityCheck:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "resource": "namespaces"}},
    }
    try:
        answer = api.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=review)
    except ClusterError as exc:
        return FidelityCheck("create namespaces", "none", f"cannot ask ({exc.message})")
    if (answer.get("status") or {}).get("allowed"):
        return FidelityCheck("create namespaces", "full", f"context {api.creds.context} may create namespaces")
    return FidelityCheck(
        "create namespaces",
        "none",
        f"context {api.creds.context} may not create namespaces: use a kubeconfig of a cluster admin",
    )


def _images(api: KubeApi) -> FidelityCheck:
    """As far as the API can tell: no pod of the cluster failing to pull a remedlab image."""
    try:
        pods = api.request("GET", "/api/v1/pods").get("items") or []
    except ClusterError as exc:
        return FidelityCheck("images", "none", f"cannot list pods ({exc.message})")
    failing = sorted(
        {
            str(status.get("image"))
            for pod in pods
            for status in (pod.get("status") or {}).get("containerStatuses") or []
            if ((status.get("state") or {}).get("waiting") or {}).get("reason") in PULL_FAILURES
        }
    )
    if failing:
        return FidelityCheck(
            "images",
            "degraded",
            f"pods fail to pull {', '.join(failing[:3])}: push them (remedlab images --registry REG)",
        )
    return FidelityCheck("images", "full", "no pod fails to pull its image (the API cannot tell more before a pull)")


def cluster_checks(api: KubeApi) -> list[FidelityCheck]:
    reachable = _api_reachable(api)
    if reachable.level == "none":
        return [reachable]
    return [reachable, _chaos_mesh(api), _metrics_api(api), _may_create_namespaces(api), _images(api)]
