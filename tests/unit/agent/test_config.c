/*
 * test_config.c: the configuration and policy document parser.
 *
 * Documents are written with single quotes and turned into JSON by sq(),
 * which keeps the tables readable.  Every rule of the schema is violated
 * once, on an otherwise valid document, and the exact error (with its JSON
 * path) is asserted.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testsupport.h"

#include "cidr.h"
#include "config.h"
#include "jwa.h"
#include "log.h"

/* ' -> " (documents in this file never need a literal apostrophe). */
static char *
sq(const char *doc)
{
	char *s = strdup(doc);

	assert_non_null(s);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return (s);
}

static int
parse_sq(const char *doc, const char *base, struct config **cfg,
    struct config_errors *errs)
{
	char *s = sq(doc);
	int r = config_parse(s, strlen(s), base, cfg, errs);

	free(s);
	return (r);
}

static void
dump_errors(const char *doc, const struct config_errors *e)
{
	fprintf(stderr, "document: %s\n", doc);
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  error[%zu]: %s\n", i, e->v[i]);
}

/* Parse ${doc}; it must succeed. */
static struct config *
parse_ok(const char *doc)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;

	if (parse_sq(doc, "/etc/spoa", &cfg, &e) != 0 || e.n != 0) {
		dump_errors(doc, &e);
		fail_msg("expected success");
	}
	assert_non_null(cfg);
	config_errors_free(&e);
	return (cfg);
}

/* Parse ${doc}; it must fail with exactly the one error ${want}. */
static void
expect_error(const char *doc, const char *want)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = (struct config *)1;

	if (parse_sq(doc, "/etc/spoa", &cfg, &e) != -1 || e.n != 1 ||
	    strcmp(e.v[0], want) != 0) {
		dump_errors(doc, &e);
		fail_msg("expected exactly: %s", want);
	}
	assert_null(cfg);
	config_errors_free(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.v);
}

#define LISTEN    "'listen':['127.0.0.1:12345']"
#define ROUTE_NONE_ "{'name':'r','require':'none'}"
#define ROUTES    "'routes':[" ROUTE_NONE_ "]"
#define ISS_OK    "{'name':'i','issuer':'https://idp/','jwks_url':'https://idp/keys','audiences':['a']}"
/* A document with ${extra} top-level members and one "none" route. */
#define DOC(extra) "{" LISTEN "," ROUTES extra "}"
/* A document with one issuer whose members are ${iss} and one jwt route. */
#define ISSDOC(iss) "{" LISTEN ",'issuers':[{'name':'i','audiences':['a']," \
	iss "}],'routes':[{'name':'r','require':'jwt'}]}"
/* A document whose single route is {'name':'r', ${route}}. */
#define RDOC(route) "{" LISTEN ",'issuers':[" ISS_OK "],'routes':[{'name':'r'," \
	route "}]}"

/* ------------------------------------------------------------------ */

static const char full_doc[] =
"{"
" 'listen': ['127.0.0.1:12345', '[::1]:12346', 'localhost:1', 'unix:/run/spoa/agent.sock'],"
" 'admin_listen': '[::1]:9901',"
" 'listen_takeover': false,"
" 'workers': 3,"
" 'state_dir': 'state',"
" 'log_level': 'debug',"
" 'log_format': 'json',"
" 'token_cache_entries': 0,"
" 'cert_cache_entries': 1048576,"
" 'max_token_bytes': 512,"
" 'max_frame_size': 16777215,"
" 'park_timeout_ms': 10000,"
" 'kid_refetch_interval_ms': 600000, 'kid_negative_ttl_s': 3600,"
" 'policy_url': 'https://policy.example.com/p.json',"
" 'policy_credential': 'mi',"
" 'policy_ca_file': 'policy-ca.pem',"
" 'client_ca_file': '/etc/ca/clients.pem',"
" 'crl_files': ['crl/a.crl', '/abs/b.crl'],"
" 'crl_urls': ['http://pki.example.com/c.crl', 'https://pki.example.com/d.crl'],"
" 'crl_stale': 'allow',"
" 'answer': {'on_allow': ['status', 'reason']},"
" 'fetch': {'connect_timeout_ms': 100, 'timeout_ms': 300000,"
"   'max_body_bytes': 67108864, 'refresh_min_s': 1, 'refresh_max_s': 604800,"
"   'backoff_max_s': 86400, 'max_stale_s': 31536000, 'ca_file': 'fetch-ca.pem',"
"   'insecure_skip_verify_for_tests': true},"
" 'credentials': ["
"   {'name': 'mi', 'type': 'managed_identity', 'resource': 'api://policy',"
"    'client_id': 'uai-1', 'endpoint': 'http://127.0.0.1:8080/token', 'api_version': '2019-08-01'},"
"   {'name': 'mi2', 'type': 'managed_identity', 'resource': 'api://x'},"
"   {'name': 'cc', 'type': 'client_credentials', 'token_url': 'https://login.example.com/token',"
"    'client_id': 'app', 'client_secret_env': 'SPOA_SECRET', 'scope': 'api://x/.default', 'ca_file': 'cc-ca.pem'},"
"   {'name': 'cc2', 'type': 'client_credentials', 'token_url': 'http://login.example.com/token',"
"    'client_id': 'app', 'client_secret_file': 'secret.txt'},"
"   {'name': 'cert', 'type': 'client_certificate', 'cert_file': 'c.pem', 'key_file': '/k/c.key'}"
" ],"
" 'issuers': ["
"   {'name': 'entra', 'issuer': ['https://login.microsoftonline.com/{tenant}/v2.0', 'https://sts.windows.net/{tenant}/'],"
"    'discovery_url': 'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration',"
"    'appid': '6e74172b-be56-4843-9ff4-e66a39bb12e3',"
"    'audiences': ['api://orders', 'x'], 'algorithms': ['RS256', 'PS512', 'EdDSA'],"
"    'clock_skew_s': 600, 'require_exp': false, 'max_lifetime_s': 31536000,"
"    'typ': ['JWT', 'at+jwt'], 'tenants': ['3F2504E0-4F89-41D3-9A0C-0305E82C3301'],"
"    'ca_file': 'entra-ca.pem', 'credential': 'cert'},"
"   {'name': 'hs', 'issuer': 'hs-issuer', 'audiences': ['b'],"
"    'algorithms': ['HS256', 'HS512'], 'hmac_secret_file': 'hmac.key'},"
"   {'name': 'plain', 'issuer': 'http://idp', 'audiences': ['c'],"
"    'algorithms': ['HS384'], 'hmac_secret_env': 'HMAC_KEY'}"
" ],"
" 'routes': ["
"   {'name': 'all', 'host': 'API.Example.COM.', 'path_prefix': '/orders', 'methods': ['GET', 'HEAD'],"
"    'require': 'jwt+mtls', 'issuers': ['plain', 'entra'],"
"    'scopes_any': ['s1', 's2'], 'scopes_all': ['s3'], 'roles_any': ['r1'], 'roles_all': ['r2', 'r3'],"
"    'claims': {'tid': ['t1', 't2'], 'a.b': [1.5, true, 'x']},"
"    'claims_to_vars': ['email', 'x-y.z'],"
"    'client_cert': {"
"      'thumbprints_sha256': ['00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF',"
"                             'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',"
"                             '_-8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0'],"
"      'thumbprints_sha1': ['0123456789abcdef0123456789ABCDEF01234567'],"
"      'serials': ['00:0A:bC', '0', '000'],"
"      'common_names': ['cn1'], 'subjects': ['CN=a,O=b'], 'issuers': ['CN=ca,O=b'],"
"      'issuer_thumbprints_sha256': ['ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100'],"
"      'dns_names': ['a.example.com'], 'uris': ['spiffe://x/y'], 'emails': ['a@b.c'],"
"      'identities': [{'thumbprint_sha256': '_-8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0',"
"                      'thumbprint_sha1': '0123456789abcdef0123456789abcdef01234567',"
"                      'serial': '0F', 'common_name': 'cn', 'subject': 'CN=s', 'issuer': 'CN=i',"
"                      'issuer_thumbprint_sha256': '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',"
"                      'dns_name': 'd', 'uri': 'u', 'email': 'e'},"
"                     {'common_name': 'only'}],"
"      'check_validity': false},"
"    'bound_token': true,"
"    'source_cidrs': ['10.0.0.0/8', '::1', '192.168.1.1', 'fd00::/8']},"
"   {'name': 'wild', 'host': '*.example.com', 'require': 'mtls', 'client_cert': {}},"
"   {'name': 'none', 'path_prefix': '/pub/', 'require': 'none'},"
"   {'name': 'jwt', 'host': '[::1]', 'require': 'jwt'}"
" ]"
"}";

