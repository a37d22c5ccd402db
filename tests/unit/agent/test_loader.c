/*
 * test_loader.c: building snapshots from a config file and a fetched
 * policy document (loader_build_ref), and decide()'s not_ready while a
 * policy_url was never loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testsupport.h"
#include "testpki.h"

#include "config.h"
#include "decide.h"
#include "facts.h"
#include "jwks.h"
#include "loader.h"
#include "reason.h"
#include "snapshot.h"
#include "verdict.h"

static const char *const file_doc =
    "{\"listen\":[\"127.0.0.1:1\"],\"policy_url\":\"https://p.example/policy\","
    "\"issuers\":[],\"routes\":[]}";

static const char *const policy_doc =
    "{\"version\":\"7\",\"issuers\":[{\"name\":\"idp\","
    "\"issuer\":\"https://idp.example\",\"jwks_url\":\"https://idp.example/k\","
    "\"audiences\":[\"api://a\"]}],"
    "\"routes\":[{\"name\":\"open\",\"path_prefix\":\"/open\",\"require\":\"none\"},"
    "{\"name\":\"api\",\"path_prefix\":\"/api\",\"require\":\"jwt\"}]}";

static struct cfgref *
file_ref(const char *doc)
{
	struct config_errors e = { 0 };
	struct config *cfg = NULL;

	if (config_parse(doc, strlen(doc), NULL, &cfg, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.v[i]);
		fail_msg("config refused");
	}
	return (cfgref_new(cfg));
}

static enum reason
decide_path(const struct snapshot *s, const char *path)
{
	static struct verdict v;
	struct facts f;
	struct decide_env env = { .now = 1700000000 };

	memset(&f, 0, sizeof(f));
	f.method.ptr = "GET";
	f.method.len = 3;
	f.path.ptr = path;
	f.path.len = strlen(path);
	assert_int_equal(decide(&f, s, &env, &v), DECIDE_DONE);
	return (v.reason);
}

static void
test_no_policy_yet(void **state)
{
	struct config_errors e = { 0 };
	struct cfgref *file = file_ref(file_doc);
	struct snapshot *s = NULL;

	(void)state;
	assert_int_equal(loader_build_ref(file, NULL, 0, NULL, &s, &e), 0);
	assert_false(snapshot_policy_loaded(s));
	assert_ptr_equal(snapshot_cfgref(s), file);         /* the file config itself */
	/* Every request, whatever the route, is not_ready. */
	assert_int_equal(decide_path(s, "/open"), REASON_NOT_READY);
	assert_int_equal(decide_path(s, "/nothing"), REASON_NOT_READY);
	snapshot_unref(s);
	cfgref_unref(file);
}

static void
test_policy_applied(void **state)
{
	struct config_errors e = { 0 };
	struct cfgref *file = file_ref(file_doc);
	struct snapshot *s = NULL, *s2 = NULL;
	const struct config *c;

	(void)state;
	assert_int_equal(loader_build_ref(file, policy_doc, strlen(policy_doc),
	    NULL, &s, &e), 0);
	assert_int_equal(e.n, 0);
	assert_true(snapshot_policy_loaded(s));
	c = snapshot_config(s);
	assert_ptr_not_equal(c, file->cfg);
	assert_int_equal(c->nissuers, 1);
	assert_int_equal(c->nroutes, 2);
	assert_string_equal(c->policy_version, "7");
	/* The file's own settings are kept, the file config unchanged. */
	assert_string_equal(c->policy_url, "https://p.example/policy");
	assert_int_equal(file->cfg->nissuers, 0);
	assert_int_equal(decide_path(s, "/open"), REASON_OK);
	assert_int_equal(decide_path(s, "/nothing"), REASON_NO_ROUTE);
	/* The policy's jwt route is live (no token: token_missing). */
	assert_int_equal(decide_path(s, "/api"), REASON_TOKEN_MISSING);

	/* Rebuilt with ${s} as prev: key sets of unchanged sources carry. */
	{
		static const uint8_t secret[32] = "0123456789abcdef0123456789abcde";
		const char *why = NULL;
		struct keyset *ks = keyset_hmac(secret, sizeof(secret), &why);
		char *moved;
		const char *at;

		assert_non_null(ks);
		snapshot_set_keys(s, 0, ks, 123);
		keyset_unref(ks);
		assert_int_equal(loader_build_ref(file, policy_doc,
		    strlen(policy_doc), s, &s2, &e), 0);
		assert_true(snapshot_policy_loaded(s2));
		assert_ptr_equal(snapshot_keys(s2, 0), ks);
		assert_int_equal(snapshot_keys_at(s2, 0), 123);
		snapshot_unref(s2);
		/* Another key source for the issuer: nothing carries. */
		at = strstr(policy_doc, "idp.example/k");
		assert_non_null(at);
		moved = strdup(policy_doc);
		assert_non_null(moved);
		moved[at - policy_doc + strlen("idp.example/")] = 'K';
		assert_int_equal(loader_build_ref(file, moved, strlen(moved), s,
		    &s2, &e), 0);
		assert_true(snapshot_policy_loaded(s2));
		assert_null(snapshot_keys(s2, 0));
		snapshot_unref(s2);
		free(moved);
	}
	snapshot_unref(s);
	cfgref_unref(file);
}

