// Budgets on the VM's spending: what this month's jobs cost (the job log, by hac-usage's billing
// rule), the refusal of new jobs once a budget is spent, each warning threshold said once, and
// with on_exhausted = "stop" the end of the running jobs. Months are UTC (hac/budget.hpp).
#include "agent.hpp"

#include <cstdlib>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <hac/billing.hpp>
#include <hac/budget.hpp>

#include "access.hpp"
#include "refusal.hpp"

namespace hac {

namespace {

// How often the agent looks at the spending while a budget is set: a running job's bill grows by
// whole minutes, so a few seconds late is a few seconds of a minute already billed.
constexpr TimeMs kBudgetCheckMs = 5000;

std::string monthName(TimeMs monthStart)
{
	return formatTime(monthStart).substr(0, 7); // "2026-12"
}

std::optional<std::int64_t> userLimit(const BudgetSettings &budget, const std::string &user)
{
	for (const auto &[name, limit] : budget.userLimitsMicro)
		if (name == user)
			return limit;
	return std::nullopt;
}

// "0.08 of 0.10 USD"
std::string spentOf(std::int64_t spent, std::int64_t limit, const std::string &currency)
{
	return fmt::format("{} of {} {}", formatMicro(spent), formatMicro(limit), currency);
}

} // namespace

std::shared_ptr<const Agent::SpendingBase> Agent::spendingBase(TimeMs monthStart)
{
	auto current = [&](std::uint64_t generation) {
		std::lock_guard lock(spendingMutex_);
		return spendingBase_ && spendingBase_->generation == generation && spendingBase_->monthStart == monthStart
			? spendingBase_ : nullptr;
	};
	if (auto base = current(logFile_.generation()))
		return base;
	// One thread reads; the others wait for it and take what it read.
	std::lock_guard reading(spendingReadMutex_);
	// Before the reads: a write that ends while they run moves it, and the next call reads again.
	std::uint64_t generation = logFile_.generation();
	if (auto base = current(generation))
		return base;
	auto base = std::make_shared<SpendingBase>();
	base->generation = generation;
	base->monthStart = monthStart;
	std::vector<Sku> skus = cache_.skus();
	base->currency = skus.empty() ? "USD" : skus.front().currency;
	UserSpending read = usageLog_.userSpending(monthStart, nextMonthStartUtc(monthStart));
	for (const UsageRow &row : read.ended) {
		if (row.currency != base->currency)
			continue;
		base->vmMicro += row.costMicro;
		if (row.uid)
			base->byUid[*row.uid] += row.costMicro;
	}
	for (RunningBill &bill : read.running)
		if (bill.currency == base->currency)
			base->running.push_back(std::move(bill));
	std::lock_guard lock(spendingMutex_);
	spendingBase_ = base;
	return base;
}

Agent::Spending Agent::spending(TimeMs now)
{
	TimeMs monthStart = monthStartUtc(now);
	std::shared_ptr<const SpendingBase> base = spendingBase(monthStart);
	Spending s;
	s.currency = base->currency;
	s.monthStart = monthStart;
	s.monthEnd = nextMonthStartUtc(now);
	s.vmMicro = base->vmMicro;
	s.byUid = base->byUid;
	// The running jobs' bills, up to now (UsageLog::summary() counts them so).
	for (const RunningBill &bill : base->running) {
		std::int64_t cost = bill.costAt(now);
		s.vmMicro += cost;
		s.byUid[bill.uid] += cost;
	}
	return s;
}

BudgetSettings Agent::budgetSettings() const
{
	std::lock_guard lock(configMutex_);
	return config_.budget;
}

BudgetStatus Agent::budget(uid_t uid)
{
	TimeMs now = nowMs();
	return budgetStatus(spending(now), uid, budgetSettings(), now);
}

BudgetStatus Agent::budgetStatus(const Spending &s, uid_t uid, const BudgetSettings &settings, TimeMs now)
{
	BudgetStatus b;
	b.currency = s.currency;
	b.monthStart = s.monthStart;
	b.monthEnd = s.monthEnd;
	b.asOf = now;
	b.onExhausted = settings.onExhausted;
	b.thresholds = settings.thresholds;
	b.vm = budgetFigures(settings.monthlyLimitMicro, s.vmMicro, settings.thresholds, s.monthStart, s.monthEnd, now);
	// The caller's name is looked up only when some user has a limit of their own.
	if (settings.userLimitsMicro.empty())
		return b;
	std::string name = userName(uid);
	if (auto limit = userLimit(settings, name)) {
		auto spent = s.byUid.find(static_cast<std::uint32_t>(uid));
		b.user = name;
		b.userFigures = budgetFigures(limit, spent == s.byUid.end() ? 0 : spent->second, settings.thresholds,
					      s.monthStart, s.monthEnd, now);
	}
	return b;
}

std::string Agent::admitBudget(const Peer &peer, bool privileged)
{
	AgentConfig config = this->config();
	if (!config.budget.any())
		return {};
	TimeMs now = nowMs();
	BudgetStatus b = budgetStatus(spending(now), peer.uid, config.budget, now);
	std::string month = monthName(b.monthStart);
	auto refuse = [&](const BudgetFigures &f, const std::string &whose, const std::string &key) {
		throw Refusal(Refusal::BudgetExhausted, "budget_exhausted",
			      fmt::format("new jobs are refused: {} budget for {} (UTC) is spent: {} ({} in agent.toml). "
					  "Root and members of group {} may still start jobs; a higher limit, once hac-agent "
					  "reloads its config (systemctl reload hac-agent), lifts the refusal at once",
					  whose, month, spentOf(f.spentMicro, *f.limitMicro, b.currency), key, config.adminGroup),
			      Json{{"spent_micro", f.spentMicro}, {"limit_micro", *f.limitMicro}, {"currency", b.currency}});
	};
	if (!privileged && b.vm.exhausted)
		refuse(b.vm, "this VM's", "[budget] monthly_limit");
	if (!privileged && b.userFigures && b.userFigures->exhausted)
		refuse(*b.userFigures, "your", fmt::format("[[budget.user]] name = \"{}\"", *b.user));

	// Each threshold is told once a month to each user who starts a job after it was crossed.
	std::string notice;
	auto tell = [&](const BudgetFigures &f, const std::string &scope, const std::string &whose) {
		if (f.threshold == 0)
			return;
		std::string key = fmt::format("budget_told:{}:{}:{}", month, peer.uid, scope);
		int told = std::atoi(cache_.setting(key).value_or("0").c_str());
		if (f.threshold <= told)
			return;
		cache_.setSetting(key, std::to_string(f.threshold));
		notice += fmt::format("{}{} budget for {} (UTC) is {}% spent: {}{}", notice.empty() ? "" : "; ", whose,
				      month, percentSpent(f.spentMicro, *f.limitMicro), spentOf(f.spentMicro, *f.limitMicro, b.currency),
				      f.exhausted ? " (you may still start jobs as root or a member of the admin group)" : "");
	};
	tell(b.vm, "vm", "this VM's");
	if (b.userFigures)
		tell(*b.userFigures, "user", "your");
	return notice;
}

int Agent::watchBudget()
{
	AgentConfig config = this->config();
	if (!config.budget.any())
		return -1;
	TimeMs now = nowMs();
	{
		std::lock_guard lock(mutex_);
		if (now < nextBudgetCheck_)
			return static_cast<int>(nextBudgetCheck_ - now);
		nextBudgetCheck_ = now + kBudgetCheckMs;
	}
	try {
		Spending s = spending(now);
		std::string month = monthName(s.monthStart);
		bool stop = config.budget.onExhausted == "stop";
		// Root's and the admin group's jobs are never refused, so never stopped either.
		auto exempt = [&](const Job &job) {
			return isPrivileged(Peer{job.pid, job.uid, static_cast<gid_t>(-1)}, config.adminGroup);
		};
		auto watch = [&](const BudgetFigures &f, const std::string &key, const std::string &what,
				 const std::function<bool(const Job &)> &which) {
			if (f.threshold > 0) {
				std::string setting = fmt::format("budget_logged:{}:{}", month, key);
				if (f.threshold > std::atoi(cache_.setting(setting).value_or("0").c_str())) {
					cache_.setSetting(setting, std::to_string(f.threshold));
					spdlog::warn("{} for {} (UTC) crossed {}%: {} spent, {} {} forecast for the month{}", what,
						     month, f.threshold, spentOf(f.spentMicro, *f.limitMicro, s.currency),
						     formatMicro(f.forecastMicro), s.currency,
						     f.exhausted ? (stop ? "; new jobs are refused and running jobs are stopped"
									 : "; new jobs are refused")
								 : "");
				}
			}
			if (f.exhausted && stop) {
				int stopped = jobs_.stopJobs("budget", [&](const Job &job) { return which(job) && !exempt(job); });
				if (stopped > 0)
					spdlog::warn("{} is spent: stopping {} running job(s) ([budget] on_exhausted = \"stop\")", what,
						     stopped);
			}
		};
		const BudgetSettings &settings = config.budget;
		if (settings.monthlyLimitMicro)
			watch(budgetFigures(settings.monthlyLimitMicro, s.vmMicro, settings.thresholds, s.monthStart, s.monthEnd, now),
			      "vm", "the VM's budget", [](const Job &) { return true; });
		for (const auto &[name, limit] : settings.userLimitsMicro) {
			auto uid = userId(name);
			if (!uid)
				continue;
			auto spent = s.byUid.find(static_cast<std::uint32_t>(*uid));
			watch(budgetFigures(limit, spent == s.byUid.end() ? 0 : spent->second, settings.thresholds, s.monthStart,
					    s.monthEnd, now),
			      "user:" + name, fmt::format("the budget of user {}", name),
			      [uid = *uid](const Job &job) { return job.uid == uid; });
		}
	} catch (const std::exception &e) {
		spdlog::error("cannot check the budget: {}", e.what());
	}
	return static_cast<int>(kBudgetCheckMs);
}

} // namespace hac
