// Group membership is read from /proc/PID/status, the calling process's real groups, rather
// than from /etc/group, so a user newly added to the group must log in again, as everywhere.
#include "access.hpp"

#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <sstream>
#include <vector>

#include <hac/number.hpp>

namespace hac {

namespace {

std::optional<gid_t> groupId(const std::string &name)
{
	group gr{};
	group *result = nullptr;
	std::vector<char> buffer(16384);
	if (getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &result) != 0 || !result)
		return std::nullopt;
	return gr.gr_gid;
}

} // namespace

bool isPrivileged(const Peer &peer, const std::string &adminGroup)
{
	if (peer.uid == 0)
		return true;
	std::optional<gid_t> admin = groupId(adminGroup);
	if (!admin)
		return false;
	if (peer.gid == *admin)
		return true;
	std::ifstream status("/proc/" + std::to_string(peer.pid) + "/status");
	std::string line;
	while (std::getline(status, line)) {
		if (line.rfind("Groups:", 0) != 0)
			continue;
		std::istringstream groups(line.substr(7));
		gid_t gid;
		while (groups >> gid)
			if (gid == *admin)
				return true;
	}
	return false;
}

std::string userName(uid_t uid)
{
	passwd pw{};
	passwd *result = nullptr;
	std::vector<char> buffer(16384);
	if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &result) != 0 || !result)
		return std::to_string(uid);
	return pw.pw_name;
}

std::optional<uid_t> userId(const std::string &nameOrUid)
{
	passwd pw{};
	passwd *result = nullptr;
	std::vector<char> buffer(16384);
	if (getpwnam_r(nameOrUid.c_str(), &pw, buffer.data(), buffer.size(), &result) == 0 && result)
		return pw.pw_uid;
	// (uid_t)-1 is no user: it means "unchanged" to chown and setreuid.
	return parseInteger<uid_t>(nameOrUid, 0, static_cast<uid_t>(-1) - 1);
}

} // namespace hac
