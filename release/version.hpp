// Names and versions of framework releases and Python wheels: what a manifest may contain and how
// versions compare.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hac::release {

// "24.5.0": one to eight dot-separated decimal numbers of at most nine digits each.
std::optional<std::vector<long>> parseDotted(std::string_view text);
bool isFrameworkVersion(std::string_view text);

// Negative, zero or positive as a is older than, equal to or newer than b; missing parts count as
// 0 ("24.5" == "24.5.0"). Both must be dotted versions (isFrameworkVersion), else throws
// std::invalid_argument.
int compareVersions(std::string_view a, std::string_view b);

// PEP 503: lower case, every run of '-', '_' and '.' as one '-' ("Torch_Vision" -> "torch-vision").
std::string normalizeName(std::string_view name);

// A distribution name of PEP 508: letters, digits, '-', '_', '.', starting and ending with a letter
// or digit.
bool isPackageName(std::string_view name);

// The characters of a PEP 440 version ("2.1.0+hac24.5.0", "1.0rc1", "1!2.0.post1"), starting with
// a digit or 'v'; the full grammar is pip's to check.
bool isPackageVersion(std::string_view version);

// The framework a package version was built for: "2.1.0+hac24.5.0" -> "24.5.0"; empty when the
// version carries no "+hac<framework>" local label (a plain build).
std::string frameworkOfVersion(std::string_view version);

// A file name that names a file inside one folder: no '/', no NUL, not "." or "..", not hidden.
bool isPlainFileName(std::string_view name);

// "torch-2.1.0+hac24.5.0-py3-none-any.whl" -> {"torch", "2.1.0+hac24.5.0"} (PEP 427: the name's
// '-' are written '_'); empty when the name is not a wheel's.
struct WheelName {
	std::string name;
	std::string version;
};
std::optional<WheelName> parseWheelFilename(std::string_view file);

} // namespace hac::release
