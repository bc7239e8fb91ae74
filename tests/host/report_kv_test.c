// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * report_kv_test - liveupdate/lib/report.c on the host: the key=value
 * round trip of a report and of a preflight check, unknown keys ignored,
 * malformed lines refused, names and exit codes.
 *
 * report_kv_test           run the tests (exit 0: all passed)
 * report_kv_test --json    print the JSON of a report full of awkward
 *                          strings, for report_json_test.sh to validate
 * report_kv_test --check   print a check as text, for the same script
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveupdate.h"
#include "expect.h"

static void fill_report(struct liveupdate_report *r)
{
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->version = LIVEUPDATE_API_VERSION;
	r->outcome = LIVEUPDATE_ROLLED_BACK;
	r->error = ENOENT;
	snprintf(r->step, sizeof(r->step), "exec");
	snprintf(r->message, sizeof(r->message), "execve \"%s\": gone\\",
		 "/opt/vmm/new");
	r->pid_before = 1234;
	r->pid_after = 1240;
	r->holder_pid = 1235;
	snprintf(r->binary_before, sizeof(r->binary_before), "/usr/bin/refvmm");
	snprintf(r->binary_after, sizeof(r->binary_after), "/usr/bin/refvmm");
	r->nr_regions = 3;
	r->bytes = 3ull << 30;
	for (i = 0; i < LIVEUPDATE_NR_PHASES; i++)
		r->phase_ns[i] = 1000003ull * (i + 1) + i;
	r->phase_ns[LIVEUPDATE_PHASE_TOTAL] = 123456789012ull;
	r->mdev_wait_ns = 987654;
	r->vmlck_before_kb = 1;
	r->vmlck_holder_kb = 3145728;
	r->vmlck_after_kb = 2;
	r->pins_acquired = 77;
	r->holder_cap_ipc_lock = true;
	r->dirty_before = 1;
	r->dirty_after = 0;
	r->rollback = true;
}

/* @text written by @fn into a string (caller frees). */
static char *to_string(int (*fn)(const void *, FILE *), const void *obj,
		       int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	*ret = fn(obj, f);
	fclose(f);
	return buf;
}

static int report_kv(const void *r, FILE *f)
{
	return liveupdate_report_write_kv(r, f);
}

static int check_kv(const void *c, FILE *f)
{
	return liveupdate_check_write_kv(c, f);
}

static int check_print(const void *c, FILE *f)
{
	return liveupdate_check_print(c, f);
}

/* Every line is key=value; no blank line (the sender adds its own). */
static void expect_kv_lines(const char *text)
{
	const char *p;

	EXPECT(text[0] && text[strlen(text) - 1] == '\n');
	EXPECT(!strstr(text, "\n\n"));
	for (p = text; *p; p = strchr(p, '\n') + 1) {
		const char *eol = strchr(p, '\n');
		const char *eq = memchr(p, '=', eol - p);

		EXPECT(eq && eq > p);
	}
}

static void test_report_round_trip(void)
{
	struct liveupdate_report r, back;
	char *text;
	int ret;

	fill_report(&r);
	text = to_string(report_kv, &r, &ret);
	EXPECT(ret == 0);
	expect_kv_lines(text);
	EXPECT(strstr(text, "outcome=rolled-back\n"));
	EXPECT(strstr(text, "phase_ns.total=123456789012\n"));

	memset(&back, 0xa5, sizeof(back));
	ret = liveupdate_report_parse_kv(&back, text);
	EXPECT(ret == 0);
	EXPECT(!memcmp(&r, &back, sizeof(r)));
	free(text);
}

/* A newline in a value cannot split the line: it is written as a space. */
static void test_report_newline_stripped(void)
{
	struct liveupdate_report r, back;
	char *text;
	int ret;

	fill_report(&r);
	snprintf(r.message, sizeof(r.message), "one\ntwo\r\nthree\tfour");
	snprintf(r.step, sizeof(r.step), "x\ninjected=1");
	text = to_string(report_kv, &r, &ret);
	EXPECT(ret == 0);
	expect_kv_lines(text);
	EXPECT(!strstr(text, "\ninjected=1"));
	EXPECT(liveupdate_report_parse_kv(&back, text) == 0);
	EXPECT(!strcmp(back.message, "one two  three four"));
	EXPECT(!strcmp(back.step, "x injected=1"));
	free(text);
}

/* A field without NUL (memcpy'd) is written up to its size, not beyond. */
static void test_report_unterminated(void)
{
	struct liveupdate_report r, back;
	char *text;
	int ret;

	fill_report(&r);
	memset(r.step, 'a', sizeof(r.step));
	text = to_string(report_kv, &r, &ret);
	EXPECT(ret == 0);
	EXPECT(liveupdate_report_parse_kv(&back, text) == 0);
	EXPECT(strlen(back.step) == sizeof(back.step) - 1);
	EXPECT(back.pid_before == r.pid_before);
	free(text);
}

