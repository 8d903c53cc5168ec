// The Slurm backend's steps. What slurmrestd answers, and why each step reads it as it does, is in
// slurm-notes.md (checked on a real farm by tests/integration/slurm_cluster.bats).
#include "slurm_farm.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace hac::allocator {

namespace {

using slurm::Failure;
using slurm::SlurmError;

// A job just submitted is placed by the scheduler's next pass, which slurmctld's background
// thread runs about once a second (measured: 0.7 s at the median after the submit, by
// tests/bench/slurm_rest.sh), up to 3 s later with Slurm's default batch_sched_delay, and later
// still on a farm that has just started. Until the scheduler has looked at it (reason None), it is
// read again this often, this long, before being called queued; the agent's own bound (5 s) stays
// above it. Each read is a GET to slurmrestd: polling faster would load slurmctld for a few ms.
constexpr auto kPlacedPoll = std::chrono::milliseconds(50);
constexpr auto kPlacedWithin = std::chrono::milliseconds(3000);

// How long a cancel that failed waits before its next attempt: doubling, at most a minute.
TimeMs cancelBackoffMs(int attempts)
{
	return std::min<TimeMs>(60'000, 1000LL << std::min(attempts, 6));
}

// Pending reasons Slurm gives a job that can never start where it is (slurm's job_reason list):
// waiting for them would queue for ever.
bool neverStarts(const std::string &reason)
{
	static const char *const reasons[] = {"PartitionNodeLimit", "PartitionConfig", "BadConstraints",
					       "PartitionTimeLimit", "InvalidAccount", "InvalidQOS"};
	return std::find(std::begin(reasons), std::end(reasons), reason) != std::end(reasons);
}

// Still waiting for the scheduler's first look (None, Priority), not for GPUs (Resources).
bool notYetConsidered(const slurm::Job &job)
{
	return job.state == "PENDING" && (job.reason == "None" || job.reason == "Priority" || job.reason.empty());
}

std::vector<PlacedGpu> placedGpus(const slurm::Job &job)
{
	std::vector<PlacedGpu> out;
	for (const slurm::NodeGpus &n : job.placement)
		for (int index : n.indexes)
			out.push_back({n.node, index});
	return out;
}

AllocateResult outcome(AllocateResult::Kind kind, std::string detail, int neededGpus = 0)
{
	AllocateResult r;
	r.kind = kind;
	r.detail = std::move(detail);
	r.neededGpus = neededGpus;
	return r;
}

} // namespace

class SlurmFarm::JobTurn {
public:
	JobTurn(SlurmFarm &farm, std::string jobId) : farm_(farm), jobId_(std::move(jobId))
	{
		std::unique_lock lock(farm_.mutex_);
		farm_.turnDone_.wait(lock, [&] { return !farm_.inTurn_.contains(jobId_); });
		farm_.inTurn_.insert(jobId_);
	}
	~JobTurn()
	{
		std::lock_guard lock(farm_.mutex_);
		farm_.inTurn_.erase(jobId_);
		farm_.turnDone_.notify_all();
	}

private:
	SlurmFarm &farm_;
	std::string jobId_;
};

SlurmFarm::SlurmFarm(const SlurmConfig &config, Store &store)
	: config_(config), store_(store), worker_([this] { work(); })
{
}

SlurmFarm::~SlurmFarm()
{
	{
		std::lock_guard lock(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	worker_.join();
}

std::unique_ptr<slurm::Client> SlurmFarm::client()
{
	{
		std::lock_guard lock(mutex_);
		if (!idle_.empty()) {
			auto c = std::move(idle_.back());
			idle_.pop_back();
			return c;
		}
	}
	return std::make_unique<slurm::Client>(config_.endpoint);
}

void SlurmFarm::giveBack(std::unique_ptr<slurm::Client> client)
{
	std::lock_guard lock(mutex_);
	if (idle_.size() < 8)
		idle_.push_back(std::move(client));
}

AllocateResult SlurmFarm::allocate(const std::string &account, const std::string &jobId, const std::string &deviceId,
				   const Catalog &catalog)
{
	Admission admission = store_.admit(account, jobId, deviceId, catalog);
	if (admission.answer)
		return *admission.answer;
	JobTurn turn(*this, jobId);
	auto slurm = client();
	AllocateResult r;
	try {
		r = place(*slurm, account, jobId, deviceId, catalog, *admission.sku);
	} catch (const SlurmError &e) {
		if (e.failure() == Failure::Refused) {
			giveUp(jobId, "refused by Slurm");
			r = outcome(AllocateResult::Kind::NeverFits, e.what(), admission.sku->gpus);
		} else {
			r = outcome(AllocateResult::Kind::PlacementDown, e.what());
		}
	}
	giveBack(std::move(slurm));
	return r;
}

void SlurmFarm::giveUp(const std::string &jobId, const std::string &reason)
{
	store_.dropSlurmHold(jobId, reason);
	wake();
}

std::int64_t SlurmFarm::findOrSubmit(slurm::Client &slurm, const std::optional<SlurmHold> &hold,
				     const std::string &account, const std::string &jobId, const std::string &deviceId,
				     const Sku &sku)
{
	if (hold && hold->slurmJobId != 0)
		return hold->slurmJobId;
	std::int64_t id = 0;
	if (hold) {
		// A submit whose answer never came: if it reached Slurm, that job is this one's.
		for (const slurm::Job &j : slurm.findByName(jobId))
			if (j.live())
				id = j.id;
	} else {
		// Noted before the submit, so that an answer lost on the way back leaves a trace.
		store_.noteSlurmHold({jobId, 0, account, deviceId, nowMs(), 0});
	}
	if (id == 0) {
		NodeSplit split = *splitOverNodes(sku.gpus, config_.gpusPerNode); // checked when the config loaded
		id = slurm.submit({jobId, config_.partition, split.gpusPerNode, split.nodes,
				   fmt::format("account={} device={} sku={}", account, deviceId, sku.name)});
		spdlog::info("job {}: Slurm job {} submitted ({} node(s) x {}:{})", jobId, id, split.nodes,
			     config_.endpoint.gres, split.gpusPerNode);
	}
	store_.noteSlurmHold({jobId, id, account, deviceId, nowMs(), 0});
	return id;
}

AllocateResult SlurmFarm::place(slurm::Client &slurm, const std::string &account, const std::string &jobId,
				const std::string &deviceId, const Catalog &catalog, const Sku &sku)
{
	std::optional<SlurmHold> hold = store_.slurmHold(jobId);
	if (hold && (hold->account != account || hold->deviceId != deviceId))
		return outcome(AllocateResult::Kind::Conflict,
			       fmt::format("job {} is already queued for another device or account", jobId));
	// Twice at most: a hold job that ended under us (an operator's scancel, a node failure) is
	// submitted again once.
	for (int attempt = 0;; ++attempt) {
		std::int64_t id = findOrSubmit(slurm, hold, account, jobId, deviceId, sku);
		slurm::Job job;
		auto until = std::chrono::steady_clock::now() + kPlacedWithin;
		try {
			job = slurm.job(id);
			while ((notYetConsidered(job) || (job.state == "RUNNING" && job.placement.empty())) &&
			       std::chrono::steady_clock::now() < until) {
				std::this_thread::sleep_for(kPlacedPoll);
				job = slurm.job(id);
			}
		} catch (const SlurmError &e) {
			if (e.failure() != Failure::UnknownJob)
				throw;
			job.state = "GONE";   // Slurm has forgotten it (MinJobAge): it ended
		}
		if (!job.live()) {
			store_.dropSlurmHold(jobId, fmt::format("Slurm job {} ended ({})", id, job.state));
			hold.reset();
			if (attempt == 0)
				continue;
			return outcome(AllocateResult::Kind::PlacementDown,
				       fmt::format("Slurm job {} for job {} ended as soon as it was submitted ({} {}); see "
						   "slurmctld's log", id, jobId, job.state, job.reason));
		}
		if (job.state == "PENDING" || job.placement.empty()) {
			if (neverStarts(job.reason)) {
				giveUp(jobId, "never fits");
				return outcome(AllocateResult::Kind::NeverFits,
					       fmt::format("Slurm will never start job {} for {} GPUs ({} {}): the partition "
							   "cannot hold it", id, sku.gpus, job.state, job.reason), sku.gpus);
			}
			// Asked for again, its place is kept queue_seconds more, counted from this answer, not
			// from the ask: reading Slurm may have taken seconds.
			store_.noteSlurmHold({jobId, id, account, deviceId, 0, 0});
			return outcome(AllocateResult::Kind::FarmFull,
				       fmt::format("Slurm job {} waits in the queue ({} {}) and keeps the job's place",
						   id, job.state, job.reason), sku.gpus);
		}
		std::vector<PlacedGpu> placement = placedGpus(job);
		if (static_cast<int>(placement.size()) != sku.gpus) {
			giveUp(jobId, "wrong GPU count");
			return outcome(AllocateResult::Kind::PlacementDown,
				       fmt::format("Slurm job {} holds {} {} GPUs, not the {} of SKU {}; check gres.conf's "
						   "File= lines", id, placement.size(), config_.endpoint.gres, sku.gpus, sku.name));
		}
		AllocateResult r = store_.commit(account, jobId, deviceId, catalog, id, std::move(placement));
		if (r.kind == AllocateResult::Kind::Created)
			spdlog::info("job {}: Slurm job {} holds {} GPU(s) on {} node(s)", jobId, id, sku.gpus,
				     job.placement.size());
		else if (r.kind != AllocateResult::Kind::Replayed)
			giveUp(jobId, "refused when committed");
		return r;
	}
}

void SlurmFarm::wake()
{
	{
		std::lock_guard lock(mutex_);
		woken_ = true;
	}
	wake_.notify_all();
}

void SlurmFarm::cancel(slurm::Client &slurm, const SlurmCancel &c)
{
	std::vector<std::int64_t> ids;
	if (c.slurmJobId != 0)
		ids.push_back(c.slurmJobId);
	else
		for (const slurm::Job &j : slurm.findByName(c.jobId))
			if (j.live())
				ids.push_back(j.id);
	for (std::int64_t id : ids) {
		try {
			slurm.cancel(id);
		} catch (const SlurmError &e) {
			if (e.failure() != Failure::UnknownJob)
				throw;
		}
		spdlog::info("job {}: Slurm job {} cancelled ({})", c.jobId, id, c.reason);
	}
}

void SlurmFarm::sweep()
{
	TimeMs now = nowMs();
	if (int n = store_.expireQueuedHolds(now - config_.queueSeconds * 1000LL))
		spdlog::info("{} queued Slurm job(s) not asked for within {} s: cancelling", n, config_.queueSeconds);
	auto slurm = client();
	for (const SlurmCancel &c : store_.dueCancels(now)) {
		try {
			cancel(*slurm, c);
			store_.cancelDone(c.id);
		} catch (const SlurmError &e) {
			TimeMs next = nowMs() + cancelBackoffMs(c.attempts);
			store_.cancelFailed(c.id, e.what(), next);
			spdlog::warn("job {}: cancelling its Slurm job failed (attempt {}), kept to retry in {} s: {}",
				     c.jobId, c.attempts + 1, (next - nowMs() + 999) / 1000, e.what());
			break;   // Slurm is not answering: the rest waits for the next round
		}
	}
	giveBack(std::move(slurm));
}

void SlurmFarm::work()
{
	std::unique_lock lock(mutex_);
	while (!stopping_) {
		woken_ = false;
		lock.unlock();
		try {
			sweep();
		} catch (const std::exception &e) {
			spdlog::error("the Slurm backend's sweep failed: {}", e.what());
		}
		lock.lock();
		wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || woken_; });
	}
}

} // namespace hac::allocator