static void
test_full(void **state)
{
	struct config *cfg = parse_ok(full_doc);
	const struct route_cfg *r;
	const struct issuer_cfg *is;
	const struct cert_rule *cc;
	uint8_t want[32];

	(void)state;
	assert_int_equal(cfg->nlisten, 4);
	assert_int_equal(cfg->listen[0].kind, LISTEN_TCP);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_int_equal(cfg->listen[0].port, 12345);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:12345");
	assert_string_equal(cfg->listen[1].host, "::1");
	assert_int_equal(cfg->listen[1].port, 12346);
	assert_string_equal(cfg->listen[2].host, "localhost");
	assert_int_equal(cfg->listen[3].kind, LISTEN_UNIX);
	assert_string_equal(cfg->listen[3].path, "/run/spoa/agent.sock");
	assert_null(cfg->listen[3].host);
	assert_non_null(cfg->admin_listen);
	assert_string_equal(cfg->admin_listen->host, "::1");
	assert_int_equal(cfg->admin_listen->port, 9901);
	assert_false(cfg->listen_takeover);
	assert_int_equal(cfg->workers, 3);
	assert_string_equal(cfg->state_dir, "/etc/spoa/state");
	assert_int_equal(cfg->log_level, LOG_LVL_DEBUG);
	assert_int_equal(cfg->log_format, LOG_FMT_JSON);
	assert_int_equal(cfg->token_cache_entries, 0);
	assert_int_equal(cfg->cert_cache_entries, 1048576);
	assert_int_equal(cfg->max_token_bytes, 512);
	assert_int_equal(cfg->max_frame_size, 16777215);
	assert_int_equal(cfg->park_timeout_ms, 10000);
	assert_int_equal(cfg->kid_refetch_interval_ms, 600000);
	assert_int_equal(cfg->kid_negative_ttl_s, 3600);
	assert_int_equal(cfg->kid_refetch_cooldown_s, 0);
	assert_string_equal(cfg->policy_url, "https://policy.example.com/p.json");
	assert_null(cfg->policy_file);
	assert_string_equal(cfg->policy_credential, "mi");
	assert_string_equal(cfg->policy_ca_file, "/etc/spoa/policy-ca.pem");
	assert_string_equal(cfg->client_ca_file, "/etc/ca/clients.pem");
	assert_int_equal(cfg->crl_files.n, 2);
	assert_string_equal(cfg->crl_files.v[0], "/etc/spoa/crl/a.crl");
	assert_string_equal(cfg->crl_files.v[1], "/abs/b.crl");
	assert_int_equal(cfg->crl_urls.n, 2);
	assert_string_equal(cfg->crl_urls.v[1], "https://pki.example.com/d.crl");
	assert_int_equal(cfg->crl_stale, CRL_STALE_ALLOW);
	assert_int_equal(cfg->answer, ANSWER_OK_STATUS | ANSWER_OK_REASON);
	assert_string_equal(cfg->base_dir, "/etc/spoa");

	assert_int_equal(cfg->fetch.connect_timeout_ms, 100);
	assert_int_equal(cfg->fetch.timeout_ms, 300000);
	assert_int_equal(cfg->fetch.max_body_bytes, 67108864);
	assert_int_equal(cfg->fetch.refresh_min_s, 1);
	assert_int_equal(cfg->fetch.refresh_max_s, 604800);
	assert_int_equal(cfg->fetch.backoff_max_s, 86400);
	assert_int_equal(cfg->fetch.max_stale_s, 31536000);
	assert_string_equal(cfg->fetch.ca_file, "/etc/spoa/fetch-ca.pem");
	assert_true(cfg->fetch.insecure_skip_verify_for_tests);

	assert_int_equal(cfg->ncredentials, 5);
	assert_int_equal(cfg->credentials[0].type, CRED_MANAGED_IDENTITY);
	assert_string_equal(cfg->credentials[0].name, "mi");
	assert_string_equal(cfg->credentials[0].resource, "api://policy");
	assert_string_equal(cfg->credentials[0].client_id, "uai-1");
	assert_string_equal(cfg->credentials[0].endpoint, "http://127.0.0.1:8080/token");
	assert_string_equal(cfg->credentials[0].api_version, "2019-08-01");
	assert_string_equal(cfg->credentials[1].endpoint,
	    "http://169.254.169.254/metadata/identity/oauth2/token");
	assert_string_equal(cfg->credentials[1].api_version, "2018-02-01");
	assert_null(cfg->credentials[1].client_id);
	assert_int_equal(cfg->credentials[2].type, CRED_CLIENT_CREDENTIALS);
	assert_string_equal(cfg->credentials[2].token_url, "https://login.example.com/token");
	assert_string_equal(cfg->credentials[2].client_id, "app");
	assert_string_equal(cfg->credentials[2].client_secret_env, "SPOA_SECRET");
	assert_null(cfg->credentials[2].client_secret_file);
	assert_string_equal(cfg->credentials[2].scope, "api://x/.default");
	assert_string_equal(cfg->credentials[2].ca_file, "/etc/spoa/cc-ca.pem");
	assert_string_equal(cfg->credentials[3].client_secret_file, "/etc/spoa/secret.txt");
	assert_int_equal(cfg->credentials[4].type, CRED_CLIENT_CERT);
	assert_string_equal(cfg->credentials[4].cert_file, "/etc/spoa/c.pem");
	assert_string_equal(cfg->credentials[4].key_file, "/k/c.key");

	assert_int_equal(cfg->nissuers, 3);
	is = &cfg->issuers[0];
	assert_string_equal(is->name, "entra");
	assert_int_equal(is->issuer.n, 2);
	assert_string_equal(is->issuer.v[1], "https://sts.windows.net/{tenant}/");
	assert_true(is->templated);
	assert_int_equal(is->source, KEYS_DISCOVERY);
	assert_string_equal(is->source_location,
	    "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration");
	assert_string_equal(is->appid, "6e74172b-be56-4843-9ff4-e66a39bb12e3");
	assert_int_equal(is->audiences.n, 2);
	assert_int_equal(is->algorithms, JWS_ALG_BIT(JWS_ALG_RS256) |
	    JWS_ALG_BIT(JWS_ALG_PS512) | JWS_ALG_BIT(JWS_ALG_EDDSA));
	assert_int_equal(is->clock_skew_s, 600);
	assert_false(is->require_exp);
	assert_int_equal(is->max_lifetime_s, 31536000);
	assert_int_equal(is->typ.n, 2);
	assert_string_equal(is->typ.v[1], "at+jwt");
	assert_int_equal(is->tenants.n, 1);
	assert_string_equal(is->tenants.v[0], "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	assert_string_equal(is->ca_file, "/etc/spoa/entra-ca.pem");
	assert_string_equal(is->credential, "cert");
	assert_null(is->hmac_secret_file);
	is = &cfg->issuers[1];
	assert_false(is->templated);
	assert_int_equal(is->source, KEYS_NONE);
	assert_null(is->source_location);
	assert_int_equal(is->algorithms, JWS_ALG_BIT(JWS_ALG_HS256) |
	    JWS_ALG_BIT(JWS_ALG_HS512));
	assert_string_equal(is->hmac_secret_file, "/etc/spoa/hmac.key");
	assert_int_equal(is->clock_skew_s, 60);
	assert_true(is->require_exp);
	assert_int_equal(is->typ.n, 0);
	is = &cfg->issuers[2];
	assert_int_equal(is->source, KEYS_NONE);
	assert_string_equal(is->hmac_secret_env, "HMAC_KEY");
	assert_int_equal(config_issuer_find(cfg, "plain"), 2);
	assert_int_equal(config_issuer_find(cfg, "entra"), 0);
	assert_int_equal(config_issuer_find(cfg, "nope"), -1);

	assert_int_equal(cfg->nroutes, 4);
	r = &cfg->routes[0];
	assert_string_equal(r->name, "all");
	assert_string_equal(r->host, "api.example.com");
	assert_string_equal(r->path_prefix, "/orders");
	assert_int_equal(r->methods.n, 2);
	assert_string_equal(r->methods.v[1], "HEAD");
	assert_int_equal(r->require, REQUIRE_JWT_MTLS);
	assert_int_equal(r->nissuers, 2);
	assert_int_equal(r->issuers[0], 2);
	assert_int_equal(r->issuers[1], 0);
	assert_int_equal(r->scopes_any.n, 2);
	assert_int_equal(r->scopes_all.n, 1);
	assert_int_equal(r->roles_any.n, 1);
	assert_int_equal(r->roles_all.n, 2);
	assert_string_equal(r->roles_all.v[1], "r3");
	assert_int_equal(r->nclaims, 2);
	assert_string_equal(r->claims[0].name, "tid");
	assert_int_equal(r->claims[0].nvalues, 2);
	assert_string_equal(r->claims[1].name, "a.b");
	assert_int_equal(r->claims[1].nvalues, 3);
	assert_int_equal(r->claims[1].values[0].type, CLAIM_VAL_NUMBER);
	assert_true(r->claims[1].values[0].num == 1.5);
	assert_int_equal(r->claims[1].values[1].type, CLAIM_VAL_BOOL);
	assert_true(r->claims[1].values[1].b);
	assert_int_equal(r->claims[1].values[2].type, CLAIM_VAL_STRING);
	assert_string_equal(r->claims[1].values[2].s, "x");
	assert_int_equal(r->nclaims_to_vars, 2);
	assert_string_equal(r->claims_to_vars[0].claim, "email");
	assert_string_equal(r->claims_to_vars[0].var, "claim_email");
	assert_string_equal(r->claims_to_vars[1].claim, "x-y.z");
	assert_string_equal(r->claims_to_vars[1].var, "claim_x_y_z");
	assert_true(r->bound_token);
	assert_int_equal(cidr_list_count(r->source_cidrs), 4);

	cc = r->client_cert;
	assert_non_null(cc);
	assert_int_equal(cc->nsha256, 3);
	ts_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", want, sizeof(want));
	assert_memory_equal(cc->sha256[0], want, 32);
	ts_hex("aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899", want, sizeof(want));
	assert_memory_equal(cc->sha256[1], want, 32);
	ts_hex("ffef000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d", want, sizeof(want));
	assert_memory_equal(cc->sha256[2], want, 32);
	assert_int_equal(cc->nsha1, 1);
	ts_hex("0123456789abcdef0123456789abcdef01234567", want, sizeof(want));
	assert_memory_equal(cc->sha1[0], want, 20);
	assert_int_equal(cc->serials.n, 3);
	assert_string_equal(cc->serials.v[0], "abc");
	assert_string_equal(cc->serials.v[1], "0");
	assert_string_equal(cc->serials.v[2], "0");
	assert_string_equal(cc->common_names.v[0], "cn1");
	assert_int_equal(cc->subjects.n, 1);
	assert_string_equal(cc->subjects.text[0], "CN=a,O=b");
	assert_non_null(cc->subjects.dn[0]);
	assert_int_equal(cc->issuers.n, 1);
	assert_string_equal(cc->issuers.text[0], "CN=ca,O=b");
	assert_non_null(cc->issuers.dn[0]);
	assert_int_equal(cc->nissuer_sha256, 1);
	assert_int_equal(cc->issuer_sha256[0][0], 0xff);
	assert_string_equal(cc->dns_names.v[0], "a.example.com");
	assert_string_equal(cc->uris.v[0], "spiffe://x/y");
	assert_string_equal(cc->emails.v[0], "a@b.c");
	assert_false(cc->check_validity);
	assert_int_equal(cc->nidentities, 2);
	assert_true(cc->identities[0].has_sha256);
	ts_hex("ffef000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d", want, sizeof(want));
	assert_memory_equal(cc->identities[0].sha256, want, 32);
	assert_true(cc->identities[0].has_sha1);
	assert_true(cc->identities[0].has_issuer_sha256);
	assert_string_equal(cc->identities[0].serial, "f");
	assert_string_equal(cc->identities[0].common_name, "cn");
	assert_string_equal(cc->identities[0].subject, "CN=s");
	assert_non_null(cc->identities[0].subject_dn);
	assert_string_equal(cc->identities[0].issuer, "CN=i");
	assert_non_null(cc->identities[0].issuer_dn);
	assert_string_equal(cc->identities[0].dns_name, "d");
	assert_string_equal(cc->identities[0].uri, "u");
	assert_string_equal(cc->identities[0].email, "e");
	assert_false(cc->identities[1].has_sha256);
	assert_null(cc->identities[1].serial);
	assert_null(cc->identities[1].subject);
	assert_null(cc->identities[1].subject_dn);
	assert_null(cc->identities[1].issuer);
	assert_null(cc->identities[1].issuer_dn);
	assert_string_equal(cc->identities[1].common_name, "only");

	r = &cfg->routes[1];
	assert_string_equal(r->host, "*.example.com");
	assert_string_equal(r->path_prefix, "/");
	assert_int_equal(r->methods.n, 0);
	assert_int_equal(r->require, REQUIRE_MTLS);
	assert_non_null(r->client_cert);
	assert_true(r->client_cert->check_validity);
	assert_int_equal(r->client_cert->nsha256, 0);
	assert_null(r->source_cidrs);
	assert_string_equal(cfg->routes[2].path_prefix, "/pub/");
	assert_int_equal(cfg->routes[2].require, REQUIRE_NONE);
	assert_string_equal(cfg->routes[3].host, "[::1]");
	assert_int_equal(cfg->routes[3].nissuers, 0);
	assert_null(cfg->routes[3].issuers);
	config_free(cfg);
}

/* "answer": what each form asks for. */
static void
test_answer(void **state)
{
	static const struct {
		const char *doc;
		unsigned want;
	} cases[] = {
		{ DOC(""), ANSWER_OK_REASON },
		{ DOC(",'answer':{}"), ANSWER_OK_REASON },
		{ DOC(",'answer':{'on_allow':[]}"), 0 },
		{ DOC(",'answer':{'on_allow':['status']}"), ANSWER_OK_STATUS },
		{ DOC(",'answer':{'on_allow':['reason','status']}"),
		  ANSWER_OK_STATUS | ANSWER_OK_REASON },
		{ DOC(",'answer':{'on_allow':['reason']}"), ANSWER_OK_REASON },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = parse_ok(cases[i].doc);

		if (cfg->answer != cases[i].want)
			fail_msg("%s: answer %#x, want %#x", cases[i].doc,
			    cfg->answer, cases[i].want);
		config_free(cfg);
	}
}

static void
test_defaults(void **state)
{
	struct config *cfg = parse_ok(DOC(""));
	const struct route_cfg *r = &cfg->routes[0];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_null(cfg->admin_listen);
	assert_true(cfg->listen_takeover);
	assert_true(cfg->workers >= 1 && cfg->workers <= 256);
	if (ncpu >= 1 && ncpu <= 256)
		assert_int_equal(cfg->workers, ncpu);
	assert_null(cfg->state_dir);
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_int_equal(cfg->log_format, LOG_FMT_TEXT);
	assert_int_equal(cfg->token_cache_entries, 65536);
	assert_int_equal(cfg->cert_cache_entries, 4096);
	assert_int_equal(cfg->max_token_bytes, 8192);
	assert_int_equal(cfg->max_frame_size, 65532);
	assert_int_equal(cfg->park_timeout_ms, 1500);
	assert_int_equal(cfg->kid_refetch_interval_ms, 1000);
	assert_int_equal(cfg->kid_negative_ttl_s, 60);
	assert_int_equal(cfg->kid_refetch_cooldown_s, 0);
	assert_null(cfg->policy_url);
	assert_null(cfg->policy_file);
	assert_null(cfg->client_ca_file);
	assert_int_equal(cfg->crl_files.n, 0);
	assert_int_equal(cfg->crl_urls.n, 0);
	assert_int_equal(cfg->crl_stale, CRL_STALE_DENY);
	assert_int_equal(cfg->answer, ANSWER_OK_REASON);
	assert_int_equal(cfg->fetch.connect_timeout_ms, 3000);
	assert_int_equal(cfg->fetch.timeout_ms, 10000);
	assert_int_equal(cfg->fetch.max_body_bytes, 1048576);
	assert_int_equal(cfg->fetch.refresh_min_s, 300);
	assert_int_equal(cfg->fetch.refresh_max_s, 86400);
	assert_int_equal(cfg->fetch.backoff_max_s, 300);
	assert_int_equal(cfg->fetch.max_stale_s, 0);
	assert_null(cfg->fetch.ca_file);
	assert_false(cfg->fetch.insecure_skip_verify_for_tests);
	assert_int_equal(cfg->ncredentials, 0);
	assert_int_equal(cfg->nissuers, 0);
	assert_int_equal(cfg->nroutes, 1);
	assert_null(r->host);
	assert_string_equal(r->path_prefix, "/");
	assert_int_equal(r->methods.n, 0);
	assert_int_equal(r->require, REQUIRE_NONE);
	assert_null(r->client_cert);
	assert_false(r->bound_token);
	assert_null(r->source_cidrs);
	config_free(cfg);

	/* The longest unix socket path: 95 bytes. */
	cfg = parse_ok("{'listen':['unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "']," ROUTES "}");
	assert_int_equal(strlen(cfg->listen[0].path), 95);
	config_free(cfg);

	/* Issuer defaults. */
	cfg = parse_ok(ISSDOC("'issuer':'x','jwks_url':'https://idp/k'"));
	assert_int_equal(cfg->issuers[0].algorithms, JWS_ALG_ASYMMETRIC_MASK);
	assert_int_equal(cfg->issuers[0].clock_skew_s, 60);
	assert_true(cfg->issuers[0].require_exp);
	assert_int_equal(cfg->issuers[0].max_lifetime_s, 0);
	assert_null(cfg->issuers[0].appid);
	assert_null(cfg->issuers[0].credential);
	assert_int_equal(cfg->issuers[0].tenants.n, 0);
	config_free(cfg);

	/* No base_dir: relative paths stay as written. */
	{
		struct config_errors e = { NULL, 0 };
		struct config *c2 = NULL;

		assert_int_equal(parse_sq(DOC(",'state_dir':'rel/dir'"), NULL,
		    &c2, &e), 0);
		assert_string_equal(c2->state_dir, "rel/dir");
		assert_null(c2->base_dir);
		config_free(c2);
		/* base_dir "/" does not double the slash. */
		assert_int_equal(parse_sq(DOC(",'state_dir':'rel'"), "/",
		    &c2, &e), 0);
		assert_string_equal(c2->state_dir, "/rel");
		config_free(c2);
	}
	/* Policy source instead of routes. */
	cfg = parse_ok("{" LISTEN ",'policy_file':'p.json'}");
	assert_string_equal(cfg->policy_file, "/etc/spoa/p.json");
	assert_int_equal(cfg->nroutes, 0);
	config_free(cfg);
	cfg = parse_ok("{" LISTEN ",'policy_url':'https://p/x'}");
	config_free(cfg);
	/* insecure_skip_verify_for_tests allows http:// key sources. */
	cfg = parse_ok("{" LISTEN ",'fetch':{'insecure_skip_verify_for_tests':true},"
	    "'issuers':[{'name':'i','issuer':'x','discovery_url':'http://127.0.0.1:1/d','audiences':['a']}],"
	    "'routes':[{'name':'r','require':'jwt'}]}");
	assert_string_equal(cfg->issuers[0].source_location, "http://127.0.0.1:1/d");
	config_free(cfg);
}

struct err_case {
	const char *doc;
	const char *want;
};

static const struct err_case err_cases[] = {
	/* document level */
	{ "", "config: empty document" },
	{ "[]", "config: must be a JSON object" },
	{ "{} x", "config: invalid JSON at line 1, column 4: data after the JSON value" },
	{ "{'a':\n 'b\x01'}", "config: invalid JSON at line 2, column 4: control character in string" },
	{ "{'a':\n 'b\xc3\x28'}", "config: invalid JSON at line 2, column 4: invalid UTF-8" },
	{ "{'a':'\xed\xa0\x80'}", "config: invalid JSON at line 1, column 7: invalid UTF-8" },
	{ "{'a':'\\u0000'}", "config: invalid JSON at line 1, column 7: \\u0000 in string" },
	{ "{'a':1,}", "config: invalid JSON at line 1, column 8: trailing comma" },
	{ DOC(",'bogus':1"), "bogus: unknown key" },
	/* duplicate keys: the strict tokenizer stops at the second one */
	{ "{" LISTEN "," LISTEN "," ROUTES "}", "config: invalid JSON at line 1, column 31: duplicate key" },
	{ "{" LISTEN ",'routes':[{'name':'r','require':'none','name':'s'}]}", "config: invalid JSON at line 1, column 70: duplicate key" },
	{ "{" ROUTES "}", "listen: required" },
	/* listen */
	{ "{'listen':[]," ROUTES "}", "listen: must have 1 to 16 entries" },
	{ "{'listen':['1.1.1.1:1','1.1.1.1:2','1.1.1.1:3','1.1.1.1:4','1.1.1.1:5','1.1.1.1:6',"
	  "'1.1.1.1:7','1.1.1.1:8','1.1.1.1:9','1.1.1.1:10','1.1.1.1:11','1.1.1.1:12','1.1.1.1:13',"
	  "'1.1.1.1:14','1.1.1.1:15','1.1.1.1:16','1.1.1.1:17']," ROUTES "}", "listen: must have 1 to 16 entries" },
	{ "{'listen':'127.0.0.1:1'," ROUTES "}", "listen: must be an array of strings" },
	{ "{'listen':[1]," ROUTES "}", "listen[0]: must be a string" },
	{ "{'listen':['']," ROUTES "}", "listen[0]: must not be empty" },
	{ "{'listen':['127.0.0.1:0']," ROUTES "}", "listen[0]: port must be 1 to 65535" },
	{ "{'listen':['127.0.0.1:65536']," ROUTES "}", "listen[0]: port must be 1 to 65535" },
	{ "{'listen':['127.0.0.1:080']," ROUTES "}", "listen[0]: port must be 1 to 65535" },
	{ "{'listen':['127.0.0.1']," ROUTES "}", "listen[0]: must be host:port or [v6]:port or unix:/path" },
	{ "{'listen':['example.com:80']," ROUTES "}", "listen[0]: host must be an IPv4 address or localhost" },
	{ "{'listen':['::1:80']," ROUTES "}", "listen[0]: an IPv6 address needs brackets: [v6]:port" },
	{ "{'listen':['[::g]:80']," ROUTES "}", "listen[0]: not an IPv6 address" },
	{ "{'listen':['unix:run/a.sock']," ROUTES "}", "listen[0]: unix socket path must be absolute" },
	{ "{'listen':['unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "']," ROUTES "}", "listen[0]: unix socket path too long (max 95 bytes)" },
	/* 96 bytes: the temporary name "<path>.<pid>.new" would not fit. */
	{ "{'listen':['unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "']," ROUTES "}", "listen[0]: unix socket path too long (max 95 bytes)" },
	{ DOC(",'listen_takeover':1"), "listen_takeover: must be true or false" },
	{ DOC(",'listen_takeover':'yes'"), "listen_takeover: must be true or false" },
	{ DOC(",'admin_listen':'unix:/a'"), "admin_listen: must be host:port or [v6]:port" },
	{ DOC(",'admin_listen':'127.0.0.1'"), "admin_listen: must be host:port or [v6]:port" },
	/* numbers */
	{ DOC(",'workers':257"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'workers':-1"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'workers':1.5"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'workers':'2'"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'workers':1e400"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'workers':true"), "workers: must be an integer from 0 to 256" },
	{ DOC(",'token_cache_entries':16777217"), "token_cache_entries: must be an integer from 0 to 16777216" },
	{ DOC(",'cert_cache_entries':1048577"), "cert_cache_entries: must be an integer from 0 to 1048576" },
	{ DOC(",'max_token_bytes':511"), "max_token_bytes: must be an integer from 512 to 65536" },
	{ DOC(",'max_frame_size':16777216"), "max_frame_size: must be an integer from 256 to 16777215" },
	{ DOC(",'park_timeout_ms':10001"), "park_timeout_ms: must be an integer from 0 to 10000" },
	{ DOC(",'kid_refetch_cooldown_s':0"), "kid_refetch_cooldown_s: must be an integer from 1 to 3600" },
	{ DOC(",'kid_refetch_interval_ms':99"), "kid_refetch_interval_ms: must be an integer from 100 to 600000" },
	{ DOC(",'kid_negative_ttl_s':0"), "kid_negative_ttl_s: must be an integer from 1 to 3600" },
	{ DOC(",'log_level':'verbose'"), "log_level: must be one of error, warn, info, debug (got \"verbose\")" },
	{ DOC(",'log_format':'JSON'"), "log_format: must be text or json (got \"JSON\")" },
	{ DOC(",'log_format':1"), "log_format: must be a string" },
	{ DOC(",'state_dir':''"), "state_dir: must not be empty" },
	{ DOC(",'state_dir':'a\\u0001b'"), "state_dir: must not contain control characters" },
	{ DOC(",'state_dir':null"), "state_dir: must be a string" },
	/* fetch */
	{ DOC(",'fetch':[]"), "fetch: must be an object" },
	{ DOC(",'fetch':{'bogus':1}"), "fetch.bogus: unknown key" },
	{ DOC(",'fetch':{'connect_timeout_ms':99}"), "fetch.connect_timeout_ms: must be an integer from 100 to 60000" },
	{ DOC(",'fetch':{'timeout_ms':2000}"), "fetch.timeout_ms: must be >= connect_timeout_ms (3000)" },
	{ DOC(",'fetch':{'timeout_ms':300001}"), "fetch.timeout_ms: must be an integer from 100 to 300000" },
	{ DOC(",'fetch':{'max_body_bytes':1023}"), "fetch.max_body_bytes: must be an integer from 1024 to 67108864" },
	{ DOC(",'fetch':{'refresh_min_s':0}"), "fetch.refresh_min_s: must be an integer from 1 to 86400" },
	{ DOC(",'fetch':{'refresh_min_s':600,'refresh_max_s':599}"), "fetch.refresh_max_s: must be >= refresh_min_s (600)" },
	{ DOC(",'fetch':{'refresh_max_s':604801}"), "fetch.refresh_max_s: must be an integer from 1 to 604800" },
	{ DOC(",'fetch':{'backoff_max_s':0}"), "fetch.backoff_max_s: must be an integer from 1 to 86400" },
	{ DOC(",'fetch':{'max_stale_s':31536001}"), "fetch.max_stale_s: must be an integer from 0 to 31536000" },
	{ DOC(",'fetch':{'insecure_skip_verify_for_tests':'yes'}"), "fetch.insecure_skip_verify_for_tests: must be true or false" },
	{ DOC(",'fetch':{'ca_file':''}"), "fetch.ca_file: must not be empty" },
	/* CRLs */
	{ DOC(",'crl_stale':'maybe'"), "crl_stale: must be deny or allow (got \"maybe\")" },
	/* answer */
	{ DOC(",'answer':['reason']"), "answer: must be an object" },
	{ DOC(",'answer':{'on_allow':['route']}"), "answer.on_allow[0]: must be status or reason (got \"route\")" },
	{ DOC(",'answer':{'on_allow':['reason','reason']}"), "answer.on_allow[1]: reason is listed twice" },
	{ DOC(",'answer':{'on_allow':['status','reason','status']}"), "answer.on_allow: must have 0 to 2 entries" },
	{ DOC(",'answer':{'on_allow':'reason'}"), "answer.on_allow: must be an array of strings" },
	{ DOC(",'answer':{'on_allow':[1]}"), "answer.on_allow[0]: must be a string" },
	{ DOC(",'answer':{'lean':true}"), "answer.lean: unknown key" },
	{ DOC(",'crl_urls':['ftp://x/c.crl']"), "crl_urls[0]: must be an http:// or https:// URL" },
	{ DOC(",'crl_urls':['https://']"), "crl_urls[0]: URL has no host" },
	{ DOC(",'crl_urls':['https://u:p@x/c']"), "crl_urls[0]: URL must not contain credentials" },
	{ DOC(",'crl_urls':['https://x/a b']"), "crl_urls[0]: URL must not contain spaces, control or non-ASCII characters" },
	{ DOC(",'crl_files':'a.crl'"), "crl_files: must be an array of strings" },
	/* policy source */
	{ DOC(",'policy_url':'http://p/x'"), "policy_url: must be an https:// URL (http:// only with fetch.insecure_skip_verify_for_tests)" },
	{ DOC(",'policy_url':'p.json'"), "policy_url: must be an https:// URL" },
	{ "{" LISTEN ",'policy_url':'https://p/x','policy_file':'p.json'}", "policy_file: policy_url and policy_file are mutually exclusive" },
	{ "{" LISTEN ",'policy_file':'p.json'," ROUTES "}", "routes: not allowed with policy_file (the policy document holds the routes)" },
	{ "{" LISTEN "}", "routes: at least one route is required unless policy_url or policy_file is set" },
	{ "{" LISTEN ",'routes':[]}", "routes: at least one route is required unless policy_url or policy_file is set" },
	{ "{" LISTEN ",'policy_url':'https://p/x','policy_credential':'nope'}", "policy_credential: no credential named \"nope\"" },
	{ "{" LISTEN "," ROUTES ",'credentials':[{'name':'c','type':'client_certificate','cert_file':'c','key_file':'k'}],'policy_credential':'c'}",
	  "policy_credential: requires policy_url" },
	{ DOC(",'policy_ca_file':'ca.pem'"), "policy_ca_file: requires policy_url" },
	/* credentials */
	{ DOC(",'credentials':{}"), "credentials: must be an array of objects" },
	{ DOC(",'credentials':[1]"), "credentials[0]: must be an object" },
	{ DOC(",'credentials':[{'name':'a b','type':'client_certificate','cert_file':'c','key_file':'k'}]"),
	  "credentials[0].name: must match [A-Za-z0-9_.-]{1,64}" },
	{ DOC(",'credentials':[{'name':'c','type':'client_certificate','cert_file':'c','key_file':'k'},"
	  "{'name':'c','type':'client_certificate','cert_file':'c','key_file':'k'}]"),
	  "credentials[1].name: duplicate name \"c\" (first at credentials[0])" },
	{ DOC(",'credentials':[{'name':'c','type':'kerberos'}]"),
	  "credentials[0].type: unknown credential type \"kerberos\" (managed_identity, client_credentials or client_certificate)" },
	{ DOC(",'credentials':[{'name':'c'}]"), "credentials[0].type: required" },
	{ DOC(",'credentials':[{'name':'c','type':'managed_identity'}]"), "credentials[0].resource: required" },
	{ DOC(",'credentials':[{'name':'c','type':'managed_identity','resource':'r','cert_file':'x'}]"),
	  "credentials[0].cert_file: not allowed with type \"managed_identity\"" },
	{ DOC(",'credentials':[{'name':'c','type':'managed_identity','resource':'r','bogus':'x'}]"),
	  "credentials[0].bogus: unknown key" },
	{ DOC(",'credentials':[{'name':'c','type':'managed_identity','resource':'r','endpoint':'ftp://x'}]"),
	  "credentials[0].endpoint: must be an http:// or https:// URL" },
	{ DOC(",'credentials':[{'name':'c','type':'client_credentials','token_url':'https://t/','client_id':'i'}]"),
	  "credentials[0]: exactly one of client_secret_file, client_secret_env is required" },
	{ DOC(",'credentials':[{'name':'c','type':'client_credentials','token_url':'https://t/','client_id':'i',"
	  "'client_secret_file':'f','client_secret_env':'E'}]"),
	  "credentials[0]: exactly one of client_secret_file, client_secret_env is required" },
	{ DOC(",'credentials':[{'name':'c','type':'client_credentials','token_url':'https://t/','client_id':'i',"
	  "'client_secret_env':'1BAD'}]"),
	  "credentials[0].client_secret_env: must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" },
	{ DOC(",'credentials':[{'name':'c','type':'client_credentials','token_url':'http://t/','client_id':'i',"
	  "'client_secret_env':'E'}]"),
	  "credentials[0].token_url: must be an https:// URL (http:// only with fetch.insecure_skip_verify_for_tests)" },
	{ DOC(",'credentials':[{'name':'c','type':'client_credentials','token_url':'https://t/','client_secret_env':'E'}]"),
	  "credentials[0].client_id: required" },
	{ DOC(",'credentials':[{'name':'c','type':'client_certificate','cert_file':'c'}]"), "credentials[0].key_file: required" },
	{ DOC(",'credentials':[{'name':'c','type':'client_certificate','cert_file':'c','key_file':'k','scope':'s'}]"),
	  "credentials[0].scope: not allowed with type \"client_certificate\"" },
	/* issuers */
	{ DOC(",'issuers':{}"), "issuers: must be an array of objects" },
	{ DOC(",'issuers':['x']"), "issuers[0]: must be an object" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','bogus':1"), "issuers[0].bogus: unknown key" },
	{ "{" LISTEN ",'issuers':[{'issuer':'x','jwks_url':'https://k/','audiences':['a']}]," ROUTES "}", "issuers[0].name: required" },
	{ "{" LISTEN ",'issuers':[" ISS_OK "," ISS_OK "]," ROUTES "}", "issuers[1].name: duplicate name \"i\" (first at issuers[0])" },
	{ ISSDOC("'jwks_url':'https://idp/k'"), "issuers[0].issuer: required" },
	{ ISSDOC("'issuer':5,'jwks_url':'https://idp/k'"), "issuers[0].issuer: must be a string or an array of strings" },
	{ ISSDOC("'issuer':'','jwks_url':'https://idp/k'"), "issuers[0].issuer: must not be empty" },
	{ ISSDOC("'issuer':[],'jwks_url':'https://idp/k'"), "issuers[0].issuer: must not be empty" },
	{ ISSDOC("'issuer':'x'"), "issuers[0]: exactly one of discovery_url, jwks_url, jwks_file is required" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','jwks_file':'k.json'"),
	  "issuers[0]: exactly one of discovery_url, jwks_url, jwks_file is required" },
	{ ISSDOC("'issuer':'x','jwks_url':'http://idp/k'"),
	  "issuers[0].jwks_url: must be an https:// URL (http:// only with fetch.insecure_skip_verify_for_tests)" },
	{ ISSDOC("'issuer':'x','discovery_url':'idp/k'"), "issuers[0].discovery_url: must be an https:// URL" },
	{ ISSDOC("'issuer':'https://l/{tenant}/v2.0','jwks_url':'https://idp/k'"),
	  "issuers[0].tenants: required when issuer contains {tenant} or {tenantid} "
	  "(or \"allow_any_tenant\": true to accept tokens of every tenant)" },
	/* Microsoft's own spelling is a template too: never "any tenant". */
	{ ISSDOC("'issuer':'https://login.microsoftonline.com/{tenantid}/v2.0','jwks_url':'https://idp/k'"),
	  "issuers[0].tenants: required when issuer contains {tenant} or {tenantid} "
	  "(or \"allow_any_tenant\": true to accept tokens of every tenant)" },
	{ ISSDOC("'issuer':['https://x/','https://sts.windows.net/{tenantid}/'],'jwks_url':'https://idp/k'"),
	  "issuers[0].tenants: required when issuer contains {tenant} or {tenantid} "
	  "(or \"allow_any_tenant\": true to accept tokens of every tenant)" },
	{ ISSDOC("'issuer':'https://l/{tenantid}/v2.0','jwks_url':'https://idp/k','allow_any_tenant':false"),
	  "issuers[0].tenants: required when issuer contains {tenant} or {tenantid} "
	  "(or \"allow_any_tenant\": true to accept tokens of every tenant)" },
	{ ISSDOC("'issuer':'https://l/{tenantid}/v2.0','jwks_url':'https://idp/k','allow_any_tenant':true,"
	  "'tenants':['3f2504e0-4f89-41d3-9a0c-0305e82c3301']"),
	  "issuers[0].tenants: cannot be combined with allow_any_tenant" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','allow_any_tenant':true"),
	  "issuers[0].allow_any_tenant: only allowed when issuer contains {tenant} or {tenantid}" },
	{ ISSDOC("'issuer':'https://l/{tenantid}/v2.0','jwks_url':'https://idp/k','allow_any_tenant':1,"
	  "'tenants':['3f2504e0-4f89-41d3-9a0c-0305e82c3301']"),
	  "issuers[0].allow_any_tenant: must be true or false" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','tenants':['3f2504e0-4f89-41d3-9a0c-0305e82c3301']"),
	  "issuers[0].tenants: only allowed when issuer contains {tenant} or {tenantid}" },
	{ ISSDOC("'issuer':'https://l/{tenant}/v2.0','jwks_url':'https://idp/k','tenants':['contoso.com']"),
	  "issuers[0].tenants[0]: not a tenant id (GUID)" },
	{ ISSDOC("'issuer':'https://l/{tenantid}/v2.0','jwks_url':'https://idp/k','tenants':[]"),
	  "issuers[0].tenants: must not be empty" },
	{ ISSDOC("'issuer':['a','{tenant}/{tenant}'],'jwks_url':'https://idp/k','tenants':['3f2504e0-4f89-41d3-9a0c-0305e82c3301']"),
	  "issuers[0].issuer[1]: a tenant placeholder ({tenant} or {tenantid}) may appear at most once" },
	{ ISSDOC("'issuer':'{tenant}/{tenantid}','jwks_url':'https://idp/k','tenants':['3f2504e0-4f89-41d3-9a0c-0305e82c3301']"),
	  "issuers[0].issuer: a tenant placeholder ({tenant} or {tenantid}) may appear at most once" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':['RS256','none']"),
	  "issuers[0].algorithms[1]: unknown algorithm \"none\"" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':['rs256']"),
	  "issuers[0].algorithms[0]: unknown algorithm \"rs256\"" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':[]"), "issuers[0].algorithms: must not be empty" },
	{ ISSDOC("'issuer':'x','algorithms':['HS256']"),
	  "issuers[0]: HS256/HS384/HS512 require exactly one of hmac_secret_file, hmac_secret_env" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':['HS256'],'hmac_secret_env':'E'"),
	  "issuers[0]: an issuer with only HS256/HS384/HS512 takes no discovery_url, jwks_url or jwks_file" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':['HS256','RS256'],'hmac_secret_env':'E'"),
	  "issuers[0].algorithms: HS256/HS384/HS512 cannot be mixed with asymmetric algorithms in one issuer (use two issuers)" },
	{ ISSDOC("'issuer':'x','algorithms':['HS256'],'hmac_secret_file':'f','hmac_secret_env':'E'"),
	  "issuers[0]: HS256/HS384/HS512 require exactly one of hmac_secret_file, hmac_secret_env" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','hmac_secret_env':'E'"),
	  "issuers[0].hmac_secret_env: requires an HS256, HS384 or HS512 algorithm" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','algorithms':['ES256'],'hmac_secret_file':'f'"),
	  "issuers[0].hmac_secret_file: requires an HS256, HS384 or HS512 algorithm" },
	{ ISSDOC("'issuer':'x','algorithms':['HS256'],'hmac_secret_env':'A-B'"),
	  "issuers[0].hmac_secret_env: must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" },
	{ "{" LISTEN ",'issuers':[{'name':'i','issuer':'x','jwks_url':'https://k/'}]," ROUTES "}", "issuers[0].audiences: required" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','audiences':[]"), "config: invalid JSON at line 1, column 112: duplicate key" },
	{ "{" LISTEN ",'issuers':[{'name':'i','issuer':'x','jwks_url':'https://k/','audiences':[]}]," ROUTES "}",
	  "issuers[0].audiences: must not be empty" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','clock_skew_s':601"), "issuers[0].clock_skew_s: must be an integer from 0 to 600" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','max_lifetime_s':31536001"),
	  "issuers[0].max_lifetime_s: must be an integer from 0 to 31536000" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','require_exp':'true'"), "issuers[0].require_exp: must be true or false" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','typ':[]"), "issuers[0].typ: must not be empty" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','appid':'a/b'"),
	  "issuers[0].appid: must contain only unreserved URL characters (A-Z a-z 0-9 - . _ ~)" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','credential':'x'"), "issuers[0].credential: no credential named \"x\"" },
	{ ISSDOC("'issuer':'x','jwks_file':'k.json','ca_file':'ca.pem'"), "issuers[0].ca_file: only used with discovery_url or jwks_url" },
	{ ISSDOC("'issuer':'x','jwks_file':'k.json','appid':'a'"), "issuers[0].appid: only used with discovery_url or jwks_url" },
	/* routes */
	{ "{" LISTEN ",'routes':{}}", "routes: must be an array of objects" },
	{ "{" LISTEN ",'routes':[[]]}", "routes[0]: must be an object" },
	{ "{" LISTEN ",'routes':[{'require':'none'}]}", "routes[0].name: required" },
	{ "{" LISTEN ",'routes':[" ROUTE_NONE_ "," ROUTE_NONE_ "]}", "routes[1].name: duplicate name \"r\" (first at routes[0])" },
	{ "{" LISTEN ",'routes':[{'name':'r'}]}", "routes[0].require: required" },
	{ "{" LISTEN ",'routes':[{'name':'r','require':'oauth'}]}",
	  "routes[0].require: must be one of none, jwt, mtls, jwt+mtls (got \"oauth\")" },
	{ "{" LISTEN ",'routes':[{'name':'r','require':'jwt'}]}", "routes[0].require: \"jwt\" needs at least one issuer" },
	{ "{" LISTEN ",'issuers':[" ISS_OK "],'routes':[" ROUTE_NONE_ ",{'name':'s','require':'jwt','issuers':['x']}]}",
	  "routes[1].issuers[0]: no issuer named \"x\"" },
	{ RDOC("'require':'jwt','issuers':[]"), "routes[0].issuers: must not be empty" },
	{ RDOC("'require':'none','bogus':true"), "routes[0].bogus: unknown key" },
	{ RDOC("'require':'none','issuers':['i']"), "routes[0].issuers: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'mtls','scopes_any':['s']"), "routes[0].scopes_any: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'mtls','scopes_all':[]"), "routes[0].scopes_all: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'none','roles_any':['r']"), "routes[0].roles_any: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'none','roles_all':['r']"), "routes[0].roles_all: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'none','claims':{}"), "routes[0].claims: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'mtls','claims_to_vars':['a']"), "routes[0].claims_to_vars: only allowed when require is jwt or jwt+mtls" },
	{ RDOC("'require':'jwt','client_cert':{}"), "routes[0].client_cert: only allowed when require is mtls or jwt+mtls" },
	{ RDOC("'require':'mtls','bound_token':false"), "routes[0].bound_token: only allowed when require is jwt+mtls" },
	{ RDOC("'require':'jwt','bound_token':true"), "routes[0].bound_token: only allowed when require is jwt+mtls" },
	{ RDOC("'require':'jwt+mtls','bound_token':1"), "routes[0].bound_token: must be true or false" },
	{ RDOC("'require':'none','host':'api.example.com:443'"),
	  "routes[0].host: must be a host name, *.domain or [IPv6 address], without a port" },
	{ RDOC("'require':'none','host':'a.*.com'"),
	  "routes[0].host: must be a host name, *.domain or [IPv6 address], without a port" },
	{ RDOC("'require':'none','host':'*'"),
	  "routes[0].host: must be a host name, *.domain or [IPv6 address], without a port" },
	{ RDOC("'require':'none','host':'a..b'"),
	  "routes[0].host: must be a host name, *.domain or [IPv6 address], without a port" },
	{ RDOC("'require':'none','host':'[::1]:80'"),
	  "routes[0].host: must be a host name, *.domain or [IPv6 address], without a port" },
	{ RDOC("'require':'none','path_prefix':'orders'"), "routes[0].path_prefix: must start with /" },
	{ RDOC("'require':'none','path_prefix':'/a/../b'"), "routes[0].path_prefix: not a normalised path (write it as \"/b\")" },
	{ RDOC("'require':'none','path_prefix':'/a//b/'"), "routes[0].path_prefix: not a normalised path (write it as \"/a/b/\")" },
	{ RDOC("'require':'none','path_prefix':'/%7euser'"), "routes[0].path_prefix: not a normalised path (write it as \"/~user\")" },
	{ RDOC("'require':'none','path_prefix':'/a%2fb'"), "routes[0].path_prefix: not a valid path (see route matching rules)" },
	{ RDOC("'require':'none','path_prefix':'/..'"), "routes[0].path_prefix: not a valid path (see route matching rules)" },
	{ RDOC("'require':'none','methods':['get']"), "routes[0].methods[0]: must be an uppercase HTTP method token" },
	{ RDOC("'require':'none','methods':['GET','PO ST']"), "routes[0].methods[1]: must be an uppercase HTTP method token" },
	{ RDOC("'require':'none','methods':[]"), "routes[0].methods: must not be empty" },
	{ RDOC("'require':'jwt','claims':[]"), "routes[0].claims: must be an object" },
	{ RDOC("'require':'jwt','claims':{'tid':[]}"), "routes[0].claims.tid: must not be empty" },
	{ RDOC("'require':'jwt','claims':{'tid':'x'}"),
	  "routes[0].claims.tid: must be an array of values or an object with \"any\", \"all\" or \"present\"" },
	{ RDOC("'require':'jwt','claims':{'groups':{'all':[]}}"), "routes[0].claims.groups.all: must not be empty" },
	{ RDOC("'require':'jwt','claims':{'groups':{'all':'x'}}"),
	  "routes[0].claims.groups.all: must be an array of strings, numbers or booleans" },
	{ RDOC("'require':'jwt','claims':{'groups':{'any':['a'],'all':['b']}}"),
	  "routes[0].claims.groups: exactly one of any, all, present is required" },
	{ RDOC("'require':'jwt','claims':{'groups':{}}"), "routes[0].claims.groups: exactly one of any, all, present is required" },
	{ RDOC("'require':'jwt','claims':{'groups':{'all':['a'],'one':['a']}}"), "routes[0].claims.groups.one: unknown key" },
	{ RDOC("'require':'jwt','claims':{'email':{'present':false}}"), "routes[0].claims.email.present: must be true" },
	{ RDOC("'require':'jwt','claims':{'/a~2':['x']}"),
	  "routes[0].claims./a~2: JSON Pointer claim path: '~' must be followed by 0 or 1" },
	{ RDOC("'require':'jwt','claims':{'tid':['a',null]}"), "routes[0].claims.tid[1]: must be a string, number or boolean" },
	{ RDOC("'require':'jwt','claims':{'tid':[['a']]}"), "routes[0].claims.tid[0]: must be a string, number or boolean" },
	{ RDOC("'require':'jwt','claims':{'a..b':['x']}"), "routes[0].claims.a..b: claim name has an empty segment" },
	{ RDOC("'require':'jwt','claims':{'':['x']}"), "routes[0].claims.\"\": claim name must be 1 to 256 characters" },
	{ RDOC("'require':'jwt','claims_to_vars':['a b']"),
	  "routes[0].claims_to_vars[0]: no variable name can be made from this claim path: use {\"claim\": \"...\", \"var\": \"<name>\"}" },
	{ RDOC("'require':'jwt','claims_to_vars':['https://x.example/roles']"),
	  "routes[0].claims_to_vars[0]: no variable name can be made from this claim path: use {\"claim\": \"...\", \"var\": \"<name>\"}" },
	{ RDOC("'require':'jwt','claims_to_vars':[{'claim':'https://x.example/roles','var':'a.b'}]"),
	  "routes[0].claims_to_vars[0].var: must match [A-Za-z0-9_]+ (the variable is txn.iam.claim_<var>)" },
	{ RDOC("'require':'jwt','claims_to_vars':[{'claim':'x'}]"), "routes[0].claims_to_vars[0].var: required" },
	{ RDOC("'require':'jwt','claims_to_vars':[{'claim':'x','var':'y','z':1}]"), "routes[0].claims_to_vars[0].z: unknown key" },
	{ RDOC("'require':'jwt','claims_to_vars':[{'claim':'/a~x','var':'y'}]"),
	  "routes[0].claims_to_vars[0].claim: JSON Pointer claim path: '~' must be followed by 0 or 1" },
	{ RDOC("'require':'jwt','claims_to_vars':['/realm_access/roles',{'claim':'r','var':'realm_access_roles'}]"),
	  "routes[0].claims_to_vars[1]: duplicate variable \"claim_realm_access_roles\" (first at routes[0].claims_to_vars[0])" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','roles_claim':5"),
	  "issuers[0].roles_claim: must be a claim path or an array of them" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','roles_claim':['a..b']"),
	  "issuers[0].roles_claim[0]: claim name has an empty segment" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','scopes_claim':[]"), "issuers[0].scopes_claim: must have 1 to 8 entries" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','scopes_claim':['a','b','c','d','e','f','g','h','i']"),
	  "issuers[0].scopes_claim: must have 1 to 8 entries" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','typ':[null,null]"), "issuers[0].typ[1]: null given twice" },
	{ ISSDOC("'issuer':'x','jwks_url':'https://idp/k','typ':[1]"), "issuers[0].typ[0]: must be a string" },
	{ RDOC("'require':'jwt','claims_to_vars':['a.']"), "routes[0].claims_to_vars[0]: claim name has an empty segment" },
	/* "txn.iam.claim_" is 14 characters: 49 more is the longest. */
	{ RDOC("'require':'jwt','claims_to_vars':['12345678901234567890123456789012345678901234567890']"),
	  "routes[0].claims_to_vars[0]: variable txn.iam.claim_12345678901234567890123456789012345678901234567890 would be 64 characters (max 63)" },
	{ RDOC("'require':'jwt','claims_to_vars':['a.b','a-b']"),
	  "routes[0].claims_to_vars[1]: duplicate variable \"claim_a_b\" (first at routes[0].claims_to_vars[0])" },
	{ "{" LISTEN ",'routes':[" ROUTE_NONE_ ",{'name':'s','require':'none'},{'name':'t','require':'none','source_cidrs':['banana']}]}",
	  "routes[2].source_cidrs[0]: not a CIDR" },
	{ RDOC("'require':'none','source_cidrs':['10.0.0.1/8']"), "routes[0].source_cidrs[0]: host bits set" },
	{ RDOC("'require':'none','source_cidrs':['::/129']"), "routes[0].source_cidrs[0]: prefix length out of range" },
	{ RDOC("'require':'none','source_cidrs':[]"), "routes[0].source_cidrs: must not be empty" },
	/* client_cert */
	{ RDOC("'require':'mtls','client_cert':[]"), "routes[0].client_cert: must be an object" },
	{ RDOC("'require':'mtls','client_cert':{'bogus':[]}"), "routes[0].client_cert.bogus: unknown key" },
	{ RDOC("'require':'mtls','client_cert':{'thumbprints_sha256':['abcd']}"),
	  "routes[0].client_cert.thumbprints_sha256[0]: must be 64 hex digits or 43 base64url characters" },
	{ RDOC("'require':'mtls','client_cert':{'thumbprints_sha256':['00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg']}"),
	  "routes[0].client_cert.thumbprints_sha256[0]: must be 64 hex digits or 43 base64url characters" },
	/* 43 base64url chars whose last char carries non-zero padding bits. */
	{ RDOC("'require':'mtls','client_cert':{'thumbprints_sha256':['_-8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB1']}"),
	  "routes[0].client_cert.thumbprints_sha256[0]: must be 64 hex digits or 43 base64url characters" },
	{ RDOC("'require':'mtls','client_cert':{'thumbprints_sha1':['0123456789abcdef0123456789abcdef012345']}"),
	  "routes[0].client_cert.thumbprints_sha1[0]: must be 40 hex digits" },
	{ RDOC("'require':'mtls','client_cert':{'serials':['xyz']}"),
	  "routes[0].client_cert.serials[0]: must be a hex serial number (':' separators allowed)" },
	{ RDOC("'require':'mtls','client_cert':{'serials':[':']}"),
	  "routes[0].client_cert.serials[0]: must be a hex serial number (':' separators allowed)" },
	{ RDOC("'require':'mtls','client_cert':{'subjects':['']}"), "routes[0].client_cert.subjects[0]: must not be empty" },
	/* DNs are compiled at load time: a bad one is an error, with its path. */
#define DNERR "not a distinguished name: "
	{ RDOC("'require':'mtls','client_cert':{'subjects':['CN=a','CN=a,Bogus=zz']}"),
	  "routes[0].client_cert.subjects[1]: " DNERR "unknown attribute type" },
	{ RDOC("'require':'mtls','client_cert':{'subjects':['not a dn']}"),
	  "routes[0].client_cert.subjects[0]: " DNERR "attribute without '='" },
	{ RDOC("'require':'mtls','client_cert':{'subjects':['CN=a+OU=b,O=Contoso, Inc.']}"),
	  "routes[0].client_cert.subjects[0]: " DNERR "attribute without '='" },
	{ RDOC("'require':'mtls','client_cert':{'subjects':['CN=a',5]}"),
	  "routes[0].client_cert.subjects[1]: must be a string" },
	{ RDOC("'require':'mtls','client_cert':{'subjects':'CN=a'}"),
	  "routes[0].client_cert.subjects: must be an array of strings" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=#0403']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "#hex (BER) values are not supported" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['DESCRIPTION=x']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "unknown attribute type" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['1.40=x']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "not a valid OID" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['OID.=x']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "attribute type missing" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':[' =x']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "attribute type missing" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=a,,O=b']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "empty attribute" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=a;']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "empty attribute" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':[' ']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "empty attribute" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=\\\"a']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "unterminated quoted value" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=\\\"a\\\" b']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "text after a quoted value" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=a\\\"b']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "'\"' inside an unquoted value" },
	{ RDOC("'require':'mtls','client_cert':{'issuers':['CN=a\\\\']}"),
	  "routes[0].client_cert.issuers[0]: " DNERR "'\\' at the end" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'issuer':'#0403'}]}"),
	  "routes[0].client_cert.identities[0].issuer: " DNERR "attribute without '='" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'common_name':'a'},{'subject':'CN=a+'}]}"),
	  "routes[0].client_cert.identities[1].subject: " DNERR "empty attribute" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'subject':'CN=a','issuer':'CN=#00'}]}"),
	  "routes[0].client_cert.identities[0].issuer: " DNERR "#hex (BER) values are not supported" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'subject':''}]}"),
	  "routes[0].client_cert.identities[0].subject: must not be empty" },
	{ RDOC("'require':'mtls','client_cert':{'issuer_thumbprints_sha256':[]}"),
	  "routes[0].client_cert.issuer_thumbprints_sha256: requires client_ca_file" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[]}"), "routes[0].client_cert.identities: must not be empty" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{}]}"),
	  "routes[0].client_cert.identities[0]: needs at least one attribute" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'common_name':'a'},{'cn':'b'}]}"),
	  "routes[0].client_cert.identities[1].cn: unknown key" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'thumbprint_sha1':'00'}]}"),
	  "routes[0].client_cert.identities[0].thumbprint_sha1: must be 40 hex digits" },
	{ RDOC("'require':'mtls','client_cert':{'identities':[{'issuer_thumbprint_sha256':'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'}]}"),
	  "routes[0].client_cert.identities[0].issuer_thumbprint_sha256: requires client_ca_file" },
	{ RDOC("'require':'mtls','client_cert':{'check_validity':'no'}"),
	  "routes[0].client_cert.check_validity: must be true or false" },
};

