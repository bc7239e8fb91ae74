// SPDX-License-Identifier: GPL-2.0
/* The helper child of the fork scenarios; see child.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfio_lu_test.h"

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

struct reply child_do(struct child *ch, char c)
{
	struct reply r = { .ret = -EPIPE };

	if (write(ch->cmd, &c, 1) != 1 ||
	    read(ch->rep, &r, sizeof(r)) != sizeof(r))
		r.ret = -EPIPE;
	return r;
}

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

int reexec_child(struct reexec *rx, const struct child *ch)
{
	int ret = reexec_num(rx, ch->pid);

	if (!ret)
		ret = reexec_fd(rx, ch->cmd);
	if (!ret)
		ret = reexec_fd(rx, ch->rep);
	return ret;
}

struct child child_from_args(char **args, int first)
{
	return (struct child){
		.pid = reexec_arg(args, first),
		.cmd = reexec_arg(args, first + 1),
		.rep = reexec_arg(args, first + 2),
	};
}

int child_idle_after_exec(int cmd, int rep)
{
	struct reply r = { .ret = 0, .vmlck_kb = vmlck_kb(0) };
	char c;

	if (write(rep, &r, sizeof(r)) != sizeof(r))
		return 2;
	while (read(cmd, &c, 1) == 1 && c != 'x')
		;
	return 0;
}
