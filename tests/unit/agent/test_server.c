/*
 * test_server.c: server_listen_tcp() binds what the config means:
 * "localhost" is 127.0.0.1 wherever ::1 is listed first, an IPv6 literal
 * is IPv6 only.  Takeover (listen_takeover): a second listener on a TCP
 * address shares it with the first only if both set SO_REUSEPORT; a unix
 * socket path is renamed over by the newer server, never missing, and
 * removed at close only by the server whose socket it still is.  The
 * servers are opened and closed without a loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "server.h"
#include "testsupport.h"

static int
bound_family(const char *host, char *addr, size_t cap)
{
	char h[64];
	struct listen_addr a = { LISTEN_TCP, h, 0, NULL, h };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, fam;

	assert_true(strlen(host) < sizeof(h));
	memcpy(h, host, strlen(host) + 1);
	if ((fd = server_listen_tcp(&a, "test", 4, false)) == -1)
		return (-1);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	fam = ss.ss_family;
	if (fam == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr,
		    (socklen_t)cap);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    addr, (socklen_t)cap);
	close(fd);
	return (fam);
}

static void
test_families(void **state)
{
	char addr[64];

	(void)state;
	assert_int_equal(bound_family("localhost", addr, sizeof(addr)), AF_INET);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(bound_family("127.0.0.1", addr, sizeof(addr)), AF_INET);
	assert_string_equal(addr, "127.0.0.1");
	/* ::1 may be absent (containers without IPv6): then it fails, it
	 * never falls back to another family. */
	switch (bound_family("::1", addr, sizeof(addr))) {
	case AF_INET6:
		assert_string_equal(addr, "::1");
		break;
	case -1:
		print_message("::1 not available here; IPv6 case skipped\n");
		break;
	default:
		fail_msg("::1 bound to another family");
	}
}

/* A TCP port free now on 127.0.0.1. */
static uint16_t
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	assert_int_not_equal(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

/* A plain listener on 127.0.0.1:${port}, without SO_REUSEPORT. */
static int
plain_listener(uint16_t port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_int_not_equal(fd, -1);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return (fd);
}

static void
test_tcp_share(void **state)
{
	char h[] = "127.0.0.1", text[32];
	struct listen_addr a = { LISTEN_TCP, h, 0, NULL, text };
	int fd1, fd2, plain;

	(void)state;
	a.port = free_port();
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)a.port);

	/* A free address: no takeover line. */
	ts_log_capture_start();
	assert_int_not_equal(fd1 = server_listen_tcp(&a, "listen", 4, true), -1);
	assert_null(strstr(ts_log_captured(), "another process"));

	/* A second run shares it and says so. */
	assert_int_not_equal(fd2 = server_listen_tcp(&a, "listen", 4, true), -1);
	assert_non_null(strstr(ts_log_captured(), "another process listens "
	    "here too (SO_REUSEPORT): taking over"));
	close(fd2);

	/* Without sharing, the address is in use as before. */
	ts_log_capture_start();
	assert_int_equal(server_listen_tcp(&a, "listen", 4, false), -1);
	assert_non_null(strstr(ts_log_captured(), "Address already in use"));
	close(fd1);

	/* A holder that did not set SO_REUSEPORT (another program) still
	 * makes the start fail, with the reason. */
	a.port = free_port();
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)a.port);
	plain = plain_listener(a.port);
	ts_log_capture_start();
	assert_int_equal(server_listen_tcp(&a, "listen", 4, true), -1);
	assert_non_null(strstr(ts_log_captured(), "does not share the address"));
	ts_log_capture_stop();
	close(plain);
}

/* The unix test's directory, path and config. */
struct ux {
	char dir[64];
	char path[128];
	char text[140];
	struct listen_addr a;
	struct config cfg;
};

static void
ux_init(struct ux *u, bool takeover)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->dir, sizeof(u->dir), "/tmp/spoa-test-server-XXXXXX");
	assert_non_null(mkdtemp(u->dir));
	snprintf(u->path, sizeof(u->path), "%s/agent.sock", u->dir);
	snprintf(u->text, sizeof(u->text), "unix:%s", u->path);
	u->a.kind = LISTEN_UNIX;
	u->a.path = u->path;
	u->a.text = u->text;
	u->cfg.listen = &u->a;
	u->cfg.nlisten = 1;
	u->cfg.listen_takeover = takeover;
}