static void
test_each_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++)
		expect_error(err_cases[i].doc, err_cases[i].want);
}

static void
test_many_errors(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	static const char doc[] =
	    "{'listen':['127.0.0.1:0'],'workers':999,'bogus':1,"
	    "'issuers':[{'name':'i','issuer':'x','audiences':['a'],'algorithms':['none']}],"
	    "'routes':[{'name':'r','require':'jwt','issuers':['x']},"
	    "{'name':'r','require':'none','source_cidrs':['10.0.0.1/8']}]}";
	static const char *const want[] = {
		"bogus: unknown key",
		"listen[0]: port must be 1 to 65535",
		"workers: must be an integer from 0 to 256",
		"issuers[0].algorithms[0]: unknown algorithm \"none\"",
		"issuers[0]: exactly one of discovery_url, jwks_url, jwks_file is required",
		"routes[0].issuers[0]: no issuer named \"x\"",
		"routes[1].source_cidrs[0]: host bits set",
		"routes[1].name: duplicate name \"r\" (first at routes[0])",
	};

	(void)state;
	assert_int_equal(parse_sq(doc, NULL, &cfg, &e), -1);
	assert_null(cfg);
	if (e.n != sizeof(want) / sizeof(want[0]))
		dump_errors(doc, &e);
	assert_int_equal(e.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < e.n; i++)
		assert_string_equal(e.v[i], want[i]);
	config_errors_free(&e);

	/* Errors are appended to what the caller already holds. */
	assert_int_equal(parse_sq("[]", NULL, &cfg, &e), -1);
	assert_int_equal(parse_sq("{}", NULL, &cfg, &e), -1);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.v[0], "config: must be a JSON object");
	assert_string_equal(e.v[1], "listen: required");
	assert_string_equal(e.v[2],
	    "routes: at least one route is required unless policy_url or policy_file is set");
	config_errors_free(&e);
}

