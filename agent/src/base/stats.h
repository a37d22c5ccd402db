/*
 * stats.h: counters, one block per counting thread (HAProxy's per-thread
 * struct activity).  A worker, the main thread and the fetcher each own
 * one struct agent_stats and are its only writer; /metrics sums the blocks
 * when it is scraped (struct stats_set).
 *
 * One writer per block means an increment needs no read-modify-write
 * instruction: STAT_INC() is a relaxed load and a relaxed store, which
 * compile to a plain add on the thread's own cache lines (the fields are
 * atomics only so that the scraping thread's concurrent read is defined
 * behaviour).  Blocks are aligned to, and sized in, whole cache lines, so
 * no two threads' counters ever share a line.  Never STAT_INC() a block
 * another thread writes.
 */
#ifndef SPOA_STATS_H
#define SPOA_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "reason.h"

#define STATS_CACHE_LINE 64

struct agent_stats {
	_Alignas(STATS_CACHE_LINE) atomic_uint_fast64_t conns_accepted;
	atomic_uint_fast64_t conns_active;        /* gauge: +1 open, -1 close */
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
	atomic_uint_fast64_t token_cache_sweeps;  /* publications that swept */
	atomic_uint_fast64_t cert_cache_hits;
	atomic_uint_fast64_t cert_cache_misses;
	atomic_uint_fast64_t reloads_ok;
	atomic_uint_fast64_t reloads_failed;
	atomic_uint_fast64_t conns_shed;          /* closed to make room (cap) */
	atomic_uint_fast64_t conns_refused;       /* new one closed: none idle */
	atomic_uint_fast64_t idle_timeouts;
	atomic_uint_fast64_t frame_timeouts;
	atomic_uint_fast64_t frame_budget_closes; /* partial-frame memory */
	atomic_uint_fast64_t partial_frame_bytes; /* gauge: input buffers */
	atomic_uint_fast64_t fd_limit;            /* gauge (main): RLIMIT_NOFILE */
	atomic_uint_fast64_t max_connections;     /* gauge (main): the cap */
};

#define STAT_ADD(s, f, n) atomic_store_explicit(&(s)->f,		\
	atomic_load_explicit(&(s)->f, memory_order_relaxed) + (n),	\
	memory_order_relaxed)
#define STAT_INC(s, f)      STAT_ADD(s, f, 1)
#define STAT_DEC(s, f)      STAT_ADD(s, f, (uint_fast64_t)-1)
#define STAT_SET(s, f, v)   atomic_store_explicit(&(s)->f, (v), memory_order_relaxed)
#define STAT_GET(s, f)      atomic_load_explicit(&(s)->f, memory_order_relaxed)

/* The blocks a scrape sums: ${v}[0..${n}), owned by the caller. */
struct stats_set {
	const struct agent_stats *const *v;
	size_t n;
};

/*
 * stats_sum_at(set, off): the sum over the blocks of ${set} of the counter
 * at byte offset ${off} of struct agent_stats (offsetof() of a field).
 * Gauges sum too: each block holds its thread's share.
 */
static inline uint64_t
stats_sum_at(const struct stats_set *set, size_t off)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < set->n; i++) {
		const atomic_uint_fast64_t *p = (const atomic_uint_fast64_t *)
		    (const void *)((const char *)set->v[i] + off);

		sum += atomic_load_explicit(p, memory_order_relaxed);
	}
	return (sum);
}

#endif /* !SPOA_STATS_H */
