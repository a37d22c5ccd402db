/*
 * fuzz_config.c: config_parse() and config_policy_parse() on arbitrary
 * bytes.  On success the parsed struct must satisfy the schema's
 * invariants; on failure there must be at least one error and no config.
 * Every DN of a client_cert rule (subjects, issuers, identities' subject
 * and issuer) is compiled at parse time: an accepted config holds the
 * compiled form of each, a bad DN is an error.
 * Leaks are caught by ASan/LSan in the libFuzzer and replay builds.
 *
 * An input whose first byte is 0x01..0x04 is spliced into a valid
 * document (inside a route, an issuer, client_cert, or at the top level)
 * so that mutations reach the success path instead of dying on the first
 * error; other inputs are parsed as whole documents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "claims.h"
#include "config.h"
#include "jwa.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

static const char base_doc[] =
    "{\"listen\":[\"127.0.0.1:1\"],\"policy_url\":\"https://p/x\","
    "\"client_ca_file\":\"/ca.pem\","
    "\"credentials\":[{\"name\":\"mi\",\"type\":\"managed_identity\",\"resource\":\"r\"}]}";

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return (false);
	return (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") == n);
}

static void
check_strlist(const struct strlist *l)
{
	CHECK(l->n == 0 || l->v != NULL);
	for (size_t i = 0; i < l->n; i++)
		CHECK(l->v[i] != NULL && l->v[i][0] != '\0');
}

/* Every DN of a rule has its text and its compiled form. */
static void
check_dnlist(const struct dnlist *l)
{
	CHECK(l->n == 0 || (l->text != NULL && l->dn != NULL));
	for (size_t i = 0; i < l->n; i++)
		CHECK(l->text[i] != NULL && l->text[i][0] != '\0' &&
		    l->dn[i] != NULL);
}