static void
test_error_cap(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	size_t cap = 128 + 300 * 12, n = 0;
	char *doc = malloc(cap);

	(void)state;
	assert_non_null(doc);
	n += (size_t)snprintf(doc + n, cap - n, "{\"listen\":[\"127.0.0.1:1\"],");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(doc + n, cap - n, "\"k%03d\":1,", i);
	n += (size_t)snprintf(doc + n, cap - n, "\"routes\":[{\"name\":\"r\",\"require\":\"none\"}]}");
	assert_true(n < cap);
	assert_int_equal(config_parse(doc, n, NULL, &cfg, &e), -1);
	assert_int_equal(e.n, 257);
	assert_string_equal(e.v[0], "k000: unknown key");
	assert_string_equal(e.v[256], "config: 44 more errors not shown");
	config_errors_free(&e);
	free(doc);
}

/* An issuer that only signs with a shared secret needs no key source; any
 * asymmetric algorithm brings the requirement back. */
static void
test_hmac_only_issuer(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(parse_sq("{'listen':['127.0.0.1:1'],'issuers':[{'name':'hs',"
	    "'issuer':'x','audiences':['a'],'algorithms':['HS256'],"
	    "'hmac_secret_env':'K'}],'routes':[{'name':'r','require':'jwt'}]}",
	    NULL, &cfg, &e), 0);
	assert_int_equal(cfg->issuers[0].source, KEYS_NONE);
	assert_null(cfg->issuers[0].source_location);
	config_free(cfg);
	cfg = NULL;
	expect_error("{'listen':['127.0.0.1:1'],'issuers':[{'name':'hs',"
	    "'issuer':'x','audiences':['a'],'algorithms':['HS256','RS256'],"
	    "'hmac_secret_env':'K'}],'routes':[{'name':'r','require':'jwt'}]}",
	    "issuers[0].algorithms: HS256/HS384/HS512 cannot be mixed with asymmetric algorithms in one issuer (use two issuers)");
	config_errors_free(&e);
}

