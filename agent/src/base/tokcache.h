/*
 * tokcache.h: the verified-token cache of one worker (no locks: only its
 * worker touches it); certcache.c keeps its entries in one too.  Key:
 * SHA-256 of the token.  Value: an opaque object holding the verified
 * claims (never a route decision), freed through the callback given at
 * insertion.  Bounded: when full, the CLOCK hand evicts an
 * entry not used since it last passed.  An entry is dead after its expiry
 * time, and tokcache_sweep() drops the ones whose key left the key set.
 */
#ifndef SPOA_TOKCACHE_H
#define SPOA_TOKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tokcache;

typedef void tokcache_free_fn(void *val);
typedef bool tokcache_keep_fn(void *val, void *arg);

/* tokcache_new(max): a cache of at most ${max} entries; NULL if ${max} is 0
 * (cache off: every other function accepts NULL and does nothing). */
struct tokcache *tokcache_new(uint32_t max);

/*
 * tokcache_get(tc, key, now):
 * The value cached for ${key}, or NULL if absent or expired at ${now}
 * (an expired entry is dropped).  The value stays owned by the cache and
 * valid until the next tokcache_put/sweep/free.
 */
void *tokcache_get(struct tokcache *tc, const uint8_t key[32], int64_t now);

/*
 * tokcache_put(tc, key, val, expires, free_fn):
 * Insert ${val} for ${key} (replacing any previous value) until time
 * ${expires}.  The cache owns ${val} from now on, even on failure (-1), and
 * releases it with ${free_fn}.
 */
int tokcache_put(struct tokcache *tc, const uint8_t key[32], void *val,
    int64_t expires, tokcache_free_fn *free_fn);

/* tokcache_sweep(tc, keep, arg): drop every entry for which ${keep} says no. */
void tokcache_sweep(struct tokcache *tc, tokcache_keep_fn *keep, void *arg);

/* tokcache_count(tc): live entries (tests, metrics). */
size_t tokcache_count(const struct tokcache *tc);

/* tokcache_evictions(tc): entries the CLOCK hand dropped to make room
 * (not the expired or swept ones); 0 for NULL. */
uint64_t tokcache_evictions(const struct tokcache *tc);

/* tokcache_free(tc): release everything; NULL is a no-op. */
void tokcache_free(struct tokcache *tc);

#endif /* !SPOA_TOKCACHE_H */
