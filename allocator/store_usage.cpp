// Store's usage verbs, on the usage table: record what a job used (the allocator's bill), and list
// the records of a period.
#include "store.hpp"
#include "store_allocations.hpp"

#include <vector>

#include <fmt/format.h>

#include <hac/billing.hpp>
#include <hac/json.hpp>
#include <hac/usage.hpp>

namespace hac::allocator {

namespace {

constexpr const char *kUsageColumns =
	"job_id, device_id, sku, gpus, started_at, ended_at, billable, end_reason, reconstructed, "
	"price_micro_per_gpu_minute, cost_micro, recorded_at, account";

UsageRecord usageFrom(const Statement &st)
{
	UsageRecord r;
	r.jobId = st.text(0);
	r.deviceId = st.text(1);
	r.sku = st.text(2);
	r.gpus = static_cast<int>(st.integer(3));
	r.startedAt = st.integer(4);
	r.endedAt = st.integer(5);
	r.billable = st.integer(6) != 0;
	r.endReason = st.text(7);
	r.reconstructed = st.integer(8) != 0;
	r.priceMicroPerGpuMinute = st.integer(9);
	r.costMicro = st.integer(10);
	r.recordedAt = st.integer(11);
	return r;
}

// What of `sent` differs from the record stored for its job, each field with both values. Price,
// currency and cost are the allocator's own, worked out from the catalog when it stored the record,
// so they are not the agent's to differ in: a replay after a price change is still a replay.
std::string describeDifferences(const UsageRecord &stored, UsageRecord sent)
{
	sent.priceMicroPerGpuMinute = stored.priceMicroPerGpuMinute;
	sent.currency = stored.currency;
	sent.costMicro = stored.costMicro;
	const Json a = stored, b = sent;
	auto text = [](const Json &v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
	std::vector<std::string> diffs;
	for (const std::string &field : usageDifferences(stored, sent))
		diffs.push_back(fmt::format("{} (recorded {}, sent {})", field, text(a.at(field)), text(b.at(field))));
	return fmt::format("{}", fmt::join(diffs, ", "));
}

} // namespace

RecordResult Store::recordUsage(const std::string &account, const UsageRecord &sent, const Catalog &catalog)
{
	std::lock_guard lock(mutex_);
	RecordResult r;
	db_.transaction([&] {
		{
			Statement st = db_.prepare(fmt::format("SELECT {} FROM usage WHERE job_id = ?", kUsageColumns));
			st.bind(1, sent.jobId);
			if (st.step()) {
				UsageRecord stored = usageFrom(st);
				if (st.text(12) != account) {
					r.kind = RecordResult::Kind::Conflict;
					r.detail = "it was recorded under another account";
					return;
				}
				r.detail = describeDifferences(stored, sent);
				r.kind = r.detail.empty() ? RecordResult::Kind::Replayed : RecordResult::Kind::Conflict;
				r.record = stored;
				return;
			}
		}
		{
			// A device removed since the job ran still gets its bill.
			Statement st = db_.prepare("SELECT 1 FROM devices WHERE id = ? AND account = ?");
			st.bind(1, sent.deviceId).bind(2, account);
			if (!st.step()) {
				r.kind = RecordResult::Kind::UnknownDevice;
				return;
			}
		}
		const Sku *sku = catalog.find(sent.sku);
		if (!sku) {
			r.kind = RecordResult::Kind::UnknownSku;
			r.detail = sent.sku;
			return;
		}
		UsageRecord &rec = r.record;
		rec = sent;
		rec.priceMicroPerGpuMinute = sku->priceMicroPerGpuMinute;
		rec.currency = sku->currency;
		// The billing rule every side applies (libhac/include/hac/billing.hpp), so that
		// hac-usage --reconcile finds the agent's bill and this one equal.
		rec.costMicro = chargeFor(rec.gpus, rec.startedAt, rec.endedAt, rec.priceMicroPerGpuMinute, rec.billable).costMicro;
		TimeMs now = nowMs();
		rec.recordedAt = now;
		db_.prepare(fmt::format("INSERT INTO usage({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kUsageColumns))
			.bind(1, rec.jobId).bind(2, rec.deviceId).bind(3, rec.sku).bind(4, rec.gpus)
			.bind(5, rec.startedAt).bind(6, rec.endedAt).bind(7, rec.billable ? 1 : 0).bind(8, rec.endReason)
			.bind(9, rec.reconstructed ? 1 : 0).bind(10, rec.priceMicroPerGpuMinute).bind(11, rec.costMicro)
			.bind(12, now).bind(13, account).run();
		releaseHeld(db_, account, rec.jobId, now);
		r.kind = RecordResult::Kind::Created;
	});
	return r;
}

std::vector<UsageRecord> Store::usage(const std::string &account, std::optional<TimeMs> since,
				      std::optional<TimeMs> until)
{
	std::lock_guard lock(mutex_);
	Statement st = db_.prepare(fmt::format("SELECT {} FROM usage WHERE account = ?1 "
					       "AND (?2 IS NULL OR ended_at >= ?2) AND (?3 IS NULL OR ended_at < ?3) "
					       "ORDER BY ended_at, job_id", kUsageColumns));
	st.bind(1, account).bind(2, since).bind(3, until);
	std::vector<UsageRecord> out;
	while (st.step())
		out.push_back(usageFrom(st));
	return out;
}

} // namespace hac::allocator
