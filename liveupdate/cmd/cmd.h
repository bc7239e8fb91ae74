/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.h - the liveupdate command: exit codes, options, VMM profiles and
 * the control-socket client they share.
 */
#ifndef LU_CMD_H
#define LU_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "json.h"	/* lu_json_string(), from liveupdate/lib */

/* Exit codes, liveupdate(1); 0 and 3..5 are liveupdate_outcome_exit_code(). */
enum {
	EXIT_UPDATED		= 0,	/* also: check passed, status printed */
	EXIT_ERROR		= 1,	/* no VMM to talk to, answer unknown */
	EXIT_USAGE		= 2,
	EXIT_ROLLED_BACK	= 3,
	EXIT_REFUSED		= 4,	/* also: check found a problem */
	EXIT_LOST		= 5,
};

/* exec waits this much longer than --timeout: after its own timeout the
 * VMM still has to roll back and answer. */
#define EXEC_REPLY_MARGIN_S	30

/* What the command line asks of a profile. */
struct cmd_opts {
	const char *socket;
	const char *json;		/* NULL, "-" (stdout) or a file */
	unsigned int timeout_s;
	int argc;			/* exec: NEW_BINARY and its arguments */
	char **argv;
};

/*
 * How to talk to one kind of VMM (--vmm NAME).  Each method prints what
 * it got and returns the command's exit code.  A new VMM is one more
 * profile_*.c and one line in main.c's table.
 */
struct profile {
	const char *name;
	const char *description;
	int (*check)(const struct cmd_opts *o);
	int (*status)(const struct cmd_opts *o);
	int (*exec)(const struct cmd_opts *o);
};

extern const struct profile profile_ref;

/* ---- ctl.c: one request, one key=value reply, over a UNIX socket ---- */

struct ctl_reply {
	char *text;		/* NUL-terminated, without the empty line */
	size_t len;
	bool sent;		/* the request went out */
	bool complete;		/* ended by the empty line, not cut short */
};

int ctl_request(const char *path, const char *req, size_t len,
		unsigned int timeout_ms, struct ctl_reply *reply);
void ctl_reply_free(struct ctl_reply *reply);

/* One "key=value" line of a reply (not NUL-terminated). */
struct kv {
	const char *key, *val;
	size_t klen, vlen;
};

/* The next line from *pos: 1 and @kv, 0 at the end, -EINVAL (no '='). */
int kv_next(const char **pos, struct kv *kv);
/* The value of @key in @text: true and @kv, or false. */
bool kv_find(const char *text, const char *key, struct kv *kv);
/* The keys starting with @prefix (shown without it), aligned. */
void kv_print(FILE *out, const char *text, const char *prefix,
	      const char *indent);
/* The keys starting with @prefix as one JSON object (integers as numbers),
 * each line after the first indented by @indent. */
void kv_json(FILE *out, const char *text, const char *prefix,
	     const char *indent);

#endif /* LU_CMD_H */
