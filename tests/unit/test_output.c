/* base/output.c: what each kind of target becomes (the e2e test covers the commands). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

static char *make_dir(void)
{
	char *d = strdup("/tmp/pmuprof-output-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static int entries(const char *dir)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static int fill_text(int fd, void *arg, const char **why)
{
	(void)why;
	return base_write_all(fd, arg, strlen(arg));
}

static int fill_fails(int fd, void *arg, const char **why)
{
	(void)fd;
	(void)arg;
	*why = "the encoder gave up";
	return -EIO;
}

static const struct base_output_opts OPTS = {.mode = 0644, .what = "profile", .flag = "-o"};

/* Snapshots: one output, several contents, each replacing the last whole. */
static void test_commits_again(void **state)
{
	(void)state;
	char *d = make_dir(), path[PATH_MAX], err[256];
	snprintf(path, sizeof(path), "%s/p", d);
	struct base_output *o;
	assert_int_equal(base_output_open(&o, path, &OPTS, err, sizeof(err)), 0);
	assert_int_equal(entries(d), 1); /* the temporary, made at open */
	assert_int_equal(base_output_write(o, fill_text, "one", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "one");
	assert_int_equal(base_output_write(o, fill_text, "two", err, sizeof(err)), 0);
	assert_string_equal(slurp(path), "two");
	/* a failed content leaves the last one and no temporary */
	assert_int_equal(base_output_write(o, fill_fails, NULL, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "the encoder gave up"));
	assert_string_equal(slurp(path), "two");
	base_output_close(o);
	assert_int_equal(entries(d), 1);
	unlink(path);
	rmdir(d);
	free(d);
}

/* A spool file's name: a planted link is replaced, its target never written. */
static void test_no_follow(void **state)
{
	(void)state;
	char *d = make_dir(), path[PATH_MAX], victim[PATH_MAX], err[256];
	snprintf(path, sizeof(path), "%s/spool.otlp", d);
	snprintf(victim, sizeof(victim), "%s/victim", d);
	FILE *f = fopen(victim, "w");
	fputs("precious", f);
	fclose(f);
	assert_int_equal(symlink(victim, path), 0);
	struct base_output_opts o = OPTS;
	o.flags = BASE_OUTPUT_NO_FOLLOW;
	assert_int_equal(base_write_file(path, &o, fill_text, "spooled", err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(path), "spooled");
	assert_string_equal(slurp(victim), "precious");
	/* without the flag the same link is followed */
	unlink(path);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(base_write_file(path, &OPTS, fill_text, "through", err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(slurp(victim), "through");
	unlink(path);
	unlink(victim);
	rmdir(d);
	free(d);
}

/* KEEP_OLD: the previous file is PATH.old after the first commit only. */
static void test_keep_old(void **state)
{
	(void)state;
	char *d = make_dir(), path[PATH_MAX], old[PATH_MAX + 8], err[256];
	snprintf(path, sizeof(path), "%s/p", d);
	snprintf(old, sizeof(old), "%s.old", path);
	struct base_output_opts opts = OPTS;
	opts.flags = BASE_OUTPUT_KEEP_OLD;
	assert_int_equal(base_write_file(path, &opts, fill_text, "first", err, sizeof(err)), 0);
	assert_int_equal(access(old, F_OK), -1); /* nothing to keep yet */
	struct base_output *o;
	assert_int_equal(base_output_open(&o, path, &opts, err, sizeof(err)), 0);
	assert_int_equal(base_output_write(o, fill_text, "snap", err, sizeof(err)), 0);
	assert_int_equal(base_output_write(o, fill_text, "final", err, sizeof(err)), 0);
	base_output_close(o);
	assert_string_equal(slurp(path), "final");
	assert_string_equal(slurp(old), "first");
	unlink(path);
	unlink(old);
	rmdir(d);
	free(d);
}

static void test_refusals(void **state)
{
	(void)state;
	char *d = make_dir(), path[PATH_MAX], err[256];
	struct base_output *o = NULL;
	assert_int_equal(base_output_open(&o, d, &OPTS, err, sizeof(err)), -EISDIR);
	assert_null(o);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(base_output_open(&o, "", &OPTS, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing/p", d);
	assert_int_equal(base_output_open(&o, path, &OPTS, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot write profile "));
	assert_non_null(strstr(err, "give -o another path"));
	/* a symlink loop */
	snprintf(path, sizeof(path), "%s/loop", d);
	assert_int_equal(symlink(path, path), 0);
	assert_int_equal(base_output_open(&o, path, &OPTS, err, sizeof(err)), -ELOOP);
	unlink(path);
	rmdir(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commits_again),
		cmocka_unit_test(test_no_follow),
		cmocka_unit_test(test_keep_old),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