/* The document is (buf, len): bytes after len are never read. */
static void
test_not_nul_terminated(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	char *s = sq(DOC("") "GARBAGE");
	size_t len = strlen(s) - strlen("GARBAGE");
	char *exact = malloc(len);

	(void)state;
	assert_non_null(exact);
	memcpy(exact, s, len);
	assert_int_equal(config_parse(exact, len, NULL, &cfg, &e), 0);
	config_free(cfg);
	assert_int_equal(config_parse(s, strlen(s), NULL, &cfg, &e), -1);
	assert_int_equal(e.n, 1);
	config_errors_free(&e);
	free(exact);
	free(s);
	config_free(NULL);
	config_errors_free(&e);
}

/* Policy documents --------------------------------------------------- */

static const char policy_base[] =
    "{'listen':['127.0.0.1:1','unix:/run/a.sock'],'admin_listen':'127.0.0.1:2',"
    "'listen_takeover':false,'policy_url':'https://p/x','policy_credential':'mi','client_ca_file':'ca.pem',"
    "'crl_urls':['http://c/1.crl'],'fetch':{'ca_file':'f.pem'},"
    "'credentials':[{'name':'mi','type':'managed_identity','resource':'api://p'}],"
    "'issuers':[{'name':'local','issuer':'l','jwks_file':'l.json','audiences':['a']}],"
    "'routes':[{'name':'local-route','require':'jwt'}]}";

