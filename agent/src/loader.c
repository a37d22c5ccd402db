/*
 * loader.c: see loader.h.
 */
#include <stdlib.h>

#include "config.h"
#include "loader.h"
#include "snapshot.h"

int
loader_build(struct config *cfg, const struct snapshot *prev,
    struct snapshot **out, struct config_errors *errs)
{
	struct cfgref *ref = cfgref_new(cfg);
	struct snapshot *s;

	(void)errs;
	*out = NULL;
	if (ref == NULL)
		return (-1);
	s = prev ? snapshot_derive(prev, ref) : snapshot_new(ref);
	cfgref_unref(ref);
	if (s == NULL)
		return (-1);
	*out = s;
	return (0);
}
