// Reading and writing optional fields of JSON documents: shared by the mappings in json.cpp and
// usage.cpp. Internal to libhac.
#pragma once

#include <optional>
#include <string>

#include <hac/json.hpp>
#include <hac/time.hpp>

namespace hac::detail {

template <typename T>
inline void read(const Json &j, const char *key, T &out)
{
	auto it = j.find(key);
	if (it != j.end() && !it->is_null())
		it->get_to(out);
}

template <typename T>
inline void read(const Json &j, const char *key, std::optional<T> &out)
{
	auto it = j.find(key);
	if (it == j.end() || it->is_null())
		out.reset();
	else
		out = it->get<T>();
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
