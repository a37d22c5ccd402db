/*
 * snapshot.h: everything a decision reads — config (issuers, routes), key
 * sets, CRLs — as one immutable, reference-counted object.
 *
 * Life cycle: built off to the side (snapshot_new() and the setters below,
 * all before publication), then published to every worker by message
 * (worker_publish()).  After publication nobody writes to it.  The last
 * snapshot_unref() frees it.  See agent/DESIGN.md "Threads and ownership".
 */
#ifndef SPOA_SNAPSHOT_H
#define SPOA_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct keyset;
struct crlset;
struct crl_files;
struct ca_store;
struct tokrec_schema;
struct signer;

/* A config shared by several snapshots (keys change more often). */
struct cfgref {
	atomic_uint refs;
	struct config *cfg;
	struct tokrec_schema *rs;     /* ${cfg} compiled for token records */
	struct ca_store *cas;         /* client_ca_file, loaded once per config
	                               * file (a policy shares its file's) */
	struct cfgref *file;          /* a policy applied to a config file:
	                               * that file's ref (owns ${cas}); or NULL */
	/* A config file's only (read and built once, see loader.c): */
	struct crl_files *crl_files;  /* the bytes of crl_files */
	struct crlset *crl_files_set; /* the set they make */
};

/* Immutable once published; its fields are private (snapshot.c). */
struct snapshot;

/*
 * cfgref_new(cfg): wrap ${cfg} (ownership passes to the cfgref) with one
 * reference, and compile its token record schema (tokrec.h).  NULL on
 * allocation failure (then ${cfg} is freed).
 */
struct cfgref *cfgref_new(struct config *cfg);
struct cfgref *cfgref_ref(struct cfgref *r);
void cfgref_unref(struct cfgref *r);

/*
 * snapshot_new(cfg):
 * A snapshot with one reference, taking a new reference to ${cfg}, with no
 * key sets and no CRLs.  NULL on allocation failure.
 */
struct snapshot *snapshot_new(struct cfgref *cfg);

/*
 * snapshot_derive(old, cfg):
 * A new snapshot for ${cfg} (may be ${old}'s) that keeps ${old}'s key sets
 * for issuers whose name and key source are unchanged, and its CRLs only
 * when ${cfg} is ${old}'s config (another config builds its own set).
 */
struct snapshot *snapshot_derive(const struct snapshot *old, struct cfgref *cfg);

/*
 * snapshot_set_keys(s, issuer, ks, now):
 * Before publication only: install ${ks} (a new reference is taken) for
 * issuer index ${issuer}, releasing the previous one.
 */
void snapshot_set_keys(struct snapshot *s, size_t issuer, struct keyset *ks,
    int64_t now);

/* snapshot_set_hmac(s, issuer, ks): before publication; takes ownership. */
void snapshot_set_hmac(struct snapshot *s, size_t issuer, struct keyset *ks);

/* snapshot_set_crls(s, crls): before publication; takes ownership. */
void snapshot_set_crls(struct snapshot *s, struct crlset *crls);

/* snapshot_set_signer(s, sg): before publication; takes a new reference
 * to ${sg} (may be NULL), releasing the previous one. */
void snapshot_set_signer(struct snapshot *s, struct signer *sg);

/*
 * snapshot_set_kid_served(s, issuer, ms): before publication: the
 * util_mono_ms() start of the last finished key set fetch of ${issuer};
 * requests parked before it are decided without waiting more.
 */
void snapshot_set_kid_served(struct snapshot *s, size_t issuer, int64_t ms);

/*
 * snapshot_set_policy(s, loaded, at): before publication: whether the
 * routes come from a loaded policy, and when the policy_url document in
 * use was fetched or revalidated.
 */
void snapshot_set_policy(struct snapshot *s, bool loaded, int64_t at);

struct snapshot *snapshot_ref(struct snapshot *s);
/* snapshot_unref(s): NULL is a no-op. */
void snapshot_unref(struct snapshot *s);

/* Readers.  Issuer indexes are those of snapshot_config(s)->issuers. */

/* snapshot_config(s): the config of ${s}. */
const struct config *snapshot_config(const struct snapshot *s);

/* snapshot_cfgref(s): the shared config of ${s} (schema, CA store). */
struct cfgref *snapshot_cfgref(const struct snapshot *s);

/* snapshot_gen(s): the publication number of ${s}; it only increases. */
uint64_t snapshot_gen(const struct snapshot *s);

/*
 * snapshot_keys(s, issuer), snapshot_hmac(s, issuer): the key set, the
 * HMAC secret of ${issuer}, or NULL (none yet, none configured).  Borrowed:
 * they live as long as ${s} (keyset_ref() to keep one).
 */
struct keyset *snapshot_keys(const struct snapshot *s, size_t issuer);
struct keyset *snapshot_hmac(const struct snapshot *s, size_t issuer);

/* snapshot_keys_at(s, issuer): when its key set was last fetched or
 * revalidated (0: never). */
int64_t snapshot_keys_at(const struct snapshot *s, size_t issuer);

/* snapshot_kid_served(s, issuer): see snapshot_set_kid_served(). */
int64_t snapshot_kid_served(const struct snapshot *s, size_t issuer);

/* snapshot_crls(s): the CRL set, or NULL (none configured or loaded). */
const struct crlset *snapshot_crls(const struct snapshot *s);

/* snapshot_policy_loaded(s), snapshot_policy_at(s): see
 * snapshot_set_policy(). */
bool snapshot_policy_loaded(const struct snapshot *s);
int64_t snapshot_policy_at(const struct snapshot *s);

/* snapshot_signer(s): the assertion keys (signer.h), or NULL (no
 * assertion_issuer, or none loaded yet).  Borrowed: it lives as long as
 * ${s} (signer_ref() to keep it). */
struct signer *snapshot_signer(const struct snapshot *s);

#endif /* !SPOA_SNAPSHOT_H */
