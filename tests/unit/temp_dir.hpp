// A temporary directory for a unit test, removed with everything in it when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

struct TempDir {
	std::filesystem::path path;

	TempDir()
	{
		std::string pattern = (std::filesystem::temp_directory_path() / "hac-unit-XXXXXX").string();
		path = mkdtemp(pattern.data());
	}
	~TempDir() { std::filesystem::remove_all(path); }

	std::string file(const std::string &name) const { return (path / name).string(); }
};
