#!/usr/bin/env bash
# The fleet of tests/bench/fleet.sh on the allocator's Slurm backend (issue 15): N agents (default
# 1,000; quick 50) against hac-allocator placing on a fake Slurm farm of 20 nodes x 8 GPUs (quick 4)
# started in the bench's folder, load sized to 70% of the farm then 110%, invariants checked, and
# Slurm left with no job of the fleet. A run of its own so that scripts/bench lists it as skipped
# (exit 77) without root or the Slurm packages, not the simulated runs with it.
#   usage: tests/bench/fleet_slurm.sh [N]   (environment: see fleet.sh, HAC_FLEET_SLURM_*)
set -euo pipefail
exec bash "$(dirname "$0")/fleet.sh" "slurm:${1:-$([[ ${HAC_BENCH_QUICK:-0} == 1 ]] && echo 50 || echo 1000)}"
