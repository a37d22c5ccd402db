/*
 * loader.h: turn a parsed config into a ready snapshot, loading what is
 * local (jwks_file key sets, HMAC secrets, policy_file, crl_files).  Used at
 * start, by --check and by SIGHUP.  Remote sources are the fetcher's job;
 * their last key sets carry over from the previous snapshot.
 */
#ifndef SPOA_LOADER_H
#define SPOA_LOADER_H

#include <stddef.h>

struct config;
struct config_errors;
struct snapshot;

/*
 * loader_build(cfg, prev, out, errs):
 * Take ownership of ${cfg} (even on failure) and build a snapshot for it,
 * keeping ${prev}'s key sets (may be NULL) where the source is unchanged.
 * On success store it in *${out} (one reference) and return 0; on failure
 * append the errors (JSON path + reason) to ${errs} and return -1.
 */
int loader_build(struct config *cfg, const struct snapshot *prev,
    struct snapshot **out, struct config_errors *errs);

/*
 * loader_build_ref(file, doc, len, prev, out, errs):
 * Build a snapshot from the config file ${file} (a new reference is taken;
 * its config is not modified; its client CA store, ${file}->cas, is loaded
 * once, by the first build that needs it, when no policy replaces the
 * config).  If ${doc} is not NULL it is a policy document
 * of ${len} bytes fetched from policy_url: its issuers and routes replace
 * the file's (config_policy_parse(), errors prefixed "policy_url"), and
 * the snapshot's policy_loaded is true.  Otherwise a policy_file is
 * applied as loader_build() does, and policy_loaded is true unless the
 * config names a policy_url.  Key sets of ${prev} (may be NULL) carry over
 * where the source is unchanged; jwks_file key sets and HMAC secrets are
 * loaded.  Return 0 with the snapshot in *${out} (one reference), or -1
 * with the errors appended to ${errs}.
 */
struct cfgref;
int loader_build_ref(struct cfgref *file, const char *doc, size_t len,
    const struct snapshot *prev, struct snapshot **out,
    struct config_errors *errs);

/*
 * loader_read_secret(file, env, max, buf, len, err, errlen):
 * A secret (HMAC key, OAuth client secret) from the file ${file} if it is
 * not NULL, else from the environment variable ${env}: at most ${max}
 * bytes, trailing CR and LF removed (a file written by an editor ends with
 * a newline), not empty.  On success return 0 with a NUL-terminated
 * malloc'd *${buf} of *${len} bytes, which the caller wipes
 * (explicit_bzero) and frees.  Otherwise return -1 with *${buf} NULL and a
 * message in ${err} that names the file or variable, never the secret.
 */
int loader_read_secret(const char *file, const char *env, size_t max,
    char **buf, size_t *len, char *err, size_t errlen);

/*
 * loader_keys_from_doc(what, buf, len, out, err, errlen):
 * Parse a JWKS document into a key set (one reference in *${out}); skipped
 * keys are logged with ${what} as context.  Return 0, or -1 with the
 * reason in ${err}; when no key is usable the reason lists each key's
 * ("no usable key: key 0 (kid "a"): RSA modulus shorter than 2048 bits;
 * key 1 ..."), for --check and /readyz.
 */
struct keyset;
int loader_keys_from_doc(const char *what, const char *buf, size_t len,
    struct keyset **out, char *err, size_t errlen);

#endif /* !SPOA_LOADER_H */
