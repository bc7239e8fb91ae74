/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A helper child that obeys one-byte commands from its parent over pipes:
 * the other process of every fork scenario (a holder taking ownership, a
 * child that must not pin).  Part of vfio_lu_test.h.
 */
#ifndef CHILD_H
#define CHILD_H

#include <sys/types.h>

/*
 * A helper child: runs commands sent by the parent, one byte each, and
 * answers each with a struct reply.  'o' CHANGE_DMA_OWNER, 'm' MAP_DMA of
 * a new 4 MiB memfd at NEW_IOVA, 'l' lower RLIMIT_MEMLOCK to 4 MiB and
 * drop CAP_IPC_LOCK, 'u' unmap NEW_IOVA, 'x' exit; any other command goes
 * to the extra callback given to child_start() (-EINVAL without one).
 */
#define NEW_IOVA	0x1000000ull
#define NEW_SIZE	(4u << 20)

struct reply {
	int ret;	/* 0 or -errno */
	long vmlck_kb;	/* the child's VmLck after the command */
};

struct child {
	pid_t pid;
	int cmd;	/* parent's write end */
	int rep;	/* parent's read end */
};

/* Handles a command the child loop does not know: 0 or -errno. */
typedef int (*child_extra_fn)(int container, char c, int cmd, int rep);

/* Fork a child obeying commands on container; extra may be NULL. */
int child_start(struct child *ch, int container, child_extra_fn extra);
/* Send one command; the child's reply, or ret = -EPIPE. */
struct reply child_do(struct child *ch, char c);
/*
 * Across an exec of the parent (reexec.h): pass the helper child as three
 * arguments (its pid and both pipe ends, kept open), and rebuild it from
 * them in the new image, argument first on.  0 or -errno.
 */
struct reexec;
int reexec_child(struct reexec *rx, const struct child *ch);
struct child child_from_args(char **args, int first);
/*
 * In a child re-exec'd with its command and reply pipes (reexec.h): reply
 * once with its VmLck, then idle until 'x' or EOF.  The process's exit
 * status: 0, or 2 if the reply could not be written.
 */
int child_idle_after_exec(int cmd, int rep);
/* Tell the child to exit and reap it: its exit status, -1 if abnormal. */
int child_stop(struct child *ch);

#endif