static void
test_bad_policy(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"issuers\":[],\"routes\":[{\"name\":\"x\",\"require\":\"sometimes\"}]}",
		"{\"issuers\":[],\"routes\":[]}",
		"{\"routes\":[{\"name\":\"x\",\"require\":\"none\"}]}",
	};
	struct cfgref *file = file_ref(file_doc);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config_errors e = { 0 };
		struct snapshot *s = (struct snapshot *)0x1;

		assert_int_equal(loader_build_ref(file, bad[i], strlen(bad[i]),
		    NULL, &s, &e), -1);
		assert_null(s);
		assert_true(e.n >= 1);
		if (strstr(e.v[0], "policy_url") == NULL)
			fail_msg("error without the document name: %s", e.v[0]);
		config_errors_free(&e);
	}
	cfgref_unref(file);
}

static void
test_local_config(void **state)
{
	const char *doc = "{\"listen\":[\"127.0.0.1:1\"],\"routes\":[{\"name\":"
	    "\"r\",\"require\":\"none\"}]}";
	struct config_errors e = { 0 };
	struct cfgref *file = file_ref(doc);
	struct snapshot *s = NULL;

	(void)state;
	assert_int_equal(loader_build_ref(file, NULL, 0, NULL, &s, &e), 0);
	assert_true(snapshot_policy_loaded(s));          /* nothing to wait for */
	assert_int_equal(decide_path(s, "/x"), REASON_OK);
	snapshot_unref(s);
	cfgref_unref(file);
}

/* Settings that are accepted but mean something to know are said at load:
 * the obsolete kid_refetch_cooldown_s, and allow_any_tenant. */
static void
test_load_warnings(void **state)
{
	const char *quiet = "{\"listen\":[\"127.0.0.1:1\"],\"routes\":[{\"name\":"
	    "\"r\",\"require\":\"none\"}]}";
	const char *loud = "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"kid_refetch_cooldown_s\":30,\"issuers\":[{\"name\":\"entra\","
	    "\"issuer\":\"https://login.microsoftonline.com/{tenantid}/v2.0\","
	    "\"allow_any_tenant\":true,\"jwks_url\":\"https://k.example/k\","
	    "\"audiences\":[\"api://a\"]}],\"routes\":[{\"name\":\"r\","
	    "\"require\":\"jwt\"}]}";
	struct config_errors e = { 0 };
	struct cfgref *file;
	struct snapshot *s = NULL;
	const char *log;

	(void)state;
	file = file_ref(quiet);
	ts_log_capture_start();
	assert_int_equal(loader_build_ref(file, NULL, 0, NULL, &s, &e), 0);
	log = ts_log_captured();
	assert_null(strstr(log, "warn"));
	ts_log_capture_stop();
	snapshot_unref(s);
	cfgref_unref(file);

	file = file_ref(loud);
	ts_log_capture_start();
	assert_int_equal(loader_build_ref(file, NULL, 0, NULL, &s, &e), 0);
	log = ts_log_captured();
	assert_non_null(strstr(log, "kid_refetch_cooldown_s is no longer used"));
	assert_non_null(strstr(log, "issuer entra: allow_any_tenant: tokens of "
	    "EVERY Entra tenant are accepted"));
	ts_log_capture_stop();
	snapshot_unref(s);
	cfgref_unref(file);
}

