// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * report.c - update reports and preflight results: human text, JSON, and
 * the key=value lines a VMM sends to the liveupdate command.
 *
 * Wire form (one "key=value" per line, no blank line: the sender ends its
 * reply with one after adding its own keys):
 *
 *   version=1  outcome=updated  error=0  step=  message=...
 *   pid_before= pid_after= holder_pid= binary_before= binary_after=
 *   nr_regions= bytes= mdev_wait_ns= vmlck_before_kb= vmlck_holder_kb=
 *   vmlck_after_kb= pins_acquired= holder_cap_ipc_lock=0|1
 *   dirty_before=-1|0|1 dirty_after=-1|0|1 rollback=0|1
 *   phase_ns.<phase>=N  (one per phase, liveupdate_phase_name())
 *
 * and for a preflight check "nr_fail=N", "nr_warn=N" and one
 * "finding=LEVEL WHAT: TEXT" per finding.  A value never holds a newline:
 * control characters are written as spaces.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "liveupdate.h"
#include "export.h"
#include "json.h"

static const char *const phase_names[LIVEUPDATE_NR_PHASES] = {
	[LIVEUPDATE_PHASE_PREFLIGHT]	= "preflight",
	[LIVEUPDATE_PHASE_FORK]		= "fork",
	[LIVEUPDATE_PHASE_HOLDER_OWN]	= "holder_own",
	[LIVEUPDATE_PHASE_EXEC]		= "exec",
	[LIVEUPDATE_PHASE_STATE_READ]	= "state_read",
	[LIVEUPDATE_PHASE_REMAP]	= "remap",
	[LIVEUPDATE_PHASE_STAGE]	= "stage",
	[LIVEUPDATE_PHASE_COMMIT]	= "commit",
	[LIVEUPDATE_PHASE_HOLDER_EXIT]	= "holder_exit",
	[LIVEUPDATE_PHASE_TOTAL]	= "total",
};

static const char *const outcome_names[] = {
	[LIVEUPDATE_UPDATED]		= "updated",
	[LIVEUPDATE_UPDATED_REMAPPED]	= "updated-remapped",
	[LIVEUPDATE_ROLLED_BACK]	= "rolled-back",
	[LIVEUPDATE_REFUSED]		= "refused",
	[LIVEUPDATE_LOST]		= "lost",
};
#define NR_OUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

static const char *const level_names[] = {
	[LIVEUPDATE_OK]		= "ok",
	[LIVEUPDATE_WARN]	= "warn",
	[LIVEUPDATE_FAIL]	= "fail",
};
#define NR_LEVELS (sizeof(level_names) / sizeof(level_names[0]))

LU_EXPORT const char *liveupdate_phase_name(enum liveupdate_phase phase)
{
	if ((unsigned int)phase >= LIVEUPDATE_NR_PHASES)
		return "unknown";
	return phase_names[phase];
}

LU_EXPORT const char *liveupdate_outcome_name(enum liveupdate_outcome outcome)
{
	if ((unsigned int)outcome >= NR_OUTCOMES)
		return "unknown";
	return outcome_names[outcome];
}

LU_EXPORT int liveupdate_outcome_exit_code(enum liveupdate_outcome outcome)
{
	switch (outcome) {
	case LIVEUPDATE_UPDATED:
	case LIVEUPDATE_UPDATED_REMAPPED:
		return 0;
	case LIVEUPDATE_ROLLED_BACK:
		return 3;
	case LIVEUPDATE_REFUSED:
		return 4;
	case LIVEUPDATE_LOST:
		return 5;
	}
	/* Not an outcome we know: the command's "answer unknown". */
	return 1;
}

/* ---- output helpers ---- */

static int out_status(FILE *out)
{
	if (ferror(out)) {
		errno = EIO;
		return -EIO;
	}
	return 0;
}

/* A fixed-size field may lack its NUL (a report filled by memcpy). */
static size_t field_len(const char *s, size_t size)
{
	return strnlen(s, size);
}

/* One-line text: control characters (newlines above all) become spaces,
 * so neither a terminal nor the key=value form can be split by a value. */
