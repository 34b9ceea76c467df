"""remedlab's workload generator: request mixes, open-loop load and what it measured."""

from remedlab.observe.workload.generator import (
    LoadProfile,
    OpenLoopGenerator,
    Target,
    TargetRefused,
    WorkloadRunner,
    arrival_offsets,
    loopback_address,
)
from remedlab.observe.workload.mix import Mix, MixError, RequestSpec, load_app_mix, load_mix_file, parse_mix
from remedlab.observe.workload.stats import LatencyHistogram, Summary, WorkloadStats

__all__ = [
    "LatencyHistogram",
    "LoadProfile",
    "Mix",
    "MixError",
    "OpenLoopGenerator",
    "RequestSpec",
    "Summary",
    "Target",
    "TargetRefused",
    "WorkloadRunner",
    "WorkloadStats",
    "arrival_offsets",
    "load_app_mix",
    "load_mix_file",
    "loopback_address",
    "parse_mix",
]
