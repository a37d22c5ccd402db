/*
 * stats.h: process-wide counters, updated with relaxed atomics by the
 * thread that owns the event and read by the admin endpoint.
 */
#ifndef SPOA_STATS_H
#define SPOA_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "reason.h"

struct agent_stats {
	atomic_uint_fast64_t conns_accepted;
	atomic_uint_fast64_t conns_active;
	atomic_uint_fast64_t hello_total;
	atomic_uint_fast64_t healthchecks;
	atomic_uint_fast64_t notify_total;
	atomic_uint_fast64_t ack_total;
	atomic_uint_fast64_t protocol_errors;     /* AGENT-DISCONNECT with status != 0 */
	atomic_uint_fast64_t haproxy_disconnects;
	atomic_uint_fast64_t decisions[REASON_COUNT];
	atomic_uint_fast64_t parked_total;
	atomic_uint_fast64_t parked_timeouts;
	atomic_uint_fast64_t parked_refetch_asks; /* kid refetches asked of the fetcher */
	atomic_uint_fast64_t token_cache_hits;
	atomic_uint_fast64_t token_cache_misses;
	atomic_uint_fast64_t cert_cache_hits;
	atomic_uint_fast64_t cert_cache_misses;
	atomic_uint_fast64_t reloads_ok;
	atomic_uint_fast64_t reloads_failed;
};

#define STAT_INC(s, f)      atomic_fetch_add_explicit(&(s)->f, 1, memory_order_relaxed)
#define STAT_ADD(s, f, n)   atomic_fetch_add_explicit(&(s)->f, (n), memory_order_relaxed)
#define STAT_DEC(s, f)      atomic_fetch_sub_explicit(&(s)->f, 1, memory_order_relaxed)
#define STAT_GET(s, f)      atomic_load_explicit(&(s)->f, memory_order_relaxed)

#endif /* !SPOA_STATS_H */