static void
test_policy(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *base = parse_ok(policy_base), *pol = NULL;
	const struct route_cfg *base_routes = base->routes;
	char *doc;

	(void)state;
	doc = sq("{'version':'2024-05-01',"
	    "'issuers':[{'name':'a','issuer':'ia','jwks_url':'https://a/k','audiences':['x'],'credential':'mi'},"
	    "{'name':'b','issuer':'ib','jwks_file':'b.json','audiences':['y']}],"
	    "'routes':[{'name':'p1','require':'jwt','issuers':['b']},"
	    "{'name':'p2','require':'mtls','client_cert':{'issuer_thumbprints_sha256':"
	    "['00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'],"
	    "'subjects':['CN=x, O=y']}}]}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "policy_url", base,
	    &pol, &e), 0);
	free(doc);
	assert_int_equal(e.n, 0);
	assert_non_null(pol);
	assert_ptr_not_equal(pol, base);
	assert_string_equal(pol->policy_version, "2024-05-01");
	assert_int_equal(pol->nissuers, 2);
	assert_string_equal(pol->issuers[1].source_location, "/etc/spoa/b.json");
	assert_int_equal(pol->nroutes, 2);
	assert_string_equal(pol->routes[0].name, "p1");
	assert_int_equal(pol->routes[0].issuers[0], 1);
	assert_int_equal(pol->routes[1].client_cert->subjects.n, 1);
	assert_string_equal(pol->routes[1].client_cert->subjects.text[0],
	    "CN=x, O=y");
	assert_non_null(pol->routes[1].client_cert->subjects.dn[0]);
	/* The rest is a deep copy of the base. */
	assert_int_equal(pol->nlisten, 2);
	assert_ptr_not_equal(pol->listen, base->listen);
	assert_string_equal(pol->listen[1].path, "/run/a.sock");
	assert_string_equal(pol->admin_listen->text, "127.0.0.1:2");
	assert_false(pol->listen_takeover);
	assert_string_equal(pol->policy_url, "https://p/x");
	assert_string_equal(pol->client_ca_file, "/etc/spoa/ca.pem");
	assert_string_equal(pol->fetch.ca_file, "/etc/spoa/f.pem");
	assert_ptr_not_equal(pol->fetch.ca_file, base->fetch.ca_file);
	assert_int_equal(pol->crl_urls.n, 1);
	assert_int_equal(pol->ncredentials, 1);
	assert_string_equal(pol->credentials[0].resource, "api://p");
	assert_int_equal(pol->workers, base->workers);
	/* The base is untouched. */
	assert_int_equal(base->nroutes, 1);
	assert_ptr_equal(base->routes, base_routes);
	assert_string_equal(base->routes[0].name, "local-route");
	assert_int_equal(base->nissuers, 1);
	assert_null(base->policy_version);
	config_free(pol);

	/* Failures: errors are prefixed, nothing is returned, base untouched. */
	pol = (struct config *)1;
	doc = sq("{'issuers':[{'name':'a','issuer':'ia','jwks_url':'https://a/k','audiences':['x'],'credential':'zz'}],"
	    "'routes':[{'name':'p1'},{'name':'p2','require':'jwt','issuers':['local']}],"
	    "'listen':['127.0.0.1:9'],'version':3}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "policy_url", base,
	    &pol, &e), -1);
	free(doc);
	assert_null(pol);
	{
		static const char *const want[] = {
			"policy_url.listen: unknown key",
			"policy_url.version: must be a string",
			"policy_url.issuers[0].credential: no credential named \"zz\"",
			"policy_url.routes[0].require: required",
			"policy_url.routes[1].issuers[0]: no issuer named \"local\"",
		};
		if (e.n != sizeof(want) / sizeof(want[0]))
			dump_errors("policy", &e);
		assert_int_equal(e.n, sizeof(want) / sizeof(want[0]));
		for (size_t i = 0; i < e.n; i++)
			assert_string_equal(e.v[i], want[i]);
	}
	config_errors_free(&e);
	assert_int_equal(base->nroutes, 1);
	assert_ptr_equal(base->routes, base_routes);
	assert_string_equal(base->routes[0].name, "local-route");

	/* A DN that does not compile fails the document like the config. */
	pol = (struct config *)1;
	doc = sq("{'issuers':[],'routes':[{'name':'m','require':'mtls','client_cert':"
	    "{'subjects':['CN=ok'],'identities':[{'issuer':'CN=a,Bogus=zz'}]}}]}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "policy_url", base,
	    &pol, &e), -1);
	free(doc);
	assert_null(pol);
	if (e.n != 1)
		dump_errors("policy", &e);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0], "policy_url.routes[0].client_cert.identities[0]."
	    "issuer: not a distinguished name: unknown attribute type");
	config_errors_free(&e);
	assert_ptr_equal(base->routes, base_routes);

	/* Document-level errors use the name alone. */
	doc = sq("{'issuers':[]}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "policy_file", base,
	    &pol, &e), -1);
	free(doc);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0], "policy_file.routes: required");
	config_errors_free(&e);
	doc = sq("{'issuers':[],'routes':[]}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "policy_file", base,
	    &pol, &e), -1);
	free(doc);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0], "policy_file.routes: must not be empty");
	config_errors_free(&e);
	assert_int_equal(config_policy_parse("[1]", 3, "policy_url", base,
	    &pol, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0], "policy_url: must be a JSON object");
	config_errors_free(&e);
	doc = sq("{'routes':[{'name':'r','require':'none'}],'issuers':[],'routes':[]}");
	assert_int_equal(config_policy_parse(doc, strlen(doc), "p", base,
	    &pol, &e), -1);
	free(doc);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0],
	    "p: invalid JSON at line 1, column 56: duplicate key");
	config_errors_free(&e);
	/* issuer_thumbprints need the base's client_ca_file. */
	{
		struct config *nb = parse_ok(DOC(""));

		doc = sq("{'issuers':[],'routes':[{'name':'r','require':'mtls','client_cert':"
		    "{'issuer_thumbprints_sha256':[]}}]}");
		assert_int_equal(config_policy_parse(doc, strlen(doc), "p", nb,
		    &pol, &e), -1);
		free(doc);
		assert_int_equal(e.n, 1);
		assert_string_equal(e.v[0],
		    "p.routes[0].client_cert.issuer_thumbprints_sha256: requires client_ca_file");
		config_errors_free(&e);
		config_free(nb);
	}
	config_free(base);
}

