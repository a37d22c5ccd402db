/*
 * test_claims.c: claim checks with an injected clock (jwt.md S14, S19).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testsupport.h"
#include "tree_oracle.h"

#include "b64url.h"
#include "claims.h"
#include "config.h"
#include "jws.h"
#include "reason.h"
#include "util.h"

#define NOW	INT64_C(1700000000)
#define T1	"72f988bf-86f1-41af-91ab-2d7cd011db47"
#define T1UP	"72F988BF-86F1-41AF-91AB-2D7CD011DB47"
#define T2	"9188040d-6c67-4c5b-b112-36a304b66dad"

static cJSON *
js(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	if (j == NULL)
		fail_msg("test JSON does not parse: %s", s);
	return (j);
}

#define SL(name, ...)							\
	char *name##_v[] = { __VA_ARGS__ };				\
	struct strlist name = { name##_v, ARRAY_SIZE(name##_v) }

static const struct strlist empty = { NULL, 0 };

/* ---- claims_get --------------------------------------------------------- */

static void
test_get(void **state)
{
	cJSON *p = js("{\"sub\":\"alice\",\"cnf\":{\"x5t#S256\":\"abc\"},"
	    "\"a\":{\"b\":{\"c\":3}},\"https://example.com/roles\":[\"r\"],"
	    "\"ext\":{\"https://x.example/k\":true},\"s\":\"str\"}");
	const cJSON *it;

	(void)state;
	assert_string_equal(claims_get(p, "sub")->valuestring, "alice");
	assert_string_equal(claims_get(p, "cnf.x5t#S256")->valuestring, "abc");
	it = claims_get(p, "a.b.c");
	assert_non_null(it);
	assert_true(it->valuedouble == 3);
	assert_true(cJSON_IsObject(claims_get(p, "a.b")));
	/* Names that contain dots. */
	assert_true(cJSON_IsArray(claims_get(p, "https://example.com/roles")));
	assert_true(cJSON_IsTrue(claims_get(p, "ext.https://x.example/k")));
	/* Absent, wrong case, through a non-object, malformed paths. */
	assert_null(claims_get(p, "SUB"));
	assert_null(claims_get(p, "nope"));
	assert_null(claims_get(p, "a.x"));
	assert_null(claims_get(p, "a.b.c.d"));
	assert_null(claims_get(p, "s.x"));
	assert_null(claims_get(p, ""));
	assert_null(claims_get(p, "a."));
	assert_null(claims_get(p, ".a"));
	assert_null(claims_get(p, "a..b"));
	assert_null(claims_get(p, NULL));
	assert_null(claims_get(NULL, "sub"));
	cJSON_Delete(p);
}

/* ---- NumericDate and time checks (S14) ---------------------------------- */

static void
test_numeric_date(void **state)
{
	static const struct { const char *json; int ok; double v; } v[] = {
		{ "0", 0, 0 },
		{ "1700000000", 0, 1700000000 },
		{ "1.5e9", 0, 1500000000 },
		{ "1700000000.25", 0, 1700000000.25 },
		{ "2147483648", 0, 2147483648.0 },
		{ "4294967296", 0, 4294967296.0 },
		{ "253402300799", 0, 253402300799.0 },
		{ "253402300800", -1, 0 },
		{ "1e400", -1, 0 },
		{ "-1e400", -1, 0 },
		{ "-1", -1, 0 },
		{ "-0.5", -1, 0 },
		{ "\"9999999999\"", -1, 0 },
		{ "\"1700000000\"", -1, 0 },
		{ "true", -1, 0 },
		{ "null", -1, 0 },
		{ "[1700000000]", -1, 0 },
		{ "{}", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		cJSON *j = js(v[i].json);
		double d = -42;
		int rc = claims_numeric_date(j, &d);
		if (rc != v[i].ok)
			fail_msg("%s: rc %d", v[i].json, rc);
		if (rc == 0 && d != v[i].v)
			fail_msg("%s: %f", v[i].json, d);
		cJSON_Delete(j);
	}
	assert_int_equal(claims_numeric_date(NULL, NULL), -1);
}

/* Run claims_check_time on a payload; return the reason (OK on success). */
static enum reason
tcheck(const char *payload, int64_t now, uint32_t skew, bool req_exp,
    uint32_t maxlife, const char **detail)
{
	cJSON *p = js(payload);
	enum reason r = REASON_NOT_READY;
	const char *d = "unset";
	int rc = claims_check_time(p, now, skew, req_exp, maxlife, &r, &d);

	cJSON_Delete(p);
	if (rc == 0) {
		assert_int_equal(r, REASON_OK);
		if (detail != NULL)
			*detail = NULL;
		return (REASON_OK);
	}
	assert_int_equal(rc, -1);
	assert_non_null(d);
	if (detail != NULL)
		*detail = d;
	return (r);
}

static void
texpect(const char *payload, int64_t now, uint32_t skew, bool req,
    uint32_t ml, enum reason want, const char *wdetail)
{
	const char *d = NULL;
	enum reason r = tcheck(payload, now, skew, req, ml, &d);

	if (r != want)
		fail_msg("%s @%lld: got %s (%s), want %s", payload,
		    (long long)now, reason_name(r), d ? d : "-",
		    reason_name(want));
	if (wdetail != NULL && (d == NULL || strcmp(d, wdetail) != 0))
		fail_msg("%s: detail %s", payload, d ? d : "-");
}

#define TEXPECT texpect

static void
test_time_exp_boundaries(void **state)
{
	(void)state;
	/* now >= exp + skew is expired: exactly at exp + skew fails. */
	TEXPECT("{\"exp\":1700000000}", NOW + 60, 60, true, 0,
	    REASON_TOKEN_EXPIRED, "token expired");
	TEXPECT("{\"exp\":1700000000}", NOW + 59, 60, true, 0, REASON_OK, NULL);
	TEXPECT("{\"exp\":1700000000}", NOW, 0, true, 0,
	    REASON_TOKEN_EXPIRED, NULL);
	TEXPECT("{\"exp\":1700000000}", NOW - 1, 0, true, 0, REASON_OK, NULL);
	/* Fractional exp. */
	TEXPECT("{\"exp\":1699999940.5}", NOW, 60, true, 0, REASON_OK, NULL);
	TEXPECT("{\"exp\":1699999939.5}", NOW, 60, true, 0,
	    REASON_TOKEN_EXPIRED, NULL);
	TEXPECT("{\"exp\":1.5e9}", INT64_C(1400000000), 60, true, 0,
	    REASON_OK, NULL);
	/* Beyond INT_MAX: valueint would saturate to 2147483647 and call
	 * this token expired; valuedouble gets it right. */
	TEXPECT("{\"exp\":2147483648}", INT64_C(2147483707), 60, true, 0,
	    REASON_OK, NULL);
	TEXPECT("{\"exp\":2147483648}", INT64_C(2147483708), 60, true, 0,
	    REASON_TOKEN_EXPIRED, NULL);
	/* Far future, at the top of the range. */
	TEXPECT("{\"exp\":253402300799}", NOW, 60, true, 0, REASON_OK, NULL);
	/* Skew of a whole day. */
	TEXPECT("{\"exp\":1700000000}", NOW + 86399, 86400, true, 0,
	    REASON_OK, NULL);
}

static void
test_time_s14_bad_values(void **state)
{
	(void)state;
	TEXPECT("{\"exp\":1e400}", NOW, 60, true, 0, REASON_TOKEN_MALFORMED,
	    "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":\"9999999999\"}", NOW, 60, true, 0,
	    REASON_TOKEN_MALFORMED, "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":-1}", NOW, 60, true, 0, REASON_TOKEN_MALFORMED,
	    "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":253402300800}", NOW, 60, true, 0,
	    REASON_TOKEN_MALFORMED, "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":null}", NOW, 60, true, 0, REASON_TOKEN_MALFORMED,
	    "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":true}", NOW, 60, false, 0, REASON_TOKEN_MALFORMED,
	    "exp is not a valid NumericDate");
	/* Bad even when exp is not required. */
	TEXPECT("{\"exp\":\"x\"}", NOW, 60, false, 0, REASON_TOKEN_MALFORMED,
	    "exp is not a valid NumericDate");
	TEXPECT("{\"exp\":1800000000,\"nbf\":\"1\"}", NOW, 60, true, 0,
	    REASON_TOKEN_MALFORMED, "nbf is not a valid NumericDate");
	TEXPECT("{\"exp\":1800000000,\"iat\":-5}", NOW, 60, true, 0,
	    REASON_TOKEN_MALFORMED, "iat is not a valid NumericDate");
	/* A bad type beats an expiry: malformed is reported first. */
	TEXPECT("{\"exp\":1,\"nbf\":[]}", NOW, 60, true, 0,
	    REASON_TOKEN_MALFORMED, "nbf is not a valid NumericDate");
}

