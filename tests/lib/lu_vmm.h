/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test binary as a VMM updated by the orchestrator library
 * (include/liveupdate.h): the "VMM images" of the liveupdate_* suites.
 * Part of vfio_lu_test.h; the code is tests/lib/lu_vmm.c, built into the
 * suites that link libliveupdate (LIBS in tests/CMakeLists.txt).
 *
 * A test describes a scenario (struct lu_vmm_cfg) and calls lu_vmm_run():
 * it forks and execs this binary as the first VMM image
 * ("<exe> --lu-vmm <cfg in hex>"), which builds a container of ours (edu
 * device and/or the test mdev), guest RAM in a memfd (MADV_DONTFORK'd as
 * QEMU does, or hugetlb), maps it, describes everything to the library and
 * calls liveupdate_exec() into /proc/self/exe ("--lu-new <mode> <fd>").
 * The new image calls liveupdate_resume() and liveupdate_commit() and
 * behaves as the mode says (dies, hangs, corrupts the record, fails to
 * stage or commit, kills the holder, ...); a previous image restarted by
 * the holder (the library's default restart: the running binary with its
 * /proc/self/cmdline, so "--lu-vmm" again) sees a rollback reason and
 * commits.  Every image that gets somewhere writes a struct lu_vmm_msg to
 * the report pipe (kept across exec with liveupdate_keep_fd()), with the
 * library's report and its own checks of the guest: the memory pattern,
 * an edu DMA round trip through the IOMMU, an mdev dma_rw round trip,
 * VmLck, descriptors, pinned pages, children.  The test reads them until
 * every writer is gone (the holder and spare included: they inherit the
 * pipe), reaps every process (it is a child subreaper), and asserts.
 *
 *	int main(int argc, char **argv)
 *	{
 *		if (lu_vmm_image(argc, argv))
 *			return lu_vmm_main(argc, argv);
 *		return test_harness_run(argc, argv);
 *	}
 */
#ifndef LU_VMM_H
#define LU_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <liveupdate.h>

#define LU_VMM_TAG		"--lu-vmm"	/* first start, restarts */
#define LU_VMM_NEW_TAG		"--lu-new"	/* started by an update */

/* Guest RAM: mapped at LU_VMM_IOVA; the first LU_VMM_SCRATCH bytes are
 * the DMA checks' scratch, the rest carries a pattern (seed
 * LU_VMM_SEED) that must survive every update and rollback. */
#define LU_VMM_IOVA		0x100000ull
#define LU_VMM_SCRATCH		0x10000ull
#define LU_VMM_SEED		41

/* What the binary started by the (first) update does. */
enum lu_vmm_mode {
	LU_MODE_OK,		/* resume, commit */
	LU_MODE_DIE,		/* resume, then SIGKILL itself */
	LU_MODE_HANG,		/* resume, then wait (the holder's timeout) */
	LU_MODE_CORRUPT,	/* one byte of (a copy of) the record flipped */
	LU_MODE_VERSION,	/* the record's version changed */
	LU_MODE_BAD_STAGE,	/* region 0 at a wrapping vaddr: stage EINVAL */
	LU_MODE_BAD_COMMIT,	/* region 0 in private anonymous memory:
				 * commit ENXIO */
	LU_MODE_KILL_HOLDER,	/* SIGKILL the holder (its child), wait until
				 * it is dead, commit: the slow path */
	LU_MODE_STATUS,		/* read the holder's /proc status, commit */
	LU_NR_MODES
};

/* Where the update execs. */
enum lu_vmm_exec {
	LU_EXEC_SELF,		/* /proc/self/exe */
	LU_EXEC_MISSING,	/* a path that does not exist: ENOENT */
	LU_EXEC_ENOEXEC,	/* a 0755 file of garbage: ENOEXEC */
	LU_EXEC_E2BIG,		/* an argument of 200 KiB: E2BIG */
};

#define LU_F_EDU	(1u << 0)	/* the edu device in the container */
#define LU_F_MDEV	(1u << 1)	/* the test mdev (mdev_uuid, group) */
#define LU_F_DONTFORK	(1u << 2)	/* guest RAM MADV_DONTFORK; resumed
					 * images map it themselves */
