// Reading and writing optional fields of JSON documents: shared by the mappings in json.cpp and
// usage.cpp. Internal to libhac.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <hac/json.hpp>
#include <hac/time.hpp>

namespace hac::detail {

// v as a T. nlohmann converts 1.5 to 1, and 1e30 to whatever the cast gives (undefined
// behaviour, found by tests/fuzz): an integer field must hold a whole number that fits.
template <typename T>
inline T as(const Json &v, const char *key)
{
	if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
		bool fits = false;
		if (v.is_number_unsigned())
			fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
		else if (v.is_number_integer())
			fits = std::in_range<T>(v.get<std::int64_t>());
		if (!fits)
			throw Json::type_error::create(302, std::string("field '") + key + "' is not a whole number in range", &v);
		return v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>()) : static_cast<T>(v.get<std::int64_t>());
	} else {
		return v.get<T>();
	}
}

template <typename T>
inline void read(const Json &j, const char *key, T &out)
{
	auto it = j.find(key);
	if (it != j.end() && !it->is_null())
		out = as<T>(*it, key);
}

template <typename T>
inline void read(const Json &j, const char *key, std::optional<T> &out)
{
	auto it = j.find(key);
	if (it == j.end() || it->is_null())
		out.reset();
	else
		out = as<T>(*it, key);
}

// Not an overload of orNull: TimeMs is an int64_t, like the memory fields.
inline Json timeOrNull(const std::optional<TimeMs> &t)
{
	return t ? Json(formatTime(*t)) : Json(nullptr);
}

template <typename T>
Json orNull(const std::optional<T> &v)
{
	return v ? Json(*v) : Json(nullptr);
}

inline void readTime(const Json &j, const char *key, std::optional<TimeMs> &out)
{
	auto it = j.find(key);
	if (it == j.end() || it->is_null()) {
		out.reset();
		return;
	}
	out = parseTime(it->get<std::string>());
	if (!out)
		throw Json::type_error::create(302, std::string("field '") + key + "' is not an RFC 3339 UTC time", &j);
}

} // namespace hac::detail
