// Store's reads for GET /metrics: the GPUs lent per node, the allocations by state and Slurm's queue.
#include "store.hpp"

namespace hac::allocator {

FarmSnapshot Store::farmSnapshot()
{
	std::lock_guard lock(mutex_);
	FarmSnapshot s;
	{
		Statement st = db_.prepare("SELECT node, count(*) FROM leases GROUP BY node");
		while (st.step())
			s.leasedByNode[static_cast<int>(st.integer(0))] = static_cast<int>(st.integer(1));
	}
	{
		Statement st = db_.prepare("SELECT released_at IS NULL, count(*) FROM allocations GROUP BY 1");
		while (st.step())
			(st.integer(0) ? s.allocationsHeld : s.allocationsReleased) = st.integer(1);
	}
	Statement st = db_.prepare("SELECT count(*) FROM slurm_holds h WHERE NOT EXISTS "
				   "(SELECT 1 FROM allocations a WHERE a.job_id = h.job_id)");
	st.step();
	s.slurmQueued = st.integer(0);
	return s;
}

} // namespace hac::allocator
