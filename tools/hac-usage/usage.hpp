// hac-usage's work: one POST /v1/usage/query to the agent, rendered as the options ask.
#pragma once

#include <hac/usage.hpp>

#include "options.hpp"
#include "usage_view.hpp"

namespace hac::usage {

// The query the options ask for at `now`, and how to show its rows. Throws hac::Error(Usage).
UsageQuery buildQuery(const Options &options, TimeMs now, View &view);

// Runs hac-usage; returns its exit status (1 when --reconcile found differences).
int run(const Options &options);

} // namespace hac::usage
