/*
 * signer.h: the agent's own signing keys, for the identity assertions it
 * issues to APIM (short-lived JWTs: ES256, EdDSA or RS256).
 *
 * Keys live in a directory (the state_dir) as PEM files that only the
 * agent may read (0600, its own user; anything else is refused, not
 * skipped), named assertion-<unix time created>-<alg>.pem.  A key's life,
 * with the struct signer_policy below:
 *
 *   created (t)           published (JWKS), does not sign yet
 *   t + ahead_s           signs (unless a newer key signs already)
 *   t + rotate_s          the next key is made (published ahead_s before
 *                         it signs, so that verifiers that cache the JWKS
 *                         have it first)
 *   next key signs        this one stops signing, stays published
 *   ... + keep_s          removed (file and all): keep_s covers the
 *                         lifetime of the assertions it signed
 *
 * The first key of an empty directory signs at once (nothing published it
 * before anyway).  Several processes sharing the directory agree: a load
 * holds an exclusive flock() on it, and a key another process just made is
 * used, not doubled.
 *
 * A struct signer is an immutable view of the directory at one time;
 * several threads may sign with it at once.  Loading again (at
 * signer_next_load()) is how keys rotate.  Every signature goes through
 * OpenSSL's EVP interface.
 */
#ifndef SPOA_SIGNER_H
#define SPOA_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct abuf;
struct signer;

enum signer_alg { SIGNER_ES256, SIGNER_EDDSA, SIGNER_RS256 };

/* Most keys published at once (config parsing keeps rotations within). */
#define SIGNER_KEYS_MAX		16
/* Longest compact JWT signer_sign_jwt() writes, bytes. */
#define SIGNER_JWT_MAX		16384

struct signer_policy {
	enum signer_alg alg;
	uint32_t rotate_s;       /* a new key every rotate_s (> 0) */
	uint32_t ahead_s;        /* published this long before it signs */
	uint32_t keep_s;         /* published this long after it signed */
};

/*
 * signer_alg_parse(s): SIGNER_ES256 for "ES256", SIGNER_EDDSA for
 * "EdDSA", SIGNER_RS256 for "RS256", else -1.
 */
int signer_alg_parse(const char *s);

/* signer_alg_name(alg): "ES256", "EdDSA" or "RS256". */
const char *signer_alg_name(enum signer_alg alg);

/*
 * signer_load(dir, pol, now, made, err, errlen):
 * Read the keys of ${pol}->alg in ${dir} under an exclusive lock of the
 * directory; remove those past their publication; make and write a new
 * one (a temporary file created 0600, fsync, rename, fsync of the
 * directory) when none was made in the last ${pol}->rotate_s seconds
 * before ${now}.  A file of the naming scheme that is not a private key of
 * the algorithm, or that others may read, is an error (someone put it
 * there, or its mode was changed): the reason names the file.  Return a
 * signer with one reference, and set *${made} (if not NULL) when a key was
 * made; or NULL with the reason in ${err}.
 */
struct signer *signer_load(const char *dir, const struct signer_policy *pol,
    int64_t now, bool *made, char *err, size_t errlen);

/*
 * signer_check(dir, alg, err, errlen):
 * What signer_load() would refuse in ${dir} without changing anything
 * (no key made, none removed, no lock): 0 when every key file of ${alg}
 * there is a private key of ${alg} that only the agent may read (or there
 * is none, or no ${dir} yet), else -1 with the reason in ${err}.  For
 * --check.
 */
int signer_check(const char *dir, enum signer_alg alg, char *err,
    size_t errlen);

/* signer_ref(s) / signer_unref(s): references; the last one frees.
 * signer_unref(NULL) is a no-op. */
struct signer *signer_ref(struct signer *s);
void signer_unref(struct signer *s);

/* signer_next_load(s): when signer_load() must run again (a key is due,
 * starts signing, or leaves the set). */
int64_t signer_next_load(const struct signer *s);

/* signer_alg(s): the algorithm of ${s}'s keys. */
enum signer_alg signer_alg(const struct signer *s);

/* signer_kid(s): the kid of the key that signs (its RFC 7638 thumbprint,
 * base64url, 43 characters). */
const char *signer_kid(const struct signer *s);

/* signer_nkeys(s): how many keys ${s} publishes. */
size_t signer_nkeys(const struct signer *s);

/*
 * signer_publishes(s, kid):
 * Whether ${s} publishes the key whose kid is ${kid} (NUL-terminated).
 */
bool signer_publishes(const struct signer *s, const char *kid);

/*
 * signer_sign_jwt(s, claims, len, out, cap):
 * Sign the JSON object ${claims} (${len} bytes, written by the caller) as a
 * compact JWS with header {"alg", "kid", "typ": "JWT"} into ${out}
 * (NUL-terminated; ${cap} bytes).  Return its length, or -1 (no room, or
 * OpenSSL failed).  Thread-safe.
 */
ssize_t signer_sign_jwt(const struct signer *s, const char *claims,
    size_t len, char *out, size_t cap);

/*
 * signer_jwks(s, out):
 * Append the public keys of ${s} as a JWK Set ({"keys": [...]}, each with
 * kty, crv and x[, y] or n and e, kid, use "sig" and alg), the signing key
 * first, to ${out}.
 */
void signer_jwks(const struct signer *s, struct abuf *out);

#endif /* !SPOA_SIGNER_H */
