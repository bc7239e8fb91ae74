// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sandbox.c - what the holder may do once it owns every mapping of the
 * guest: nothing but finish the update.
 *
 * Capabilities: all dropped (effective, permitted, inheritable, ambient,
 * and the bounding set when the VMM had CAP_SETPCAP), except CAP_IPC_LOCK
 * when the VMM had it and the holder needs it: the holder is charged the
 * mappings' locked_vm against its RLIMIT_MEMLOCK (inherited from the VMM),
 * so a VMM that relied on CAP_IPC_LOCK to exceed that limit passes it on
 * (exec.c decides; the report says which).
 *
 * seccomp (libseccomp, default action: kill the process): only the calls
 * the holder's loop makes.  ioctl only on the container and only
 * VFIO_IOMMU_MAP_DMA (staging) and VFIO_CHANGE_DMA_OWNER; mmap never
 * executable; no open, no exec, no fork, no socket.  A compromised holder
 * can at worst give the mappings up (close-on-exit) or kill the VMM or
 * the spare (SIGKILL only, through the pidfd and pid it holds), which the
 * protocol already survives.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <vfio_lu.h>

#include "lu_int.h"

static int drop_caps(bool keep_ipc_lock)
{
	cap_value_t ipc = CAP_IPC_LOCK;
	cap_t c;
	int ret = 0;

	/* The bounding set needs CAP_SETPCAP: drop it first, while we may. */
	if (CAP_IS_SUPPORTED(CAP_SETPCAP) && cap_get_bound(CAP_SETPCAP) == 1) {
		for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
			if (!(keep_ipc_lock && v == CAP_IPC_LOCK) &&
			    cap_get_bound(v) == 1)
				cap_drop_bound(v);
	}
	cap_reset_ambient();
	c = cap_init();
	if (!c)
		return -ENOMEM;
	if (keep_ipc_lock &&
	    (cap_set_flag(c, CAP_PERMITTED, 1, &ipc, CAP_SET) ||
	     cap_set_flag(c, CAP_EFFECTIVE, 1, &ipc, CAP_SET)))
		ret = -errno;
	if (!ret && cap_set_proc(c))
		ret = -errno;
	cap_free(c);
	return ret;
}

static int allow(scmp_filter_ctx ctx, int nr)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int load_filter(const struct lu_sandbox *sb)
{
	static const int plain[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64),
		SCMP_SYS(close), SCMP_SYS(munmap), SCMP_SYS(madvise),
		SCMP_SYS(brk), SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(wait4),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
		SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(nanosleep), SCMP_SYS(getpid), SCMP_SYS(getppid),
		SCMP_SYS(gettid), SCMP_SYS(futex), SCMP_SYS(fstat),
		SCMP_SYS(newfstatat),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < LU_ARRAY_SIZE(plain) && !ret; i++)
		ret = allow(ctx, plain[i]);
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)sb->container),
				       SCMP_A1(SCMP_CMP_EQ, VFIO_IOMMU_MAP_DMA));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)sb->container),
				       SCMP_A1(SCMP_CMP_EQ, VFIO_CHANGE_DMA_OWNER));
	if (!ret && sb->pidfd >= 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(pidfd_send_signal), 2,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)sb->pidfd),
				       SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	if (!ret && sb->spare > 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 2,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)sb->spare),
				       SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int lu_sandbox_enter(const struct lu_sandbox *sb)
{
	int ret = drop_caps(sb->keep_ipc_lock);

	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* No core dump of guest memory from a holder that crashes. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return load_filter(sb);
}
