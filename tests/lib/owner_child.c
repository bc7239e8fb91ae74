// SPDX-License-Identifier: GPL-2.0
/* The ownership tests' helper child and pinned-page readers; see owner_child.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance_util.h"
#include "owner_child.h"
#include "vfio_util.h"

int change_owner(int container)
{
	return ioctl(container, VFIO_CHANGE_DMA_OWNER) ? -errno : 0;
}

long vmlck_kb(pid_t pid)
{
	return proc_status_kb(pid, "VmLck");
}

static void child_loop(int container, int cmd, int rep, child_extra_fn extra)
{
	void *buf = NULL;
	char c;

	while (read(cmd, &c, 1) == 1) {
		struct reply r = { 0 };

		switch (c) {
		case 'o':
			r.ret = change_owner(container);
			break;
		case 'm':
			buf = memfd_buffer(NEW_SIZE, NULL);
			r.ret = buf == MAP_FAILED ? -ENOMEM :
				vfio_map(container, buf, NEW_IOVA, NEW_SIZE);
			break;
		case 'u':
			r.ret = vfio_unmap(container, NEW_IOVA, NEW_SIZE);
			break;
		case 'l':
			r.ret = set_memlock_limit(4u << 20);
			if (!r.ret)
				r.ret = drop_cap_ipc_lock();
			break;
		case 'x':
			_exit(0);
		default:
			r.ret = extra ? extra(container, c, cmd, rep) : -EINVAL;
		}
		r.vmlck_kb = vmlck_kb(0);
		if (write(rep, &r, sizeof(r)) != sizeof(r))
			_exit(2);
	}
	_exit(0);
}

int child_start(struct child *ch, int container, child_extra_fn extra)
{
	int cmd[2], rep[2];

	if (pipe(cmd) || pipe(rep))
		return -errno;
	ch->pid = fork();
	if (ch->pid < 0)
		return -errno;
	if (!ch->pid) {
		close(cmd[1]);
		close(rep[0]);
		child_loop(container, cmd[0], rep[1], extra);
	}
	close(cmd[0]);
	close(rep[1]);
	ch->cmd = cmd[1];
	ch->rep = rep[0];
	return 0;
}

/* Send one command; the child's reply, or ret = -EPIPE. */
struct reply child_do(struct child *ch, char c)
{
	struct reply r = { .ret = -EPIPE };

	if (write(ch->cmd, &c, 1) != 1 ||
	    read(ch->rep, &r, sizeof(r)) != sizeof(r))
		r.ret = -EPIPE;
	return r;
}

/* Tell the child to exit and reap it: its exit status, -1 if abnormal. */
int child_stop(struct child *ch)
{
	char c = 'x';
	int status;

	if (write(ch->cmd, &c, 1) != 1)
		kill(ch->pid, SIGKILL);
	close(ch->cmd);
	close(ch->rep);
	if (waitpid(ch->pid, &status, 0) != ch->pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Pages pinned system wide, read until two readings agree: the guest's 9p
 * root file system pins and unpins user pages for its I/O, so a single
 * reading may catch one side of that.
 */
long pinned_base(void)
{
	long a = pinned_pages_now(), b;

	for (int i = 0; i < 100; i++) {
		usleep(10 * 1000);
		b = pinned_pages_now();
		if (a == b && a >= 0)
			break;
		a = b;
	}
	return a;
}

/* Pages pinned system wide, once the counters have settled. */
long pinned_settled(long want)
{
	long now = -1;

	for (int i = 0; i < 100; i++) {
		now = pinned_pages_now();
		if (now == want)
			break;
		usleep(50 * 1000);
	}
	return now;
}