/* S14 end to end: the JSON text goes through jws_parse (json_strict
 * accepts 1e400, the grammar allows it) and then the time check. */
static void
test_time_s14_through_jws(void **state)
{
	static const struct { const char *payload; enum reason want; } v[] = {
		{ "{\"exp\":1e400}", REASON_TOKEN_MALFORMED },
		{ "{\"exp\":\"9999999999\"}", REASON_TOKEN_MALFORMED },
		{ "{\"exp\":-1}", REASON_TOKEN_MALFORMED },
		{ "{\"exp\":1.5e9}", REASON_TOKEN_EXPIRED },
		{ "{\"exp\":1700000100.5}", REASON_OK },
		{ "{\"exp\":2147483648}", REASON_OK },
		{ "{\"sub\":\"no exp\"}", REASON_TOKEN_MALFORMED },
		{ "{\"exp\":1800000000,\"nbf\":1700000061}",
		    REASON_TOKEN_NOT_YET_VALID },
	};
	static const char hdr[] = "eyJhbGciOiJSUzI1NiJ9";	/* RS256 */

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char tok[256];
		size_t n = sizeof(hdr) - 1;
		struct jws j;
		enum reason r;

		memcpy(tok, hdr, n);
		tok[n++] = '.';
		n += b64url_encode((const uint8_t *)v[i].payload,
		    strlen(v[i].payload), tok + n, sizeof(tok) - n);
		memcpy(tok + n, ".c2ln", 6);
		n += 5;
		/* 1e400 passes the parser: it is valid JSON grammar. */
		assert_int_equal(jws_parse(tok, n, NULL, &j, &r, NULL), 0);
		if (claims_check_time(j.payload, NOW, 60, true, 0, &r, NULL) == 0)
			r = REASON_OK;
		if (r != v[i].want)
			fail_msg("%s: %s", v[i].payload, reason_name(r));
		jws_release(&j);
	}
}

static void
test_time_missing_exp(void **state)
{
	(void)state;
	TEXPECT("{\"sub\":\"a\"}", NOW, 60, true, 0, REASON_TOKEN_MALFORMED,
	    "exp missing");
	TEXPECT("{\"sub\":\"a\"}", NOW, 60, false, 0, REASON_OK, NULL);
	/* max_lifetime needs exp even when require_exp is off. */
	TEXPECT("{\"iat\":1700000000}", NOW, 60, false, 3600,
	    REASON_TOKEN_MALFORMED, "exp missing");
	TEXPECT("{}", NOW, 60, false, 0, REASON_OK, NULL);
}

static void
test_time_nbf_iat(void **state)
{
	(void)state;
	/* nbf > now + skew is not yet valid; equal passes. */
	TEXPECT("{\"exp\":1800000000,\"nbf\":1700000060}", NOW, 60, true, 0,
	    REASON_OK, NULL);
	TEXPECT("{\"exp\":1800000000,\"nbf\":1700000061}", NOW, 60, true, 0,
	    REASON_TOKEN_NOT_YET_VALID, "token not valid yet (nbf)");
	TEXPECT("{\"exp\":1800000000,\"nbf\":1700000060.5}", NOW, 60, true, 0,
	    REASON_TOKEN_NOT_YET_VALID, NULL);
	TEXPECT("{\"exp\":1800000000,\"iat\":1700000060}", NOW, 60, true, 0,
	    REASON_OK, NULL);
	TEXPECT("{\"exp\":1800000000,\"iat\":1700000061}", NOW, 60, true, 0,
	    REASON_TOKEN_NOT_YET_VALID, "issued in the future");
	/* nbf in the past, iat in the past: fine. */
	TEXPECT("{\"exp\":1800000000,\"nbf\":0,\"iat\":1}", NOW, 0, true, 0,
	    REASON_OK, NULL);
	/* Expired and not yet valid at once: expiry is reported. */
	TEXPECT("{\"exp\":1600000000,\"nbf\":1800000000}", NOW, 60, true, 0,
	    REASON_TOKEN_EXPIRED, NULL);
}

