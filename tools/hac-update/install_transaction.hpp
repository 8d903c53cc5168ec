// The install transaction: a release's files into an environment, all of them or, when pip fails
// or is stopped, none (the packages that were there before are put back).
#pragma once

#include <hac/json.hpp>

#include "env_state.hpp"
#include "environment.hpp"
#include "options.hpp"
#include "release_source.hpp"
#include "trust_state.hpp"

namespace hac::update {

// Installs release `r` into `env`, which holds `before`, after the verbs' checks passed: downloads
// and checks every file, saves what is installed, runs pip, and reads back the result. With
// --dry-run it only says what it would do. `allowOlder` is kept in the cut-short marker, so that
// --force finishes the install as it was asked for; `trust` records the release once installed.
// `doc` is the JSON report, completed here and printed with --json. Returns 0; throws hac::Error
// when the install failed, after undoing it.
int installRelease(const PythonEnv &env, ReleaseSource &source, const VerifiedRelease &r, const EnvState &before,
		   bool allowOlder, TrustState &trust, Json &doc, const Options &opt);

} // namespace hac::update
