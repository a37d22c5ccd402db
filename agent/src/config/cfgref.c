/*
 * cfgref.c: see snapshot.h (struct cfgref: a config and what was loaded
 * with it, shared by the snapshots built from it).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "cert.h"
#include "config.h"
#include "crl.h"
#include "crypto.h"
#include "tokrec.h"
#include "snapshot.h"

struct cfgref *
cfgref_new(struct config *cfg)
{
	struct cfgref *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->rs = tokrec_schema_new(cfg, crypto_sha256)) ==
	    NULL) {
		free(r);
		config_free(cfg);
		return (NULL);
	}
	atomic_init(&r->refs, 1);
	r->cfg = cfg;
	return (r);
}

struct cfgref *
cfgref_ref(struct cfgref *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return (r);
}

void
cfgref_unref(struct cfgref *r)
{
	if (r == NULL)
		return;
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	tokrec_schema_free(r->rs);      /* borrows from ${cfg} */
	config_free(r->cfg);
	if (r->file != NULL)
		cfgref_unref(r->file);          /* owns the shared ${cas} */
	else
		ca_store_free(r->cas);
	crl_files_free(r->crl_files);
	crlset_unref(r->crl_files_set);
	free(r);
}
