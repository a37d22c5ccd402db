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
#include <string.h>

#include "reason.h"

#define STATS_CACHE_LINE 64

/*
 * Labelled counters: route and issuer names come from the configuration,
 * which a reload changes, so a block keeps its own table of the names it
 * has counted under (slot i of names_* is the label of row i); a name
 * keeps its row for the life of the process (a counter never goes back).
 * Row 0 is "no route" / unused, row 1 collects what does not fit
 * ("(other)").  Only the block's owner adds names; a scrape reads nused
 * (acquire) and then the names below it.
 */
#define STATS_ROUTES       64
#define STATS_ISSUERS      16
#define STATS_LABEL_MAX    64
#define STATS_ROW_NONE     0
#define STATS_ROW_OTHER    1
/* Verification outcomes are reason codes. */
#define STATS_ALGS         16
/* Latency histograms: upper bounds of the buckets, seconds (the last
 * bucket, +Inf, has no bound). */
#define STATS_BUCKETS      20
#define STATS_BUCKET_BOUNDS \
	{ 1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, \
	  2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0 }
/* SPOP DISCONNECT status codes counted one by one (0..14); the rest (13+,
 * 99) share the last row. */
#define STATS_PROTO_STATUS 16

struct stats_histogram {
	atomic_uint_fast64_t bucket[STATS_BUCKETS];   /* not cumulative */
	atomic_uint_fast64_t sum_ns;
};

struct stats_names {
	atomic_uint nused;
	char v[STATS_ROUTES][STATS_LABEL_MAX];
};

struct agent_stats {
	_Alignas(STATS_CACHE_LINE) atomic_uint_fast64_t conns_accepted;
	atomic_uint_fast64_t conns_active;        /* gauge: +1 open, -1 close */
	atomic_uint_fast64_t hello_total;
	atomic_uint_fast64_t healthchecks;
	atomic_uint_fast64_t notify_total;
	atomic_uint_fast64_t ack_total;
	atomic_uint_fast64_t protocol_errors;     /* AGENT-DISCONNECT with status != 0 */
	atomic_uint_fast64_t haproxy_disconnects;
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
	atomic_uint_fast64_t max_connections;     /* gauge (main): the cap */
	atomic_uint_fast64_t hellos_received;     /* HAPROXY-HELLO frames */
	atomic_uint_fast64_t agent_disconnects;   /* AGENT-DISCONNECT sent */
	atomic_uint_fast64_t protocol_errors_by_status[STATS_PROTO_STATUS];
	atomic_uint_fast64_t parked_now;          /* gauge: requests parked */
	atomic_uint_fast64_t token_cache_entries; /* gauge */
	atomic_uint_fast64_t token_cache_evictions;
	atomic_uint_fast64_t cert_cache_entries;  /* gauge */
	atomic_uint_fast64_t cert_cache_evictions;
	atomic_uint_fast64_t dpop_replay_entries; /* gauge */
	atomic_uint_fast64_t dpop_replay_evictions;
	atomic_uint_fast64_t assertions_signed;   /* identity assertions */
	atomic_uint_fast64_t assertions_cached;   /* served from the cache */
	atomic_uint_fast64_t assertion_errors;    /* could not be issued */
	struct stats_histogram decision_duration; /* NOTIFY received .. ACK */
	struct stats_histogram parked_duration;   /* parked .. decided */
	/* decisions by route (row: names_routes) and reason */
	atomic_uint_fast64_t route_decisions[STATS_ROUTES][REASON_COUNT];
	struct stats_names names_routes;
	/* verifications (cache misses) by issuer (row: names_issuers),
	 * algorithm and outcome (a reason code; ok for a good token) */
	atomic_uint_fast64_t verifications[STATS_ISSUERS][STATS_ALGS][REASON_COUNT];
	struct stats_names names_issuers;
};

/*
 * stats_row(names, max, name):
 * The row of label ${name} in ${names} (a block's own table, written by
 * its owner only): the existing one, else a new one, else
 * STATS_ROW_OTHER when ${max} rows are used.  NULL or "" is STATS_ROW_NONE.
 */
static inline unsigned
stats_row(struct stats_names *names, unsigned max, const char *name)
{
	unsigned n = atomic_load_explicit(&names->nused, memory_order_relaxed);
	size_t len;

	if (name == NULL || name[0] == '\0')
		return (STATS_ROW_NONE);
	for (unsigned i = 2; i < n; i++)
		if (strcmp(names->v[i], name) == 0)
			return (i);
	if (n < 2)
		n = 2;
	if (n >= max || (len = strlen(name)) >= STATS_LABEL_MAX)
		return (STATS_ROW_OTHER);
	memcpy(names->v[n], name, len + 1);
	atomic_store_explicit(&names->nused, n + 1, memory_order_release);
	return (n);
}

/* stats_observe(h, ns): one sample of ${ns} nanoseconds into ${h}. */
static inline void
stats_observe(struct stats_histogram *h, uint64_t ns)
{
	static const double bounds[] = STATS_BUCKET_BOUNDS;
	double s = (double)ns / 1e9;
	unsigned i = 0;

	while (i < STATS_BUCKETS - 1 && s > bounds[i])
		i++;
	atomic_store_explicit(&h->bucket[i], atomic_load_explicit(
	    &h->bucket[i], memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&h->sum_ns, atomic_load_explicit(&h->sum_ns,
	    memory_order_relaxed) + ns, memory_order_relaxed);
}

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
