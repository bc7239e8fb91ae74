// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * profile_ref.c - the "ref" profile: refvmm's control protocol
 * (docs/orchestrator.md).  One request per connection: a command line,
 * for exec key=value lines, an empty line; the reply is key=value lines
 * and an empty line.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liveupdate.h"
#include "cmd.h"

static void say_failed(const char *what, const struct cmd_opts *o,
		       const struct ctl_reply *reply, int err)
{
	if (!reply->sent)
		fprintf(stderr, "liveupdate: cannot reach the VMM at %s: %s\n",
			o->socket, strerror(-err));
	else if (err == -ETIMEDOUT)
		fprintf(stderr, "liveupdate: %s: no complete reply to %s within %u s\n",
			o->socket, what, o->timeout_s);
	else
		fprintf(stderr, "liveupdate: %s: reading the reply to %s: %s\n",
			o->socket, what, strerror(-err));
}

/* The reply of a request the VMM would not serve: its error and message. */
static void say_vmm_error(const char *text)
{
	struct kv kv;

	if (kv_find(text, "message", &kv) && kv.vlen)
		fprintf(stderr, "liveupdate: the VMM says: %.*s\n",
			(int)kv.vlen, kv.val);
	if (kv_find(text, "error", &kv))
		fprintf(stderr, "liveupdate: the VMM's error: %.*s\n",
			(int)kv.vlen, kv.val);
}

/* 0 if every line of @text is key=value, else -EINVAL. */
static int kv_valid(const char *text)
{
	const char *pos = text;
	struct kv kv;
	int ret;

	while ((ret = kv_next(&pos, &kv)) == 1)
		;
	return ret;
}

