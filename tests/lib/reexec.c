// SPDX-License-Identifier: GPL-2.0
/* Re-executing the test binary with descriptors preserved; see reexec.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reexec.h"

void reexec_init(struct reexec *rx, const char *tag)
{
	memset(rx, 0, sizeof(*rx));
	rx->tag = tag;
}

int reexec_num(struct reexec *rx, unsigned long long v)
{
	if (rx->nargs == REEXEC_MAX_ARGS)
		return -E2BIG;
	snprintf(rx->arg[rx->nargs++], sizeof(rx->arg[0]), "%llu", v);
	return 0;
}

int reexec_fd(struct reexec *rx, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (rx->nfds == REEXEC_MAX_ARGS)
		return -E2BIG;
	rx->fd[rx->nfds++] = fd;
	return reexec_num(rx, fd);
}

static int no_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC))
		return -errno;
	return 0;
}

int reexec(struct reexec *rx)
{
	char *argv[REEXEC_MAX_ARGS + 3];
	int i, ret;

	/* Close-on-exec cleared only now, right before the exec. */
	for (i = 0; i < rx->nfds; i++) {
		ret = no_cloexec(rx->fd[i]);
		if (ret)
			return ret;
	}
	argv[0] = program_invocation_short_name;
	argv[1] = (char *)rx->tag;
	for (i = 0; i < rx->nargs; i++)
		argv[2 + i] = rx->arg[i];
	argv[2 + i] = NULL;
	execv("/proc/self/exe", argv);
	return -errno;
}

char **reexec_args(int argc, char **argv, const char *tag, int nargs)
{
	if (argc != nargs + 2 || strcmp(argv[1], tag))
		return NULL;
	return argv + 2;
}

unsigned long long reexec_arg(char **args, int i)
{
	return strtoull(args[i], NULL, 0);
}