/* Files in the test's directory (no temporary name is ever left). */
static int
ux_files(const struct ux *u)
{
	DIR *d = opendir(u->dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
ux_done(struct ux *u)
{
	(void)unlink(u->path);
	assert_int_equal(rmdir(u->dir), 0);
}

static ino_t
ino_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return (0);
	assert_true(S_ISSOCK(st.st_mode));
	return (st.st_ino);
}

/* connect(2) to ${path}: 0, or the errno. */
static int
try_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

	assert_int_not_equal(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : errno;
	close(fd);
	return (rc);
}

static void
test_unix_takeover(void **state)
{
	struct ux u;
	struct server *s1, *s2;
	ino_t i1, i2;
	mode_t old = umask(027);

	(void)state;
	ux_init(&u, true);
	ts_log_capture_start();
	assert_non_null(s1 = server_open(&u.cfg));
	assert_null(strstr(ts_log_captured(), "taking over"));
	assert_int_not_equal(i1 = ino_of(u.path), 0);
	assert_int_equal(ux_files(&u), 1);

	/* The second server's socket replaces the path in one rename. */
	assert_non_null(s2 = server_open(&u.cfg));
	assert_non_null(strstr(ts_log_captured(), "another process listens "
	    "here too: taking over"));
	assert_int_not_equal(i2 = ino_of(u.path), 0);
	assert_true(i2 != i1);
	assert_int_equal(ux_files(&u), 1);
	{
		struct stat st;

		/* bind() made it 0777 less the umask; rename() keeps that. */
		assert_int_equal(lstat(u.path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0750);
	}

	/* The older server closes: the path stays the newer one's, and
	 * answers. */
	server_close(s1);
	assert_true(ino_of(u.path) == i2);
	assert_non_null(strstr(ts_log_captured(), "another process's now"));
	assert_int_equal(try_connect(u.path), 0);

	/* The newer one closes: the path is its own, so it goes. */
	server_close(s2);
	assert_int_equal(ino_of(u.path), 0);
	assert_int_equal(ux_files(&u), 0);
	ts_log_capture_stop();
	ux_done(&u);
	umask(old);
}

static void
test_unix_stale_and_refused(void **state)
{
	struct ux u;
	struct server *s1, *s2;
	struct sockaddr_un sun;
	ino_t i1;
	int fd;
	FILE *f;

	(void)state;
	ux_init(&u, false);

	/* A stale socket (its process is gone) is replaced, with or without
	 * takeover. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, u.path, strlen(u.path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(try_connect(u.path), ECONNREFUSED);
	i1 = ino_of(u.path);
	assert_non_null(s1 = server_open(&u.cfg));
	assert_true(ino_of(u.path) != i1);
	assert_int_equal(try_connect(u.path), 0);

	/* listen_takeover false: a live socket is not taken, and is left
	 * as it was. */
	i1 = ino_of(u.path);
	ts_log_capture_start();
	assert_null(s2 = server_open(&u.cfg));
	assert_non_null(strstr(ts_log_captured(), "another process listens "
	    "on this socket (listen_takeover is false)"));
	ts_log_capture_stop();
	assert_true(ino_of(u.path) == i1);
	assert_int_equal(ux_files(&u), 1);
	server_close(s1);
	assert_int_equal(ux_files(&u), 0);

	/* A file that is not a socket is refused and left alone. */
	u.cfg.listen_takeover = true;
	assert_non_null(f = fopen(u.path, "w"));
	fclose(f);
	ts_log_capture_start();
	assert_null(s1 = server_open(&u.cfg));
	assert_non_null(strstr(ts_log_captured(), "exists and is not a socket"));
	ts_log_capture_stop();
	assert_int_equal(access(u.path, F_OK), 0);
	assert_int_equal(ux_files(&u), 1);
	ux_done(&u);
}

/* A start that fails after binding its unix socket leaves the older
 * server its path: the rename waits until every address is bound. */
static void
test_unix_failed_start(void **state)
{
	struct ux u;
	struct server *s1, *s2;
	struct listen_addr both[2];
	char h[] = "127.0.0.1", text[32];
	int plain;
	ino_t i1;

	(void)state;
	ux_init(&u, true);
	assert_non_null(s1 = server_open(&u.cfg));
	i1 = ino_of(u.path);
	both[0] = u.a;
	memset(&both[1], 0, sizeof(both[1]));
	both[1].kind = LISTEN_TCP;
	both[1].host = h;
	both[1].port = free_port();
	both[1].text = text;
	snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)both[1].port);
	plain = plain_listener(both[1].port);
	u.cfg.listen = both;
	u.cfg.nlisten = 2;
	ts_log_capture_start();
	assert_null(s2 = server_open(&u.cfg));
	ts_log_capture_stop();
	close(plain);
	assert_true(ino_of(u.path) == i1);
	assert_int_equal(ux_files(&u), 1);
	assert_int_equal(try_connect(u.path), 0);
	server_close(s1);
	ux_done(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_tcp_share),
		cmocka_unit_test(test_unix_takeover),
		cmocka_unit_test(test_unix_stale_and_refused),
		cmocka_unit_test(test_unix_failed_start),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
