/*
 * test_answer.c: the variables an ACK carries (answer_encode()) for
 * allowed and refused verdicts under each "answer" setting: lean answers
 * leave out status and reason of an allowed request unless asked for, and
 * every variable whose value is empty; a refusal always has allow,
 * status, reason, its route and its challenge.  The variables of DPoP,
 * protected resource metadata and identity assertions (issue 15) are
 * never left out: an allowed answer's assertion, a metadata answer's
 * body, a 401's www_authenticate and resource_metadata, in verdicts built
 * here and in verdicts decide() made from a config.
 *
 * Each ACK is decoded with the spoe library's own decoder and written as
 * one line, "name=value ..." in frame order, compared with the expected
 * line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/spop.h"

#include "answer.h"
#include "config.h"
#include "config-t.h"
#include "decide.h"
#include "facts.h"
#include "loader.h"
#include "snapshot.h"
#include "stats.h"
#include "verdict.h"
#include "testsupport.h"

static uint8_t buf[8192];

static const unsigned every[] = {
	0, ANSWER_DEFAULT, ANSWER_OK_STATUS, ANSWER_ALL,
};

/* What ${opts} adds to an allowed answer after "allow=true". */
static const char *
ok_extra(unsigned opts)
{
	switch (opts) {
	case 0:
		return ("");
	case ANSWER_OK_STATUS:
		return (" status=200");
	case ANSWER_OK_REASON:
		return (" reason='ok'");
	default:
		return (" status=200 reason='ok'");
	}
}

/* The ACK of ${v} under ${opts} in a ${mfs}-byte frame, as one line
 * (ints as numbers, booleans as true/false, strings quoted); "" if it
 * could not be encoded. */
static const char *
ack_line(const struct verdict *v, unsigned opts, uint32_t mfs)
{
	static char line[4096];
	struct spop_writer w;
	struct spop_frame f;
	struct spop_cursor c;
	struct spop_action a;
	enum spop_err err;
	size_t at = 0;
	ssize_t n;
	int r;

	spop_w_init(&w, buf, sizeof(buf));
	line[0] = '\0';
	if ((n = answer_encode(v, opts, 7, 3, &w, mfs)) < 0)
		return (line);
	assert_true((size_t)n <= mfs + 4);
	assert_int_equal(spop_frame_decode(buf + 4, (size_t)n - 4, &f, &err), 0);
	assert_int_equal(f.type, SPOP_FRM_T_AGENT_ACK);
	assert_int_equal(f.stream_id, 7);
	assert_int_equal(f.frame_id, 3);
	spop_cursor_init(&c, f.payload.ptr, f.payload.len);
	while ((r = spop_action_next(&c, &a)) == 1) {
		assert_int_equal(a.type, SPOP_ACT_T_SET_VAR);
		assert_int_equal(a.scope, SPOP_SCOPE_TXN);
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%.*s=",
		    at ? " " : "", (int)a.name.len, (const char *)a.name.ptr);
		switch (a.value.type) {
		case SPOP_DATA_T_BOOL:
			at += (size_t)snprintf(line + at, sizeof(line) - at,
			    "%s", a.value.u.b ? "true" : "false");
			break;
		case SPOP_DATA_T_INT32:
			at += (size_t)snprintf(line + at, sizeof(line) - at,
			    "%lld", (long long)a.value.u.s64);
			break;
		case SPOP_DATA_T_STR:
			at += (size_t)snprintf(line + at, sizeof(line) - at,
			    "'%.*s'", (int)a.value.u.bytes.len,
			    (const char *)a.value.u.bytes.ptr);
			break;
		default:
			fail_msg("unexpected type %d", (int)a.value.type);
		}
		assert_true(at < sizeof(line));
	}
	assert_int_equal(r, 0);
	return (line);
}

static void
expect(const struct verdict *v, unsigned opts, const char *want)
{
	const char *got = ack_line(v, opts, 16380);

	if (strcmp(got, want) != 0)
		fail_msg("answer %#x:\n  got:  %s\n  want: %s", opts, got, want);
}