static void
test_time_max_lifetime(void **state)
{
	(void)state;
	TEXPECT("{\"iat\":1700000000,\"exp\":1700003600}", NOW, 60, true, 3600,
	    REASON_OK, NULL);
	TEXPECT("{\"iat\":1700000000,\"exp\":1700003601}", NOW, 60, true, 3600,
	    REASON_TOKEN_EXPIRED, "lifetime exceeds max_lifetime_s");
	/* Without iat the lifetime is measured from now. */
	TEXPECT("{\"exp\":1700003600}", NOW, 60, true, 3600, REASON_OK, NULL);
	TEXPECT("{\"exp\":1700003601}", NOW, 60, true, 3600,
	    REASON_TOKEN_EXPIRED, "lifetime exceeds max_lifetime_s");
	/* A long-lived token with an old iat. */
	TEXPECT("{\"iat\":1600000000,\"exp\":1800000000}", NOW, 60, true, 86400,
	    REASON_TOKEN_EXPIRED, "lifetime exceeds max_lifetime_s");
	TEXPECT("{\"iat\":1600000000,\"exp\":1800000000}", NOW, 60, true, 0,
	    REASON_OK, NULL);
	/* detail may be NULL. */
	{
		cJSON *p = js("{\"exp\":1}");
		enum reason r;
		assert_int_equal(claims_check_time(p, NOW, 0, true, 0, &r, NULL),
		    -1);
		assert_int_equal(r, REASON_TOKEN_EXPIRED);
		cJSON_Delete(p);
	}
}

/* ---- issuers (S19) ------------------------------------------------------ */

/* An issuer with values ${pats} and allow-list ${tenants}. */
static struct issuer_cfg
icfg(const struct strlist *pats, const struct strlist *tenants, bool any)
{
	struct issuer_cfg is;

	memset(&is, 0, sizeof(is));
	is.issuer = *pats;
	is.tenants = *tenants;
	is.any_tenant = any;
	return (is);
}

static int
imatch_as(const char *iss, const struct strlist *pats,
    const struct strlist *tenants, bool any, const char *payload, char *tenant)
{
	struct issuer_cfg is = icfg(pats, tenants, any);
	char scratch[CLAIMS_GUID_LEN + 1];
	cJSON *p = js(payload);
	int rc;

	rc = claims_issuer_match(iss, strlen(iss), &is, p,
	    tenant != NULL ? tenant : scratch, CLAIMS_GUID_LEN + 1);
	cJSON_Delete(p);
	return (rc);
}

static int
imatch(const char *iss, const struct strlist *pats,
    const struct strlist *tenants, const char *payload, char *tenant)
{
	return (imatch_as(iss, pats, tenants, false, payload, tenant));
}

static void
test_issuer_exact(void **state)
{
	SL(pats, "https://issuer.example", "https://dev-1.okta.com/oauth2/default");
	char tenant[CLAIMS_GUID_LEN + 1] = "x";

	(void)state;
	assert_int_equal(imatch("https://issuer.example", &pats, &empty, "{}",
	    tenant), 0);
	assert_string_equal(tenant, "");
	assert_int_equal(imatch("https://dev-1.okta.com/oauth2/default", &pats,
	    &empty, "{}", tenant), 0);
	assert_int_equal(imatch("https://issuer.example/", &pats, &empty, "{}",
	    tenant), -1);
	assert_int_equal(imatch("https://ISSUER.example", &pats, &empty, "{}",
	    tenant), -1);
	assert_int_equal(imatch("https://issuer.exampl", &pats, &empty, "{}",
	    tenant), -1);
	assert_int_equal(imatch("", &pats, &empty, "{}", tenant), -1);
	/* The length is honoured: bytes after iss_len do not count. */
	{
		struct issuer_cfg is = icfg(&pats, &empty, false);
		cJSON *p = js("{}");
		assert_int_equal(claims_issuer_match("https://issuer.example/x",
		    22, &is, p, tenant, sizeof(tenant)), 0);
		assert_int_equal(claims_issuer_match("https://issuer.example",
		    21, &is, p, tenant, sizeof(tenant)), -1);
		cJSON_Delete(p);
	}
	/* An exact issuer reports the token's tid (lowercased) when it is a
	 * GUID, for the key-issuer check; anything else is "". */
	assert_int_equal(imatch("https://issuer.example", &pats, &empty,
	    "{\"tid\":\"" T1UP "\"}", tenant), 0);
	assert_string_equal(tenant, T1);
	assert_int_equal(imatch("https://issuer.example", &pats, &empty,
	    "{\"tid\":\"common\"}", tenant), 0);
	assert_string_equal(tenant, "");
	assert_int_equal(imatch("https://issuer.example", &pats, &empty,
	    "{\"tid\":7}", tenant), 0);
	assert_string_equal(tenant, "");
}

static void
test_issuer_template_v2(void **state)
{
	SL(pats, "https://login.microsoftonline.com/{tenant}/v2.0");
	SL(tenants, T1);
	char tenant[CLAIMS_GUID_LEN + 1];

	(void)state;
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T1 "\"}", tenant), 0);
	assert_string_equal(tenant, T1);
	/* GUID case does not matter; the tenant comes out lowercase. */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1UP
	    "/v2.0", &pats, &tenants, "{\"tid\":\"" T1 "\"}", tenant), 0);
	assert_string_equal(tenant, T1);
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T1UP "\"}", tenant), 0);
	/* S19: tid must agree with the tenant in iss. */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T2 "\"}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":7}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T1 " \"}", tenant), -1);
	/* Tenant not on the allow-list (tid agrees, still refused). */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T2 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T2 "\"}", tenant), -1);
	/* Not a GUID. */
	assert_int_equal(imatch("https://login.microsoftonline.com/common/v2.0",
	    &pats, &empty, "{\"tid\":\"common\"}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/"
	    "72f988bf86f141af91ab2d7cd011db47abcd/v2.0", &pats, &empty,
	    "{\"tid\":\"72f988bf86f141af91ab2d7cd011db47abcd\"}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/"
	    "72f988bg-86f1-41af-91ab-2d7cd011db47/v2.0", &pats, &empty,
	    "{\"tid\":\"72f988bg-86f1-41af-91ab-2d7cd011db47\"}", tenant), -1);
	assert_int_equal(imatch("https://login.microsoftonline.com/"
	    "72f988bf-86f1-41af-91ab-2d7cd011db4/v2.0", &pats, &empty,
	    "{\"tid\":\"72f988bf-86f1-41af-91ab-2d7cd011db4\"}", tenant), -1);
	/* A path smuggled into the tenant position. */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1
	    "/x/v2.0", &pats, &tenants, "{\"tid\":\"" T1 "\"}", tenant), -1);
	/* Prefix and suffix must match exactly. */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T1
	    "/v2.0/", &pats, &tenants, "{\"tid\":\"" T1 "\"}", tenant), -1);
	assert_int_equal(imatch("http://login.microsoftonline.com/" T1 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T1 "\"}", tenant), -1);
	/* An empty allow-list allows no tenant at all: every tenant is only
	 * ever the explicit any_tenant choice (tid must still agree). */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T2 "/v2.0",
	    &pats, &empty, "{\"tid\":\"" T2 "\"}", tenant), -1);
	assert_int_equal(imatch_as("https://login.microsoftonline.com/" T2
	    "/v2.0", &pats, &empty, true, "{\"tid\":\"" T2 "\"}", tenant), 0);
	assert_string_equal(tenant, T2);
	assert_int_equal(imatch_as("https://login.microsoftonline.com/" T2
	    "/v2.0", &pats, &empty, true, "{\"tid\":\"" T1 "\"}", tenant), -1);
	assert_int_equal(imatch_as("https://login.microsoftonline.com/" T2
	    "/v2.0", &pats, &empty, true, "{}", tenant), -1);
	/* The output buffer must be large enough. */
	{
		struct issuer_cfg is = icfg(&pats, &tenants, false);
		cJSON *p = js("{\"tid\":\"" T1 "\"}");
		const char *iss = "https://login.microsoftonline.com/" T1 "/v2.0";
		char small[CLAIMS_GUID_LEN];
		assert_int_equal(claims_issuer_match(iss, strlen(iss), &is, p,
		    small, sizeof(small)), -1);
		cJSON_Delete(p);
	}
}