#define LU_F_HUGETLB	(1u << 3)	/* MFD_HUGETLB guest RAM */
#define LU_F_NO_IPC_LOCK (1u << 4)	/* CAP_IPC_LOCK dropped at start */
#define LU_F_NO_FORK	(1u << 5)	/* seccomp: clone, clone3 -> EAGAIN,
					 * installed before the update */
#define LU_F_REPLACE	(1u << 6)	/* after MAP_DMA the vaddr is mapped
					 * over by another memfd, which the
					 * region names: the holder's commit
					 * gets ENXIO */
#define LU_F_DIRTY	(1u << 7)	/* dirty tracking scenario (mdev
					 * only): phases of writes, a writer
					 * process across the handoff */
#define LU_F_DIRTY_ON	(1u << 8)	/* with LU_F_DIRTY: tracking started
					 * before the update */
#define LU_F_RETRY	(1u << 9)	/* a previous binary restarted by the
					 * holder updates again (mode ok) */

struct lu_vmm_cfg {
	uint32_t flags;			/* LU_F_* */
	uint32_t mode;			/* enum lu_vmm_mode, first update */
	uint32_t exec;			/* enum lu_vmm_exec, first update */
	uint32_t updates;		/* consecutive updates (0 means 1) */
	uint64_t guest_size;
	uint64_t memlock;		/* RLIMIT_MEMLOCK at start; 0: as is */
	uint64_t memlock_late;		/* RLIMIT_MEMLOCK after mapping,
					 * before the update; 0: unchanged */
	uint32_t timeout_ms;		/* liveupdate_set_timeout_ms() */
	int32_t holder_syscall;		/* LIVEUPDATE_TEST_HOLDER_SYSCALL;
					 * -1 none */
	int32_t report_fd;		/* set by lu_vmm_run() */
	int32_t mdev_group_nr;
	char mdev_uuid[40];
	uint32_t commit_fail_nth;	/* > 0: the first update's new binary
					 * arms this fail-nth around its
					 * liveupdate_commit() (fail_nth.h) */
};

/* A default scenario: edu + DONTFORK, 4 MiB, mode ok, one update. */
struct lu_vmm_cfg lu_vmm_cfg_default(void);

enum lu_vmm_role {
	LU_ROLE_ERROR = 1,	/* an image failed a check (text) */
	LU_ROLE_RAN_ON,		/* liveupdate_exec() returned: the old VMM
				 * runs on */
	LU_ROLE_UPDATED,	/* a binary started by an update committed */
	LU_ROLE_RESTARTED,	/* the previous binary, restarted by the
				 * holder, committed */
	LU_ROLE_REFUSED,	/* the new binary's resume or commit failed;
				 * it exits */
	LU_ROLE_DYING,		/* the new binary dies or hangs as told */
	LU_ROLE_ARMED,		/* cfg.commit_fail_nth: the new binary's
				 * commit returned (ret, commit_injected,
				 * commit_left), sent at once */
};

#define LU_VMM_MSG_MAGIC	0x4c55564dU	/* "LUVM" */

struct lu_vmm_msg {
	uint32_t magic;
	uint32_t role;			/* enum lu_vmm_role */
	int32_t ret;			/* of liveupdate_exec(), _resume() or
					 * _commit() */
	int32_t pid, ppid, first_pid;
	uint32_t update;		/* updates completed, this one included */
	char rollback[128];		/* liveupdate_rollback_reason() */
	char text[192];			/* what failed (ERROR) */
	struct liveupdate_report report;

	/* The image's checks once it owns the guest (1: not run). */
	int32_t pattern;		/* 0 intact, else -1 */
	int32_t dma;			/* edu round trip: 0, -1 or -errno */
	int32_t mdev;			/* mdev dma_rw round trip */
	int32_t dirty_on;		/* tracking started: 1, 0, -errno */
	int64_t vmlck_kb;		/* the image's VmLck */
	int64_t nfds;			/* its open descriptors */
	int64_t nchildren;		/* its children (holder reaped?) */
	int64_t pinned;			/* pages pinned system wide */
	int64_t acquired;		/* nr_foll_pin_acquired since just
					 * before liveupdate_exec() */

	/* The holder, while it owns (LU_MODE_STATUS, LU_MODE_KILL_HOLDER). */
	int32_t holder_pid;
	int32_t no_new_privs, seccomp, seccomp_filters;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int64_t holder_vmlck_kb;