/* Files ---------------------------------------------------------------- */

static char tmpdir[64];

static void
write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void
test_check_files(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	char path[256], want[512], *doc;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/spoa-test-config.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/present.json", tmpdir);
	write_file(path, "{}");
	unsetenv("SPOA_TEST_UNSET_VAR_XYZ");
	setenv("SPOA_TEST_SET_VAR_XYZ", "s3cret", 1);

	doc = sq("{'listen':['127.0.0.1:1'],"
	    "'issuers':[{'name':'a','issuer':'a','jwks_file':'present.json','audiences':['x']},"
	    "{'name':'b','issuer':'b','jwks_file':'missing.json','audiences':['x']},"
	    "{'name':'c','issuer':'c','audiences':['x'],"
	    "'algorithms':['HS256'],'hmac_secret_env':'SPOA_TEST_UNSET_VAR_XYZ'},"
	    "{'name':'d','issuer':'d','audiences':['x'],"
	    "'algorithms':['HS256'],'hmac_secret_env':'SPOA_TEST_SET_VAR_XYZ'}],"
	    "'routes':[{'name':'r','require':'none'}]}");
	assert_int_equal(config_parse(doc, strlen(doc), tmpdir, &cfg, &e), 0);
	free(doc);
	assert_int_equal(config_check_files(cfg, &e), -1);
	if (e.n != 2)
		dump_errors("check_files", &e);
	assert_int_equal(e.n, 2);
	snprintf(want, sizeof(want),
	    "issuers[1].jwks_file: cannot read \"%s/missing.json\": No such file or directory",
	    tmpdir);
	assert_string_equal(e.v[0], want);
	assert_string_equal(e.v[1],
	    "issuers[2].hmac_secret_env: environment variable SPOA_TEST_UNSET_VAR_XYZ is not set");
	/* The secret's value is never echoed. */
	for (size_t i = 0; i < e.n; i++)
		assert_null(strstr(e.v[i], "s3cret"));
	config_errors_free(&e);
	config_free(cfg);

	/* A directory is not a file; a policy_file is parsed too. */
	snprintf(path, sizeof(path), "%s/policy.json", tmpdir);
	write_file(path, "{\"issuers\":[{\"name\":\"p\",\"issuer\":\"p\",\"jwks_file\":\"nope.json\",\"audiences\":[\"x\"]}],"
	    "\"routes\":[{\"name\":\"r\",\"require\":\"bogus\"}]}");
	doc = sq("{'listen':['127.0.0.1:1'],'policy_file':'policy.json','client_ca_file':'.'}");
	assert_int_equal(config_parse(doc, strlen(doc), tmpdir, &cfg, &e), 0);
	free(doc);
	assert_int_equal(config_check_files(cfg, &e), -1);
	if (e.n != 2)
		dump_errors("check_files 2", &e);
	assert_int_equal(e.n, 2);
	snprintf(want, sizeof(want), "client_ca_file: \"%s/.\" is not a regular file", tmpdir);
	assert_string_equal(e.v[0], want);
	assert_string_equal(e.v[1],
	    "policy_file.routes[0].require: must be one of none, jwt, mtls, jwt+mtls (got \"bogus\")");
	config_errors_free(&e);
	config_free(cfg);

	/* Valid policy file: its own files are checked. */
	write_file(path, "{\"issuers\":[{\"name\":\"p\",\"issuer\":\"p\",\"jwks_file\":\"nope.json\",\"audiences\":[\"x\"]}],"
	    "\"routes\":[{\"name\":\"r\",\"require\":\"jwt\"}]}");
	doc = sq("{'listen':['127.0.0.1:1'],'policy_file':'policy.json'}");
	assert_int_equal(config_parse(doc, strlen(doc), tmpdir, &cfg, &e), 0);
	free(doc);
	assert_int_equal(config_check_files(cfg, &e), -1);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want),
	    "policy_file.issuers[0].jwks_file: cannot read \"%s/nope.json\": No such file or directory",
	    tmpdir);
	assert_string_equal(e.v[0], want);
	config_errors_free(&e);
	config_free(cfg);

	/* A policy_file the loader would refuse as too large is refused here
	 * too, with the same limit (a sparse file: no 16 MiB written). */
	{
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		assert_int_equal(ftruncate(fileno(fp),
		    (off_t)CONFIG_LOCAL_DOC_MAX + 1), 0);
		fclose(fp);
	}
	doc = sq("{'listen':['127.0.0.1:1'],'policy_file':'policy.json'}");
	assert_int_equal(config_parse(doc, strlen(doc), tmpdir, &cfg, &e), 0);
	free(doc);
	assert_int_equal(config_check_files(cfg, &e), -1);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "policy_file: cannot read \"%s\": "
	    "larger than %u bytes", path, CONFIG_LOCAL_DOC_MAX);
	assert_string_equal(e.v[0], want);
	config_errors_free(&e);
	config_free(cfg);

	/* Everything present: no error. */
	doc = sq("{'listen':['127.0.0.1:1'],'fetch':{'ca_file':'present.json'},"
	    "'issuers':[{'name':'a','issuer':'a','jwks_file':'present.json','audiences':['x']}],"
	    "'routes':[{'name':'r','require':'none'}]}");
	assert_int_equal(config_parse(doc, strlen(doc), tmpdir, &cfg, &e), 0);
	free(doc);
	assert_int_equal(config_check_files(cfg, &e), 0);
	assert_int_equal(e.n, 0);
	config_free(cfg);

	/* config_parse_file: base_dir is the file's directory. */
	snprintf(path, sizeof(path), "%s/spoa.json", tmpdir);
	write_file(path, "{\"listen\":[\"127.0.0.1:1\"],\"state_dir\":\"st\","
	    "\"routes\":[{\"name\":\"r\",\"require\":\"none\"}]}");
	assert_int_equal(config_parse_file(path, &cfg, &e), 0);
	assert_string_equal(cfg->path, path);
	snprintf(want, sizeof(want), "%s/st", tmpdir);
	assert_string_equal(cfg->state_dir, want);
	assert_string_equal(cfg->base_dir, tmpdir);
	assert_true(cfg->workers >= 1);
	config_free(cfg);
	snprintf(path, sizeof(path), "%s/absent.json", tmpdir);
	assert_int_equal(config_parse_file(path, &cfg, &e), -1);
	assert_null(cfg);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "\"%s/absent.json\": cannot read: No such file or directory", tmpdir);
	assert_string_equal(e.v[0], want);
	config_errors_free(&e);
	assert_int_equal(config_parse_file(tmpdir, &cfg, &e), -1);
	assert_int_equal(e.n, 1);
	snprintf(want, sizeof(want), "\"%s\": cannot read: not a regular file", tmpdir);
	assert_string_equal(e.v[0], want);
	config_errors_free(&e);

	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(path), 0);
}