/*
 * The tenant allow-list holds for every spelling of the placeholder that
 * Microsoft's documents use ({tenantid}) and ours ({tenant}), v1 and v2:
 * a token of a tenant outside the list never matches.
 */
static void
test_issuer_tenant_outside_list(void **state)
{
	static char *spellings[][2] = {
		{ "https://login.microsoftonline.com/{tenant}/v2.0",
		  "https://login.microsoftonline.com/%s/v2.0" },
		{ "https://login.microsoftonline.com/{tenantid}/v2.0",
		  "https://login.microsoftonline.com/%s/v2.0" },
		{ "https://sts.windows.net/{tenant}/",
		  "https://sts.windows.net/%s/" },
		{ "https://sts.windows.net/{tenantid}/",
		  "https://sts.windows.net/%s/" },
	};
	char iss[128], payload[64], tenant[CLAIMS_GUID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		struct strlist pats = { &spellings[i][0], 1 };
		SL(tenants, T1);

		snprintf(payload, sizeof(payload), "{\"tid\":\"%s\"}", T2);
		snprintf(iss, sizeof(iss), spellings[i][1], T2);
		assert_int_equal(imatch(iss, &pats, &tenants, payload, tenant),
		    -1);
		assert_int_equal(imatch(iss, &pats, &empty, payload, tenant),
		    -1);
		snprintf(payload, sizeof(payload), "{\"tid\":\"%s\"}", T1);
		snprintf(iss, sizeof(iss), spellings[i][1], T1);
		assert_int_equal(imatch(iss, &pats, &tenants, payload, tenant),
		    0);
		assert_string_equal(tenant, T1);
	}
}

static void
test_issuer_template_v1(void **state)
{
	SL(pats, "https://sts.windows.net/{tenant}/",
	    "https://login.microsoftonline.com/{tenantid}/v2.0");
	SL(tenants, T1, T2);
	char tenant[CLAIMS_GUID_LEN + 1];

	(void)state;
	assert_int_equal(imatch("https://sts.windows.net/" T1 "/", &pats,
	    &tenants, "{\"tid\":\"" T1 "\"}", tenant), 0);
	assert_string_equal(tenant, T1);
	/* The v1 issuer ends with a slash; without it, no match. */
	assert_int_equal(imatch("https://sts.windows.net/" T1, &pats, &tenants,
	    "{\"tid\":\"" T1 "\"}", tenant), -1);
	/* The second pattern ({tenantid} spelling) works too. */
	assert_int_equal(imatch("https://login.microsoftonline.com/" T2 "/v2.0",
	    &pats, &tenants, "{\"tid\":\"" T2 "\"}", tenant), 0);
	assert_string_equal(tenant, T2);
	assert_int_equal(imatch("https://sts.windows.net/" T1 "/", &pats,
	    &tenants, "{\"tid\":\"" T2 "\"}", tenant), -1);
}

static void
test_key_issuer(void **state)
{
	const char *v2t1 = "https://login.microsoftonline.com/" T1 "/v2.0";
	const char *v2t2 = "https://login.microsoftonline.com/" T2 "/v2.0";
	const char *v1t1 = "https://sts.windows.net/" T1 "/";

	(void)state;
	/* Unscoped key. */
	assert_int_equal(claims_key_issuer_ok(NULL, v2t1, T1), 0);
	/* Concrete: exactly the token's issuer. */
	assert_int_equal(claims_key_issuer_ok(v2t1, v2t1, T1), 0);
	/* S19: token for tenant B, key scoped to tenant A. */
	assert_int_equal(claims_key_issuer_ok(v2t1, v2t2, T2), -1);
	/* Templates: substituted with the token's tenant. */
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1, T1), 0);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenant}/v2.0", v2t1, T1), 0);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1, T2), -1);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1, NULL), -1);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1, ""), -1);
	assert_int_equal(claims_key_issuer_ok(
	    "https://other.example/{tenantid}/v2.0", v2t1, T1), -1);
	/* A v1 token against the v2 key set: same tenant only. */
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v1t1, T1), 0);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/v2.0", v1t1, T2), -1);
	assert_int_equal(claims_key_issuer_ok(v2t1, v1t1, T1), 0);
	assert_int_equal(claims_key_issuer_ok(v2t2, v1t1, T1), -1);
	assert_int_equal(claims_key_issuer_ok(
	    "https://login.microsoftonline.com/{tenantid}/oauth2", v1t1, T1), -1);
	/* Unrelated concrete issuers. */
	assert_int_equal(claims_key_issuer_ok("https://a.example", v2t1, T1),
	    -1);
	assert_int_equal(claims_key_issuer_ok(v2t1, NULL, T1), -1);
	/* A single-tenant (exact) config meets Entra's templated keys: the
	 * token's tid, which claims_issuer_match() reports for exact issuers
	 * too, is substituted (T1's token, T1's tid: yes; another tid: no). */
	{
		SL(pats, "https://login.microsoftonline.com/" T1 "/v2.0");
		char tid[CLAIMS_GUID_LEN + 1];

		assert_int_equal(imatch(v2t1, &pats, &empty,
		    "{\"tid\":\"" T1 "\"}", tid), 0);
		assert_int_equal(claims_key_issuer_ok(
		    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1,
		    tid), 0);
		assert_int_equal(imatch(v2t1, &pats, &empty,
		    "{\"tid\":\"" T2 "\"}", tid), 0);
		assert_int_equal(claims_key_issuer_ok(
		    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1,
		    tid), -1);
		assert_int_equal(imatch(v2t1, &pats, &empty, "{}", tid), 0);
		assert_int_equal(claims_key_issuer_ok(
		    "https://login.microsoftonline.com/{tenantid}/v2.0", v2t1,
		    tid), -1);
	}
}