static void test_report_defaults_unknown(void)
{
	struct liveupdate_report r;

	/* Unknown keys (a newer VMM) are skipped, missing ones default. */
	EXPECT(liveupdate_report_parse_kv(&r,
		"future=1\nphase_ns.future=3\noutcome=refused\r\n"
		"pid_before=-1\n\n") == 0);
	EXPECT(r.outcome == LIVEUPDATE_REFUSED);
	EXPECT(r.pid_before == -1);
	EXPECT(r.dirty_before == -1 && r.dirty_after == -1);
	EXPECT(r.phase_ns[LIVEUPDATE_PHASE_TOTAL] == 0);
	EXPECT(r.message[0] == '\0');

	/* Without an outcome a report must not read as a success. */
	EXPECT(liveupdate_report_parse_kv(&r, "pid_before=1\n") == 0);
	EXPECT(r.outcome == LIVEUPDATE_LOST);
	EXPECT(liveupdate_report_parse_kv(&r, "") == 0);

	/* A value longer than its field is cut, with its NUL. */
	char line[600] = "step=";

	memset(line + 5, 's', 500);
	line[505] = '\0';
	EXPECT(liveupdate_report_parse_kv(&r, line) == 0);
	EXPECT(strlen(r.step) == sizeof(r.step) - 1);
}

static void test_report_malformed(void)
{
	static const char *const bad[] = {
		"outcome=updated\nno equals sign\n",
		"=value\n",
		"outcome=maybe\n",
		"outcome=\n",
		"pid_before=12x\n",
		"pid_before=\n",
		"pid_before=99999999999\n",
		"bytes=-1\n",
		"bytes=18446744073709551616\n",
		"nr_regions=4294967296\n",
		"dirty_before=2\n",
		"rollback=yes\n",
		"phase_ns.total=1.5\n",
		"version= 1\n",
	};
	struct liveupdate_report r;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (liveupdate_report_parse_kv(&r, bad[i]) != -EINVAL ||
		    errno != EINVAL) {
			failures++;
			fprintf(stderr, "%s: accepted: %s", __func__, bad[i]);
		}
		checks++;
	}
	EXPECT(liveupdate_report_parse_kv(&r, NULL) == -EINVAL);
}

static void fill_check(struct liveupdate_check *c)
{
	static const struct liveupdate_finding f[] = {
		{ LIVEUPDATE_OK, "module", "vfio_iommu_lu loaded, VFIO_DMA_OWNER present" },
		{ LIVEUPDATE_FAIL, "memlock", "RLIMIT_MEMLOCK 64 MiB < 128 MiB to be charged" },
		{ LIVEUPDATE_FAIL, "region 3", "fd 7 is not a memory object: see docs" },
		{ LIVEUPDATE_WARN, "fds", "2 descriptors will be closed at exec" },
		{ LIVEUPDATE_OK, "cap_ipc_lock", "" },
	};
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		c->finding[c->nr++] = f[i];
		c->nr_fail += f[i].level == LIVEUPDATE_FAIL;
		c->nr_warn += f[i].level == LIVEUPDATE_WARN;
	}
}

static void test_check_round_trip(void)
{
	struct liveupdate_check c, back;
	char *text;
	int ret;

	fill_check(&c);
	text = to_string(check_kv, &c, &ret);
	EXPECT(ret == 0);
	expect_kv_lines(text);
	EXPECT(strstr(text, "finding=fail memlock: RLIMIT_MEMLOCK 64 MiB < 128 MiB to be charged\n"));
	memset(&back, 0x5a, sizeof(back));
	EXPECT(liveupdate_check_parse_kv(&back, text) == 0);
	EXPECT(!memcmp(&c, &back, sizeof(c)));
	free(text);

	text = to_string(check_print, &c, &ret);
	EXPECT(ret == 0);
	EXPECT(strstr(text, "update refused: 2 problem(s)\n"));
	EXPECT(strstr(text, "region 3"));
	free(text);

	c.finding[1].level = LIVEUPDATE_OK;
	c.finding[2].level = LIVEUPDATE_OK;
	c.nr_fail = 0;
	text = to_string(check_print, &c, &ret);
	EXPECT(strstr(text, "\nupdate possible\n"));
	free(text);
}

/* A ':' in a subject would end it: written as '_'; newlines as spaces. */
static void test_check_awkward(void)
{
	struct liveupdate_check c = { 0 }, back;
	char *text;
	int ret;

	c.nr = 1;
	c.nr_fail = 1;
	c.finding[0].level = LIVEUPDATE_FAIL;
	snprintf(c.finding[0].what, sizeof(c.finding[0].what), "a:b");
	snprintf(c.finding[0].text, sizeof(c.finding[0].text), "x\nfinding=ok y: z");
	text = to_string(check_kv, &c, &ret);
	expect_kv_lines(text);
	EXPECT(liveupdate_check_parse_kv(&back, text) == 0);
	EXPECT(back.nr == 1 && back.nr_fail == 1 && back.nr_warn == 0);
	EXPECT(!strcmp(back.finding[0].what, "a_b"));
	EXPECT(!strcmp(back.finding[0].text, "x finding=ok y: z"));
	free(text);
}