	/* LU_F_DIRTY: 0 exact, -1 not (text says how). */
	int32_t dirty_before;		/* the read before the update */
	int32_t dirty_first;		/* the first read after the commit */
	int32_t dirty_second;		/* the next read: nothing */
	int32_t dirty_later;		/* one more write, then exactly it */
	int32_t dirty_content;		/* every byte written is there */
	int64_t writer_writes;		/* the writer process's dma_rw writes */
	int64_t writer_handoff;		/* of them, from just before
					 * liveupdate_exec() to the commit */
	int64_t writer_failures;
	int32_t writer_err;
	/* cfg.commit_fail_nth: fail_nth_disarm() after the commit (1 a
	 * failure was injected, 0 none, -errno); 2 when not armed. */
	int32_t commit_injected;
	int64_t commit_left;		/* fail-nth read back (fail_nth_left) */
};

/* ---- the images (lu_vmm.c) ---- */

/* Is this process a VMM image (argv[1] one of the tags)? */
bool lu_vmm_image(int argc, char **argv);
/* Run the image; its exit status. */
int lu_vmm_main(int argc, char **argv);

/* ---- the test's side ---- */

#define LU_RUN_MAX_MSGS		128
#define LU_RUN_MAX_PROCS	32

struct lu_run {
	pid_t vmm;			/* the first image */
	int vmm_status;			/* its wait status, -1 unknown */
	int nmsg;			/* messages read (all of them) */
	struct lu_vmm_msg msg[LU_RUN_MAX_MSGS];	/* the first ones */
	int bad_msgs;			/* short or without the magic */
	bool eof;			/* every writer gone in time */
	int nprocs;			/* processes reaped */
	pid_t proc[LU_RUN_MAX_PROCS];
	int proc_status[LU_RUN_MAX_PROCS];
	int leftover;			/* still there at the deadline: killed */
	double seconds;
};

/*
 * Run the scenario: make this process a child subreaper (once), start the
 * first image, read every message until the pipe's last writer is gone
 * (at most timeout_s), then reap every descendant (orphans come to us),
 * killing those left after a further 10 s.  0 or -errno (the run itself
 * could not start).
 */
int lu_vmm_run(const struct lu_vmm_cfg *cfg, struct lu_run *run, int timeout_s);
/* The first message of role, or NULL; lu_run_count() how many. */
const struct lu_vmm_msg *lu_run_find(const struct lu_run *run,
				     enum lu_vmm_role role);
int lu_run_count(const struct lu_run *run, enum lu_vmm_role role);
/* One line about a message (for logs). */
void lu_vmm_msg_describe(const struct lu_vmm_msg *m, char *buf, size_t len);
const char *lu_vmm_role_name(uint32_t role);
/* The wait status of pid among the reaped, -1 if not reaped. */
int lu_run_status_of(const struct lu_run *run, pid_t pid);

/* Huge pages: reserve at least n 2 MiB pages (/proc/sys/vm/nr_hugepages);
 * the previous value in *old.  0, or -ENOMEM if fewer could be had. */
int lu_hugepages_reserve(long n, long *old);
void lu_hugepages_restore(long old);

#ifdef __KSELFTEST_HARNESS_H

/* Log every message of a run (as TH_LOG lines). */
#define LU_RUN_LOG(run) do {						\
	char __l[512];							\
	for (int __i = 0; __i < (run)->nmsg &&				\
			  __i < LU_RUN_MAX_MSGS; __i++) {		\
		lu_vmm_msg_describe(&(run)->msg[__i], __l, sizeof(__l)); \
		TH_LOG("msg %d: %s", __i, __l);				\
	}								\
	TH_LOG("run: %d message(s), %d process(es) reaped, %.1f s",	\
	       (run)->nmsg, (run)->nprocs, (run)->seconds);		\
} while (0)

/*
 * The run ended clean: no image reported an error, no short message, the
 * report pipe closed (every image, holder, spare and writer gone) and no
 * process was left to kill.
 */
