// Sets TZ for one unit test and puts the old one back, so a test can show that a period or a
// month is counted the same whatever the machine's zone.
#pragma once

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

class Zone {
public:
	explicit Zone(const char *tz)
	{
		if (const char *old = std::getenv("TZ"))
			old_ = old;
		setenv("TZ", tz, 1);
		tzset();
	}
	~Zone()
	{
		if (old_)
			setenv("TZ", old_->c_str(), 1);
		else
			unsetenv("TZ");
		tzset();
	}
	Zone(const Zone &) = delete;
	Zone &operator=(const Zone &) = delete;

private:
	std::optional<std::string> old_;
};