/* ---- audiences ---------------------------------------------------------- */

static bool
aud(const char *payload, const struct strlist *auds)
{
	cJSON *p = js(payload);
	bool r = claims_aud_match(p, auds);

	cJSON_Delete(p);
	return (r);
}

static void
test_aud(void **state)
{
	SL(auds, "api://orders", "6e74172b-be56-4843-9ff4-e66a39bb12e3");
	char *big;
	size_t n = 0;

	(void)state;
	assert_true(aud("{\"aud\":\"api://orders\"}", &auds));
	assert_true(aud("{\"aud\":\"6e74172b-be56-4843-9ff4-e66a39bb12e3\"}",
	    &auds));
	assert_false(aud("{\"aud\":\"api://Orders\"}", &auds));
	assert_false(aud("{\"aud\":\"api://orders/\"}", &auds));
	assert_false(aud("{\"aud\":\"\"}", &auds));
	assert_true(aud("{\"aud\":[\"x\",\"api://orders\"]}", &auds));
	assert_false(aud("{\"aud\":[\"x\",\"y\"]}", &auds));
	assert_false(aud("{\"aud\":[]}", &auds));
	assert_false(aud("{\"aud\":[\"api://orders\",1]}", &auds));
	assert_false(aud("{\"aud\":[[\"api://orders\"]]}", &auds));
	assert_false(aud("{\"aud\":1}", &auds));
	assert_false(aud("{\"aud\":null}", &auds));
	assert_false(aud("{\"aud\":{\"api://orders\":1}}", &auds));
	assert_false(aud("{\"sub\":\"api://orders\"}", &auds));
	assert_false(aud("{\"AUD\":\"api://orders\"}", &auds));
	assert_false(aud("{\"aud\":\"api://orders\"}", &empty));
	/* The array cap: 256 elements are looked at, 257 are refused. */
	big = malloc(8192);
	assert_non_null(big);
	n = (size_t)snprintf(big, 8192, "{\"aud\":[");
	for (int i = 0; i < 255; i++)
		n += (size_t)snprintf(big + n, 8192 - n, "\"a%d\",", i);
	n += (size_t)snprintf(big + n, 8192 - n, "\"api://orders\"]}");
	assert_true(aud(big, &auds));
	n -= 2;
	snprintf(big + n, 8192 - n, ",\"z\"]}");
	assert_false(aud(big, &auds));
	free(big);
}

/* ---- scopes and roles --------------------------------------------------- */

static int
scopes(const char *payload, const struct strlist *any,
    const struct strlist *all, const char **missing)
{
	cJSON *p = js(payload);
	int rc = oracle_check_scopes(p, any, all, missing);

	cJSON_Delete(p);
	return (rc);
}

static int
roles(const char *payload, const struct strlist *any,
    const struct strlist *all, const char **missing)
{
	cJSON *p = js(payload);
	int rc = oracle_check_roles(p, any, all, missing);

	cJSON_Delete(p);
	return (rc);
}

static void
test_scopes(void **state)
{
	SL(all_rw, "Orders.Read", "Orders.Write");
	SL(any_rx, "Admin", "Orders.Read");
	SL(any_x, "X.One", "X.Two");
	SL(one_r, "Orders.Read");
	const char *m = NULL;

	(void)state;
	/* Entra: space-separated scp. */
	assert_int_equal(scopes("{\"scp\":\"Orders.Read Orders.Write\"}",
	    &empty, &all_rw, &m), 0);
	assert_int_equal(scopes("{\"scp\":\"Orders.Write  Orders.Read \"}",
	    &any_rx, &all_rw, &m), 0);
	assert_int_equal(scopes("{\"scp\":\"Orders.Read\"}", &empty, &all_rw,
	    &m), -1);
	assert_string_equal(m, "Orders.Write");
	assert_int_equal(scopes("{\"scp\":\"Orders.Read\"}", &any_rx, &empty,
	    &m), 0);
	assert_int_equal(scopes("{\"scp\":\"Orders.Read\"}", &any_x, &empty,
	    &m), -1);
	assert_string_equal(m, "X.One");
	/* A missing "all" scope is reported before the "any" list. */
	assert_int_equal(scopes("{\"scp\":\"Y\"}", &any_x, &all_rw, &m), -1);
	assert_string_equal(m, "Orders.Read");
	/* Whole words only, exact case. */
	assert_int_equal(scopes("{\"scp\":\"Orders.ReadX\"}", &empty, &one_r,
	    &m), -1);
	assert_int_equal(scopes("{\"scp\":\"orders.read\"}", &empty, &one_r,
	    &m), -1);
	assert_int_equal(scopes("{\"scp\":\"XOrders.Read\"}", &empty, &one_r,
	    &m), -1);
	/* Okta: scp as an array. */
	assert_int_equal(scopes("{\"scp\":[\"Orders.Read\",\"Orders.Write\"]}",
	    &empty, &all_rw, &m), 0);
	assert_int_equal(scopes("{\"scp\":[\"Orders.Read Orders.Write\"]}",
	    &empty, &all_rw, &m), -1);
	assert_int_equal(scopes("{\"scp\":[1,\"Orders.Read\"]}", &empty,
	    &one_r, &m), 0);
	/* RFC 8693 "scope", used only without scp. */
	assert_int_equal(scopes("{\"scope\":\"Orders.Read Orders.Write\"}",
	    &empty, &all_rw, &m), 0);
	assert_int_equal(scopes("{\"scp\":\"\",\"scope\":\"Orders.Read\"}",
	    &empty, &one_r, &m), -1);
	assert_int_equal(scopes("{\"scope\":[\"Orders.Read\"]}", &empty,
	    &one_r, &m), -1);
	/* Wrong types and absence. */
	assert_int_equal(scopes("{\"scp\":7}", &empty, &one_r, &m), -1);
	assert_int_equal(scopes("{}", &empty, &one_r, &m), -1);
	assert_string_equal(m, "Orders.Read");
	assert_int_equal(scopes("{}", &empty, &empty, &m), 0);
	assert_int_equal(scopes("{}", NULL, NULL, NULL), 0);
	assert_int_equal(scopes("{}", &any_x, NULL, NULL), -1);
}