#define ASSERT_LU_RUN_CLEAN(run) do {					\
	const struct lu_vmm_msg *__e = lu_run_find((run), LU_ROLE_ERROR); \
	if (__e || (run)->bad_msgs || !(run)->eof || (run)->leftover)	\
		LU_RUN_LOG(run);					\
	ASSERT_EQ(NULL, __e) TH_LOG("an image failed: %s", __e->text);	\
	ASSERT_EQ(0, (run)->bad_msgs);					\
	ASSERT_TRUE((run)->eof)						\
		TH_LOG("the report pipe stayed open: a process of the "	\
		       "update (holder, spare, image) was left behind");	\
	ASSERT_EQ(0, (run)->leftover)					\
		TH_LOG("processes still alive after the update");	\
} while (0)

/* m's checks of the guest: memory pattern, edu and mdev DMA (when the
 * scenario has them), VmLck exactly kb. */
#define ASSERT_LU_GUEST_OK(m, kb) do {					\
	ASSERT_EQ(0, (m)->pattern) TH_LOG("guest memory pattern lost");	\
	ASSERT_TRUE((m)->dma == 0 || (m)->dma == 1)			\
		TH_LOG("edu DMA through the IOMMU: %d", (m)->dma);	\
	ASSERT_TRUE((m)->mdev == 0 || (m)->mdev == 1)			\
		TH_LOG("mdev dma_rw: %d", (m)->mdev);			\
	ASSERT_EQ((int64_t)(kb), (m)->vmlck_kb) TH_LOG("VmLck");	\
} while (0)

/* Guest pages pinned by the scenario's container (edu: all of them). */
static inline long lu_cfg_pages(const struct lu_vmm_cfg *c)
{
	return c->flags & LU_F_EDU ? (long)(c->guest_size / 4096) : 0;
}
static inline long lu_cfg_kb(const struct lu_vmm_cfg *c)
{
	return c->flags & LU_F_EDU ? (long)(c->guest_size / 1024) : 0;
}

/*
 * m owns the guest after an update, a restart or a failed update: its
 * checks pass, VmLck is exactly the guest's (also in the report, before
 * and after; the holder's is the caller's to check), the
 * holder is reaped (no child left), the pages pinned system wide are
 * exactly pinned0 plus the guest's, and, on the fast path, not one page
 * was pinned anew (the library's count and the image's own).
 */
static inline void __assert_lu_owns(struct __test_metadata *_metadata,
				    const struct lu_vmm_msg *m,
				    const struct lu_vmm_cfg *c, long pinned0,
				    bool fast)
{
	ASSERT_NE(NULL, m);
	ASSERT_LU_GUEST_OK(m, lu_cfg_kb(c));
	ASSERT_EQ(lu_cfg_kb(c), m->report.vmlck_before_kb);
	/* (A refused update's report has no "after".) */
	if (m->report.outcome != LIVEUPDATE_REFUSED)
		ASSERT_EQ(lu_cfg_kb(c), m->report.vmlck_after_kb);
	ASSERT_EQ(0, m->nchildren) TH_LOG("the holder was not reaped");
	ASSERT_EQ(pinned0 + lu_cfg_pages(c), m->pinned);
	if (fast) {
		ASSERT_EQ(0, m->report.pins_acquired);
		ASSERT_EQ(0, m->acquired);
	}
}
#define assert_lu_owns(m, c, pinned0, fast)				\
	__assert_lu_owns(_metadata, (m), (c), (pinned0), (fast))

/* The run ended clean and the first image exited 0 (or as want_status
 * says); once everything is gone, nothing stays pinned. */
static inline void __assert_lu_end(struct __test_metadata *_metadata,
				   const struct lu_run *run, long pinned0,
				   int want_status)
{
	ASSERT_LU_RUN_CLEAN(run);
	ASSERT_EQ(want_status, run->vmm_status)
		TH_LOG("first image: wait status %#x", run->vmm_status);
	ASSERT_EQ(pinned0, pinned_settled(pinned0))
		TH_LOG("pages still pinned after the VMM is gone");
}
#define assert_lu_end(run, pinned0, want_status)			\
	__assert_lu_end(_metadata, (run), (pinned0), (want_status))

/* main() of a suite whose binary is also the VMM. */
#define TEST_HARNESS_MAIN_LU						\
	int main(int argc, char **argv)					\
	{								\
		if (lu_vmm_image(argc, argv))				\
			return lu_vmm_main(argc, argv);			\
		return test_harness_run(argc, argv);			\
	}

#endif /* __KSELFTEST_HARNESS_H */
#endif /* LU_VMM_H */