static void
check_issuers_routes(const struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];
		bool hs = (is->algorithms & JWS_ALG_HMAC_MASK) != 0;

		CHECK(is->name != NULL && name_ok(is->name));
		for (j = 0; j < i; j++)
			CHECK(strcmp(is->name, cfg->issuers[j].name) != 0);
		CHECK(is->issuer.n >= 1);
		check_strlist(&is->issuer);
		/* HS-only issuers have no key source; others exactly one, and
		 * the two families never mix. */
		CHECK((is->source == KEYS_NONE) == (is->source_location == NULL));
		CHECK((is->source == KEYS_NONE) ==
		    ((is->algorithms & ~JWS_ALG_HMAC_MASK) == 0));
		CHECK(is->audiences.n >= 1);
		check_strlist(&is->audiences);
		CHECK(is->algorithms != 0);
		CHECK((is->algorithms & ~((1u << JWS_ALG_COUNT) - 1)) == 0);
		CHECK(hs == ((is->hmac_secret_file != NULL) +
		    (is->hmac_secret_env != NULL) == 1));
		CHECK(hs || (is->hmac_secret_file == NULL &&
		    is->hmac_secret_env == NULL));
		/* A template admits listed tenants, or every tenant when
		 * said so, never both and never by default. */
		CHECK(!is->templated || (is->tenants.n >= 1) != is->any_tenant);
		CHECK(is->templated || (is->tenants.n == 0 && !is->any_tenant));
		CHECK(is->typ_check || (is->typ.n == 0 && !is->typ_absent_ok));
		CHECK(is->roles_claims.n <= CLAIMS_SOURCES_MAX);
		CHECK(is->scopes_claims.n <= CLAIMS_SOURCES_MAX);
		for (j = 0; j < is->roles_claims.n; j++)
			CHECK(claims_path_valid(is->roles_claims.v[j]));
		for (j = 0; j < is->scopes_claims.n; j++)
			CHECK(claims_path_valid(is->scopes_claims.v[j]));
		for (j = 0; j < is->tenants.n; j++)
			CHECK(strlen(is->tenants.v[j]) == 36);
		CHECK(is->clock_skew_s <= 600);
		CHECK(is->credential == NULL ||
		    is->source != KEYS_JWKS_FILE);
	}
	for (i = 0; i < cfg->nroutes; i++) {
		const struct route_cfg *r = &cfg->routes[i];
		bool jwt = r->require == REQUIRE_JWT ||
		    r->require == REQUIRE_JWT_MTLS;
		bool mtls = r->require == REQUIRE_MTLS ||
		    r->require == REQUIRE_JWT_MTLS;
		char norm[ROUTE_PATH_MAX + 1];
		size_t plen;

		CHECK(r->name != NULL && name_ok(r->name));
		for (j = 0; j < i; j++)
			CHECK(strcmp(r->name, cfg->routes[j].name) != 0);
		CHECK(r->path_prefix != NULL && r->path_prefix[0] == '/');
		plen = strlen(r->path_prefix);
		CHECK(route_normalize_path(r->path_prefix, plen, norm,
		    sizeof(norm)) == (int)plen);
		CHECK(strcmp(norm, r->path_prefix) == 0);
		if (r->host != NULL)
			CHECK(r->host[0] != '\0' && (r->host[0] == '[' ||
			    strchr(r->host, ':') == NULL));
		check_strlist(&r->methods);
		for (j = 0; j < r->nissuers; j++)
			CHECK(r->issuers[j] < cfg->nissuers);
		CHECK(jwt || (r->nissuers == 0 && r->scopes_any.n == 0 &&
		    r->scopes_all.n == 0 && r->roles_any.n == 0 &&
		    r->roles_all.n == 0 && r->nclaims == 0 &&
		    r->nclaims_to_vars == 0));
		CHECK(!jwt || cfg->nissuers > 0);
		CHECK(mtls || r->client_cert == NULL);
		CHECK(r->require == REQUIRE_JWT_MTLS || !r->bound_token);
		for (j = 0; j < r->nclaims; j++) {
			CHECK((r->claims[j].match == CLAIM_MATCH_PRESENT) ==
			    (r->claims[j].nvalues == 0));
			CHECK(claims_path_valid(r->claims[j].name));
		}
		for (j = 0; j < r->nclaims_to_vars; j++) {
			const char *v = r->claims_to_vars[j].var;

			CHECK(claims_path_valid(r->claims_to_vars[j].claim));
			CHECK(strncmp(v, "claim_", 6) == 0);
			CHECK(strlen("txn.iam.") + strlen(v) < 64);
			CHECK(strspn(v, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
			    strlen(v));
		}
		CHECK(r->source_cidrs == NULL ||
		    cidr_list_count(r->source_cidrs) >= 1);
		/* An assertion: on a token route, under an assertion_issuer. */
		CHECK(r->assertion == NULL || (jwt &&
		    cfg->assertion_issuer != NULL &&
		    r->assertion->audience != NULL &&
		    r->assertion->audience[0] != '\0' &&
		    r->assertion->ttl_s >= 10 && r->assertion->ttl_s <= 3600));
		if (r->client_cert != NULL) {
			const struct cert_rule *cr = r->client_cert;

			for (j = 0; j < cr->serials.n; j++)
				CHECK(strspn(cr->serials.v[j],
				    "0123456789abcdef") ==
				    strlen(cr->serials.v[j]));
			CHECK(cr->nissuer_sha256 == 0 ||
			    cfg->client_ca_file != NULL);
			check_dnlist(&cr->subjects);
			check_dnlist(&cr->issuers);
			for (j = 0; j < cr->nidentities; j++) {
				const struct cert_identity *id =
				    &cr->identities[j];

				CHECK((id->subject == NULL) ==
				    (id->subject_dn == NULL));
				CHECK((id->issuer == NULL) ==
				    (id->issuer_dn == NULL));
			}
		}
	}
}

static void
check_errors(const struct config_errors *e, size_t before)
{
	CHECK(e->n > before);
	for (size_t i = 0; i < e->n; i++)
		CHECK(e->v[i] != NULL && strstr(e->v[i], ": ") != NULL);
}

