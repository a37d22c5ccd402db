/*
 * test_fetch_status.c: the fetcher's /readyz document (status.c), from
 * display fields set by hand in a fetcher that never runs: the exact text,
 * UTF-8 kept as it is, only what JSON requires escaped, bytes that are not
 * UTF-8 replaced so that the text stays valid JSON, and the ready verdict.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "testsupport.h"

#include "abuf.h"
#include "fetch.h"
#include "fetch_int.h"
#include "json_strict.h"

static struct source src;
static struct cred cred;
static struct issuer_stat istat;
static struct fetcher f;
static char src_id[] = "jwks:idp", cred_name[] = "cc", issuer_name[] = "idp";

/*
 * A fetcher with one JWKS source, one client-certificate credential and
 * one remote issuer without keys; no policy_url.  Nothing started.
 */
static int
setup(void **state)
{
	(void)state;
	memset(&src, 0, sizeof(src));
	memset(&cred, 0, sizeof(cred));
	memset(&istat, 0, sizeof(istat));
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	src.kind = SRC_JWKS;
	src.id = src_id;
	src.st.state = ST_STALE;
	memcpy(src.st.url, "https://idp.example/keys", 25);
	src.st.fetches = 3;
	src.st.failures = 1;
	src.st.rejected = 2;
	src.st.kid_refetches = 4;
	cred.c.name = cred_name;
	cred.c.type = CRED_CLIENT_CERT;
	istat.name = issuer_name;
	istat.keys_from = "jwks_url";
	istat.remote = true;
	f.sources = &src;
	f.creds = &cred;
	f.istat = &istat;
	f.nistat = 1;
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	pthread_mutex_destroy(&f.lock);
	return (0);
}

static void
set_error(const char *e)
{
	size_t n = strlen(e);

	assert_true(n < sizeof(src.st.last_error));
	memcpy(src.st.last_error, e, n + 1);
}

/* fetch_ready() of the fetcher: its text (caller frees) and verdict. */
static char *
ready(bool *ok)
{
	struct abuf b = { 0 };

	*ok = fetch_ready(&f, &b);
	assert_false(b.oom);
	assert_non_null(b.p);
	assert_int_equal(strlen(b.p), b.len);
	return (b.p);
}

/* True if the ${len} bytes at ${s} are well-formed UTF-8. */
static bool
utf8_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = (unsigned char)s[i] < 0x80 ? 1 :
		    json_strict_utf8_len((const uint8_t *)s + i, len - i);

		if (n == 0)
			return (false);
		i += n;
	}
	return (true);
}

static void
test_exact_text(void **state)
{
	bool ok;
	char *t;

	(void)state;
	/* UTF-8 (é, €, U+1F511) stays as it is; '"', '\' and control bytes
	 * are escaped; DEL needs no escape. */
	set_error("cl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \"k1\" \\ \n\t\x01\x7f!");
	t = ready(&ok);
	assert_false(ok);               /* the issuer has no keys */
	assert_string_equal(t, "{\"jwks:idp\":{\"kind\":\"jwks\","
	    "\"url\":\"https://idp.example/keys\",\"state\":\"stale\","
	    "\"age_s\":null,"
	    "\"last_error\":\"cl\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 "
	    "\\\"k1\\\" \\\\ \\n\\t\\u0001\x7f!\","
	    "\"fetches\":3,\"failures\":1,\"not_modified\":0,\"rejected\":2,"
	    "\"kid_refetches\":4,\"next_refresh_s\":null},"
	    "\"credential:cc\":{\"kind\":\"client_certificate\",\"state\":\"ok\"},"
	    "\"issuer:idp\":{\"kind\":\"issuer\",\"keys_from\":\"jwks_url\","
	    "\"state\":\"pending\",\"keys_age_s\":null},"
	    "\"policy_loaded\":null}");
	free(t);
}

static void
test_not_utf8(void **state)
{
	static const char *const bad[] = {
		"\xff",                 /* never in UTF-8 */
		"\xc3",                 /* cut short */
		"\xc3(",                /* bad continuation */
		"\xc0\xaf",             /* overlong '/' */
		"\xed\xa0\x80",         /* an encoded surrogate */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\x80",                 /* a lone continuation byte */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char e[64];
		bool ok;
		char *t;
		cJSON *doc;
		const cJSON *le;

		snprintf(e, sizeof(e), "a%sb", bad[i]);
		set_error(e);
		t = ready(&ok);
		if (!utf8_ok(t, strlen(t)))
			fail_msg("case %zu: the text is not UTF-8", i);
		doc = cJSON_Parse(t);
		if (doc == NULL)
			fail_msg("case %zu: not JSON: %s", i, t);
		le = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(doc, "jwks:idp"),
		    "last_error");
		assert_true(cJSON_IsString(le));
		/* "a", one U+FFFD per byte that starts no character, "b". */
		assert_true(strncmp(le->valuestring, "a\xef\xbf\xbd", 4) == 0);
		assert_true(le->valuestring[strlen(le->valuestring) - 1] == 'b');
		assert_null(strstr(le->valuestring, "\\u00"));
		cJSON_Delete(doc);
		free(t);
	}
}

static void
test_ready_and_ages(void **state)
{
	int64_t now = (int64_t)time(NULL);
	const cJSON *o, *v;
	cJSON *doc;
	bool ok;
	char *t;

	(void)state;
	istat.has_keys = true;
	istat.keys_at = now - 5;
	src.st.good_at = now - 7;
	src.st.next_at = now + 60;
	src.st.state = ST_OK;
	f.policy_configured = true;
	f.policy_loaded = true;
	f.policy_at = now;
	t = ready(&ok);
	assert_true(ok);
	assert_non_null(doc = cJSON_Parse(t));
	o = cJSON_GetObjectItemCaseSensitive(doc, "jwks:idp");
	v = cJSON_GetObjectItemCaseSensitive(o, "age_s");
	assert_true(cJSON_IsNumber(v) && v->valuedouble >= 7 &&
	    v->valuedouble <= 9);
	v = cJSON_GetObjectItemCaseSensitive(o, "next_refresh_s");
	assert_true(cJSON_IsNumber(v) && v->valuedouble >= 58 &&
	    v->valuedouble <= 60);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
	    "last_error")));
	o = cJSON_GetObjectItemCaseSensitive(doc, "issuer:idp");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
	    "state")->valuestring, "ok");
	v = cJSON_GetObjectItemCaseSensitive(o, "keys_age_s");
	assert_true(cJSON_IsNumber(v) && v->valuedouble >= 5 &&
	    v->valuedouble <= 7);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc,
	    "policy_loaded")));
	cJSON_Delete(doc);
	free(t);

	/* Stale keys (fetch.max_stale_s), or the policy not loaded: not
	 * ready. */
	f.max_stale_s = 2;
	t = ready(&ok);
	assert_false(ok);
	assert_non_null(strstr(t, "\"issuer:idp\":{\"kind\":\"issuer\","
	    "\"keys_from\":\"jwks_url\",\"state\":\"stale\""));
	free(t);
	f.max_stale_s = 0;
	f.policy_loaded = false;
	t = ready(&ok);
	assert_false(ok);
	assert_non_null(strstr(t, "\"policy_loaded\":false}"));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ready_and_ages, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
