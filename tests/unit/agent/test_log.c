/*
 * test_log.c: logging that cannot stall a worker.  With stderr a pipe
 * nobody reads, log calls return at once (the ring takes the lines, the
 * writer thread blocks, not the caller), drop and count what does not
 * fit, and everything queued is written when the reader comes back and
 * the writer stops.  Deny-style lines are rate-limited per key, with one
 * "suppressed N" line for the rest.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "testsupport.h"

struct reader {
	int fd;
	size_t lines;
	bool saw_last;
};

static void *
read_all(void *arg)
{
	struct reader *r = arg;
	static char buf[1 << 16];
	char tail[33] = { 0 };          /* the stream's last 32 bytes */
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
		size_t take = n < 32 ? (size_t)n : 32;

		for (ssize_t i = 0; i < n; i++)
			r->lines += buf[i] == '\n';
		memmove(tail, tail + take, 32 - take);
		memcpy(tail + 32 - take, buf + n - take, take);
	}
	r->saw_last = strstr(tail, "line last\n") != NULL;
	return (NULL);
}

static _Atomic bool emitted;

/* The worker's side: a burst of lines. */
static void *
emit_burst(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++)
		log_emit(LOG_LVL_INFO, 0, "line %d %s", i,
		    "................................................");
	emitted = true;
	return (NULL);
}

static void
test_blocked_stderr(void **state)
{
	int p[2], saved = dup(STDERR_FILENO);
	struct reader rd = { 0 };
	pthread_t t, e;
	int64_t t0;
	bool in_time;
	uint64_t dropped0 = log_dropped(), dropped;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	assert_int_equal(log_writer_start(), 0);
	/* Nobody reads the pipe: 64 KiB of it fill, then the writer blocks.
	 * 20000 lines of ~120 bytes must still be logged at once. */
	t0 = util_mono_ms();
	assert_int_equal(pthread_create(&e, NULL, emit_burst, NULL), 0);
	while (!emitted && util_mono_ms() - t0 < 5000)
		usleep(1000);
	in_time = emitted;
	dropped = log_dropped() - dropped0;
	/* The reader comes back (also what unblocks a caller stuck in a
	 * write): what the ring kept is written, the line logged last
	 * included, and nothing is lost when the writer stops. */
	rd.fd = p[0];
	assert_int_equal(pthread_create(&t, NULL, read_all, &rd), 0);
	pthread_join(e, NULL);
	/* The ring drains into the reader: once it is empty, the last line
	 * has room (before that it could be dropped like any other). */
	assert_int_equal(log_flush(10000), 0);
	log_emit(LOG_LVL_INFO, 0, "line last");
	log_writer_stop();
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	pthread_join(t, NULL);
	close(p[0]);
	if (!in_time)
		fail_msg("log calls blocked on a full stderr");
	assert_true(dropped > 0);
	assert_true(rd.saw_last);
	assert_true(rd.lines > 100);
	assert_int_equal(rd.lines + (log_dropped() - dropped0), 20001);
}

static void
test_limited(void **state)
{
	int passed = 0;
	uint64_t before = log_suppressed();
	int64_t start;

	(void)state;
	ts_log_capture_start();
	/* Wait for the start of a second, so the burst fits in one. */
	start = util_mono_ms() / 1000;
	while (util_mono_ms() / 1000 == start)
		usleep(1000);
	for (int i = 0; i < 100; i++)
		passed += log_limited(3, "deny reason=x");
	assert_int_equal(passed, LOG_LIMIT_BURST);
	/* Another key is not limited by the first one. */
	assert_true(log_limited(4, "deny reason=y"));
	/* The next second: one "suppressed" line, then lines pass again. */
	start = util_mono_ms() / 1000;
	while (util_mono_ms() / 1000 <= start + 1)
		usleep(10000);
	assert_true(log_limited(3, "deny reason=x"));
	assert_non_null(strstr(ts_log_captured(),
	    "deny reason=x: suppressed 80 lines"));
	assert_int_equal(log_suppressed() - before, 80);
	ts_log_capture_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocked_stderr),
		cmocka_unit_test(test_limited),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
