// Store's account verbs, on the accounts and agents tables: an account made with its first devices,
// and the agents seen under it.
#include "store.hpp"
#include "store_devices.hpp"

#include <spdlog/spdlog.h>

#include <hac/uuid.hpp>

namespace hac::allocator {

bool Store::seedAccount(const std::string &account, const std::vector<std::string> &skus)
{
	std::lock_guard lock(mutex_);
	bool created = false;
	db_.transaction([&] {
		TimeMs now = nowMs();
		db_.prepare("INSERT INTO accounts(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
			.bind(1, account).bind(2, now).run();
		if (db_.changes() == 0)
			return;
		for (std::size_t i = 0; i < skus.size(); ++i)
			insertDevice(db_, {newUuid(), account, static_cast<int>(i), skus[i], now});
		created = true;
	});
	return created;
}

// A registration is every agent's heartbeat (each 30 s): what it writes, the hostname, version and
// time last seen, promises the agent nothing, so its commit does not wait for the disk
// (synchronous=NORMAL for this one transaction: in WAL mode a power cut may lose the last
// heartbeats, never a commit made with FULL before them, and the next FULL commit or checkpoint
// syncs them too). With an fsync per heartbeat, 10,000 agents made 333 fsyncs a second, and every
// allocation waited behind them on the store's mutex (tests/bench/fleet.sh).
void Store::noteAgent(const std::string &account, const std::string &hostname, const std::string &agentVersion)
{
	std::lock_guard lock(mutex_);
	struct Relaxed {
		Database &db;
		explicit Relaxed(Database &d) : db(d) { db.exec("PRAGMA synchronous=NORMAL"); }
		~Relaxed()
		{
			try {
				db.exec("PRAGMA synchronous=FULL");
			} catch (const std::exception &e) {
				spdlog::critical("{}", e.what()); // would leave later commits unsynced
				std::terminate();
			}
		}
		Relaxed(const Relaxed &) = delete;
		Relaxed &operator=(const Relaxed &) = delete;
	} relaxed(db_);
	db_.transaction([&] {
		db_.prepare("INSERT INTO agents(account, hostname, agent_version, last_seen) VALUES (?, ?, ?, ?) "
			    "ON CONFLICT(account, hostname) DO UPDATE SET agent_version = excluded.agent_version, "
			    "last_seen = excluded.last_seen")
			.bind(1, account).bind(2, hostname).bind(3, agentVersion).bind(4, nowMs()).run();
	});
}

} // namespace hac::allocator
