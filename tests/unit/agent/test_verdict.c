/*
 * test_verdict.c: the answer being built: status per reason, and the
 * variables HAProxy turns into headers (no CR, LF or NUL anywhere, bounded
 * length and count).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "verdict.h"

static struct verdict V;

static void
test_set(void **state)
{
	(void)state;
	verdict_init(&V);
	assert_false(V.allow);
	assert_int_equal(V.nvars, 0);
	verdict_set(&V, REASON_OK, NULL);
	assert_true(V.allow);
	assert_int_equal(V.status, 200);
	verdict_set(&V, REASON_TOKEN_EXPIRED, "token expired");
	assert_false(V.allow);
	assert_int_equal(V.status, 401);
	assert_string_equal(V.detail, "token expired");
	verdict_set(&V, REASON_SCOPE_MISSING, NULL);
	assert_int_equal(V.status, 403);
	verdict_set(&V, REASON_NOT_READY, NULL);
	assert_int_equal(V.status, 503);
}

/* CR, LF or NUL at any position of values of every length up to 40
 * (the check runs eight bytes at a time, then byte by byte). */
static void
test_header_safe_values(void **state)
{
	static const char bad[] = { '\r', '\n', '\0' };
	char val[64];
	const struct verdict_var *vv;

	(void)state;
	for (size_t len = 1; len <= 40; len++) {
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t b = 0; b < sizeof(bad); b++) {
				memset(val, 'x', len);
				val[pos] = bad[b];
				verdict_init(&V);
				if (verdict_add(&V, "sub", val, len) != -1)
					fail_msg("len %zu pos %zu byte %d accepted",
					    len, pos, bad[b]);
				assert_int_equal(V.nvars, 0);
				assert_int_equal(V.arena_used, 0);
			}
		}
		/* Every other byte value is fine, at every position. */
		for (int c = 1; c < 256; c++) {
			if (c == '\r' || c == '\n')
				continue;
			memset(val, 'x', len);
			val[len - 1] = (char)c;
			val[0] = (char)c;
			verdict_init(&V);
			assert_int_equal(verdict_add(&V, "sub", val, len), 0);
			vv = verdict_get(&V, "sub");
			assert_non_null(vv);
			assert_int_equal(vv->len, len);
			assert_memory_equal(vv->val, val, len);
		}
	}
	/* The empty value is allowed. */
	verdict_init(&V);
	assert_int_equal(verdict_add(&V, "roles", "", 0), 0);
	assert_int_equal(verdict_get(&V, "roles")->len, 0);
	assert_null(verdict_get(&V, "sub"));
}

static void
test_bounds(void **state)
{
	static char big[VERDICT_VALUE_MAX + 2];
	char name[VERDICT_MAX_VARS + 1][16];
	size_t used = 0;

	(void)state;
	memset(big, 'v', sizeof(big));
	verdict_init(&V);
	assert_int_equal(verdict_add(&V, "a", big, VERDICT_VALUE_MAX + 1), -1);
	assert_int_equal(verdict_add(&V, "a", big, VERDICT_VALUE_MAX), 0);
	used = VERDICT_VALUE_MAX;
	/* Fill the arena: the addition that does not fit is refused. */
	while (used + VERDICT_VALUE_MAX <= VERDICT_ARENA) {
		assert_int_equal(verdict_add(&V, "b", big, VERDICT_VALUE_MAX), 0);
		used += VERDICT_VALUE_MAX;
	}
	assert_int_equal(verdict_add(&V, "c", big, VERDICT_ARENA - used + 1),
	    -1);
	assert_int_equal(verdict_add(&V, "c", big, VERDICT_ARENA - used), 0);
	/* At most VERDICT_MAX_VARS variables. */
	verdict_init(&V);
	for (int i = 0; i < VERDICT_MAX_VARS; i++) {
		snprintf(name[i], sizeof(name[i]), "v%d", i);
		assert_int_equal(verdict_add(&V, name[i], "1", 1), 0);
	}
	assert_int_equal(verdict_add(&V, "over", "1", 1), -1);
	assert_int_equal(V.nvars, VERDICT_MAX_VARS);
	assert_memory_equal(verdict_get(&V, "v63")->val, "1", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_header_safe_values),
		cmocka_unit_test(test_bounds),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