/* A JSON destination opened before anything is asked of the VMM. */
static int open_json(const struct cmd_opts *o, FILE **outp)
{
	*outp = NULL;
	if (!o->json)
		return 0;
	if (!strcmp(o->json, "-")) {
		*outp = stdout;
		return 0;
	}
	*outp = fopen(o->json, "we");
	if (!*outp) {
		fprintf(stderr, "liveupdate: cannot write %s: %s\n", o->json,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int close_json(const struct cmd_opts *o, FILE *out)
{
	int err = 0;

	if (!out)
		return 0;
	if (fflush(out) || ferror(out))
		err = -EIO;
	if (out != stdout && fclose(out))
		err = -EIO;
	if (err)
		fprintf(stderr, "liveupdate: writing %s failed\n",
			strcmp(o->json, "-") ? o->json : "stdout");
	return err;
}

static int ref_status(const struct cmd_opts *o)
{
	static const char req[] = "status\n\n";
	struct ctl_reply reply;
	int err, ret = EXIT_ERROR;

	err = ctl_request(o->socket, req, sizeof(req) - 1,
			  o->timeout_s * 1000, &reply);
	if (err) {
		say_failed("status", o, &reply, err);
		goto out;
	}
	if (!reply.complete) {
		fprintf(stderr, "liveupdate: %s: the VMM closed the connection before its status was complete\n",
			o->socket);
		goto out;
	}
	if (kv_valid(reply.text)) {
		fprintf(stderr, "liveupdate: %s: malformed status reply\n",
			o->socket);
		goto out;
	}
	if (o->json) {
		kv_json(stdout, reply.text, "", "");
		fputc('\n', stdout);
	} else {
		kv_print(stdout, reply.text, "", "");
	}
	ret = fflush(stdout) ? EXIT_ERROR : EXIT_UPDATED;
out:
	ctl_reply_free(&reply);
	return ret;
}

static void check_json(FILE *out, const struct liveupdate_check *c)
{
	static const char *const level[] = { "ok", "warn", "fail" };
	unsigned int i;

	fprintf(out, "{\n  \"verdict\": \"%s\",\n  \"nr_fail\": %u,\n  \"nr_warn\": %u,\n  \"findings\": [",
		c->nr_fail ? "refused" : "possible", c->nr_fail, c->nr_warn);
	for (i = 0; i < c->nr; i++) {
		const struct liveupdate_finding *f = &c->finding[i];

		fprintf(out, "%s\n    {\"level\": \"%s\", \"what\": ",
			i ? "," : "", (unsigned int)f->level < 3 ?
			level[f->level] : "fail");
		lu_json_string(out, f->what, strnlen(f->what, sizeof(f->what)));
		fputs(", \"text\": ", out);
		lu_json_string(out, f->text, strnlen(f->text, sizeof(f->text)));
		fputc('}', out);
	}
	fputs(c->nr ? "\n  ]\n}\n" : "]\n}\n", out);
}

static int ref_check(const struct cmd_opts *o)
{
	static const char req[] = "check\n\n";
	bool to_stdout = o->json && !strcmp(o->json, "-");
	struct ctl_reply reply = { 0 };
	struct liveupdate_check check;
	FILE *json;
	struct kv kv;
	int err, ret = EXIT_ERROR;

	if (open_json(o, &json))
		return EXIT_ERROR;
	err = ctl_request(o->socket, req, sizeof(req) - 1,
			  o->timeout_s * 1000, &reply);
	if (err) {
		say_failed("check", o, &reply, err);
		goto out;
	}
	if (!reply.complete) {
		fprintf(stderr, "liveupdate: %s: the VMM closed the connection before the check was complete\n",
			o->socket);
		goto out;
	}
	/* No count of failures: the check did not run, whatever else came. */
	if (!kv_find(reply.text, "nr_fail", &kv)) {
		fprintf(stderr, "liveupdate: %s: the VMM did not run the check\n",
			o->socket);
		say_vmm_error(reply.text);
		goto out;
	}
	err = kv_valid(reply.text);
	if (!err)
		err = liveupdate_check_parse_kv(&check, reply.text);
	if (err) {
		fprintf(stderr, "liveupdate: %s: malformed check reply\n",
			o->socket);
		goto out;
	}
	if (!to_stdout)
		liveupdate_check_print(&check, stdout);
	if (json)
		check_json(json, &check);
	ret = check.nr_fail ? EXIT_REFUSED : EXIT_UPDATED;
out:
	if (close_json(o, json))
		ret = EXIT_ERROR;
	ctl_reply_free(&reply);
	return ret;
}

/* A request line; -EINVAL if @val cannot be one line. */
static int put_req(FILE *req, const char *key, const char *val)
{
	if (strchr(val, '\n'))
		return -EINVAL;
	fprintf(req, "%s=%s\n", key, val);
	return 0;
}

/*
 * The binary as the VMM will exec it: absolute, resolved from our working
 * directory.  One that does not exist is still sent: the VMM's exec fails
 * and it rolls back, which the caller sees in the report.
 */
static char *binary_path(const char *arg)
{
	const char *slash = strrchr(arg, '/'), *base = arg;
	char *path, *dir = NULL, *abs = NULL;

	path = realpath(arg, NULL);
	if (path)
		return path;
	/* Missing: resolve the directory it would be in. */
	if (slash) {
		dir = strndup(arg, slash == arg ? 1 : slash - arg);
		base = slash + 1;
		if (!dir)
			return NULL;
		path = realpath(dir, NULL);
	} else {
		path = getcwd(NULL, 0);
	}
	if (path) {
		if (asprintf(&abs, "%s%s%s", path,
			     path[strlen(path) - 1] == '/' ? "" : "/", base) < 0)
			abs = NULL;
	} else if (arg[0] == '/') {
		abs = strdup(arg);
	} else {
		path = getcwd(NULL, 0);
		if (path && asprintf(&abs, "%s/%s", path, arg) < 0)
			abs = NULL;
	}
	free(path);
	free(dir);
	return abs;
}

static int exec_request(const struct cmd_opts *o, char **req, size_t *len)
{
	unsigned int timeout_ms = o->timeout_s * 1000;
	char *path = NULL;
	FILE *f;
	int i, err = -ENOMEM;

	f = open_memstream(req, len);
	if (!f)
		return -ENOMEM;
	path = binary_path(o->argv[0]);
	if (!path)
		goto out;
	fprintf(f, "exec\ntimeout_ms=%u\n", timeout_ms);
	err = put_req(f, "path", path);
	for (i = 0; !err && i < o->argc; i++)
		err = put_req(f, "arg", o->argv[i]);
	if (err)
		fprintf(stderr, "liveupdate: %s contains a newline: the request cannot carry it\n",
			i ? "an argument" : "the binary's path");
	fputc('\n', f);
out:
	free(path);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(*req);
		*req = NULL;
	}
	return err;
}

/* The report JSON from the library, indented one level deeper. */
static void report_json_nested(FILE *out, const struct liveupdate_report *r)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *mem;

	mem = open_memstream(&buf, &len);
	if (!mem || liveupdate_report_json(r, mem) || fclose(mem)) {
		fputs("null", out);
		free(buf);
		return;
	}
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	for (p = buf; *p; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fputs("  ", out);
	}
	free(buf);
}

static int ref_exec(const struct cmd_opts *o)
{
	struct ctl_reply reply = { 0 };
	struct liveupdate_report r;
	bool to_stdout = o->json && !strcmp(o->json, "-");
	unsigned int wait_s;
	char *req = NULL;
	size_t len;
	FILE *json;
	struct kv kv;
	int err, ret = EXIT_ERROR;

	err = exec_request(o, &req, &len);
	if (err == -EINVAL)
		return EXIT_USAGE;
	if (err) {
		fprintf(stderr, "liveupdate: %s\n", strerror(-err));
		return EXIT_ERROR;
	}
	if (open_json(o, &json))
		goto out_free;

	wait_s = o->timeout_s + EXEC_REPLY_MARGIN_S;
	err = ctl_request(o->socket, req, len, wait_s * 1000, &reply);
	if (err && !reply.sent) {
		fprintf(stderr, "liveupdate: cannot reach the VMM at %s: %s; nothing was asked\n",
			o->socket, strerror(-err));
		goto out;
	}
	if (err == -ETIMEDOUT) {
		fprintf(stderr, "liveupdate: %s: no reply within %u s: the outcome is unknown ('liveupdate status' tells which binary runs)\n",
			o->socket, wait_s);
		goto out;
	}
	if (err) {
		fprintf(stderr, "liveupdate: %s: reading the reply: %s: the outcome is unknown\n",
			o->socket, strerror(-err));
		goto out;
	}
	if (!reply.complete) {
		fprintf(stderr, "liveupdate: %s: the connection closed before the reply was complete: the outcome is unknown ('liveupdate status' tells which binary runs)\n",
			o->socket);
		if (kv_find(reply.text, "outcome", &kv))
			fprintf(stderr, "liveupdate: the cut reply said outcome=%.*s\n",
				(int)kv.vlen, kv.val);
		goto out;
	}
	if (!kv_find(reply.text, "outcome", &kv)) {
		fprintf(stderr, "liveupdate: %s: the reply has no outcome: the VMM did not run the update\n",
			o->socket);
		say_vmm_error(reply.text);
		goto out;
	}
	err = kv_valid(reply.text);
	if (!err)
		err = liveupdate_report_parse_kv(&r, reply.text);
	if (err) {
		fprintf(stderr, "liveupdate: %s: malformed reply (outcome=%.*s): the outcome is unknown\n",
			o->socket, (int)kv.vlen, kv.val);
		goto out;
	}

	if (!to_stdout) {
		liveupdate_report_print(&r, stdout);
		fputs("VMM:\n", stdout);
		kv_print(stdout, reply.text, "vmm.", "  ");
		fflush(stdout);
	}
	if (json) {
		fputs("{\n  \"report\": ", json);
		report_json_nested(json, &r);
		fputs(",\n  \"vmm\": ", json);
		kv_json(json, reply.text, "vmm.", "  ");
		fputs("\n}\n", json);
	}
	ret = liveupdate_outcome_exit_code(r.outcome);
out:
	/* The update happened whatever became of the JSON: its code stands. */
	close_json(o, json);
out_free:
	ctl_reply_free(&reply);
	free(req);
	return ret;
}

const struct profile profile_ref = {
	.name		= "ref",
	.description	= "the reference VMM, refvmm(1): its control socket protocol",
	.check		= ref_check,
	.status		= ref_status,
	.exec		= ref_exec,
};