static void
test_roles(void **state)
{
	SL(all_a, "Admin");
	SL(any_rw, "Reader", "Writer");
	const char *m = NULL;

	(void)state;
	assert_int_equal(roles("{\"roles\":[\"Admin\",\"Reader\"]}", &any_rw,
	    &all_a, &m), 0);
	assert_int_equal(roles("{\"roles\":\"Reader Admin\"}", &any_rw,
	    &all_a, &m), 0);
	assert_int_equal(roles("{\"roles\":[\"Reader\"]}", &any_rw, &all_a,
	    &m), -1);
	assert_string_equal(m, "Admin");
	assert_int_equal(roles("{\"roles\":[\"Admin\"]}", &any_rw, &all_a,
	    &m), -1);
	assert_string_equal(m, "Reader");
	assert_int_equal(roles("{\"roles\":[\"admin\"]}", &empty, &all_a,
	    &m), -1);
	/* scp does not stand in for roles. */
	assert_int_equal(roles("{\"scp\":\"Admin\"}", &empty, &all_a, &m), -1);
	assert_int_equal(roles("{\"roles\":{\"Admin\":true}}", &empty, &all_a,
	    &m), -1);
}

/* ---- claim rules -------------------------------------------------------- */

static void
test_rules(void **state)
{
	struct claim_value tid_v[] = { { CLAIM_VAL_STRING, T1, 0, false },
	    { CLAIM_VAL_STRING, T2, 0, false } };
	struct claim_value ver_v[] = { { CLAIM_VAL_NUMBER, NULL, 2, false } };
	struct claim_value mfa_v[] = { { CLAIM_VAL_BOOL, NULL, 0, true } };
	struct claim_value grp_v[] = { { CLAIM_VAL_STRING, "g-admins", 0,
	    false } };
	struct claim_value kid_v[] = { { CLAIM_VAL_STRING, "k1", 0, false } };
	struct claim_rule rules[] = {
		{ "tid", CLAIM_MATCH_ANY, tid_v, 2 },
		{ "ver", CLAIM_MATCH_ANY, ver_v, 1 },
		{ "mfa", CLAIM_MATCH_ANY, mfa_v, 1 },
		{ "groups", CLAIM_MATCH_ANY, grp_v, 1 },
		{ "cnf.kid", CLAIM_MATCH_ANY, kid_v, 1 },
	};
	const char *failed = NULL;
	cJSON *p;

	(void)state;
	p = js("{\"tid\":\"" T2 "\",\"ver\":2.0,\"mfa\":true,"
	    "\"groups\":[\"g-users\",\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}");
	assert_int_equal(oracle_check_rules(p, rules, ARRAY_SIZE(rules),
	    &failed), 0);
	assert_int_equal(oracle_check_rules(p, rules, 0, &failed), 0);
	cJSON_Delete(p);

	/* Each rule failing in turn. */
	static const struct { const char *payload, *failed; } bad[] = {
		{ "{\"tid\":\"" T1UP "\",\"ver\":2,\"mfa\":true,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "tid" },
		{ "{\"ver\":2,\"mfa\":true,\"groups\":[\"g-admins\"],"
		    "\"cnf\":{\"kid\":\"k1\"}}", "tid" },
		{ "{\"tid\":\"" T1 "\",\"ver\":\"2\",\"mfa\":true,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "ver" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2.5,\"mfa\":true,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "ver" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":\"true\",\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "mfa" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":false,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "mfa" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":1,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k1\"}}", "mfa" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":true,\"groups\":"
		    "[\"g-users\"],\"cnf\":{\"kid\":\"k1\"}}", "groups" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":true,\"groups\":"
		    "\"g-admins g-users\",\"cnf\":{\"kid\":\"k1\"}}", "groups" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":true,\"groups\":"
		    "[\"g-admins\"],\"cnf\":{\"kid\":\"k2\"}}", "cnf.kid" },
		{ "{\"tid\":\"" T1 "\",\"ver\":2,\"mfa\":true,\"groups\":"
		    "[\"g-admins\"],\"cnf\":\"k1\"}", "cnf.kid" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = js(bad[i].payload);
		failed = NULL;
		if (oracle_check_rules(p, rules, ARRAY_SIZE(rules), &failed) !=
		    -1)
			fail_msg("case %zu passed", i);
		if (failed == NULL || strcmp(failed, bad[i].failed) != 0)
			fail_msg("case %zu: failed %s, want %s", i,
			    failed ? failed : "NULL", bad[i].failed);
		cJSON_Delete(p);
	}
	/* An array claim with a number element matching a number rule. */
	p = js("{\"ver\":[1,2]}");
	assert_int_equal(oracle_check_rules(p, &rules[1], 1, NULL), 0);
	cJSON_Delete(p);
}

/* APIM's match="all", and presence-only rules. */
static void
test_rules_all_present(void **state)
{
	struct claim_value grp_v[] = { { CLAIM_VAL_STRING, "g-admins", 0,
	    false }, { CLAIM_VAL_STRING, "g-ops", 0, false } };
	struct claim_rule all = { "groups", CLAIM_MATCH_ALL, grp_v, 2 };
	struct claim_rule any = { "groups", CLAIM_MATCH_ANY, grp_v, 2 };
	struct claim_rule present = { "email_verified", CLAIM_MATCH_PRESENT,
	    NULL, 0 };
	struct claim_rule nested = { "/realm_access/roles", CLAIM_MATCH_ALL,
	    grp_v, 2 };
	static const struct { const char *payload; int all, any, present; }
	    cases[] = {
		{ "{\"groups\":[\"g-admins\",\"g-ops\",\"x\"],"
		  "\"email_verified\":false}", 0, 0, 0 },
		{ "{\"groups\":[\"g-admins\"],\"email_verified\":true}",
		  -1, 0, 0 },
		{ "{\"groups\":[\"g-ops\",\"g-admins\"]}", 0, 0, -1 },
		{ "{\"groups\":[],\"email_verified\":\"\"}", -1, -1, 0 },
		{ "{\"groups\":\"g-admins\",\"email_verified\":0}", -1, 0, 0 },
		{ "{\"email_verified\":null}", -1, -1, -1 },
		{ "{\"x\":{\"email_verified\":true}}", -1, -1, -1 },
	};
	cJSON *p;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		p = js(cases[i].payload);
		if (oracle_check_rules(p, &all, 1, NULL) != cases[i].all ||
		    oracle_check_rules(p, &any, 1, NULL) != cases[i].any ||
		    oracle_check_rules(p, &present, 1, NULL) !=
		    cases[i].present)
			fail_msg("case %zu", i);
		cJSON_Delete(p);
	}
	/* Keycloak realm roles through a JSON Pointer. */
	p = js("{\"realm_access\":{\"roles\":[\"g-ops\",\"g-admins\"]}}");
	assert_int_equal(oracle_check_rules(p, &nested, 1, NULL), 0);
	cJSON_Delete(p);
	p = js("{\"realm_access\":{\"roles\":[\"g-ops\"]}}");
	assert_int_equal(oracle_check_rules(p, &nested, 1, NULL), -1);
	cJSON_Delete(p);
}

/* JSON Pointer claim paths: names with dots and slashes. */
static void
test_pointer_paths(void **state)
{
	cJSON *p = js("{\"resource_access\":{\"my.app\":{\"roles\":[\"r1\"]},"
	    "\"my\":{\"app\":{\"roles\":[\"wrong\"]}}},"
	    "\"https://example.com/roles\":[\"admin\"],\"a~b\":1,\"\":{\"x\":2},"
	    "\"list\":[{\"y\":1}]}");
	const cJSON *it;

	(void)state;
	it = claims_get(p, "/resource_access/my.app/roles");
	assert_non_null(it);
	assert_string_equal(cJSON_GetArrayItem(it, 0)->valuestring, "r1");
	/* The dotted form cannot say it: it splits at the first dot. */
	it = claims_get(p, "resource_access.my.app.roles");
	assert_true(it == NULL ||
	    strcmp(cJSON_GetArrayItem(it, 0)->valuestring, "r1") != 0);
	it = claims_get(p, "/https:~1~1example.com~1roles");
	assert_non_null(it);
	assert_string_equal(cJSON_GetArrayItem(it, 0)->valuestring, "admin");
	/* The dotted form finds a whole URL name too. */
	assert_ptr_equal(claims_get(p, "https://example.com/roles"), it);
	assert_non_null(claims_get(p, "/a~0b"));
	assert_non_null(claims_get(p, "//x"));
	assert_null(claims_get(p, "/a~2b"));
	assert_null(claims_get(p, "/a~"));
	assert_null(claims_get(p, "/resource_access/nope"));
	assert_null(claims_get(p, "/list/0/y"));     /* no array indexes */
	assert_null(claims_get(p, "/resource_access/my.app/roles/x"));
	cJSON_Delete(p);
	assert_true(claims_path_valid("/resource_access/my.app/roles"));
	assert_true(claims_path_valid("/https:~1~1x~0y"));
	assert_false(claims_path_valid("/a~"));
	assert_false(claims_path_valid("/a~x"));
	assert_true(claims_path_valid("a.b"));
	assert_false(claims_path_valid("a..b"));
	assert_false(claims_path_valid(".a"));
	assert_false(claims_path_valid(""));
}

/* Roles and scopes from an issuer's own claim paths (Keycloak, Auth0). */
static void
test_word_sources(void **state)
{
	SL(kc, "/realm_access/roles", "/resource_access/my.app/roles");
	SL(auth0s, "scope", "permissions");
	SL(r_admin, "admin");
	SL(r_client, "client-reader");
	SL(s_perm, "read:orders");
	char out[256];
	cJSON *p = js("{\"realm_access\":{\"roles\":[\"admin\",\"user\"]},"
	    "\"resource_access\":{\"my.app\":{\"roles\":[\"client-reader\"]}},"
	    "\"scope\":\"openid profile\",\"permissions\":[\"read:orders\"],"
	    "\"roles\":[\"top\"]}");

	(void)state;
	assert_int_equal(oracle_check_words(p, CLAIMS_ROLES, &kc, NULL,
	    &r_admin, NULL), 0);
	assert_int_equal(oracle_check_words(p, CLAIMS_ROLES, &kc, NULL,
	    &r_client, NULL), 0);
	/* The defaults read "roles" only. */
	assert_int_equal(oracle_check_words(p, CLAIMS_ROLES, NULL, NULL,
	    &r_admin, NULL), -1);
	assert_int_equal(oracle_check_words(p, CLAIMS_ROLES, &empty, &r_admin,
	    NULL, NULL), -1);
	assert_int_equal(oracle_check_words(p, CLAIMS_SCOPES, &auth0s, NULL,
	    &s_perm, NULL), 0);
	assert_int_equal(oracle_check_words(p, CLAIMS_SCOPES, NULL, NULL,
	    &s_perm, NULL), -1);
	assert_int_equal(claims_render_words(p, CLAIMS_ROLES, &kc, out,
	    sizeof(out)), (ssize_t)strlen("admin user client-reader"));
	assert_string_equal(out, "admin user client-reader");
	assert_true(claims_render_words(p, CLAIMS_SCOPES, &auth0s, out,
	    sizeof(out)) > 0);
	assert_string_equal(out, "openid profile read:orders");
	assert_true(claims_render_words(p, CLAIMS_ROLES, NULL, out,
	    sizeof(out)) > 0);
	assert_string_equal(out, "top");
	/* Too small: refused whole, never cut. */
	assert_int_equal(claims_render_words(p, CLAIMS_ROLES, &kc, out, 12),
	    -2);
	assert_string_equal(out, "");
	cJSON_Delete(p);
	p = js("{\"realm_access\":{\"roles\":[]},\"resource_access\":"
	    "{\"my.app\":{\"roles\":[\"a\"]}}}");
	assert_true(claims_render_words(p, CLAIMS_ROLES, &kc, out,
	    sizeof(out)) > 0);
	assert_string_equal(out, "a");
	cJSON_Delete(p);
	p = js("{}");
	assert_int_equal(claims_render_words(p, CLAIMS_ROLES, &kc, out,
	    sizeof(out)), -1);
	cJSON_Delete(p);
}

/* RFC 7519 string claims of another JSON type are malformed. */
static void
test_types(void **state)
{
	static const char *const bad[] = {
		"{\"sub\":7}", "{\"sub\":[\"a\",\"b\"]}", "{\"sub\":null}",
		"{\"iss\":{}}", "{\"azp\":1}", "{\"appid\":true}",
		"{\"client_id\":[\"x\"]}", "{\"cid\":2}", "{\"tid\":3}",
		"{\"jti\":4}",
	};
	const char *d;
	cJSON *p;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = js(bad[i]);
		d = NULL;
		if (claims_check_types(p, &d) != -1 || d == NULL)
			fail_msg("case %s passed", bad[i]);
		cJSON_Delete(p);
	}
	p = js("{\"sub\":\"a\",\"iss\":\"b\",\"aud\":[\"x\"],\"scp\":[\"s\"],"
	    "\"cid\":\"c\",\"uid\":5}");
	assert_int_equal(claims_check_types(p, &d), 0);
	cJSON_Delete(p);
	p = js("{\"cid\":\"0oa1\",\"sub\":\"u\"}");
	assert_string_equal(claims_client_id(p), "0oa1");
	cJSON_Delete(p);
	p = js("{\"cid\":\"0oa1\",\"azp\":\"z\"}");
	assert_string_equal(claims_client_id(p), "z");
	cJSON_Delete(p);
}

