// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * proc.c - what the library reads from /proc (VmLck, pinned-page
 * counters, its own binary and arguments), the clock, the walk over this
 * process's descriptors that decides which survive exec, and the holder
 * channel's messages.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lu_int.h"

uint64_t lu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int64_t vmlck_parse(const char *buf)
{
	const char *p = strstr(buf, "\nVmLck:");

	if (!p)
		return -ENOENT;
	return strtoll(p + 7, NULL, 10);
}

int64_t lu_vmlck_kb_fd(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	return vmlck_parse(buf);
}

/*
 * Read a /proc file whole into buf (NUL-terminated).  Opening and reading
 * allocate in the kernel, so under memory pressure either may fail for a
 * moment (ENOMEM): the report's figures are tried a few times, 1 ms apart,
 * rather than reported as 0 (the fault-injection sweep, fail_nth@debug,
 * fails one allocation at a time in liveupdate_commit()).
 */
static int proc_read(const char *path, char *buf, size_t len)
{
	int ret = -EIO;

	for (int i = 0; i < 5; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (i)
			usleep(1000);
		if (fd < 0) {
			ret = -errno;
		} else {
			n = read(fd, buf, len - 1);
			ret = n < 0 ? -errno : 0;
			close(fd);
			if (!ret) {
				buf[n] = 0;
				return 0;
			}
		}
		if (ret != -ENOMEM && ret != -EAGAIN && ret != -EINTR &&
		    ret != -EFAULT)
			break;
	}
	return ret;
}

int64_t lu_vmlck_kb(void)
{
	char buf[4096];
	int ret = proc_read("/proc/self/status", buf, sizeof(buf));

	return ret ? ret : vmlck_parse(buf);
}

uint64_t lu_pins_acquired(void)
{
	char buf[16384];
	const char *p;
	int fd;

	/* The counters are folded from per-cpu deltas lazily: fold them now
	 * (root only; without it the figure may lag by a few pages). */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* best effort */
		}
		close(fd);
	}
	if (proc_read("/proc/vmstat", buf, sizeof(buf)))
		return 0;
	p = strstr(buf, "\nnr_foll_pin_acquired ");
	return p ? strtoull(p + 22, NULL, 10) : 0;
}

void lu_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n < 0 ? 0 : n] = 0;
}

char **lu_self_argv(void)
{
	char buf[65536];
	ssize_t n;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), argc = 0;
	char **v, *p;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	if (buf[n - 1])
		buf[n++] = 0;
	for (ssize_t i = 0; i < n; i++)
		argc += !buf[i];
	v = malloc((argc + 1) * sizeof(*v) + n);
	if (!v)
		return NULL;
	p = memcpy((char *)(v + argc + 1), buf, n);
	for (int i = 0; i < argc; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	v[argc] = NULL;
	return v;
}

bool lu_has_cap_ipc_lock(void)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (!c)
		return false;
	cap_get_flag(c, CAP_IPC_LOCK, CAP_EFFECTIVE, &v);
	cap_free(c);
	return v == CAP_SET;
}

void lu_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	if (f >= 0)
		fcntl(fd, F_SETFD, f | FD_CLOEXEC);
}

static bool in(const int *v, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (v[i] == fd)
			return true;
	return false;
}

/*
 * Only the kept descriptors cross exec: a VMM's other descriptors (a
 * second container, a vhost fd, a log file opened without O_CLOEXEC) must
 * not leak into the new binary, which would not know them.  The walk uses
 * getdents through opendir; the directory's own fd is skipped.
 */
int lu_fds_prepare(const int *keep, int nr_keep, struct lu_fd_flags *saved)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int cap = 64, ret = 0;

	if (!d)
		return -errno;
	if (saved) {
		saved->nr = 0;
		saved->fd = malloc(cap * sizeof(int));
		saved->flags = malloc(cap * sizeof(int));
		if (!saved->fd || !saved->flags) {
			ret = -ENOMEM;
			goto out;
		}
	}
	while ((e = readdir(d))) {
		int fd, f, want;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd <= 2 || fd == dirfd(d))
			continue;
		f = fcntl(fd, F_GETFD);
		if (f < 0)
			continue;
		want = in(keep, nr_keep, fd) ? f & ~FD_CLOEXEC : f | FD_CLOEXEC;
		if (saved) {
			if (saved->nr == cap) {
				int *a, *b;

				cap *= 2;
				a = realloc(saved->fd, cap * sizeof(int));
				if (a)
					saved->fd = a;
				b = realloc(saved->flags, cap * sizeof(int));
				if (b)
					saved->flags = b;
				if (!a || !b) {
					ret = -ENOMEM;
					goto out;
				}
			}
			saved->fd[saved->nr] = fd;
			saved->flags[saved->nr++] = f;
		}
		if (want != f && fcntl(fd, F_SETFD, want) < 0) {
			ret = -errno;
			goto out;
		}
	}
out:
	closedir(d);
	if (ret && saved)
		lu_fds_restore(saved);
	return ret;
}

void lu_fds_restore(struct lu_fd_flags *saved)
{
	for (int i = 0; i < saved->nr; i++)
		fcntl(saved->fd[i], F_SETFD, saved->flags[i]);
	lu_fds_free(saved);
}

void lu_fds_free(struct lu_fd_flags *saved)
{
	free(saved->fd);
	free(saved->flags);
	saved->fd = saved->flags = NULL;
	saved->nr = 0;
}

char **lu_env_with(char *const envp[], char *const add[])
{
	size_t n = 0, m = 0, k = 0;
	char **v;

	while (envp && envp[n])
		n++;
	while (add && add[m])
		m++;
	v = malloc((n + m + 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "LIVEUPDATE_", 11))
			v[k++] = envp[i];
	for (size_t i = 0; i < m; i++)
		v[k++] = add[i];
	v[k] = NULL;
	return v;
}

/* ---- the holder channel ---- */

int lu_msg_send_full(int fd, const struct lu_msg *m)
{
	ssize_t n;

	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*m) ? 0 : -EPROTO;
}

int lu_msg_send(int fd, enum lu_msg_type type, int error, const char *step,
		const char *text)
{
	struct lu_msg m = { .type = type, .error = error };

	snprintf(m.step, sizeof(m.step), "%s", step ? step : "");
	snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
	return lu_msg_send_full(fd, &m);
}

int lu_msg_recv(int fd, struct lu_msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = lu_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	ssize_t n;
	int r;

	for (;;) {
		int left = -1;

		if (timeout_ms >= 0) {
			uint64_t now = lu_now_ns();

			left = now >= end ? 0 : (int)((end - now + 999999) / 1000000);
		}
		r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		break;
	}
	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	if (!n)
		return -EPIPE;
	return n == sizeof(*m) ? 0 : -EPROTO;
}
