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

struct snapshot {
	atomic_uint refs;
	uint64_t gen;                 /* increases with every publication */
	struct cfgref *cfg;
	struct keyset **keys;         /* [cfg->nissuers]; NULL = no key set yet */
	int64_t *keys_at;             /* [cfg->nissuers]: when each set was last
	                               * fetched or revalidated */
	struct keyset **hmac;         /* [cfg->nissuers]: HS* secret, or NULL */
	int64_t *kid_served_ms;       /* [cfg->nissuers]: util_mono_ms() start
	                               * of the last finished key set fetch;
	                               * requests parked before it are
	                               * decided without waiting more */
	struct crlset *crls;          /* NULL = none configured / loaded */
	bool policy_loaded;           /* routes come from a loaded policy */
	int64_t policy_at;            /* policy_url: when the document in use
	                               * was fetched or revalidated */
	struct signer *signer;        /* assertion keys (signer.h), or NULL */
};

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

struct snapshot *snapshot_ref(struct snapshot *s);
/* snapshot_unref(s): NULL is a no-op. */
void snapshot_unref(struct snapshot *s);

/* snapshot_config(s): the config of ${s}. */
const struct config *snapshot_config(const struct snapshot *s);

#endif /* !SPOA_SNAPSHOT_H */