/* ---- rendering ---------------------------------------------------------- */

static void
test_render(void **state)
{
	static const struct { const char *json; const char *out; } ok[] = {
		{ "\"alice@example.com\"", "alice@example.com" },
		{ "\"\"", "" },
		{ "\"caf\xc3\xa9\"", "caf\xc3\xa9" },
		{ "\"\\u00a0\\u00ff\"", "\xc2\xa0\xc3\xbf" },
		{ "1700000000", "1700000000" },
		{ "-3", "-3" },
		{ "-0", "0" },
		{ "0", "0" },
		{ "2147483648", "2147483648" },
		{ "9007199254740991", "9007199254740991" },
		{ "-9007199254740991", "-9007199254740991" },
		{ "9007199254740992", "9007199254740992" },
		{ "1e300", "1.0000000000000001e+300" },
		{ "1.5", "1.5" },
		{ "0.1", "0.10000000000000001" },
		{ "true", "true" },
		{ "false", "false" },
		{ "[\"a\",\"b\"]", "a b" },
		{ "[\"Orders.Read\",1,true,2.5]", "Orders.Read 1 true 2.5" },
		{ "[]", "" },
		{ "[\"\",\"x\"]", " x" },
	};
	static const char *const bad[] = {
		"{}", "{\"a\":1}", "null", "[null]", "[[\"a\"]]", "[{}]",
		"\"a\\nb\"", "\"a\\rb\"", "\"a\\tb\"", "\"\\u0001\"",
		"\"\\u007f\"", "\"\\u0085\"", "\"a\\u009fb\"", "\"\\u001f\"",
		"\"x\\u0080\"",
		"[\"ok\",\"bad\\n\"]", "1e400", "[-1e400]",
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		cJSON *j = js(ok[i].json);
		ssize_t n = claims_render(j, out, sizeof(out));
		if (n < 0 || strcmp(out, ok[i].out) != 0)
			fail_msg("%s: %zd \"%s\"", ok[i].json, n, out);
		assert_int_equal((size_t)n, strlen(ok[i].out));
		cJSON_Delete(j);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cJSON *j = js(bad[i]);
		memset(out, 'x', sizeof(out));
		if (claims_render(j, out, sizeof(out)) != -1)
			fail_msg("%s rendered as \"%s\"", bad[i], out);
		assert_string_equal(out, "");
		cJSON_Delete(j);
	}
	/* Truncation: exactly len + 1 fits, len does not. */
	{
		cJSON *j = js("[\"abc\",\"de\"]");
		assert_int_equal(claims_render(j, out, 7), 6);
		assert_string_equal(out, "abc de");
		assert_int_equal(claims_render(j, out, 6), -1);
		assert_string_equal(out, "");
		assert_int_equal(claims_render(j, out, 4), -1);
		assert_int_equal(claims_render(j, out, 1), -1);
		assert_int_equal(claims_render(j, out, 0), -1);
		cJSON_Delete(j);
		j = js("1700000000");
		assert_int_equal(claims_render(j, out, 11), 10);
		assert_int_equal(claims_render(j, out, 10), -1);
		cJSON_Delete(j);
	}
	assert_int_equal(claims_render(NULL, out, sizeof(out)), -1);
}

