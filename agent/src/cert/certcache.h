/*
 * certcache.h: the analysed-certificate cache of one worker (no locks: only
 * its worker touches it).  Key: SHA-256 of the DER, plus the generation of
 * the CA store the analysis used (ca_store_gen()), so a reloaded
 * client_ca_file never serves a stale issuer thumbprint.  Failed analyses
 * are cached too (the reason is a constant string), so a client repeating a
 * certificate we refuse costs one hash per request, not one parse; a
 * failure cert_analyze_ex() calls temporary (memory ran out) is not.
 * Bounded: when full, the CLOCK hand evicts an entry not used since it last
 * passed.
 *
 * Ownership: certcache_get() always returns a new reference, with the cache
 * on or off; the caller releases it with cert_info_unref() when done (it
 * may keep it across events, e.g. while a request is parked).  Entries the
 * cache evicts are released by the cache; a caller's reference keeps the
 * object alive.
 */
#ifndef SPOA_CERTCACHE_H
#define SPOA_CERTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ca_store;
struct cert_info;
struct certcache;

struct certcache_stats {
	uint64_t hits;          /* answered from the cache (incl. refusals) */
	uint64_t misses;        /* every other answer: analysed, or the
				 * key's digest failed (out of memory) */
	uint64_t evictions;     /* entries dropped to make room */
	size_t entries;         /* live entries */
};

/*
 * certcache_new(max):
 * A cache of at most ${max} entries.  ${max} == 0 is a valid cache that
 * keeps nothing: every certcache_get() analyses (benchmarks, tests).
 * Return NULL only on allocation failure.
 */
struct certcache *certcache_new(uint32_t max);

/*
 * certcache_get(cc, der, len, cas, why, hit):
 * The analysis of the certificate in the ${len} bytes at ${der} with the
 * CA store ${cas} (may be NULL), as cert_analyze() would return it: a new
 * reference the caller releases with cert_info_unref(), or NULL with a
 * constant reason in *${why} (if ${why} is not NULL).  Hashes ${der} and
 * looks it up first; analyses only on a miss, or when the entry was made
 * with another store.  *${hit} (if ${hit} is not NULL) says whether the
 * answer came from the cache.
 */
const struct cert_info *certcache_get(struct certcache *cc,
    const uint8_t *der, size_t len, const struct ca_store *cas,
    const char **why, bool *hit);

/* certcache_stats(cc, out): counters since certcache_new(). */
void certcache_stats(const struct certcache *cc, struct certcache_stats *out);

/* certcache_free(cc): release the cache's references; NULL is a no-op. */
void certcache_free(struct certcache *cc);

#endif /* !SPOA_CERTCACHE_H */
