/*
 * test_tokcache.c: the verified-token cache: hits, expiry, replacement,
 * bounded size with CLOCK eviction, sweeps, and ownership of values.
 */
#include <stdlib.h>
#include <string.h>

#include "tokcache.h"
#include "testsupport.h"

static int freed;

static void
count_free(void *v)
{
	freed++;
	free(v);
}

static void
key_of(uint32_t i, uint8_t key[32])
{
	/* Spread like a hash would, deterministic. */
	for (int k = 0; k < 32; k++)
		key[k] = (uint8_t)((i * 2654435761u) >> ((k % 4) * 8)) ^ (uint8_t)k;
	memcpy(key + 28, &i, 4);
}

static int *
val(int v)
{
	int *p = malloc(sizeof(*p));
	*p = v;
	return (p);
}

static void
test_off(void **state)
{
	uint8_t k[32];

	(void)state;
	freed = 0;
	key_of(1, k);
	assert_null(tokcache_new(0));
	assert_null(tokcache_get(NULL, k, 0));
	assert_int_equal(tokcache_put(NULL, k, val(1), 10, count_free), -1);
	assert_int_equal(freed, 1);    /* ownership taken even when off */
	tokcache_free(NULL);
}

static void
test_hit_expiry_replace(void **state)
{
	struct tokcache *tc = tokcache_new(16);
	uint8_t k[32], k2[32];
	int *v;

	(void)state;
	freed = 0;
	key_of(1, k);
	key_of(2, k2);
	assert_int_equal(tokcache_put(tc, k, val(7), 100, count_free), 0);
	v = tokcache_get(tc, k, 99);
	assert_non_null(v);
	assert_int_equal(*v, 7);
	assert_null(tokcache_get(tc, k2, 99));
	/* Replacing frees the old value. */
	assert_int_equal(tokcache_put(tc, k, val(8), 200, count_free), 0);
	assert_int_equal(freed, 1);
	assert_int_equal(*(int *)tokcache_get(tc, k, 150), 8);
	assert_int_equal(tokcache_count(tc), 1);
	/* Dead at its expiry time exactly. */
	assert_null(tokcache_get(tc, k, 200));
	assert_int_equal(freed, 2);
	assert_int_equal(tokcache_count(tc), 0);
	tokcache_free(tc);
}

static void
test_bounded_eviction(void **state)
{
	struct tokcache *tc = tokcache_new(100);
	uint8_t k[32];
	int hot_hits = 0;

	(void)state;
	freed = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		key_of(i, k);
		assert_int_equal(tokcache_put(tc, k, val((int)i), 1000, count_free), 0);
		assert_true(tokcache_count(tc) <= 100);
		/* Key 0 is used all the time: CLOCK keeps it. */
		key_of(0, k);
		if (tokcache_get(tc, k, 1) != NULL)
			hot_hits++;
	}
	assert_int_equal(tokcache_count(tc), 100);
	assert_int_equal(freed, 900);
	assert_int_equal(hot_hits, 1000);
	/* The most recent insertions are present. */
	key_of(999, k);
	assert_non_null(tokcache_get(tc, k, 1));
	tokcache_free(tc);
	assert_int_equal(freed, 1000);
}

static bool
keep_even(void *v, void *arg)
{
	(void)arg;
	return ((*(int *)v % 2) == 0);
}

static void
test_sweep(void **state)
{
	struct tokcache *tc = tokcache_new(64);
	uint8_t k[32];

	(void)state;
	freed = 0;
	for (uint32_t i = 0; i < 10; i++) {
		key_of(i, k);
		tokcache_put(tc, k, val((int)i), 1000, count_free);
	}
	tokcache_sweep(tc, keep_even, NULL);
	assert_int_equal(tokcache_count(tc), 5);
	assert_int_equal(freed, 5);
	for (uint32_t i = 0; i < 10; i++) {
		key_of(i, k);
		if (i % 2)
			assert_null(tokcache_get(tc, k, 1));
		else
			assert_non_null(tokcache_get(tc, k, 1));
	}
	/* Freed slots are reused without growing past the bound. */
	for (uint32_t i = 100; i < 200; i++) {
		key_of(i, k);
		tokcache_put(tc, k, val((int)i), 1000, count_free);
	}
	assert_int_equal(tokcache_count(tc), 64);
	tokcache_free(tc);
}

static int att_freed;

static void
att_free(void *v)
{
	att_freed++;
	free(v);
}

/*
 * Attachments: what the cache's user hangs on an entry later (identity
 * assertions) without touching its value; they die with the entry, by
 * expiry, replacement, sweep, eviction or the cache's end, and a cache
 * that has no such entry releases them at once.
 */
static void
test_attach(void **state)
{
	struct tokcache *tc = tokcache_new(4);
	uint8_t k[32], k2[32];
	void *att = (void *)1;
	int *a;

	(void)state;
	freed = att_freed = 0;
	key_of(1, k);
	key_of(2, k2);
	/* No entry: refused and released. */
	assert_int_equal(tokcache_attach(tc, k, val(0), att_free), -1);
	assert_int_equal(att_freed, 1);
	tokcache_put(tc, k, val(7), 100, count_free);
	assert_non_null(tokcache_get_att(tc, k, 1, &att));
	assert_null(att);
	a = val(70);
	assert_int_equal(tokcache_attach(tc, k, a, att_free), 0);
	assert_int_equal(*(int *)tokcache_get_att(tc, k, 1, &att), 7);
	assert_ptr_equal(att, a);
	/* The same one again: kept, not released. */
	assert_int_equal(tokcache_attach(tc, k, a, att_free), 0);
	assert_int_equal(att_freed, 1);
	/* Another replaces it. */
	assert_int_equal(tokcache_attach(tc, k, val(71), att_free), 0);
	assert_int_equal(att_freed, 2);
	/* Expiry takes the attachment with the entry. */
	assert_null(tokcache_get_att(tc, k, 100, &att));
	assert_null(att);
	assert_int_equal(att_freed, 3);
	assert_int_equal(freed, 1);
	/* A replaced entry starts without one. */
	tokcache_put(tc, k, val(8), 100, count_free);
	assert_int_equal(tokcache_attach(tc, k, val(80), att_free), 0);
	tokcache_put(tc, k, val(9), 100, count_free);
	assert_int_equal(att_freed, 4);
	assert_non_null(tokcache_get_att(tc, k, 1, &att));
	assert_null(att);
	/* Sweep. */
	assert_int_equal(tokcache_attach(tc, k, val(90), att_free), 0);
	tokcache_sweep(tc, keep_even, NULL);    /* 9 is odd: dropped */
	assert_int_equal(att_freed, 5);
	/* Eviction: four entries with attachments, a fifth evicts one. */
	for (uint32_t i = 10; i < 14; i++) {
		key_of(i, k);
		tokcache_put(tc, k, val((int)i), 100, count_free);
		assert_int_equal(tokcache_attach(tc, k, val(0), att_free), 0);
	}
	tokcache_put(tc, k2, val(2), 100, count_free);
	assert_int_equal(tokcache_count(tc), 4);
	assert_int_equal(att_freed, 6);
	/* The end of the cache releases the rest. */
	tokcache_free(tc);
	assert_int_equal(att_freed, 9);
	/* Cache off: released at once. */
	assert_int_equal(tokcache_attach(NULL, k, val(0), att_free), -1);
	assert_int_equal(att_freed, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_hit_expiry_replace),
		cmocka_unit_test(test_bounded_eviction),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_attach),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