/* An allowed JWT request with empty identity values and claims. */
static void
allowed(struct verdict *v)
{
	verdict_init(v);
	verdict_set(v, REASON_OK, NULL);
	v->route = "orders";
	assert_int_equal(verdict_add(v, "sub", "alice", 5), 0);
	assert_int_equal(verdict_add(v, "issuer", "entra", 5), 0);
	assert_int_equal(verdict_add(v, "client_id", "", 0), 0);
	assert_int_equal(verdict_add(v, "scopes", "", 0), 0);
	assert_int_equal(verdict_add(v, "roles", "Reader", 6), 0);
	assert_int_equal(verdict_add(v, "claim_email", "", 0), 0);
	assert_int_equal(verdict_add(v, "claim_oid", "42", 2), 0);
}

static void
test_allowed(void **state)
{
	struct verdict v;

	(void)state;
	allowed(&v);
	/* The leanest: allow, route, the identity that has a value. */
	expect(&v, 0, "allow=true route='orders' sub='alice' issuer='entra' "
	    "roles='Reader' claim_oid='42'");
	/* The default: reason too (the example haproxy.cfg logs it). */
	expect(&v, ANSWER_DEFAULT, "allow=true reason='ok' route='orders' "
	    "sub='alice' issuer='entra' roles='Reader' claim_oid='42'");
	expect(&v, ANSWER_OK_STATUS, "allow=true status=200 route='orders' "
	    "sub='alice' issuer='entra' roles='Reader' claim_oid='42'");
	/* Both: what every answer carried before lean answers. */
	expect(&v, ANSWER_ALL, "allow=true status=200 reason='ok' "
	    "route='orders' sub='alice' issuer='entra' roles='Reader' "
	    "claim_oid='42'");

	/* A route that requires nothing: allow and the route only. */
	verdict_init(&v);
	verdict_set(&v, REASON_OK, NULL);
	v.route = "health";
	expect(&v, 0, "allow=true route='health'");
	expect(&v, ANSWER_DEFAULT, "allow=true reason='ok' route='health'");
}

static void
test_refused(void **state)
{
	struct verdict v;

	(void)state;
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		unsigned o = every[i];

		/* 401 with its challenge. */
		verdict_init(&v);
		verdict_set(&v, REASON_TOKEN_EXPIRED, NULL);
		v.route = "orders";
		snprintf(v.www_authenticate, sizeof(v.www_authenticate),
		    "Bearer error=\"invalid_token\"");
		expect(&v, o, "allow=false status=401 reason='token_expired' "
		    "route='orders' www_authenticate='Bearer "
		    "error=\"invalid_token\"'");

		/* 403 without a route, without a challenge. */
		verdict_init(&v);
		verdict_set(&v, REASON_NO_ROUTE, NULL);
		expect(&v, o, "allow=false status=403 reason='no_route'");

		/* 503 (not_ready). */
		verdict_init(&v);
		verdict_set(&v, REASON_NOT_READY, NULL);
		v.route = "orders";
		expect(&v, o, "allow=false status=503 reason='not_ready' "
		    "route='orders'");

		/* A refused certificate keeps its identity, but not an empty
		 * subject. */
		verdict_init(&v);
		assert_int_equal(verdict_add(&v, "cert_sha256", "q0Hx", 4), 0);
		assert_int_equal(verdict_add(&v, "cert_subject", "", 0), 0);
		verdict_set(&v, REASON_CERT_NOT_ALLOWED, NULL);
		v.route = "partners";
		expect(&v, o, "allow=false status=403 "
		    "reason='cert_not_allowed' route='partners' "
		    "cert_sha256='q0Hx'");
	}
}