/* ---- identity ----------------------------------------------------------- */

static void
test_identity(void **state)
{
	static const struct { const char *json; const char *cid; } v[] = {
		{ "{\"azp\":\"a\",\"appid\":\"b\",\"client_id\":\"c\"}", "a" },
		{ "{\"appid\":\"b\",\"client_id\":\"c\"}", "b" },
		{ "{\"client_id\":\"c\"}", "c" },
		{ "{\"azp\":\"\",\"appid\":\"b\"}", "b" },
		{ "{\"azp\":1,\"client_id\":\"c\"}", "c" },
		{ "{\"cid\":\"okta\"}", "okta" },       /* Okta */
		{ "{}", NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		cJSON *p = js(v[i].json);
		const char *c = claims_client_id(p);
		if (v[i].cid == NULL)
			assert_null(c);
		else
			assert_string_equal(c, v[i].cid);
		cJSON_Delete(p);
	}
	{
		cJSON *p = js("{\"tid\":\"" T1 "\",\"sub\":\"s\",\"iss\":5}");
		assert_string_equal(claims_tenant(p), T1);
		assert_string_equal(claims_string(p, "sub"), "s");
		assert_null(claims_string(p, "iss"));
		assert_null(claims_string(p, "nope"));
		cJSON_Delete(p);
		p = js("{\"tid\":42}");
		assert_null(claims_tenant(p));
		cJSON_Delete(p);
		p = js("{\"tid\":\"\"}");
		assert_null(claims_tenant(p));
		cJSON_Delete(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_numeric_date),
		cmocka_unit_test(test_time_exp_boundaries),
		cmocka_unit_test(test_time_s14_bad_values),
		cmocka_unit_test(test_time_s14_through_jws),
		cmocka_unit_test(test_time_missing_exp),
		cmocka_unit_test(test_time_nbf_iat),
		cmocka_unit_test(test_time_max_lifetime),
		cmocka_unit_test(test_issuer_exact),
		cmocka_unit_test(test_issuer_template_v2),
		cmocka_unit_test(test_issuer_template_v1),
		cmocka_unit_test(test_issuer_tenant_outside_list),
		cmocka_unit_test(test_rules_all_present),
		cmocka_unit_test(test_pointer_paths),
		cmocka_unit_test(test_word_sources),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_key_issuer),
		cmocka_unit_test(test_aud),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_identity),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