static void put_line(FILE *out, const char *s, size_t size)
{
	size_t i, len = field_len(s, size);

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
	}
}

#define PUT_FIELD(out, field) put_line(out, field, sizeof(field))

/* Milliseconds with 3 decimals: microseconds are what matter here. */
static void fmt_ms(char *buf, size_t size, uint64_t ns)
{
	snprintf(buf, size, "%" PRIu64 ".%03" PRIu64, ns / 1000000,
		 ns / 1000 % 1000);
}

static void put_ms(FILE *out, uint64_t ns)
{
	char buf[32];

	fmt_ms(buf, sizeof(buf), ns);
	fputs(buf, out);
}

static void put_size(FILE *out, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && u < sizeof(unit) / sizeof(unit[0]) - 1) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	if (u && rem)
		fprintf(out, "%" PRIu64 ".%02" PRIu64 " %s", whole,
			rem * 100 / 1024, unit[u]);
	else
		fprintf(out, "%" PRIu64 " %s", whole, unit[u]);
}

static const char *dirty_name(int dirty)
{
	return dirty < 0 ? "unknown" : dirty ? "on" : "off";
}

/* ---- human text ---- */

LU_EXPORT int liveupdate_report_print(const struct liveupdate_report *r,
				      FILE *out)
{
	unsigned int i;

	fprintf(out, "outcome:             %s\n",
		liveupdate_outcome_name(r->outcome));
	if (field_len(r->message, sizeof(r->message))) {
		fputs("message:             ", out);
		PUT_FIELD(out, r->message);
		fputc('\n', out);
	}
	if (r->error || field_len(r->step, sizeof(r->step))) {
		fputs("failed step:         ", out);
		if (field_len(r->step, sizeof(r->step)))
			PUT_FIELD(out, r->step);
		else
			fputc('-', out);
		if (r->error)
			fprintf(out, " (%s, errno %d)", strerror(r->error),
				r->error);
		fputc('\n', out);
	}
	fprintf(out, "pid:                 %d -> %d%s\n", (int)r->pid_before,
		(int)r->pid_after,
		r->rollback ? " (previous binary restarted by the holder)" : "");
	fprintf(out, "holder pid:          %d\n", (int)r->holder_pid);
	fputs("binary before:       ", out);
	PUT_FIELD(out, r->binary_before);
	fputs("\nbinary after:        ", out);
	PUT_FIELD(out, r->binary_after);
	fprintf(out, "\nregions:             %" PRIu32 ", ", r->nr_regions);
	put_size(out, r->bytes);
	fputs("\nphases (ms):\n", out);
	for (i = 0; i < LIVEUPDATE_NR_PHASES; i++) {
		char ms[32] = "-";

		/* 0 ns: the phase did not run (refused, or rolled back). */
		if (r->phase_ns[i])
			fmt_ms(ms, sizeof(ms), r->phase_ns[i]);
		fprintf(out, "  %-18s %12s\n", phase_names[i], ms);
	}
	fputs("mdev wait window:    ", out);
	put_ms(out, r->mdev_wait_ns);
	fprintf(out, " ms\n"
		"VmLck:               before %" PRIu64 " kB, holder %" PRIu64
		" kB, after %" PRIu64 " kB\n",
		r->vmlck_before_kb, r->vmlck_holder_kb, r->vmlck_after_kb);
	fprintf(out, "pins acquired:       %" PRIu64 "\n", r->pins_acquired);
	fprintf(out, "holder CAP_IPC_LOCK: %s\n",
		r->holder_cap_ipc_lock ? "yes" : "no");
	fprintf(out, "dirty tracking:      before %s, after %s\n",
		dirty_name(r->dirty_before), dirty_name(r->dirty_after));
	return out_status(out);
}

/* ---- JSON ---- */

/* A fixed-size field as a JSON string (up to its NUL). */
static void json_string(FILE *out, const char *str, size_t size)
{
	lu_json_string(out, str, field_len(str, size));
}

static void json_key(FILE *out, const char *key)
{
	fprintf(out, ",\n  \"%s\": ", key);
}

