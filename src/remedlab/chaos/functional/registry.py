"""Every FunctionalChaos action, by name (``spec.action``, and the records' ``mechanism``)."""

from __future__ import annotations

from remedlab.chaos.functional.action import FunctionalAction
from remedlab.chaos.functional.assign_non_existent_node import AssignNonExistentNode
from remedlab.chaos.functional.database_actions import DATABASE_ACTIONS
from remedlab.chaos.functional.k8s_target_port_misconfig import K8sTargetPortMisconfig
from remedlab.chaos.functional.misconfig_app import MisconfigApp
from remedlab.chaos.functional.pod_config_error import PodConfigError
from remedlab.chaos.functional.redeploy_without_pv import RedeployWithoutPv
from remedlab.chaos.functional.scale_pod_zero import ScalePodZero
from remedlab.chaos.functional.wrong_bin_usage import WrongBinUsage

ACTIONS: dict[str, FunctionalAction] = {
    PodConfigError.name: PodConfigError(),
    WrongBinUsage.name: WrongBinUsage(),
    K8sTargetPortMisconfig.name: K8sTargetPortMisconfig(),
    ScalePodZero.name: ScalePodZero(),
    AssignNonExistentNode.name: AssignNonExistentNode(),
    MisconfigApp.name: MisconfigApp(),
    **{action.name: action for action in DATABASE_ACTIONS},
    RedeployWithoutPv.name: RedeployWithoutPv(),
}
