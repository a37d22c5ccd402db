/*
 * test_server.c: server_listen_tcp() binds what the config means:
 * "localhost" is 127.0.0.1 wherever ::1 is listed first, an IPv6 literal
 * is IPv6 only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "server.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
