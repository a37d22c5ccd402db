/*
 * test_fetch.c: the fetcher (fetch.c) against a plain-http server in a
 * thread of this program, watching the fetcher's own allocations.
 *
 * The program is linked with -Wl,--wrap=realloc,--wrap=free,--wrap=calloc
 * (see tests/CMakeLists.txt): calls to these from the agent's code (not
 * from libcurl or cJSON) come here first, so the test sees a block that
 * still holds a token when it is given back to the allocator unwiped, and
 * can make calloc() fail.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testsupport.h"

#include "abuf.h"
#include "config.h"
#include "fetch.h"
#include "jwks.h"
#include "statemeta.h"
#include "stats.h"

/* ---- allocation watch ---- */

/* What the token endpoint answers with, and so what must never be left
 * behind in memory handed back to the allocator. */
#define MARKER "tok-Unit-Marker-5f1e9a"

void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_calloc(size_t n, size_t size);

static atomic_bool watch;
static atomic_int realloc_with_token, free_with_token;

static bool
holds_marker(void *p)
{
	size_t n;

	if (p == NULL)
		return (false);
	n = malloc_usable_size(p);
	return (memmem(p, n, MARKER, sizeof(MARKER) - 1) != NULL);
}

void *
__wrap_realloc(void *p, size_t n)
{
	/* realloc() may move the block and leave the old bytes behind. */
	if (atomic_load(&watch) && holds_marker(p))
		atomic_fetch_add(&realloc_with_token, 1);
	return (__real_realloc(p, n));
}

/* calloc() fails on the thread ${nomem_thread} while ${nomem} is set. */
static atomic_bool nomem;
static pthread_t nomem_thread;

void *
__wrap_calloc(size_t n, size_t size)
{
	if (atomic_load(&nomem) && pthread_equal(pthread_self(), nomem_thread))
		return (NULL);
	return (__real_calloc(n, size));
}

void
__wrap_free(void *p)
{
	if (atomic_load(&watch) && holds_marker(p))
		atomic_fetch_add(&free_with_token, 1);
	__real_free(p);
}

/* ---- a plain-http server ---- */

static int srv_fd = -1;
static unsigned srv_port;
static pthread_t srv_thread;
static atomic_bool srv_stop;
static atomic_int hits_token, hits_keys;
/* How /keys answers: with the key set (ETag "v1", and 304 to a request
 * that sends it back), by closing without a byte, or with a 500. */
enum { KEYS_OK, KEYS_CLOSE, KEYS_500, KEYS_HUGE };
static atomic_int keys_mode;
static atomic_int hits_304, hits_inm;   /* 304s sent; requests with INM */
/* Held while one /keys request is counted, so that a reader sees the
 * counts of whole requests only. */
static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;

/* A token response larger than libcurl's write chunks, so the body buffer
 * grows while it already holds the token. */
static char *
token_body(size_t *len)
{
	static const char head[] = "{\"access_token\":\"" MARKER "\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3600,\"pad\":\"";
	size_t pad = 60000, n = sizeof(head) - 1 + pad + 2;
	char *b = malloc(n + 1);

	assert_non_null(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'x', pad);
	memcpy(b + sizeof(head) - 1 + pad, "\"}", 3);
	*len = n;
	return (b);
}

static const char jwks_body[] = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
    "\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"k1\"}]}";

static void
reply(int c, const char *status, const char *extra, const char *body,
    size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, len, extra);

	/* MSG_NOSIGNAL: a stopped fetcher may have gone away meanwhile. */
	if (send(c, head, (size_t)n, MSG_NOSIGNAL) != n ||
	    send(c, body, len, MSG_NOSIGNAL) != (ssize_t)len)
		return;
}