static void test_check_parse(void)
{
	struct liveupdate_check c;
	char *text = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f;

	/* The colon-less form: the subject is the first word. */
	EXPECT(liveupdate_check_parse_kv(&c,
		"finding=fail memlock RLIMIT_MEMLOCK 64 MiB < 128 MiB to be charged\n"
		"future=1\nnr_fail=0\n") == 0);
	EXPECT(c.nr == 1 && c.nr_fail == 1);
	EXPECT(!strcmp(c.finding[0].what, "memlock"));
	EXPECT(!strcmp(c.finding[0].text, "RLIMIT_MEMLOCK 64 MiB < 128 MiB to be charged"));

	EXPECT(liveupdate_check_parse_kv(&c, "finding=maybe x: y\n") == -EINVAL);
	EXPECT(liveupdate_check_parse_kv(&c, "finding=fail\n") == -EINVAL);
	EXPECT(liveupdate_check_parse_kv(&c, "finding=ok x: y\nbad\n") == -EINVAL);
	EXPECT(liveupdate_check_parse_kv(&c, "") == 0 && c.nr == 0);

	/* More findings than the table holds still count against the verdict. */
	f = open_memstream(&text, &len);
	for (i = 0; i < LIVEUPDATE_MAX_FINDINGS + 5; i++)
		fprintf(f, "finding=%s f%u: t\n", i < 3 ? "ok" : "fail", i);
	fclose(f);
	EXPECT(liveupdate_check_parse_kv(&c, text) == 0);
	EXPECT(c.nr == LIVEUPDATE_MAX_FINDINGS);
	EXPECT(c.nr_fail == LIVEUPDATE_MAX_FINDINGS + 2);
	free(text);
}

static void test_names(void)
{
	unsigned int i, j;

	for (i = 0; i < LIVEUPDATE_NR_PHASES; i++) {
		EXPECT(strcmp(liveupdate_phase_name(i), "unknown"));
		for (j = 0; j < i; j++)
			EXPECT(strcmp(liveupdate_phase_name(i),
				      liveupdate_phase_name(j)));
	}
	EXPECT(!strcmp(liveupdate_phase_name(LIVEUPDATE_NR_PHASES), "unknown"));
	EXPECT(!strcmp(liveupdate_outcome_name(LIVEUPDATE_UPDATED), "updated"));
	EXPECT(!strcmp(liveupdate_outcome_name(LIVEUPDATE_ROLLED_BACK), "rolled-back"));
	EXPECT(!strcmp(liveupdate_outcome_name(99), "unknown"));

	EXPECT(liveupdate_outcome_exit_code(LIVEUPDATE_UPDATED) == 0);
	EXPECT(liveupdate_outcome_exit_code(LIVEUPDATE_UPDATED_REMAPPED) == 0);
	EXPECT(liveupdate_outcome_exit_code(LIVEUPDATE_ROLLED_BACK) == 3);
	EXPECT(liveupdate_outcome_exit_code(LIVEUPDATE_REFUSED) == 4);
	EXPECT(liveupdate_outcome_exit_code(LIVEUPDATE_LOST) == 5);
	EXPECT(liveupdate_outcome_exit_code(99) == 1);
}

static void test_print(void)
{
	struct liveupdate_report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fill_report(&r);
	r.phase_ns[LIVEUPDATE_PHASE_REMAP] = 0;
	EXPECT(liveupdate_report_print(&r, f) == 0);
	fclose(f);
	EXPECT(strstr(buf, "outcome:             rolled-back\n"));
	EXPECT(strstr(buf, "123456.789\n"));	/* total, ms, 3 decimals */
	EXPECT(strstr(buf, "  remap                         -\n"));
	EXPECT(strstr(buf, "mdev wait window:    0.987 ms\n"));
	EXPECT(strstr(buf, "before 1 kB, holder 3145728 kB, after 2 kB"));
	EXPECT(strstr(buf, "pins acquired:       77\n"));
	EXPECT(strstr(buf, "holder CAP_IPC_LOCK: yes\n"));
	EXPECT(strstr(buf, "dirty tracking:      before on, after off\n"));
	EXPECT(strstr(buf, "1234 -> 1240"));
	free(buf);
}

/* Strings JSON must escape, and bytes that are not UTF-8. */
static int print_json(void)
{
	struct liveupdate_report r;

	fill_report(&r);
	snprintf(r.message, sizeof(r.message),
		 "quote \" backslash \\ newline \n tab \t bell \a del \x7f "
		 "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad \xff\xc3( \xed\xa0\x80 end");
	snprintf(r.binary_after, sizeof(r.binary_after), "/usr/bin/\x80vmm");
	r.dirty_after = -1;
	return liveupdate_report_json(&r, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--json"))
		return print_json();
	if (argc > 1 && !strcmp(argv[1], "--check")) {
		struct liveupdate_check c;

		fill_check(&c);
		return liveupdate_check_print(&c, stdout) ? 1 : 0;
	}

	test_report_round_trip();
	test_report_newline_stripped();
	test_report_unterminated();
	test_report_defaults_unknown();
	test_report_malformed();
	test_check_round_trip();
	test_check_awkward();
	test_check_parse();
	test_names();
	test_print();

	return expect_summary("report_kv_test");
}
