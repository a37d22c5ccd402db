/*
 * test_tokenresp.c: OAuth 2.0 / managed-identity token responses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "tokenresp.h"

#define NOW 1700000000

static int
parse(const char *doc, char **tok, int64_t *exp, char *err, size_t errlen)
{
	size_t tlen = 0;
	int rc = tokenresp_parse(doc, strlen(doc), NOW, tok, &tlen, exp, err,
	    errlen);

	if (rc == 0)
		assert_int_equal(tlen, strlen(*tok));
	return (rc);
}

static void
good(const char *doc, const char *want_tok, int64_t want_ttl)
{
	char *tok = NULL, err[128];
	int64_t exp = 0;

	if (parse(doc, &tok, &exp, err, sizeof(err)) != 0)
		fail_msg("refused %s: %s", doc, err);
	assert_string_equal(tok, want_tok);
	if (exp != NOW + want_ttl)
		fail_msg("%s: ttl %lld, want %lld", doc, (long long)(exp - NOW),
		    (long long)want_ttl);
	free(tok);
}

static void
test_good_real(void **state)
{
	(void)state;
	good("{\"access_token\":\"eyJ0.eyJ1.sig\",\"token_type\":\"Bearer\","
	    "\"expires_in\":3599}", "eyJ0.eyJ1.sig", 3599);
	/* IMDS: strings everywhere; expires_in wins over expires_on. */
	good("{\"access_token\":\"abc\",\"refresh_token\":\"\",\"expires_in\":\"3599\","
	    "\"expires_on\":\"1700000100\",\"not_before\":\"1699996500\","
	    "\"resource\":\"api://policy\",\"token_type\":\"Bearer\"}", "abc", 3599);
	good("{\"access_token\":\"abc\",\"expires_on\":1700000100}", "abc", 100);
	good("{\"access_token\":\"abc\",\"expires_on\":\"1700000100\"}", "abc", 100);
	good("{\"access_token\":\"abc\",\"token_type\":\"bearer\"}", "abc",
	    TOKENRESP_DEFAULT_TTL);
	good("{\"access_token\":\"abc\",\"expires_in\":1e9}", "abc",
	    TOKENRESP_MAX_TTL);
	good("{\"access_token\":\"abc\",\"expires_in\":59.9}", "abc", 59);
	/* An App Service date string in expires_on is not understood: default. */
	good("{\"access_token\":\"abc\",\"expires_on\":\"09/14/2017 00:00:00 PM +00:00\"}",
	    "abc", TOKENRESP_DEFAULT_TTL);
	good("{\"access_token\":\"abc\",\"expires_in\":\"soon\",\"expires_on\":1700000010}",
	    "abc", 10);
}

static void
bad(const char *doc, const char *want_err)
{
	char *tok = (char *)0x1, err[128] = "";
	int64_t exp = 42;

	if (parse(doc, &tok, &exp, err, sizeof(err)) != -1)
		fail_msg("accepted %s", doc);
	assert_null(tok);
	assert_true(exp == 42);
	if (want_err != NULL && strstr(err, want_err) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", doc, err, want_err);
	/* The token never shows in the message. */
	assert_null(strstr(err, "SECRET"));
}

static void
test_bad(void **state)
{
	(void)state;
	bad("", "empty");
	bad("[]", "JSON");
	bad("{", "JSON");
	bad("{\"access_token\":\"SECRET\",\"access_token\":\"x\"}", "JSON");
	bad("{}", "no access_token");
	bad("{\"access_token\":\"\"}", "no access_token");
	bad("{\"access_token\":7}", "no access_token");
	bad("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}",
	    "\"invalid_client\"");
	bad("{\"error\":\"a\\\"b\\u0001c\"}", "a?b?c");
	bad("{\"access_token\":\"SE CRET\"}", "visible");
	bad("{\"access_token\":\"SECRET\\n\"}", "visible");
	bad("{\"access_token\":\"SECRET\\u00e9\"}", "visible");
	bad("{\"access_token\":\"SECRET\",\"token_type\":\"mac\"}", "Bearer");
	bad("{\"access_token\":\"SECRET\",\"token_type\":1}", "Bearer");
	/* RFC 6749 §5.1's example type is not one we can send. */
	bad("{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":\"example\"}",
	    "Bearer");
	bad("{\"access_token\":\"SECRET\",\"expires_in\":0}", "expired");
	bad("{\"access_token\":\"SECRET\",\"expires_in\":-5}", "range");
	bad("{\"access_token\":\"SECRET\",\"expires_in\":1e400}", "range");
	bad("{\"access_token\":\"SECRET\",\"expires_on\":1699999999}", "expired");
	bad("{\"access_token\":\"SECRET\",\"expires_on\":\"1700000000\"}", "expired");
	bad("{\"access_token\":\"SECRET\"} trailing", "JSON");
}

static void
test_limits(void **state)
{
	size_t n = TOKENRESP_TOKEN_MAX + 1;
	char *doc = malloc(n + 64), *tok = NULL, err[128];
	size_t tlen;
	int64_t exp;

	(void)state;
	memcpy(doc, "{\"access_token\":\"", 17);
	memset(doc + 17, 'A', n);
	memcpy(doc + 17 + n, "\"}", 3);
	assert_int_equal(tokenresp_parse(doc, strlen(doc), NOW, &tok, &tlen, &exp,
	    err, sizeof(err)), -1);
	memcpy(doc + 17 + n - 1, "\"}", 3);
	assert_int_equal(tokenresp_parse(doc, strlen(doc), NOW, &tok, &tlen, &exp,
	    err, sizeof(err)), 0);
	assert_int_equal(tlen, TOKENRESP_TOKEN_MAX);
	free(tok);
	free(doc);
	assert_int_equal(tokenresp_parse(NULL, 0, NOW, &tok, &tlen, &exp, err,
	    sizeof(err)), -1);
	assert_int_equal(tokenresp_parse("{}", TOKENRESP_DOC_MAX + 1, NOW, &tok,
	    &tlen, &exp, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_real),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_limits),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