static void json_time(FILE *out, uint64_t ns)
{
	fprintf(out, "{\"ns\": %" PRIu64 ", \"ms\": ", ns);
	put_ms(out, ns);
	fputc('}', out);
}

static const char *json_dirty(int dirty)
{
	return dirty < 0 ? "null" : dirty ? "true" : "false";
}

LU_EXPORT int liveupdate_report_json(const struct liveupdate_report *r,
				     FILE *out)
{
	unsigned int i;

	fprintf(out, "{\n  \"version\": %" PRIu32, r->version);
	json_key(out, "outcome");
	json_string(out, liveupdate_outcome_name(r->outcome), SIZE_MAX);
	json_key(out, "exit_code");
	fprintf(out, "%d", liveupdate_outcome_exit_code(r->outcome));
	json_key(out, "error");
	fprintf(out, "%d", r->error);
	json_key(out, "step");
	json_string(out, r->step, sizeof(r->step));
	json_key(out, "message");
	json_string(out, r->message, sizeof(r->message));
	json_key(out, "pid_before");
	fprintf(out, "%d", (int)r->pid_before);
	json_key(out, "pid_after");
	fprintf(out, "%d", (int)r->pid_after);
	json_key(out, "holder_pid");
	fprintf(out, "%d", (int)r->holder_pid);
	json_key(out, "binary_before");
	json_string(out, r->binary_before, sizeof(r->binary_before));
	json_key(out, "binary_after");
	json_string(out, r->binary_after, sizeof(r->binary_after));
	json_key(out, "nr_regions");
	fprintf(out, "%" PRIu32, r->nr_regions);
	json_key(out, "bytes");
	fprintf(out, "%" PRIu64, r->bytes);
	json_key(out, "phases");
	fputc('{', out);
	for (i = 0; i < LIVEUPDATE_NR_PHASES; i++) {
		fprintf(out, "%s\n    \"%s\": ", i ? "," : "", phase_names[i]);
		json_time(out, r->phase_ns[i]);
	}
	fputs("\n  }", out);
	json_key(out, "mdev_wait");
	json_time(out, r->mdev_wait_ns);
	json_key(out, "vmlck_before_kb");
	fprintf(out, "%" PRIu64, r->vmlck_before_kb);
	json_key(out, "vmlck_holder_kb");
	fprintf(out, "%" PRIu64, r->vmlck_holder_kb);
	json_key(out, "vmlck_after_kb");
	fprintf(out, "%" PRIu64, r->vmlck_after_kb);
	json_key(out, "pins_acquired");
	fprintf(out, "%" PRIu64, r->pins_acquired);
	json_key(out, "holder_cap_ipc_lock");
	fputs(r->holder_cap_ipc_lock ? "true" : "false", out);
	json_key(out, "dirty_before");
	fputs(json_dirty(r->dirty_before), out);
	json_key(out, "dirty_after");
	fputs(json_dirty(r->dirty_after), out);
	json_key(out, "rollback");
	fputs(r->rollback ? "true" : "false", out);
	fputs("\n}\n", out);
	return out_status(out);
}

/* ---- key=value ---- */

enum kv_type { KV_U32, KV_U64, KV_INT, KV_BOOL, KV_DIRTY, KV_STR, KV_OUTCOME };

struct kv_field {
	const char *key;
	enum kv_type type;
	size_t off, size;
};

_Static_assert(sizeof(pid_t) == sizeof(int), "pid_t is written as an int");

#define KV(key, type, member)						\
	{ key, type, offsetof(struct liveupdate_report, member),	\
	  sizeof(((struct liveupdate_report *)0)->member) }

