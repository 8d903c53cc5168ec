// Budget arithmetic: integer millionths throughout, months in UTC.
#include <hac/budget.hpp>

#include <cctype>
#include <cstdint>
#include <ctime>

#include "json_fields.hpp"

namespace hac {

using detail::as;
using detail::orNull;
using detail::read;
using detail::readTime;

namespace {

// Products of money and percentages or milliseconds, exact whatever the amounts (GCC and Clang).
__extension__ using Wide = __int128;

TimeMs monthStartOf(int year, int month) // month 0-11, may be 12
{
	std::tm tm{};
	tm.tm_year = year - 1900 + month / 12;
	tm.tm_mon = month % 12;
	tm.tm_mday = 1;
	return TimeMs(timegm(&tm)) * 1000;
}

std::tm utc(TimeMs t)
{
	std::time_t secs = static_cast<std::time_t>(t >= 0 ? t / 1000 : (t - 999) / 1000);
	std::tm tm{};
	gmtime_r(&secs, &tm);
	return tm;
}

} // namespace

TimeMs monthStartUtc(TimeMs t)
{
	std::tm tm = utc(t);
	return monthStartOf(tm.tm_year + 1900, tm.tm_mon);
}

TimeMs nextMonthStartUtc(TimeMs t)
{
	std::tm tm = utc(t);
	return monthStartOf(tm.tm_year + 1900, tm.tm_mon + 1);
}

std::optional<std::int64_t> parseMoney(std::string_view text)
{
	std::size_t pos = 0;
	std::int64_t whole = 0;
	while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
		whole = whole * 10 + (text[pos++] - '0');
		if (whole > 1'000'000'000'000)
			return std::nullopt;
	}
	if (pos == 0)
		return std::nullopt;
	std::int64_t fraction = 0;
	int decimals = 0;
	if (pos < text.size() && text[pos] == '.') {
		++pos;
		while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && decimals < 7) {
			fraction = fraction * 10 + (text[pos++] - '0');
			++decimals;
		}
		if (decimals == 0 || decimals > 6)
			return std::nullopt;
	}
	if (pos != text.size())
		return std::nullopt;
	for (int d = decimals; d < 6; ++d)
		fraction *= 10;
	return whole * 1'000'000 + fraction;
}

std::int64_t percentSpent(std::int64_t spentMicro, std::int64_t limitMicro)
{
	if (limitMicro <= 0)
		return 100;
	return static_cast<std::int64_t>(static_cast<Wide>(spentMicro) * 100 / limitMicro);
}

int reachedThreshold(std::int64_t spentMicro, std::int64_t limitMicro, const std::vector<int> &thresholds)
{
	int reached = 0;
	for (int t : thresholds) {
		// spent/limit >= t/100, without the rounding of percentSpent.
		if (static_cast<Wide>(spentMicro) * 100 >= static_cast<Wide>(limitMicro) * t)
			reached = std::max(reached, t);
	}
	return reached;
}

std::int64_t forecastMicro(std::int64_t spentMicro, TimeMs monthStart, TimeMs monthEnd, TimeMs now)
{
	if (now >= monthEnd)
		return spentMicro;
	TimeMs elapsed = std::max<TimeMs>(now - monthStart, 60000);
	return static_cast<std::int64_t>(static_cast<Wide>(spentMicro) * (monthEnd - monthStart) / elapsed);
}

std::optional<std::int64_t> BudgetFigures::remainingMicro() const
{
	if (!limitMicro)
		return std::nullopt;
	Wide left = static_cast<Wide>(*limitMicro) - spentMicro; // a document read back may hold any values
	return left <= 0 ? 0 : left > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(left);
}

BudgetFigures budgetFigures(std::optional<std::int64_t> limitMicro, std::int64_t spentMicro,
			    const std::vector<int> &thresholds, TimeMs monthStart, TimeMs monthEnd, TimeMs now)
{
	BudgetFigures f;
	f.limitMicro = limitMicro;
	f.spentMicro = spentMicro;
	f.forecastMicro = forecastMicro(spentMicro, monthStart, monthEnd, now);
	if (limitMicro) {
		f.threshold = reachedThreshold(spentMicro, *limitMicro, thresholds);
		f.exhausted = spentMicro >= *limitMicro;
	}
	return f;
}

void to_json(Json &j, const BudgetFigures &f)
{
	j = Json{
		{"limit_micro", orNull(f.limitMicro)},
		{"spent_micro", f.spentMicro},
		{"remaining_micro", orNull(f.remainingMicro())},
		{"forecast_micro", f.forecastMicro},
		{"percent", f.limitMicro ? Json(percentSpent(f.spentMicro, *f.limitMicro)) : Json(nullptr)},
		{"threshold", f.threshold},
		{"exhausted", f.exhausted},
	};
}

void from_json(const Json &j, BudgetFigures &f)
{
	read(j, "limit_micro", f.limitMicro);
	read(j, "spent_micro", f.spentMicro);
	read(j, "forecast_micro", f.forecastMicro);
	read(j, "threshold", f.threshold);
	read(j, "exhausted", f.exhausted);
}

void to_json(Json &j, const BudgetStatus &b)
{
	j = Json{
		{"currency", b.currency},
		{"month_start", formatTime(b.monthStart)},
		{"month_end", formatTime(b.monthEnd)},
		{"as_of", formatTime(b.asOf)},
		{"on_exhausted", b.onExhausted},
		{"thresholds", b.thresholds},
		{"vm", b.vm},
		{"user", orNull(b.user)},
		{"user_budget", b.userFigures ? Json(*b.userFigures) : Json(nullptr)},
	};
}

void from_json(const Json &j, BudgetStatus &b)
{
	read(j, "currency", b.currency);
	std::optional<TimeMs> t;
	readTime(j, "month_start", t);
	b.monthStart = t.value_or(0);
	readTime(j, "month_end", t);
	b.monthEnd = t.value_or(0);
	readTime(j, "as_of", t);
	b.asOf = t.value_or(0);
	read(j, "on_exhausted", b.onExhausted);
	b.thresholds.clear();
	if (j.contains("thresholds") && j["thresholds"].is_array())
		for (const Json &t : j["thresholds"])
			b.thresholds.push_back(as<int>(t, "thresholds"));
	if (j.contains("vm") && j["vm"].is_object())
		j["vm"].get_to(b.vm);
	read(j, "user", b.user);
	if (j.contains("user_budget") && j["user_budget"].is_object())
		b.userFigures = j["user_budget"].get<BudgetFigures>();
}

} // namespace hac