/* A key set with no usable key says why, key by key. */
static void
test_no_usable_key_reasons(void **state)
{
	const char *doc = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"small\","
	    "\"n\":\"AQAB\",\"e\":\"AQAB\"},{\"kty\":\"oct\",\"kid\":\"sym\","
	    "\"k\":\"AAAA\"},{\"kty\":\"EC\",\"kid\":\"enc\",\"use\":\"enc\","
	    "\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}";
	struct keyset *ks = NULL;
	char err[1024];

	(void)state;
	assert_int_equal(loader_keys_from_doc("test", doc, strlen(doc), &ks,
	    err, sizeof(err)), -1);
	assert_null(ks);
	assert_string_equal(err, "no usable key: key 0 (kid \"small\"): RSA "
	    "modulus shorter than 2048 bits; key 1 (kid \"sym\"): symmetric "
	    "(oct) keys are not taken from a key set; key 2 (kid \"enc\"): use "
	    "is not \"sig\"");
	/* A short buffer: cut, still terminated. */
	assert_int_equal(loader_keys_from_doc("test", doc, strlen(doc), &ks,
	    err, 40), -1);
	assert_int_equal(strlen(err), 39);
}

/* A temporary file holding ${n} bytes of ${data}; its path in ${path}. */
static void
temp_file(char path[64], const char *data, size_t n)
{
	int fd;

	snprintf(path, 64, "/tmp/test_loader.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void
test_read_secret(void **state)
{
	char path[64], err[256], *buf;
	size_t len;

	(void)state;
	/* Trailing CR and LF go, inner ones stay. */
	temp_file(path, "s3cr\ret\r\n\n", 10);
	assert_int_equal(loader_read_secret(path, NULL, 64, &buf, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "s3cr\ret", 8);	/* with its NUL */
	free(buf);
	/* Over the limit: refused, named, nothing returned. */
	assert_int_equal(loader_read_secret(path, NULL, 9, &buf, &len, err,
	    sizeof(err)), -1);
	assert_null(buf);
	assert_non_null(strstr(err, "larger than 9 bytes"));
	unlink(path);
	/* Only line breaks: empty. */
	temp_file(path, "\r\n", 2);
	assert_int_equal(loader_read_secret(path, NULL, 64, &buf, &len, err,
	    sizeof(err)), -1);
	assert_null(buf);
	assert_string_equal(err, "the secret is empty");
	unlink(path);
	assert_int_equal(loader_read_secret(path, NULL, 64, &buf, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read"));

	/* The environment. */
	assert_int_equal(setenv("SPOA_TEST_SECRET", "from-env\n", 1), 0);
	assert_int_equal(loader_read_secret(NULL, "SPOA_TEST_SECRET", 64, &buf,
	    &len, err, sizeof(err)), 0);
	assert_int_equal(len, 8);
	assert_string_equal(buf, "from-env");
	free(buf);
	/* The file wins when both are given. */
	temp_file(path, "from-file", 9);
	assert_int_equal(loader_read_secret(path, "SPOA_TEST_SECRET", 64, &buf,
	    &len, err, sizeof(err)), 0);
	assert_string_equal(buf, "from-file");
	free(buf);
	unlink(path);
	assert_int_equal(loader_read_secret(NULL, "SPOA_TEST_SECRET", 4, &buf,
	    &len, err, sizeof(err)), -1);
	assert_string_equal(err, "environment variable SPOA_TEST_SECRET is "
	    "longer than 4 bytes");
	assert_int_equal(loader_read_secret(NULL, "SPOA_TEST_UNSET_XYZ", 64,
	    &buf, &len, err, sizeof(err)), -1);
	assert_null(buf);
	assert_string_equal(err,
	    "environment variable SPOA_TEST_UNSET_XYZ is not set");
	unsetenv("SPOA_TEST_SECRET");
}

/*
 * A new policy keeps the config file's CA store (client_ca_file cannot
 * change with a policy): the same store, so the same generation and the
 * workers' certificate caches survive; the store lives while any snapshot
 * of the file or of a policy on it does.
 */
static void
test_policy_keeps_ca_store(void **state)
{
	static const char v8[] = "{\"version\":\"8\",\"issuers\":[],"
	    "\"routes\":[{\"name\":\"open\",\"require\":\"none\"}]}";
	struct config_errors e = { 0 };
	char doc[1024];
	struct cfgref *file;
	struct snapshot *s1 = NULL, *s2 = NULL, *s0 = NULL;
	const struct ca_store *cas;

	(void)state;
	snprintf(doc, sizeof(doc), "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"policy_url\":\"https://p.example/policy\","
	    "\"client_ca_file\":\"%s\",\"issuers\":[],\"routes\":[]}",
	    pki_path("clients-ca.pem"));
	file = file_ref(doc);
	assert_int_equal(loader_build_ref(file, NULL, 0, NULL, &s0, &e), 0);
	assert_int_equal(loader_build_ref(file, policy_doc, strlen(policy_doc),
	    s0, &s1, &e), 0);
	assert_int_equal(loader_build_ref(file, v8, strlen(v8), s1, &s2, &e),
	    0);
	assert_int_equal(e.n, 0);
	cas = snapshot_cfgref(s0)->cas;
	assert_non_null(cas);
	assert_ptr_equal(snapshot_cfgref(s1)->cas, cas);
	assert_ptr_equal(snapshot_cfgref(s2)->cas, cas);
	assert_ptr_not_equal(snapshot_cfgref(s1), snapshot_cfgref(s2));
	/* Released in any order (ASan watches the shared store). */
	cfgref_unref(file);
	snapshot_unref(s0);
	snapshot_unref(s1);
	assert_ptr_equal(snapshot_cfgref(s2)->cas, cas);
	assert_int_equal(decide_path(s2, "/open"), REASON_OK);
	snapshot_unref(s2);
}

/*
 * crl_files are read and built once per config file: a new policy reuses
 * the set even when the file has gone from the disk since (SIGHUP reads
 * them again, with the config file).
 */
static void
test_policy_keeps_crl_files(void **state)
{
	static const char v8[] = "{\"version\":\"8\",\"issuers\":[],"
	    "\"routes\":[{\"name\":\"open\",\"require\":\"none\"}]}";
	struct config_errors e = { 0 };
	char doc[1024], crl[300];
	struct cfgref *file;
	struct snapshot *s0 = NULL, *s1 = NULL;

	(void)state;
	snprintf(crl, sizeof(crl), "%s/copy.crl", pki_path(""));
	free(pki_sh("cp '%s' '%s'", pki_path("crl.pem"), crl));
	snprintf(doc, sizeof(doc), "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"policy_url\":\"https://p.example/policy\","
	    "\"client_ca_file\":\"%s\",\"crl_files\":[\"%s\"],"
	    "\"issuers\":[],\"routes\":[]}", pki_path("clients-ca.pem"), crl);
	file = file_ref(doc);
	assert_int_equal(loader_build_ref(file, policy_doc, strlen(policy_doc),
	    NULL, &s0, &e), 0);
	assert_non_null(snapshot_crls(s0));
	assert_int_equal(unlink(crl), 0);
	assert_int_equal(loader_build_ref(file, v8, strlen(v8), s0, &s1, &e),
	    0);
	assert_int_equal(e.n, 0);
	assert_ptr_equal(snapshot_crls(s1), snapshot_crls(s0));
	snapshot_unref(s0);
	snapshot_unref(s1);
	cfgref_unref(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_policy_yet),
		cmocka_unit_test(test_policy_applied),
		cmocka_unit_test(test_bad_policy),
		cmocka_unit_test(test_local_config),
		cmocka_unit_test(test_load_warnings),
		cmocka_unit_test(test_no_usable_key_reasons),
		cmocka_unit_test(test_read_secret),
		cmocka_unit_test_setup_teardown(test_policy_keeps_ca_store,
		    pki_setup, pki_teardown),
		cmocka_unit_test_setup_teardown(test_policy_keeps_crl_files,
		    pki_setup, pki_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