/* The frame-size fallbacks hold whatever the setting. */
static void
test_small_frames(void **state)
{
	struct verdict v;
	struct spop_writer w;
	char big[1000];
	const char *line;
	ssize_t lean, whole;

	(void)state;
	memset(big, 'x', sizeof(big));
	allowed(&v);
	assert_int_equal(verdict_add(&v, "claim_big", big, sizeof(big)), 0);
	/* An allowed answer is whole or not at all, lean or not; the lean
	 * one fits where the whole one does not. */
	spop_w_init(&w, buf, sizeof(buf));
	lean = answer_encode(&v, 0, 7, 3, &w, 16380);
	spop_w_init(&w, buf, sizeof(buf));
	whole = answer_encode(&v, ANSWER_ALL, 7, 3, &w, 16380);
	assert_true(lean > 1000 && whole > lean);
	line = ack_line(&v, 0, (uint32_t)lean - 4);
	assert_non_null(strstr(line, "claim_big='xxx"));
	assert_string_equal(ack_line(&v, 0, (uint32_t)lean - 5), "");
	assert_string_equal(ack_line(&v, ANSWER_ALL, (uint32_t)lean - 4), "");

	/* A refusal falls back to allow, status, reason (and its route). */
	verdict_init(&v);
	verdict_set(&v, REASON_SCOPE_MISSING, NULL);
	v.route = "orders";
	memset(v.www_authenticate, 'c', 500);
	v.www_authenticate[500] = '\0';
	assert_int_equal(verdict_add(&v, "cert_sha256", big, sizeof(big)), 0);
	line = ack_line(&v, 0, 600);
	assert_true(strncmp(line, "allow=false status=403 "
	    "reason='scope_missing' route='orders' www_authenticate='ccc",
	    82) == 0);
	assert_null(strstr(line, "cert_sha256"));
	assert_string_equal(ack_line(&v, 0, 300),
	    "allow=false status=403 reason='scope_missing'");
	assert_string_equal(ack_line(&v, ANSWER_ALL, 300),
	    "allow=false status=403 reason='scope_missing'");
}

#define JWT_A	"eyJhbGciOiJFUzI1NiJ9.eyJyb3V0ZSI6ImEifQ.c2ln"
#define WK	"/.well-known/oauth-protected-resource"
#define ORIGIN	"https://api.example.com"
#define RM_RES	ORIGIN WK "/res"
#define DOC_RES	"{\"resource\":\"" ORIGIN "/res\"}"

/*
 * The variables of issue 15, in verdicts made as decide/assertion.c,
 * decide.c (metadata_request) and pop.c (pop_challenge) make them: none
 * is left out by any setting.
 */
static void
test_pop_vars(void **state)
{
	struct verdict v;
	struct spop_writer w;
	char want[2048];
	ssize_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		unsigned o = every[i];

		/* An allowed token with its identity assertion. */
		allowed(&v);
		assert_int_equal(verdict_add_clean(&v, "assertion", JWT_A,
		    strlen(JWT_A)), 0);
		snprintf(want, sizeof(want), "allow=true%s route='orders' "
		    "sub='alice' issuer='entra' roles='Reader' claim_oid='42' "
		    "assertion='" JWT_A "'", ok_extra(o));
		expect(&v, o, want);

		/* A metadata request: allowed, its document in body. */
		verdict_init(&v);
		verdict_set(&v, REASON_OK, "protected resource metadata");
		v.route = "res";
		assert_int_equal(verdict_add(&v, "body", DOC_RES,
		    strlen(DOC_RES)), 0);
		snprintf(want, sizeof(want), "allow=true%s route='res' "
		    "body='" DOC_RES "'", ok_extra(o));
		expect(&v, o, want);

		/* A 401 on a resource route: the challenge and the URL. */
		verdict_init(&v);
		verdict_set(&v, REASON_TOKEN_MISSING, NULL);
		v.route = "res";
		snprintf(v.www_authenticate, sizeof(v.www_authenticate),
		    "DPoP realm=\"spoa-iam\", algs=\"ES256\", "
		    "resource_metadata=\"" RM_RES "\"");
		assert_int_equal(verdict_add(&v, "resource_metadata", RM_RES,
		    strlen(RM_RES)), 0);
		expect(&v, o, "allow=false status=401 reason='token_missing' "
		    "route='res' www_authenticate='DPoP realm=\"spoa-iam\", "
		    "algs=\"ES256\", resource_metadata=\"" RM_RES "\"' "
		    "resource_metadata='" RM_RES "'");
	}
	/* A 401 one byte too large for the frame keeps its challenge,
	 * which names the metadata URL too, before its variables. */
	spop_w_init(&w, buf, sizeof(buf));
	n = answer_encode(&v, 0, 7, 3, &w, 16380);
	assert_true(n > 5);
	assert_string_equal(ack_line(&v, 0, (uint32_t)n - 5), "allow=false "
	    "status=401 "
	    "reason='token_missing' route='res' www_authenticate='DPoP "
	    "realm=\"spoa-iam\", algs=\"ES256\", resource_metadata=\""
	    RM_RES "\"'");
}