static void *
srv_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv_stop)) {
		char req[8192];
		size_t got = 0;
		int c = accept(srv_fd, NULL, NULL);

		if (c < 0)
			continue;
		while (got < sizeof(req) - 1) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);

			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[got] = '\0';
		if (strncmp(req, "GET /token?", 11) == 0) {
			size_t len;
			char *b = token_body(&len);

			atomic_fetch_add(&hits_token, 1);
			reply(c, "200 OK", "", b, len);
			__real_free(b);     /* not the agent's: not watched */
		} else if (strncmp(req, "GET /keys ", 10) == 0) {
			bool inm = strcasestr(req, "\r\nIf-None-Match: "
			    "\"v1\"\r\n") != NULL;

			int mode = atomic_load(&keys_mode);

			pthread_mutex_lock(&keys_lock);
			atomic_fetch_add(&hits_keys, 1);
			if (inm)
				atomic_fetch_add(&hits_inm, 1);
			if (inm && mode == KEYS_OK)
				atomic_fetch_add(&hits_304, 1);
			pthread_mutex_unlock(&keys_lock);
			switch (mode) {
			case KEYS_OK:
				if (inm) {
					reply(c, "304 Not Modified",
					    "ETag: \"v1\"\r\n", "", 0);
				} else
					reply(c, "200 OK", "ETag: \"v1\"\r\n",
					    jwks_body, sizeof(jwks_body) - 1);
				break;
			case KEYS_500:
				reply(c, "500 Internal Server Error", "", "", 0);
				break;
			case KEYS_HUGE: {
				/* One byte over what a key set may be. */
				size_t n = JWKS_MAX_DOC + 1;
				char *b = __real_calloc(1, n);

				if (b != NULL) {
					memset(b, ' ', n);
					reply(c, "200 OK", "", b, n);
					__real_free(b);
				}
				break;
			}
			default:        /* KEYS_CLOSE */
				break;
			}
		} else {
			reply(c, "404 Not Found", "", "", 0);
		}
		close(c);
	}
	return (NULL);
}

static int
srv_start(void **state)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((srv_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(srv_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(srv_fd, 16) != 0 ||
	    getsockname(srv_fd, (struct sockaddr *)&a, &alen) != 0)
		return (-1);
	srv_port = ntohs(a.sin_port);
	if (pthread_create(&srv_thread, NULL, srv_main, NULL) != 0)
		return (-1);
	return (0);
}

static int
srv_end(void **state)
{
	(void)state;
	atomic_store(&srv_stop, true);
	shutdown(srv_fd, SHUT_RDWR);    /* wakes accept() */
	pthread_join(srv_thread, NULL);
	close(srv_fd);
	return (0);
}

/* ---- the fetcher ---- */

static struct agent_stats stats;
/* The fetcher a test started and has not ended: a failed assertion leaves
 * it to the teardown, so that it does not run on into the next test. */
static struct fetcher *live;

/* A started fetcher for one issuer whose keys are at /keys, with
 * ${extra} members at the top of the config and ${fetch} in "fetch". */
static struct fetcher *
fetcher_with(const char *extra, const char *fetch)
{
	char doc[2048];
	struct config_errors e = { 0 };
	struct config *cfg = NULL;
	struct fetcher *f = NULL;

	snprintf(doc, sizeof(doc), "{\"listen\":[\"127.0.0.1:1\"],"
	    "\"log_level\":\"error\",%s"
	    "\"fetch\":{\"insecure_skip_verify_for_tests\":true,%s},"
	    "\"credentials\":[{\"name\":\"mi\",\"type\":\"managed_identity\","
	    "\"endpoint\":\"http://127.0.0.1:%u/token\",\"resource\":\"r\"}],"
	    "\"issuers\":[{\"name\":\"idp\",\"issuer\":\"https://idp.example\","
	    "\"jwks_url\":\"http://127.0.0.1:%u/keys\",\"credential\":\"mi\","
	    "\"audiences\":[\"api://a\"],\"algorithms\":[\"ES256\"]}],"
	    "\"routes\":[{\"name\":\"r\",\"require\":\"jwt\"}]}",
	    extra, fetch, srv_port, srv_port);
	if (config_parse(doc, strlen(doc), NULL, &cfg, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.v[i]);
		fail_msg("config refused");
	}
	if (fetch_create(cfg, &stats, &f, &e) != 0)
		fail_msg("fetch_create failed");
	config_errors_free(&e);
	assert_int_equal(fetch_start(f, NULL, NULL, 0), 0);
	live = f;
	return (f);
}

static void
fetcher_end(struct fetcher *f)
{
	fetch_stop(f);
	fetch_free(f);
	live = NULL;
}

/* The server's counts back to zero, between whole requests. */
static void
reset_counts(void)
{
	pthread_mutex_lock(&keys_lock);
	atomic_store(&hits_keys, 0);
	atomic_store(&hits_304, 0);
	atomic_store(&hits_inm, 0);
	pthread_mutex_unlock(&keys_lock);
}

/*
 * Wait until the server has answered every connection made so far: it
 * serves them one at a time, in the order they were made, so the answer
 * to one more request comes after theirs.
 */
static void
srv_drain(void)
{
	struct sockaddr_in a;
	static const char req[] = "GET /drain HTTP/1.0\r\n\r\n";
	char buf[512];
	int c = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(c >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)srv_port);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(c, req, sizeof(req) - 1, MSG_NOSIGNAL),
	    (ssize_t)(sizeof(req) - 1));
	while (read(c, buf, sizeof(buf)) > 0)
		continue;
	close(c);
}

