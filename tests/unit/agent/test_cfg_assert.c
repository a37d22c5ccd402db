/*
 * test_cfg_assert.c: the identity-assertion keys of the configuration
 * (config/cfg_assert.c): defaults, every error with its JSON path, the
 * bound on published keys, policy documents (whose routes need the config
 * file's assertion_issuer), and the route context that cached assertions
 * are matched by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testsupport.h"

#include "config.h"
#include "signer.h"

#define HEAD "{`listen`:[`127.0.0.1:1`],`issuers`:[{`name`:`i`," \
	"`issuer`:`https://idp/`,`jwks_url`:`https://idp/k`,`audiences`:[`a`]}]"
#define TOP "`state_dir`:`/var/lib/s`,`assertion_issuer`:`https://agent/`"
#define ROUTE(extra) "`routes`:[{`name`:`r`,`require`:`jwt`" extra "}]"
#define A(a) ",`assertion`:" a

/* Parse ${doc} (` for "): 0 with *${cfg}, or -1 with every error joined
 * by "|" in ${errs}. */
static int
parse(const char *doc, struct config **cfg, char *errs, size_t cap)
{
	struct config_errors e = { NULL, 0 };
	char *s = strdup(doc);
	size_t n = 0;
	int r;

	assert_non_null(s);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '`')
			*p = '"';
	*cfg = NULL;
	r = config_parse(s, strlen(s), "/etc/spoa", cfg, &e);
	errs[0] = '\0';
	for (size_t i = 0; i < e.n; i++)
		n += (size_t)snprintf(errs + n, n < cap ? cap - n : 0, "%s%s",
		    i ? "|" : "", e.v[i]);
	config_errors_free(&e);
	free(s);
	return (r);
}

static struct config *
ok(const char *doc)
{
	char errs[2048];
	struct config *cfg;

	if (parse(doc, &cfg, errs, sizeof(errs)) != 0)
		fail_msg("%s: %s", doc, errs);
	return (cfg);
}

/* ${doc} is refused with exactly ${want}. */
static void
refused(const char *doc, const char *want)
{
	char errs[2048];
	struct config *cfg;

	if (parse(doc, &cfg, errs, sizeof(errs)) == 0 ||
	    strcmp(errs, want) != 0)
		fail_msg("%s:\n got  %s\n want %s", doc, errs, want);
	assert_null(cfg);
}

static void
test_defaults(void **state)
{
	struct config *cfg;

	(void)state;
	/* None: no assertion anywhere. */
	cfg = ok(HEAD "," ROUTE("") "}");
	assert_null(cfg->assertion_issuer);
	assert_null(cfg->routes[0].assertion);
	assert_int_equal(config_assertion_keep_s(cfg), 300 + 60);
	config_free(cfg);
	cfg = ok(HEAD "," TOP "," ROUTE(A("{`audience`:`api://x`}")) "}");
	assert_string_equal(cfg->assertion_issuer, "https://agent/");
	assert_int_equal(cfg->assertion_alg, SIGNER_ES256);
	assert_int_equal(cfg->assertion_key_rotate_s, 86400);
	assert_int_equal(cfg->assertion_key_ahead_s, 3900);
	assert_null(cfg->assertion_jwks_file);
	assert_string_equal(cfg->routes[0].assertion->audience, "api://x");
	assert_int_equal(cfg->routes[0].assertion->ttl_s, 300);
	config_free(cfg);
	/* Everything given; a short rotation halves the default ahead. */
	cfg = ok(HEAD "," TOP ",`assertion_alg`:`EdDSA`,"
	    "`assertion_key_rotate_s`:600,`assertion_jwks_file`:`keys.json`,"
	    ROUTE(A("{`audience`:`api://x`,`ttl_s`:30}")) "}");
	assert_int_equal(cfg->assertion_alg, SIGNER_EDDSA);
	assert_int_equal(cfg->assertion_key_rotate_s, 600);
	assert_int_equal(cfg->assertion_key_ahead_s, 300);
	assert_string_equal(cfg->assertion_jwks_file, "/etc/spoa/keys.json");
	assert_int_equal(config_assertion_keep_s(cfg), 30 + 60);
	config_free(cfg);
	cfg = ok(HEAD "," TOP ",`assertion_alg`:`RS256`," ROUTE("") "}");
	assert_int_equal(cfg->assertion_alg, SIGNER_RS256);
	config_free(cfg);
}

