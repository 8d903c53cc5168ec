// Where an address leads: the host of a URL, and whether a host is this machine by loopback. The
// agent refuses plain HTTP to any other host; the allocator warns when it serves it elsewhere.
#pragma once

#include <string>

namespace hac {

// The host of an http(s):// URL, in lower case, without brackets ("::1").
std::string urlHost(const std::string &url);
// 127.0.0.0/8, ::1 or localhost: where plain HTTP never leaves the box.
bool isLoopbackHost(const std::string &host);

} // namespace hac
