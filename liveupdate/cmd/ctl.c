// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctl.c - the client side of a VMM's control socket: connect, send one
 * request, read a key=value reply ended by an empty line, all within one
 * deadline; and the helpers that show such a reply.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

/* A reply larger than this is not one of ours. */
#define CTL_REPLY_MAX	(1u << 20)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for @events on @fd until @deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int ret;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

static int ctl_connect(const char *path, int64_t deadline, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* EAGAIN: the listen backlog is full; a busy VMM gets until the
	 * deadline, a hung one does not hang us. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		if (err != -EAGAIN && err != -EINTR)
			goto err_close;
		if (now_ms() >= deadline) {
			err = -ETIMEDOUT;
			goto err_close;
		}
		poll(NULL, 0, 20);
	}
	*fdp = fd;
	return 0;

err_close:
	close(fd);
	return err;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;
	int err;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			err = wait_fd(fd, POLLOUT, deadline);
			if (err)
				return err;
			continue;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Length of the reply in @buf without its empty line, or -1 if open. */
static ssize_t reply_end(const char *buf, size_t len, size_t from)
{
	size_t i;

	if (len && buf[0] == '\n')
		return 0;
	for (i = from ? from - 1 : 0; i + 1 < len; i++)
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return i + 1;
	return -1;
}

/*
 * Sends @req to the VMM at @path and reads its reply, all within
 * @timeout_ms.  0: @reply holds it, complete or cut short by the VMM
 * closing the connection.  -errno otherwise; reply->sent says whether the
 * request went out, reply->text (possibly NULL) holds what came back.
 */
int ctl_request(const char *path, const char *req, size_t len,
		unsigned int timeout_ms, struct ctl_reply *reply)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t size = 4096, have = 0;
	ssize_t n, end;
	char *buf, *tmp;
	int fd, err;

	memset(reply, 0, sizeof(*reply));
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = ctl_connect(path, deadline, &fd);
	if (err)
		goto err_free;
	err = send_all(fd, req, len, deadline);
	if (err)
		goto out_close;
	reply->sent = true;

	for (;;) {
		if (have + 1 >= size) {
			err = -EMSGSIZE;
			if (size >= CTL_REPLY_MAX)
				goto out_close;
			err = -ENOMEM;
			tmp = realloc(buf, size * 2);
			if (!tmp)
				goto out_close;
			buf = tmp;
			size *= 2;
		}
		n = read(fd, buf + have, size - have - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			err = wait_fd(fd, POLLIN, deadline);
			if (err)
				goto out_close;
			continue;
		}
		/* A reset is the VMM going away mid-reply, like EOF. */
		if (n < 0 && errno != ECONNRESET) {
			err = -errno;
			goto out_close;
		}
		if (n <= 0)
			break;
		end = reply_end(buf, have + n, have);
		have += n;
		if (end >= 0) {
			have = end;
			reply->complete = true;
			break;
		}
	}
	err = 0;
out_close:
	close(fd);
	buf[have] = '\0';
	reply->text = buf;
	reply->len = have;
	return err;
err_free:
	free(buf);
	return err;
}

void ctl_reply_free(struct ctl_reply *reply)
{
	free(reply->text);
	reply->text = NULL;
}

/* ---- key=value replies ---- */

int kv_next(const char **pos, struct kv *kv)
{
	const char *p = *pos, *eol, *eq;
	size_t len;

	for (;;) {
		if (!*p) {
			*pos = p;
			return 0;
		}
		eol = strchrnul(p, '\n');
		len = eol - p;
		if (len && p[len - 1] == '\r')
			len--;
		if (len)
			break;
		p = *eol ? eol + 1 : eol;
	}
	*pos = *eol ? eol + 1 : eol;
	eq = memchr(p, '=', len);
	if (!eq || eq == p)
		return -EINVAL;
	kv->key = p;
	kv->klen = eq - p;
	kv->val = eq + 1;
	kv->vlen = len - kv->klen - 1;
	return 1;
}

static bool has_prefix(const struct kv *kv, const char *prefix)
{
	size_t n = strlen(prefix);

	return kv->klen > n && !memcmp(kv->key, prefix, n);
}

bool kv_find(const char *text, const char *key, struct kv *kv)
{
	const char *pos = text;
	size_t n = strlen(key);

	while (kv_next(&pos, kv) == 1)
		if (kv->klen == n && !memcmp(kv->key, key, n))
			return true;
	return false;
}

/* What a VMM sends is shown, not obeyed: no escape sequences. */
static void put_clean(FILE *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

void kv_print(FILE *out, const char *text, const char *prefix,
	      const char *indent)
{
	size_t plen = strlen(prefix), width = 0;
	const char *pos = text;
	struct kv kv;

	while (kv_next(&pos, &kv) == 1)
		if (has_prefix(&kv, prefix) && kv.klen - plen > width)
			width = kv.klen - plen;
	pos = text;
	while (kv_next(&pos, &kv) == 1) {
		if (!has_prefix(&kv, prefix))
			continue;
		fputs(indent, out);
		put_clean(out, kv.key + plen, kv.klen - plen);
		fprintf(out, "%*s  ", (int)(width - (kv.klen - plen)), "");
		put_clean(out, kv.val, kv.vlen);
		fputc('\n', out);
	}
}

/* A JSON integer as written: -?(0|[1-9][0-9]*), short enough for int64. */
static bool is_integer(const char *s, size_t len)
{
	size_t i = 0;

	if (len && s[0] == '-')
		i++;
	if (i == len || len - i > 18 || (s[i] == '0' && len - i > 1))
		return false;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

void kv_json(FILE *out, const char *text, const char *prefix,
	     const char *indent)
{
	size_t plen = strlen(prefix);
	const char *pos = text;
	bool first = true;
	struct kv kv;

	fputc('{', out);
	while (kv_next(&pos, &kv) == 1) {
		if (!has_prefix(&kv, prefix))
			continue;
		fprintf(out, "%s\n%s  ", first ? "" : ",", indent);
		lu_json_string(out, kv.key + plen, kv.klen - plen);
		fputs(": ", out);
		if (is_integer(kv.val, kv.vlen))
			fwrite(kv.val, 1, kv.vlen, out);
		else
			lu_json_string(out, kv.val, kv.vlen);
		first = false;
	}
	if (!first)
		fprintf(out, "\n%s", indent);
	fputc('}', out);
}