static void
test_errors(void **state)
{
	(void)state;
	refused(HEAD ",`assertion_issuer`:`https://agent/`," ROUTE("") "}",
	    "assertion_issuer: needs state_dir (the assertion signing keys "
	    "are kept there)");
	refused(HEAD ",`state_dir`:`/s`,`assertion_issuer`:``," ROUTE("") "}",
	    "assertion_issuer: must not be empty");
	refused(HEAD ",`assertion_alg`:`EdDSA`,`assertion_jwks_file`:`k`,"
	    ROUTE("") "}", "assertion_alg: requires assertion_issuer|"
	    "assertion_jwks_file: requires assertion_issuer");
	refused(HEAD "," TOP ",`assertion_alg`:`HS256`," ROUTE("") "}",
	    "assertion_alg: must be ES256, EdDSA or RS256 (got \"HS256\")");
	refused(HEAD "," TOP ",`assertion_alg`:`none`," ROUTE("") "}",
	    "assertion_alg: must be ES256, EdDSA or RS256 (got \"none\")");
	refused(HEAD "," TOP ",`assertion_key_rotate_s`:600,"
	    "`assertion_key_publish_ahead_s`:600," ROUTE("") "}",
	    "assertion_key_publish_ahead_s: must be below "
	    "assertion_key_rotate_s (600)");
	refused(HEAD "," TOP ",`assertion_key_rotate_s`:1," ROUTE("") "}",
	    "assertion_key_rotate_s: must be an integer from 5 to 31536000");
	/* A route's assertion. */
	refused(HEAD "," ROUTE(A("{`audience`:`api://x`}")) "}",
	    "routes[0].assertion: requires the top-level assertion_issuer "
	    "(and state_dir) in the config file");
	refused(HEAD "," TOP "," ROUTE(A("{`ttl_s`:60}")) "}",
	    "routes[0].assertion.audience: required");
	refused(HEAD "," TOP "," ROUTE(A("{`audience`:``}")) "}",
	    "routes[0].assertion.audience: must not be empty");
	{
		char doc[2048], aud[1026];

		memset(aud, 'a', 1025);
		aud[1025] = '\0';
		snprintf(doc, sizeof(doc), "%s", HEAD "," TOP ","
		    ROUTE(A("{`audience`:`%s`}")) "}");
		{
			char full[4096];

			snprintf(full, sizeof(full), doc, aud);
			refused(full, "routes[0].assertion.audience: must be 1 "
			    "to 1024 bytes");
		}
	}
	refused(HEAD "," TOP "," ROUTE(A("{`audience`:`a`,`ttl_s`:5}")) "}",
	    "routes[0].assertion.ttl_s: must be an integer from 10 to 3600");
	refused(HEAD "," TOP "," ROUTE(A("{`audience`:`a`,`ttl_s`:3601}")) "}",
	    "routes[0].assertion.ttl_s: must be an integer from 10 to 3600");
	refused(HEAD "," TOP "," ROUTE(A("{`audience`:`a`,`aud`:`b`}")) "}",
	    "routes[0].assertion.aud: unknown key");
	refused(HEAD "," TOP "," ROUTE(A("{`audience`:`a`,`request_id`:1}"))
	    "}", "routes[0].assertion.request_id: must be true or false");
	refused(HEAD "," TOP "," ROUTE(A("`a`")) "}",
	    "routes[0].assertion: must be an object");
	/* Only where a token is verified. */
	refused(HEAD "," TOP ",`routes`:[{`name`:`r`,`require`:`none`"
	    A("{`audience`:`a`}") "}]}",
	    "routes[0].assertion: only allowed when require is jwt or "
	    "jwt+mtls");
	/* More keys published at once than a signer keeps. */
	refused(HEAD "," TOP ",`assertion_key_rotate_s`:10,"
	    "`assertion_key_publish_ahead_s`:5,"
	    ROUTE(A("{`audience`:`a`,`ttl_s`:100}")) "}",
	    "routes[0].assertion.ttl_s: 100 with assertion_key_rotate_s 10 "
	    "and assertion_key_publish_ahead_s 5 would publish more than 16 "
	    "keys at once: rotate less often");
	{
		struct config *cfg = ok(HEAD "," TOP ",`assertion_key_rotate_s`:"
		    "10,`assertion_key_publish_ahead_s`:5,"
		    ROUTE(A("{`audience`:`a`,`ttl_s`:75}")) "}");

		config_free(cfg);
	}
}

