/*
 * jwt.h: the bearer-token part of a decision: find the token, verify it
 * (or find it in the verified-token cache), check the route's claim rules,
 * and fill the identity variables.
 */
#ifndef SPOA_JWT_H
#define SPOA_JWT_H

#include <stdbool.h>
#include <stdint.h>

#include "decide.h"

struct facts;
struct snapshot;
struct route_cfg;
struct verdict;
struct cJSON;

/*
 * jwt_decide(f, s, rt, env, v, cert_sha256):
 * Decide the token requirements of route ${rt} for ${f} under ${s}.  On
 * DECIDE_DONE, ${v} holds the reason (REASON_OK when the token passes,
 * with the identity variables added).  ${cert_sha256} is the SHA-256 of
 * the client certificate HAProxy saw when the caller already has it, else
 * NULL (it is then computed from ${f}->cert_der only if needed): a token
 * that carries
 * cnf.x5t#S256 (RFC 8705) must match it (constant-time), and a route with
 * bound_token requires such a token.  DECIDE_PARK only when
 * ${env}->may_park: the kid is unknown and a refetch of the issuer's keys
 * may bring it (${env}->park_issuer, park_kid).
 */
enum decide_outcome jwt_decide(const struct facts *f, const struct snapshot *s,
    const struct route_cfg *rt, struct decide_env *env, struct verdict *v,
    const uint8_t *cert_sha256);

/*
 * jwt_cache_keep(val, snap):
 * tokcache_keep_fn for sweeps after a snapshot change: keep an entry (a
 * token record, tokrec.h) only if ${snap}'s config has an issuer with the
 * record's fingerprint (the config it was compiled under, or another that
 * compiles and accepts it the same) and that issuer's key set still has
 * the key that verified it, with the same fingerprint.
 */
bool jwt_cache_keep(void *val, void *snap);

/*
 * jwt_cache_sweep(tc, old, s):
 * After the current snapshot changed from ${old} (NULL: unknown) to ${s},
 * both still referenced: drop the entries of ${tc} that ${s} no longer
 * validates (jwt_cache_keep()), visiting only those of issuers whose key
 * set or HMAC secret changed when the config is the same (all of them when
 * the config changed: a reload or policy update that changes nothing an
 * entry depends on keeps it).  A publication that changed no key set (a
 * plain 304 revalidation) visits nothing.  Return true if a sweep ran.
 * ${tc} NULL (cache off) is a no-op.
 */
struct tokcache;
bool jwt_cache_sweep(struct tokcache *tc, const struct snapshot *old,
    const struct snapshot *s);

#endif /* !SPOA_JWT_H */