static const struct kv_field report_fields[] = {
	KV("version",		  KV_U32,     version),
	KV("outcome",		  KV_OUTCOME, outcome),
	KV("error",		  KV_INT,     error),
	KV("step",		  KV_STR,     step),
	KV("message",		  KV_STR,     message),
	KV("pid_before",	  KV_INT,     pid_before),
	KV("pid_after",		  KV_INT,     pid_after),
	KV("holder_pid",	  KV_INT,     holder_pid),
	KV("binary_before",	  KV_STR,     binary_before),
	KV("binary_after",	  KV_STR,     binary_after),
	KV("nr_regions",	  KV_U32,     nr_regions),
	KV("bytes",		  KV_U64,     bytes),
	KV("mdev_wait_ns",	  KV_U64,     mdev_wait_ns),
	KV("vmlck_before_kb",	  KV_U64,     vmlck_before_kb),
	KV("vmlck_holder_kb",	  KV_U64,     vmlck_holder_kb),
	KV("vmlck_after_kb",	  KV_U64,     vmlck_after_kb),
	KV("pins_acquired",	  KV_U64,     pins_acquired),
	KV("holder_cap_ipc_lock", KV_BOOL,    holder_cap_ipc_lock),
	KV("dirty_before",	  KV_DIRTY,   dirty_before),
	KV("dirty_after",	  KV_DIRTY,   dirty_after),
	KV("rollback",		  KV_BOOL,    rollback),
};
#define NR_REPORT_FIELDS (sizeof(report_fields) / sizeof(report_fields[0]))

#define PHASE_PREFIX "phase_ns."

static void write_field(const struct liveupdate_report *r,
			const struct kv_field *f, FILE *out)
{
	const void *p = (const char *)r + f->off;

	fprintf(out, "%s=", f->key);
	switch (f->type) {
	case KV_U32:
		fprintf(out, "%" PRIu32, *(const uint32_t *)p);
		break;
	case KV_U64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case KV_INT:
	case KV_DIRTY:
		fprintf(out, "%d", *(const int *)p);
		break;
	case KV_BOOL:
		fputc(*(const bool *)p ? '1' : '0', out);
		break;
	case KV_STR:
		put_line(out, p, f->size);
		break;
	case KV_OUTCOME:
		fputs(liveupdate_outcome_name(*(const enum liveupdate_outcome *)p),
		      out);
		break;
	}
	fputc('\n', out);
}

LU_EXPORT int liveupdate_report_write_kv(const struct liveupdate_report *r,
					 FILE *out)
{
	unsigned int i;

	for (i = 0; i < NR_REPORT_FIELDS; i++)
		write_field(r, &report_fields[i], out);
	for (i = 0; i < LIVEUPDATE_NR_PHASES; i++)
		fprintf(out, PHASE_PREFIX "%s=%" PRIu64 "\n", phase_names[i],
			r->phase_ns[i]);
	return out_status(out);
}

static bool key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(key, name, len);
}

/* Decimal digits only (no sign, blanks or base prefix): what we write. */
static int parse_u64(const char *v, size_t len, uint64_t *out)
{
	char buf[24];
	char *end;
	size_t i;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno ? -EINVAL : 0;
}

static int parse_int(const char *v, size_t len, int min, int max, int *out)
{
	bool neg = len && v[0] == '-';
	uint64_t u;
	int err;

	err = parse_u64(v + neg, len - neg, &u);
	if (err)
		return err;
	if (neg ? u > (uint64_t)-(int64_t)min : u > (uint64_t)max)
		return -EINVAL;
	*out = neg ? (int)-(int64_t)u : (int)u;
	return 0;
}

