/*
 * signer.h: the agent's own signing keys, for the identity assertions it
 * issues to APIM (short-lived JWTs, ES256 or EdDSA).
 *
 * Keys live in a directory (the state_dir) as PEM files readable by the
 * agent only (0600), named assertion-<unix time created>-<alg>.pem.  A key
 * signs for rotate_s seconds after it was made; then a new one is made and
 * the old one is still published (signer_jwks) for keep_s seconds more, so
 * that assertions it signed stay verifiable until they expire.  A struct
 * signer is an immutable view of that directory at one time: the current
 * key and the published ones; several threads may sign with it at once.
 * Rotating is signer_load() again (at signer_next_rotation()).
 */
#ifndef SPOA_SIGNER_H
#define SPOA_SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct abuf;
struct signer;

enum signer_alg { SIGNER_ES256, SIGNER_EDDSA };

/* Most keys kept published at once. */
#define SIGNER_KEYS_MAX		8
/* Longest compact JWT signer_sign_jwt() writes, bytes. */
#define SIGNER_JWT_MAX		16384

/*
 * signer_alg_parse(s): SIGNER_ES256 for "ES256", SIGNER_EDDSA for
 * "EdDSA", else -1.
 */
int signer_alg_parse(const char *s);

/*
 * signer_load(dir, alg, now, rotate_s, keep_s, err, errlen):
 * Read the keys of ${alg} in ${dir}; if none was made in the last
 * ${rotate_s} seconds before ${now}, make one and write it (a temporary
 * file, fsync, rename; mode 0600); remove the files of keys older than
 * ${rotate_s} + ${keep_s}.  A file that cannot be read as a private key of
 * ${alg} is an error, not skipped (someone put it there).  Return a signer
 * with one reference whose newest key signs and whose keys made within
 * ${rotate_s} + ${keep_s} are published; or NULL with the reason in ${err}.
 */
struct signer *signer_load(const char *dir, enum signer_alg alg, int64_t now,
    uint32_t rotate_s, uint32_t keep_s, char *err, size_t errlen);

/* signer_ref(s) / signer_unref(s): references; the last one frees. */
struct signer *signer_ref(struct signer *s);
void signer_unref(struct signer *s);

/* signer_next_rotation(s): when signer_load() must run again. */
int64_t signer_next_rotation(const struct signer *s);

/* signer_kid(s): the kid of the key that signs (its RFC 7638 thumbprint,
 * base64url). */
const char *signer_kid(const struct signer *s);

/*
 * signer_sign_jwt(s, claims, len, out, cap):
 * Sign the JSON object ${claims} (${len} bytes, written by the caller) as a
 * compact JWS with header {"alg", "kid", "typ": "JWT"} into ${out}
 * (NUL-terminated; ${cap} bytes).  Return its length, or -1 (no room, or
 * out of memory).  Thread-safe.
 */
ssize_t signer_sign_jwt(const struct signer *s, const char *claims,
    size_t len, char *out, size_t cap);

/*
 * signer_jwks(s, out):
 * Append the public keys of ${s} as a JWK Set ({"keys": [...]}, each with
 * kty, crv, x[, y], kid, use "sig" and alg) to ${out}.
 */
void signer_jwks(const struct signer *s, struct abuf *out);

#endif /* !SPOA_SIGNER_H */
