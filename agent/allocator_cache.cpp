// AllocatorCache: the allocator's last answers, kept so that a restarted agent serves them at once.
#include "allocator_cache.hpp"

namespace hac {

void AllocatorCache::saveAllocatorView(const std::vector<Device> &devices, const std::vector<Sku> &skus)
{
	file_.write([&](Database &db) { db.transaction([&] {
		db.exec("DELETE FROM devices");
		Statement insertDevice = db.prepare(
			"INSERT INTO devices (idx, id, name, sku, gpus, memory_total_mib) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		for (const Device &d : devices) {
			insertDevice.reset();
			insertDevice.bind(1, d.index).bind(2, d.id).bind(3, d.name).bind(4, d.sku).bind(5, d.gpus)
				.bind(6, d.memoryTotalMib).run();
		}
		if (skus.empty())
			return;
		db.exec("DELETE FROM skus");
		Statement insertSku = db.prepare(
			"INSERT INTO skus (name, gpus, gpu_memory_gib, price_micro_per_gpu_minute, currency) "
			"VALUES (?1, ?2, ?3, ?4, ?5)");
		for (const Sku &s : skus) {
			insertSku.reset();
			insertSku.bind(1, s.name).bind(2, s.gpus).bind(3, s.gpuMemoryGib).bind(4, s.priceMicroPerGpuMinute)
				.bind(5, s.currency).run();
		}
	}); });
}

std::vector<Device> AllocatorCache::devices()
{
	return file_.read([&](Database &db) {
		std::vector<Device> out;
		Statement s = db.prepare("SELECT idx, id, name, sku, gpus, memory_total_mib FROM devices ORDER BY idx");
		while (s.step()) {
			Device d;
			d.index = static_cast<int>(s.integer(0));
			d.id = s.text(1);
			d.name = s.text(2);
			d.sku = s.text(3);
			d.gpus = static_cast<int>(s.integer(4));
			d.memoryTotalMib = s.integer(5);
			out.push_back(std::move(d));
		}
		return out;
	});
}

std::vector<Sku> AllocatorCache::skus()
{
	return file_.read([&](Database &db) {
		std::vector<Sku> out;
		Statement s = db.prepare("SELECT name, gpus, gpu_memory_gib, price_micro_per_gpu_minute, currency FROM skus "
					  "ORDER BY gpus, name");
		while (s.step())
			out.push_back(Sku{s.text(0), static_cast<int>(s.integer(1)), static_cast<int>(s.integer(2)), s.integer(3), s.text(4)});
		return out;
	});
}

std::optional<std::string> AllocatorCache::setting(const std::string &key)
{
	return file_.read([&](Database &db) -> std::optional<std::string> {
		Statement s = db.prepare("SELECT value FROM settings WHERE key = ?1");
		s.bind(1, key);
		if (!s.step())
			return std::nullopt;
		return s.text(0);
	});
}

void AllocatorCache::setSetting(const std::string &key, const std::string &value)
{
	file_.write([&](Database &db) {
		db.prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2")
			.bind(1, key).bind(2, value).run();
	});
}

} // namespace hac