/* ---- verdicts of decide() --------------------------------------------- */

#define SECRET	"a secret of at least 32 bytes for the test issuer"
#define ROUTES_CFG							\
    "{\"listen\": [\"127.0.0.1:1\"],\n"					\
    " \"issuers\": [{\"name\": \"hs\", \"issuer\": \"https://hs.example\",\n" \
    "   \"algorithms\": [\"HS256\"], \"hmac_secret_env\": \"SPOA_TEST_ANSWER\",\n" \
    "   \"audiences\": [\"api://x\"]}],\n"				\
    " \"routes\": [\n"							\
    "  {\"name\": \"res\", \"path_prefix\": \"/res\", \"require\": \"jwt\",\n" \
    "   \"resource\": \"" ORIGIN "/res\"},\n"				\
    "  {\"name\": \"req\", \"path_prefix\": \"/req\", \"require\": \"jwt\",\n" \
    "   \"dpop\": \"required\", \"resource\": \"" ORIGIN "/req\"}]}\n"

static struct snapshot *
routes_snap(void)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	struct snapshot *s = NULL;

	assert_int_equal(setenv("SPOA_TEST_ANSWER", SECRET, 1), 0);
	if (config_parse(ROUTES_CFG, strlen(ROUTES_CFG), NULL, &cfg,
	    &errs) != 0 || loader_build(cfg, NULL, &s, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "config: %s\n", errs.v[i]);
		fail_msg("config refused");
	}
	config_errors_free(&errs);
	return (s);
}

/* decide() for GET ${ORIGIN}${path} without a token. */
static void
decide_get(struct snapshot *s, const char *path, struct verdict *v)
{
	struct agent_stats stats;
	struct decide_env env;
	struct facts f;

	ts_facts_get(&f, ORIGIN, path);
	memset(&env, 0, sizeof(env));
	memset(&stats, 0, sizeof(stats));
	env.now = 1700000000;
	env.stats = &stats;
	assert_int_equal(decide(&f, s, &env, v), DECIDE_DONE);
}

static void
test_decided(void **state)
{
	struct snapshot *s = routes_snap();
	const struct route_cfg *rt = &snapshot_config(s)->routes[0];
	struct verdict v;
	char want[4096];

	(void)state;
	assert_string_equal(rt->name, "res");
	assert_non_null(rt->metadata_doc);
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		unsigned o = every[i];

		/* The metadata document, whole, in an allowed answer. */
		decide_get(s, WK "/res", &v);
		snprintf(want, sizeof(want), "allow=true%s route='res' "
		    "body='%.*s'", ok_extra(o), (int)rt->metadata_doc_len,
		    rt->metadata_doc);
		expect(&v, o, want);

		/* Bearer 401 on a resource route. */
		decide_get(s, "/res/1", &v);
		expect(&v, o, "allow=false status=401 reason='token_missing' "
		    "route='res' www_authenticate='Bearer realm=\"spoa-iam\", "
		    "resource_metadata=\"" RM_RES "\"' "
		    "resource_metadata='" RM_RES "'");

		/* DPoP 401: the DPoP challenge with its algs. */
		decide_get(s, "/req/1", &v);
		expect(&v, o, "allow=false status=401 reason='token_missing' "
		    "route='req' www_authenticate='DPoP realm=\"spoa-iam\", "
		    "algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 "
		    "ES512 EdDSA\", resource_metadata=\"" ORIGIN WK "/req\"' "
		    "resource_metadata='" ORIGIN WK "/req'");
	}
	snapshot_unref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_small_frames),
		cmocka_unit_test(test_pop_vars),
		cmocka_unit_test(test_decided),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
