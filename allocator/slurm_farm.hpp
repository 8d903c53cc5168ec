// The Slurm placement backend (backend = "slurm"): a hac job's GPUs are a Slurm job that only
// holds them, named by the hac job id. Slurm places, queues and accounts; the store keeps
// tokens, devices, idempotency and billing as it does for the simulated farm, plus which Slurm
// job holds for which hac job and which are still to cancel (store_slurm.cpp).
// README.md, "Run the farm on Slurm", says what an operator sees.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "slurm_client.hpp"
#include "store.hpp"

namespace hac::allocator {

class SlurmFarm {
public:
	// Starts the thread that cancels what releases left to cancel and drops queued jobs nobody
	// asks about (queue_seconds). Borrows both.
	SlurmFarm(const SlurmConfig &config, Store &store);
	~SlurmFarm();
	SlurmFarm(const SlurmFarm &) = delete;
	SlurmFarm &operator=(const SlurmFarm &) = delete;

	// Admits the job as the store does for every backend, then finds or submits its hold job and
	// reads where Slurm put it: Created with that placement; FarmFull while the hold job waits in
	// Slurm's queue (it keeps the job's place; asking again with the same job id takes it up);
	// NeverFits when Slurm says it never will; PlacementDown, naming the cause, when Slurm does not
	// answer within [slurm]'s bounds. Never waits for a queued job.
	AllocateResult allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
				const Catalog &catalog);
	// A release or a usage record queued a cancel: make it now rather than at the next round.
	void wake();

	// One round of the thread's work, for tests: expire queued holds, make the cancels that are due.
	void sweep();

private:
	// A Client per caller at a time: each owns a libcurl handle, which threads may not share.
	std::unique_ptr<slurm::Client> client();
	void giveBack(std::unique_ptr<slurm::Client> client);
	// Serialises the requests for one job id (a retry beside its original), so a job is
	// submitted once.
	class JobTurn;

	AllocateResult place(slurm::Client &slurm, const std::string &account, const std::string &jobId,
			     const std::string &deviceId, const Catalog &catalog, const Sku &sku);
	// The Slurm job of `hold` (as the store had it when asked), else one of the job's name that a
	// lost submit answer left, else a new one.
	std::int64_t findOrSubmit(slurm::Client &slurm, const std::optional<SlurmHold> &hold, const std::string &account,
				  const std::string &jobId, const std::string &deviceId, const Sku &sku);
	// The job's hold is dropped and its Slurm job cancelled now.
	void giveUp(const std::string &jobId, const std::string &reason);
	void cancel(slurm::Client &slurm, const SlurmCancel &c);
	void work();

	const SlurmConfig &config_;
	Store &store_;
	std::mutex mutex_;
	std::condition_variable wake_;
	std::condition_variable turnDone_;
	std::set<std::string> inTurn_;
	std::vector<std::unique_ptr<slurm::Client>> idle_;
	bool stopping_ = false;
	bool woken_ = false;
	std::thread worker_;   // last: started once the rest is ready
};

} // namespace hac::allocator
