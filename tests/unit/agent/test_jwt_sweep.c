/*
 * test_jwt_sweep.c: a publication sweeps the verified-token cache only
 * when a key set changed: a 304 revalidation (the same key set objects
 * republished) visits nothing; a new key set of one issuer, or another
 * config, sweeps.
 */
#include "../../support/agentrig.c"

#include "jwt.h"
#include "tokcache.h"
#include "testsupport.h"

static void
test_sweep_only_changed(void **state)
{
	struct snapshot *a = rig_snapshot(1000), *b, *c, *d;
	struct tokcache *tc = tokcache_new(16);
	struct keyset *ks = NULL;
	char err[128];

	(void)state;
	assert_non_null(a);
	assert_non_null(tc);
	/* Revalidated: same config, same key set objects, newer times. */
	assert_non_null(b = rig_refetched(a));
	snapshot_set_keys(b, 0, snapshot_keys(b, 0),
	    snapshot_keys_at(b, 0) + 10);
	assert_false(jwt_cache_sweep(tc, a, b));
	/* The issuer's key set was replaced (a 200 with new keys). */
	assert_non_null(c = snapshot_derive(b, snapshot_cfgref(b)));
	assert_int_equal(loader_keys_from_doc("t", rig_jwks, sizeof(rig_jwks) - 1,
	    &ks, err, sizeof(err)), 0);
	snapshot_set_keys(c, 0, ks, 0);
	keyset_unref(ks);
	assert_true(jwt_cache_sweep(tc, b, c));
	/* Another config: everything is checked. */
	assert_non_null(d = rig_snapshot(1000));
	assert_true(jwt_cache_sweep(tc, c, d));
	assert_true(jwt_cache_sweep(tc, NULL, d));
	/* The cache off: nothing to do. */
	assert_false(jwt_cache_sweep(NULL, c, d));
	tokcache_free(tc);
	snapshot_unref(a);
	snapshot_unref(b);
	snapshot_unref(c);
	snapshot_unref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_only_changed),
	};

	log_set_level(LOG_LVL_ERROR);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
