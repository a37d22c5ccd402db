/*
 * test_fileio.c: fileio_read(): whole regular files only, the size limit,
 * no blocking on a FIFO, reasons without the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static char dir[] = "/tmp/test_fileio.XXXXXX";

static void
put(const char *name, const char *data, size_t n, char *path, size_t cap)
{
	FILE *fp;

	snprintf(path, cap, "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void
test_read(void **state)
{
	char path[256], why[FILEIO_WHY_MAX], *buf = (char *)1;
	size_t len = 99;

	(void)state;
	assert_non_null(mkdtemp(dir));

	/* Whole, NUL-terminated, binary bytes kept. */
	put("a", "ab\0cd", 5, path, sizeof(path));
	assert_int_equal(fileio_read(path, 5, &buf, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "ab\0cd", 6);
	free(buf);
	/* One byte over the limit. */
	assert_int_equal(fileio_read(path, 4, &buf, &len, why, sizeof(why)), -1);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_string_equal(why, "larger than 4 bytes");
	unlink(path);

	/* Empty is a file too. */
	put("e", "", 0, path, sizeof(path));
	assert_int_equal(fileio_read(path, 0, &buf, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	unlink(path);

	/* Absent; a directory; a FIFO (refused, not waited on). */
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(fileio_read(path, 64, &buf, &len, why, sizeof(why)), -1);
	assert_string_equal(why, "No such file or directory");
	assert_int_equal(fileio_read(dir, 64, &buf, &len, why, sizeof(why)), -1);
	assert_string_equal(why, "not a regular file");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(fileio_read(path, 64, &buf, &len, why, sizeof(why)), -1);
	assert_string_equal(why, "not a regular file");
	assert_null(buf);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