/* Longer strings than the field are cut; the NUL is always there. */
static void copy_str(char *dst, size_t size, const char *v, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static int parse_field(struct liveupdate_report *r, const struct kv_field *f,
		       const char *v, size_t len)
{
	void *p = (char *)r + f->off;
	uint64_t u;
	unsigned int i;
	int n, err = 0;

	switch (f->type) {
	case KV_U32:
		err = parse_u64(v, len, &u);
		if (!err && u > UINT32_MAX)
			err = -EINVAL;
		if (!err)
			*(uint32_t *)p = u;
		break;
	case KV_U64:
		err = parse_u64(v, len, p);
		break;
	case KV_INT:
		err = parse_int(v, len, INT_MIN, INT_MAX, p);
		break;
	case KV_DIRTY:
		err = parse_int(v, len, -1, 1, p);
		break;
	case KV_BOOL:
		err = parse_int(v, len, 0, 1, &n);
		if (!err)
			*(bool *)p = n;
		break;
	case KV_STR:
		copy_str(p, f->size, v, len);
		break;
	case KV_OUTCOME:
		/* An outcome we do not know is not one we may guess. */
		err = -EINVAL;
		for (i = 0; i < NR_OUTCOMES; i++) {
			if (key_is(v, len, outcome_names[i])) {
				*(enum liveupdate_outcome *)p = i;
				err = 0;
			}
		}
		break;
	}
	return err;
}

static int report_line(void *obj, const char *line, size_t len)
{
	struct liveupdate_report *r = obj;
	const char *eq = memchr(line, '=', len);
	const char *key = line, *v;
	size_t klen, vlen;
	unsigned int i;

	if (!eq || eq == line)
		return -EINVAL;
	klen = eq - line;
	v = eq + 1;
	vlen = len - klen - 1;
	for (i = 0; i < NR_REPORT_FIELDS; i++)
		if (key_is(key, klen, report_fields[i].key))
			return parse_field(r, &report_fields[i], v, vlen);
	if (klen > strlen(PHASE_PREFIX) &&
	    !memcmp(key, PHASE_PREFIX, strlen(PHASE_PREFIX))) {
		key += strlen(PHASE_PREFIX);
		klen -= strlen(PHASE_PREFIX);
		for (i = 0; i < LIVEUPDATE_NR_PHASES; i++)
			if (key_is(key, klen, phase_names[i]))
				return parse_u64(v, vlen, &r->phase_ns[i]);
	}
	return 0;	/* a newer sender's key */
}

typedef int (*line_fn)(void *obj, const char *line, size_t len);

/* Calls @fn for every non-empty line of @text ("\r\n" taken as "\n"). */
static int for_each_line(const char *text, line_fn fn, void *obj)
{
	const char *p = text, *eol;
	size_t len;
	int err;

	if (!text)
		return -EINVAL;
	while (*p) {
		eol = strchrnul(p, '\n');
		len = eol - p;
		if (len && p[len - 1] == '\r')
			len--;
		if (len) {
			err = fn(obj, p, len);
			if (err)
				return err;
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

/*
 * Starts from the defaults, so a key the sender did not write keeps them:
 * zeroes, dirty tracking unknown, and the outcome "lost" - a report that
 * does not say how the update ended must not read as a success.
 */
LU_EXPORT int liveupdate_report_parse_kv(struct liveupdate_report *r,
					 const char *text)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->outcome = LIVEUPDATE_LOST;
	r->dirty_before = -1;
	r->dirty_after = -1;
	err = for_each_line(text, report_line, r);
	if (err)
		errno = -err;
	return err;
}

/* ---- preflight results ---- */

static unsigned int check_nr(const struct liveupdate_check *c)
{
	return c->nr < LIVEUPDATE_MAX_FINDINGS ? c->nr : LIVEUPDATE_MAX_FINDINGS;
}

/* The stored counts, or what the findings say if that is more. */
static void check_counts(const struct liveupdate_check *c,
			 unsigned int *fail, unsigned int *warn)
{
	unsigned int i, nr = check_nr(c), f = 0, w = 0;

	for (i = 0; i < nr; i++) {
		if (c->finding[i].level == LIVEUPDATE_FAIL)
			f++;
		else if (c->finding[i].level == LIVEUPDATE_WARN)
			w++;
	}
	*fail = f > c->nr_fail ? f : c->nr_fail;
	*warn = w > c->nr_warn ? w : c->nr_warn;
}

static const char *level_name(enum liveupdate_level level)
{
	if ((unsigned int)level >= NR_LEVELS)
		return "fail";	/* unknown is not fine */
	return level_names[level];
}

LU_EXPORT int liveupdate_check_print(const struct liveupdate_check *c,
				     FILE *out)
{
	static const char *const shown[] = { "ok", "WARN", "FAIL" };
	unsigned int i, nr = check_nr(c), fail, warn;
	int width = 6;

	for (i = 0; i < nr; i++) {
		int w = field_len(c->finding[i].what, sizeof(c->finding[i].what));

		if (w > width)
			width = w;
	}
	for (i = 0; i < nr; i++) {
		const struct liveupdate_finding *f = &c->finding[i];
		int len = field_len(f->what, sizeof(f->what));

		fprintf(out, "  %-4s  ", (unsigned int)f->level < NR_LEVELS ?
			shown[f->level] : "FAIL");
		put_line(out, f->what, sizeof(f->what));
		if (field_len(f->text, sizeof(f->text))) {
			fprintf(out, "%*s  ", width - len, "");
			put_line(out, f->text, sizeof(f->text));
		}
		fputc('\n', out);
	}
	check_counts(c, &fail, &warn);
	if (fail)
		fprintf(out, "update refused: %u problem(s)\n", fail);
	else
		fputs("update possible\n", out);
	return out_status(out);
}

LU_EXPORT int liveupdate_check_write_kv(const struct liveupdate_check *c,
					FILE *out)
{
	unsigned int i, nr = check_nr(c), fail, warn;

	check_counts(c, &fail, &warn);
	fprintf(out, "nr_fail=%u\nnr_warn=%u\n", fail, warn);
	for (i = 0; i < nr; i++) {
		const struct liveupdate_finding *f = &c->finding[i];
		size_t j, len = field_len(f->what, sizeof(f->what));

		fprintf(out, "finding=%s ", level_name(f->level));
		/* The subject ends at the first ':' of the line. */
		for (j = 0; j < len; j++) {
			unsigned char ch = f->what[j];

			fputc(ch == ':' ? '_' : ch < 0x20 || ch == 0x7f ? ' ' : ch,
			      out);
		}
		if (!len)
			fputc('-', out);
		fputs(": ", out);
		put_line(out, f->text, sizeof(f->text));
		fputc('\n', out);
	}
	return out_status(out);
}

/*
 * "finding=LEVEL WHAT: TEXT"; without a ':' the subject is the first word
 * ("finding=fail memlock RLIMIT_MEMLOCK 64 MiB < 128 MiB").
 */
static int check_line(void *obj, const char *line, size_t len)
{
	struct liveupdate_check *c = obj;
	const char *eq = memchr(line, '=', len), *v, *end, *sp, *colon;
	struct liveupdate_finding f;
	unsigned int i;
	size_t vlen;

	if (!eq || eq == line)
		return -EINVAL;
	if (!key_is(line, eq - line, "finding"))
		return 0;	/* nr_fail, nr_warn: counted again; newer keys */
	v = eq + 1;
	vlen = len - (v - line);
	end = v + vlen;

	memset(&f, 0, sizeof(f));
	sp = memchr(v, ' ', vlen);
	if (!sp)
		return -EINVAL;
	for (i = 0; i < NR_LEVELS; i++)
		if (key_is(v, sp - v, level_names[i]))
			break;
	if (i == NR_LEVELS)
		return -EINVAL;
	f.level = i;
	v = sp + 1;
	colon = memchr(v, ':', end - v);
	sp = memchr(v, ' ', end - v);
	if (colon) {
		copy_str(f.what, sizeof(f.what), v, colon - v);
		v = colon + 1;
		if (v < end && *v == ' ')
			v++;
	} else if (sp) {
		copy_str(f.what, sizeof(f.what), v, sp - v);
		v = sp + 1;
	} else {
		copy_str(f.what, sizeof(f.what), v, end - v);
		v = end;
	}
	copy_str(f.text, sizeof(f.text), v, end - v);

	/* Beyond the table, still counted: the verdict must not improve. */
	if (c->nr < LIVEUPDATE_MAX_FINDINGS)
		c->finding[c->nr++] = f;
	if (f.level == LIVEUPDATE_FAIL)
		c->nr_fail++;
	else if (f.level == LIVEUPDATE_WARN)
		c->nr_warn++;
	return 0;
}

LU_EXPORT int liveupdate_check_parse_kv(struct liveupdate_check *c,
					const char *text)
{
	int err;

	memset(c, 0, sizeof(*c));
	err = for_each_line(text, check_line, c);
	if (err)
		errno = -err;
	return err;
}