/* A policy document's routes: the config file's assertion_issuer. */
static void
test_policy(void **state)
{
	static const char pol[] = "{\"issuers\":[{\"name\":\"p\","
	    "\"issuer\":\"https://p/\",\"jwks_url\":\"https://p/k\","
	    "\"audiences\":[\"a\"]}],\"routes\":[{\"name\":\"pr\","
	    "\"require\":\"jwt\",\"assertion\":{\"audience\":\"api://p\"}}]}";
	struct config_errors e = { NULL, 0 };
	struct config *with = ok(HEAD "," TOP ",`assertion_alg`:`EdDSA`,"
	    ROUTE("") "}");
	struct config *without = ok(HEAD "," ROUTE("") "}");
	struct config *out = NULL;

	(void)state;
	assert_int_equal(config_policy_parse(pol, strlen(pol), "policy_url",
	    with, &out, &e), 0);
	assert_non_null(out->routes[0].assertion);
	assert_string_equal(out->assertion_issuer, "https://agent/");
	assert_int_equal(out->assertion_alg, SIGNER_EDDSA);
	config_free(out);
	assert_int_equal(config_policy_parse(pol, strlen(pol), "policy_url",
	    without, &out, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0], "policy_url.routes[0].assertion: requires "
	    "the top-level assertion_issuer (and state_dir) in the config "
	    "file");
	config_errors_free(&e);
	config_free(with);
	config_free(without);
}

/* Cached assertions are matched by a route's context: what its claims
 * and signature depend on, and nothing else. */
static void
test_ctx(void **state)
{
	struct config *a = ok(HEAD "," TOP ",`routes`:["
	    "{`name`:`r`,`require`:`jwt`,`path_prefix`:`/a`"
	    A("{`audience`:`x`}") "},"
	    "{`name`:`s`,`require`:`jwt`" A("{`audience`:`x`}") "},"
	    "{`name`:`t`,`require`:`jwt`" A("{`audience`:`y`}") "},"
	    "{`name`:`u`,`require`:`jwt`" A("{`audience`:`y`,`ttl_s`:60}")
	    "},{`name`:`v`,`require`:`jwt`"
	    A("{`audience`:`y`,`ttl_s`:60,`request_id`:true}") "}]}");
	/* The same route elsewhere, with other matching rules. */
	struct config *b = ok(HEAD "," TOP ",`routes`:["
	    "{`name`:`r`,`require`:`jwt`,`path_prefix`:`/b`"
	    A("{`audience`:`x`}") "}]}");
	struct config *c = ok(HEAD "," TOP ",`assertion_alg`:`EdDSA`,"
	    "`routes`:[{`name`:`r`,`require`:`jwt`" A("{`audience`:`x`}")
	    "}]}");
	const uint8_t *r = a->routes[0].assertion->ctx;

	(void)state;
	assert_memory_equal(r, b->routes[0].assertion->ctx, 16);
	assert_memory_not_equal(r, a->routes[1].assertion->ctx, 16);
	assert_memory_not_equal(a->routes[1].assertion->ctx,
	    a->routes[2].assertion->ctx, 16);
	assert_memory_not_equal(a->routes[2].assertion->ctx,
	    a->routes[3].assertion->ctx, 16);
	assert_memory_not_equal(r, c->routes[0].assertion->ctx, 16);
	assert_false(a->routes[3].assertion->request_id);
	assert_true(a->routes[4].assertion->request_id);
	config_free(a);
	config_free(b);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_ctx),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
