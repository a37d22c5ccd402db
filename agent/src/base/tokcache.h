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
 * tokcache_get_att(tc, key, now, att):
 * tokcache_get(), and the entry's attachment in *${att} (NULL if none or
 * no entry).  The attachment is the cache's, and the caller may change
 * what it holds (it belongs to the same worker) until the next
 * tokcache_put/attach/sweep/free.
 */
void *tokcache_get_att(struct tokcache *tc, const uint8_t key[32],
    int64_t now, void **att);

/*
 * tokcache_attach(tc, key, att, free_fn):
 * Attach ${att} to the live entry of ${key} (its value stays immutable:
 * an attachment is what the cache's user learns about the entry later,
 * e.g. the identity assertions issued for a token), releasing a previous
 * one.  It dies with the entry (expiry, eviction, sweep, replacement).
 * The cache owns ${att} from now on, even on failure (-1: no such
 * entry), and releases it with ${free_fn}, which must be the same for
 * every attachment of ${tc}.
 */
int tokcache_attach(struct tokcache *tc, const uint8_t key[32], void *att,
    tokcache_free_fn *free_fn);

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