static const struct {
	const char *head, *tail;
} splices[] = {
	{ "{\"listen\":[\"127.0.0.1:1\"],\"issuers\":[{\"name\":\"i\","
	  "\"issuer\":\"x\",\"jwks_url\":\"https://a/k\",\"audiences\":[\"a\"]}],"
	  "\"routes\":[{\"name\":\"r\",", "}]}" },
	{ "{\"listen\":[\"127.0.0.1:1\"],\"credentials\":[{\"name\":\"c\","
	  "\"type\":\"client_certificate\",\"cert_file\":\"c\",\"key_file\":\"k\"}],"
	  "\"issuers\":[{\"name\":\"i\",",
	  "}],\"routes\":[{\"name\":\"r\",\"require\":\"jwt\"}]}" },
	{ "{\"listen\":[\"127.0.0.1:1\"],\"client_ca_file\":\"ca.pem\","
	  "\"routes\":[{\"name\":\"r\",\"require\":\"mtls\",\"client_cert\":{",
	  "}}]}" },
	{ "{\"listen\":[\"127.0.0.1:1\"],", "}" },
	{ "{\"listen\":[\"127.0.0.1:1\"],\"state_dir\":\"/s\","
	  "\"assertion_issuer\":\"https://agent/\",\"issuers\":[{\"name\":\"i\","
	  "\"issuer\":\"x\",\"jwks_url\":\"https://a/k\",\"audiences\":[\"a\"]}],"
	  "\"routes\":[{\"name\":\"r\",\"require\":\"jwt\",", "}]}" },
};

static void run(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && data[0] >= 1 &&
	    data[0] <= sizeof(splices) / sizeof(splices[0])) {
		const char *h = splices[data[0] - 1].head;
		const char *t = splices[data[0] - 1].tail;
		size_t hl = strlen(h), tl = strlen(t), n = size - 1;
		uint8_t *doc = malloc(hl + n + tl);

		CHECK(doc != NULL);
		memcpy(doc, h, hl);
		memcpy(doc + hl, data + 1, n);
		memcpy(doc + hl + n, t, tl);
		run(doc, hl + n + tl);
		free(doc);
		return (0);
	}
	run(data, size);
	return (0);
}

static void
run(const uint8_t *data, size_t size)
{
	static struct config *base;
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = NULL;
	const struct route_cfg *base_routes;
	size_t base_nroutes;

	if (base == NULL) {
		CHECK(config_parse(base_doc, strlen(base_doc), "/b", &base,
		    &errs) == 0);
	}

	if (config_parse((const char *)data, size, "/base", &cfg, &errs) == 0) {
		CHECK(cfg != NULL && errs.n == 0);
		CHECK(cfg->nlisten >= 1 && cfg->nlisten <= 16);
		for (size_t i = 0; i < cfg->nlisten; i++) {
			const struct listen_addr *la = &cfg->listen[i];

			CHECK(la->text != NULL);
			if (la->kind == LISTEN_TCP)
				CHECK(la->host != NULL && la->port >= 1);
			else
				CHECK(la->path != NULL && la->path[0] == '/');
		}
		CHECK(cfg->workers >= 1 && cfg->workers <= 256);
		CHECK(cfg->assertion_issuer == NULL ||
		    (cfg->assertion_issuer[0] != '\0' &&
		    cfg->state_dir != NULL && cfg->assertion_key_ahead_s <
		    cfg->assertion_key_rotate_s));
		CHECK(cfg->max_token_bytes >= 512 &&
		    cfg->max_token_bytes <= 65536);
		CHECK(cfg->fetch.timeout_ms >= cfg->fetch.connect_timeout_ms);
		CHECK(cfg->fetch.refresh_max_s >= cfg->fetch.refresh_min_s);
		CHECK(cfg->nroutes >= 1 || cfg->policy_url != NULL ||
		    cfg->policy_file != NULL);
		CHECK(cfg->policy_url == NULL || cfg->policy_file == NULL);
		CHECK(cfg->policy_file == NULL || cfg->nroutes == 0);
		check_issuers_routes(cfg);
		config_free(cfg);
	} else {
		CHECK(cfg == NULL);
		check_errors(&errs, 0);
	}
	config_errors_free(&errs);

	base_routes = base->routes;
	base_nroutes = base->nroutes;
	if (config_policy_parse((const char *)data, size, "policy", base,
	    &cfg, &errs) == 0) {
		CHECK(cfg != NULL && cfg != base && errs.n == 0);
		CHECK(cfg->nroutes >= 1);
		CHECK(cfg->nlisten == base->nlisten);
		CHECK(cfg->ncredentials == base->ncredentials);
		check_issuers_routes(cfg);
		config_free(cfg);
	} else {
		CHECK(cfg == NULL);
		check_errors(&errs, 0);
		for (size_t i = 0; i < errs.n; i++)
			CHECK(strncmp(errs.v[i], "policy", 6) == 0);
	}
	config_errors_free(&errs);
	CHECK(base->routes == base_routes && base->nroutes == base_nroutes);
}
