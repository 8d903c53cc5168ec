// Where hac-update keeps things per user: downloads in ~/.cache/hac/, what it trusts and what it
// was doing in ~/.local/state/hac/ (XDG variables honoured).
#pragma once

#include <string>

namespace hac::update {

std::string homeDir();
std::string cacheDir();   // $XDG_CACHE_HOME/hac or ~/.cache/hac
std::string stateDir();   // $XDG_STATE_HOME/hac or ~/.local/state/hac

// Creates `dir` and its parents (mode 0700 for new ones); throws hac::Error(Failure).
void makeDirs(const std::string &dir);

// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so that a
// crash leaves the old file or the new one; throws hac::Error(Failure).
void writeFileAtomically(const std::string &path, const std::string &bytes);

// The whole file, or empty when it does not exist; throws hac::Error(Failure) on other errors.
std::string readFileIfAny(const std::string &path);

} // namespace hac::update