/*
 * After each test, pass or fail: no fetcher left, none of its requests
 * still to be counted, the server as new.
 */
static int
test_end(void **state)
{
	(void)state;
	atomic_store(&nomem, false);
	atomic_store(&watch, false);
	if (live != NULL)
		fetcher_end(live);
	srv_drain();
	atomic_store(&keys_mode, KEYS_OK);
	reset_counts();
	return (0);
}

static struct fetcher *
fetcher_for(const char *extra)
{
	return (fetcher_with(extra, "\"refresh_min_s\":60,"
	    "\"refresh_max_s\":120"));
}

/* Wait up to 10 s for /readyz of ${f} to contain ${what}. */
static bool
ready_has(struct fetcher *f, const char *what)
{
	for (int i = 0; i < 1000; i++) {
		struct abuf b = { 0 };
		bool found;

		(void)fetch_ready(f, &b);
		found = b.p != NULL && strstr(b.p, what) != NULL;
		free(b.p);
		if (found)
			return (true);
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return (false);
}

/* A token response is wiped wherever its bytes go back to the allocator. */
static void
test_token_body_wiped(void **state)
{
	struct fetcher *f;

	(void)state;
	atomic_store(&watch, true);
	f = fetcher_for("");
	assert_true(ready_has(f, "\"jwks:idp\":{\"kind\":\"jwks\",\"url\":"));
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	assert_true(atomic_load(&hits_token) >= 1);
	assert_true(atomic_load(&hits_keys) >= 1);
	fetcher_end(f);
	atomic_store(&watch, false);
	assert_int_equal(atomic_load(&realloc_with_token), 0);
	assert_int_equal(atomic_load(&free_with_token), 0);
}

/* Read the file ${path} into ${buf} (NUL-terminated); -1 if unreadable. */
static ssize_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		return (-1);
	n = fread(buf, 1, cap - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return ((ssize_t)n);
}

/*
 * state_dir files are written through a fresh temporary file: a link
 * planted where the temporary file goes is not followed (the file it
 * points to stays as it was), and the state file is a regular file.
 */
static void
test_state_tmp_not_followed(void **state)
{
	char dir[] = "/tmp/spoa-fetch-XXXXXX", key[256];
	char name[STATEMETA_NAME_LEN + 1];
	char path[512], tmp[520], victim[512], extra[600], buf[4096];
	struct fetcher *f;
	struct stat st;
	FILE *fp;
	bool saved = false;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "jwks idp http://127.0.0.1:%u/keys",
	    srv_port);
	assert_int_equal(statemeta_name(key, name), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_non_null(fp = fopen(victim, "w"));
	fputs("precious", fp);
	fclose(fp);
	assert_int_equal(symlink(victim, tmp), 0);

	snprintf(extra, sizeof(extra), "\"state_dir\":\"%s\",", dir);
	f = fetcher_for(extra);
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	for (int i = 0; i < 1000 && !saved; i++) {
		saved = lstat(path, &st) == 0;
		if (!saved)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	fetcher_end(f);

	assert_true(saved);
	assert_true(S_ISREG(st.st_mode));
	assert_true(slurp(path, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"kid\":\"k1\""));
	assert_int_equal(slurp(victim, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "precious");
	assert_int_not_equal(lstat(tmp, &st), 0);       /* nothing left */

	(void)unlink(path);
	(void)unlink(tmp);
	(void)unlink(victim);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * A server that reads the request and closes without a byte of answer is
 * reported as such, not as a bare libcurl message, and the source waits
 * for its keys.
 */
static void
test_closed_without_response(void **state)
{
	struct fetcher *f;

	(void)state;
	atomic_store(&keys_mode, KEYS_CLOSE);
	f = fetcher_for("");
	/* libcurl's own words follow in parentheses ("Empty reply from
	 * server" here; other versions may say it differently). */
	assert_true(ready_has(f, "\"last_error\":\"server closed the "
	    "connection without a response ("));
	assert_true(ready_has(f, "\"state\":\"error\""));
	fetcher_end(f);
	atomic_store(&keys_mode, KEYS_OK);
}

/* The first number after ${key} in /readyz of ${f}; -1 if none. */
static long
ready_num(struct fetcher *f, const char *key)
{
	struct abuf b = { 0 };
	const char *p;
	char *end;
	long v = -1;

	(void)fetch_ready(f, &b);
	if (b.p != NULL && (p = strstr(b.p, key)) != NULL) {
		v = strtol(p + strlen(key), &end, 10);
		if (end == p + strlen(key))
			v = -1;         /* null: nothing planned (a fetch runs) */
	}
	free(b.p);
	return (v);
}

/*
 * The number after ${key} in /readyz once it is ${min} or more (10 s at
 * most; null reads as -1), or -1: the first such value, read as soon as
 * there is one.
 */
static long
ready_num_wait(struct fetcher *f, const char *key, long min)
{
	for (int i = 0; i < 1000; i++) {
		long v = ready_num(f, key);

		if (v >= min)
			return (v);
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return (-1);
}

/* Wait up to 10 s for ${v} to reach ${n}. */
static bool
count_reaches(atomic_int *v, int n)
{
	for (int i = 0; i < 1000 && atomic_load(v) < n; i++)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	return (atomic_load(v) >= n);
}

/*
 * A refresh sends the ETag back; a 304 keeps the document, counts in
 * not_modified and leaves the source ok.
 */
static void
test_revalidated_304(void **state)
{
	struct fetcher *f;
	int keys, inm, nm;

	(void)state;
	reset_counts();
	f = fetcher_with("", "\"refresh_min_s\":1,\"refresh_max_s\":1");
	/* The server counts a 304 when it sends it; the fetcher a moment
	 * later, when it has read it: wait for the fetcher's own count. */
	assert_true(ready_num_wait(f, "\"not_modified\":", 2) >= 2);
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	fetcher_end(f);
	pthread_mutex_lock(&keys_lock);
	keys = atomic_load(&hits_keys);
	inm = atomic_load(&hits_inm);
	nm = atomic_load(&hits_304);
	pthread_mutex_unlock(&keys_lock);
	assert_int_equal(inm, nm);              /* every refresh sent it */
	assert_int_equal(keys - nm, 1);         /* one full fetch */
}

/*
 * After failures the source is retried on the backoff schedule (capped by
 * backoff_max_s), not at the periodic refresh interval (60 s here).
 */
static void
test_backoff_after_failures(void **state)
{
	struct fetcher *f;
	struct timespec t0, t1;
	double dt;
	int n;

	(void)state;
	reset_counts();
	atomic_store(&keys_mode, KEYS_500);
	f = fetcher_with("", "\"refresh_min_s\":60,\"refresh_max_s\":120,"
	    "\"backoff_max_s\":1");
	assert_true(count_reaches(&hits_keys, 3));
	assert_true(ready_has(f, "\"last_error\":\"HTTP status 500\""));
	/* The next try, planned after a failure, is at most the cap away
	 * (read as soon as one is planned: it counts down). */
	assert_in_range(ready_num_wait(f, "\"next_refresh_s\":", 0), 0, 1);
	/*
	 * Each retry waits between half the cap and the cap (0.5 to 1 s):
	 * three more tries take at least the two whole gaps between them,
	 * and at most three gaps (with room for a loaded machine).
	 */
	n = atomic_load(&hits_keys);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(count_reaches(&hits_keys, n + 3));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fetcher_end(f);
	assert_true(dt >= 0.99);
	assert_true(dt < 5.0);
}

/* Remove every file in ${dir}, then ${dir}. */
static void
rm_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Cold start with state_dir: the document saved by an earlier run gives
 * the issuer its keys while the provider fails, and its ETag makes the
 * first request conditional once the provider is back.
 */
static void
test_state_dir_cold_start(void **state)
{
	char dir[] = "/tmp/spoa-fetch-XXXXXX", extra[600];
	struct fetcher *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(extra, sizeof(extra), "\"state_dir\":\"%s\",", dir);

	/* First run: fetched, saved. */
	f = fetcher_for(extra);
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	fetcher_end(f);

	/* Second run, the provider failing: the keys come from state_dir. */
	srv_drain();
	reset_counts();
	atomic_store(&keys_mode, KEYS_500);
	f = fetcher_with(extra, "\"refresh_min_s\":60,"
	    "\"refresh_max_s\":120,\"backoff_max_s\":1");
	assert_true(count_reaches(&hits_keys, 1));
	assert_true(ready_has(f, "\"last_error\":\"HTTP status 500\""));
	assert_true(ready_has(f, "\"state\":\"stale\""));
	assert_true(ready_has(f, "\"issuer:idp\":{\"kind\":\"issuer\","
	    "\"keys_from\":\"jwks_url\",\"state\":\"ok\""));
	assert_true(atomic_load(&hits_inm) >= 1);
	/* The provider is back: revalidated, not fetched again. */
	atomic_store(&keys_mode, KEYS_OK);
	assert_true(count_reaches(&hits_304, 1));
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	fetcher_end(f);
	rm_dir(dir);
}

/*
 * A document larger than its kind's parser takes is refused by size even
 * when fetch.max_body_bytes would allow it.
 */
static void
test_kind_size_limit(void **state)
{
	struct fetcher *f;

	(void)state;
	atomic_store(&keys_mode, KEYS_HUGE);
	f = fetcher_with("", "\"refresh_min_s\":60,\"refresh_max_s\":120,"
	    "\"max_body_bytes\":16777216");
	assert_true(ready_has(f, "\"last_error\":\"body larger than 4194304 "
	    "bytes, the most a key set may be\""));
	fetcher_end(f);
	atomic_store(&keys_mode, KEYS_OK);
}

/* fetch_stop() ends the fetcher even when no memory can be had. */
static void
test_stop_without_memory(void **state)
{
	struct fetcher *f;

	(void)state;
	f = fetcher_for("");
	assert_true(ready_has(f, "\"state\":\"ok\",\"age_s\":"));
	nomem_thread = pthread_self();
	atomic_store(&nomem, true);
	alarm(20);                      /* a hang kills the test */
	fetch_stop(f);
	alarm(0);
	atomic_store(&nomem, false);
	fetch_free(f);
	live = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_token_body_wiped, test_end),
		cmocka_unit_test_teardown(test_state_tmp_not_followed, test_end),
		cmocka_unit_test_teardown(test_stop_without_memory, test_end),
		cmocka_unit_test_teardown(test_closed_without_response, test_end),
		cmocka_unit_test_teardown(test_revalidated_304, test_end),
		cmocka_unit_test_teardown(test_backoff_after_failures, test_end),
		cmocka_unit_test_teardown(test_state_dir_cold_start, test_end),
		cmocka_unit_test_teardown(test_kind_size_limit, test_end),
	};

	return (cmocka_run_group_tests(tests, srv_start, srv_end));
}
