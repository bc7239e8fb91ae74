/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Re-executing the test binary with descriptors preserved: the old VMM's
 * exec of the new one in a live update.  The old image lists what the new
 * one must pick up (descriptors: container, groups, devices, memfds, pipes
 * to a holder; numbers: addresses, pids, modes) and execs /proc/self/exe
 * with a tag; main() of the new image recognises the tag and takes the
 * same values back, in the same order.  Every live-update test stands on
 * this, and so will the orchestrator's tests.  Part of vfio_lu_test.h.
 *
 * The old image (a child of the harness process, never the harness
 * itself):
 *
 *	struct reexec rx;
 *
 *	reexec_init(&rx, "--post-exec");
 *	reexec_fd(&rx, container);		argument 0
 *	reexec_fd(&rx, memfd);			argument 1
 *	reexec_num(&rx, (uintptr_t)buf);	argument 2
 *	reexec(&rx);				returns only on failure
 *
 * The new image:
 *
 *	int main(int argc, char **argv)
 *	{
 *		char **args = reexec_args(argc, argv, "--post-exec", 3);
 *
 *		if (args)
 *			return new_vmm(reexec_arg(args, 0), ...);
 *		return test_harness_run(argc, argv);
 *	}
 *
 * Descriptors keep their numbers across exec; reexec() clears their
 * close-on-exec flag immediately before the exec (and nothing else's).
 */
#ifndef REEXEC_H
#define REEXEC_H

#define REEXEC_MAX_ARGS	16

struct reexec {
	const char *tag;		/* argv[1] of the new image */
	int nargs;
	char arg[REEXEC_MAX_ARGS][24];	/* argv[2...], decimal */
	int nfds;
	int fd[REEXEC_MAX_ARGS];	/* kept open across exec */
};

void reexec_init(struct reexec *rx, const char *tag);
/* Pass descriptor fd (kept open across exec) as the next argument.
 * 0, -EBADF, -E2BIG. */
int reexec_fd(struct reexec *rx, int fd);
/* Pass a number as the next argument.  0 or -E2BIG. */
int reexec_num(struct reexec *rx, unsigned long long v);
/* Exec /proc/self/exe <tag> <args...>.  Returns -errno, only on failure. */
int reexec(struct reexec *rx);

/* In the new image: its arguments if argv is "<prog> <tag>" followed by
 * exactly nargs of them, else NULL (a normal run). */
char **reexec_args(int argc, char **argv, const char *tag, int nargs);
/* Argument i as a number (descriptors too). */
unsigned long long reexec_arg(char **args, int i);

#endif