static void
test_example(void **state)
{
	struct config_errors e = { NULL, 0 };
	struct config *cfg = NULL;
	const char *path = ts_source_path("haproxy-conf/spoa-iam.example.json");

	(void)state;
	if (config_parse_file(path, &cfg, &e) != 0) {
		dump_errors(path, &e);
		fail_msg("the example config must parse");
	}
	assert_int_equal(cfg->nissuers, 2);
	assert_true(cfg->issuers[0].templated);
	assert_int_equal(cfg->issuers[0].source, KEYS_DISCOVERY);
	assert_true(cfg->issuers[0].tenants.n >= 1);
	assert_int_equal(cfg->issuers[1].source, KEYS_JWKS_FILE);
	assert_int_equal(cfg->issuers[1].source_location[0], '/');
	{
		bool seen[4] = { false, false, false, false };
		bool cidrs = false, vars = false;

		for (size_t i = 0; i < cfg->nroutes; i++) {
			seen[cfg->routes[i].require] = true;
			cidrs |= cfg->routes[i].source_cidrs != NULL;
			vars |= cfg->routes[i].nclaims_to_vars > 0;
		}
		assert_true(seen[REQUIRE_NONE] && seen[REQUIRE_JWT] &&
		    seen[REQUIRE_MTLS] && seen[REQUIRE_JWT_MTLS]);
		assert_true(cidrs && vars);
	}
	assert_int_equal(config_check_files(cfg, &e), -1);  /* its files are examples */
	config_errors_free(&e);
	config_free(cfg);
}

/* Both placeholder spellings make a template; "every tenant" is a key of
 * its own. */
static void
test_tenant_templates(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = parse_ok(ISSDOC("'issuer':'https://login.microsoftonline.com/{tenantid}/v2.0',"
	    "'jwks_url':'https://idp/k','tenants':['3F2504E0-4F89-41D3-9A0C-0305E82C3301']"));
	assert_true(cfg->issuers[0].templated);
	assert_false(cfg->issuers[0].any_tenant);
	assert_string_equal(cfg->issuers[0].tenants.v[0],
	    "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
	config_free(cfg);
	cfg = parse_ok(ISSDOC("'issuer':'https://sts.windows.net/{tenantid}/',"
	    "'jwks_url':'https://idp/k','allow_any_tenant':true"));
	assert_true(cfg->issuers[0].templated);
	assert_true(cfg->issuers[0].any_tenant);
	assert_int_equal(cfg->issuers[0].tenants.n, 0);
	config_free(cfg);
	/* Literal braces that are no placeholder stay literal. */
	cfg = parse_ok(ISSDOC("'issuer':'https://idp/{tenant_id}/',"
	    "'jwks_url':'https://idp/k'"));
	assert_false(cfg->issuers[0].templated);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_each_rule),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_hmac_only_issuer),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_tenant_templates),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
