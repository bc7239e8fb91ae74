// SPDX-License-Identifier: GPL-2.0
/*
 * The orchestrator library (liveupdate.h) with the kinds of guest RAM and
 * limits a VMM has, the edu device DMAing through the IOMMU; the test
 * binary is the VMM (lu_vmm.h) and updates itself into /proc/self/exe.
 *
 *   plain              guest RAM a plain shared memfd mapping; the new
 *                      binary lets the library map it
 *   dontfork           MADV_DONTFORK guest RAM (as QEMU marks it): the
 *                      holder maps it from the descriptor; the new binary
 *                      maps it itself, DONTFORK again
 *   hugetlb            MFD_HUGETLB guest RAM, DONTFORK (SKIP if the VM
 *                      cannot reserve huge pages)
 *   rlimit_exact       RLIMIT_MEMLOCK exactly the guest's size, no
 *                      CAP_IPC_LOCK (dropped, bounding set included): the
 *                      holder and the new binary are charged exactly it
 *   rlimit_below       the limit a page below what is to move, no
 *                      CAP_IPC_LOCK: the preflight refuses, nothing changes
 *   hundred_updates    100 consecutive updates (25 on the debug kernel),
 *                      each new binary updating again: every one on the
 *                      fast path, and no growth in descriptors, VmLck or
 *                      pages pinned system wide
 *
 * After each update: the outcome, the same pid, VmLck exactly the guest's
 * (before, in the holder, after), not one page pinned anew, the guest's
 * pattern intact, edu DMA through the IOMMU working, the holder and spare
 * gone, and nothing pinned once the VMM exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define HUGE_2M		(2u << 20)

FIXTURE(mem) {
	struct lu_run *run;
	struct lu_vmm_cfg cfg;
	long pinned0;
	long huge_old;
};

FIXTURE_SETUP(mem)
{
	self->run = NULL;
	self->huge_old = -1;
	REQUIRE_EDU();
	self->run = calloc(1, sizeof(*self->run));
	ASSERT_NE(NULL, self->run);
	self->cfg = lu_vmm_cfg_default();
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(mem)
{
	lu_hugepages_restore(self->huge_old);
	free(self->run);
}

/* One update on the fast path, same pid. */
static void one_update(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mem) *self)
{
	const struct lu_vmm_msg *m;

	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_UPDATED);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	ASSERT_EQ(0, m->ret);
	ASSERT_EQ(LIVEUPDATE_UPDATED, m->report.outcome);
	ASSERT_EQ(lu_cfg_kb(&self->cfg), m->report.vmlck_holder_kb);
	ASSERT_EQ(self->run->vmm, m->pid);
	ASSERT_EQ(m->pid, m->report.pid_before);
	ASSERT_EQ(m->pid, m->report.pid_after);
	ASSERT_EQ(1, m->update);
	ASSERT_FALSE(m->report.rollback);
	ASSERT_EQ(1, m->report.nr_regions);
	ASSERT_EQ(self->cfg.guest_size, m->report.bytes);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_F_TIMEOUT(mem, plain, 300)
{
	self->cfg.flags &= ~LU_F_DONTFORK;
	one_update(_metadata, self);
}

TEST_F_TIMEOUT(mem, dontfork, 300)
{
	one_update(_metadata, self);
}

TEST_F_TIMEOUT(mem, hugetlb, 300)
{
	int ret = lu_hugepages_reserve(4, &self->huge_old);

	if (ret)
		SKIP(return, "cannot reserve 4 huge pages of 2 MiB (%s)", strerror(-ret));
	self->cfg.flags |= LU_F_HUGETLB;
	self->cfg.guest_size = 2 * HUGE_2M;
	one_update(_metadata, self);
}

TEST_F_TIMEOUT(mem, rlimit_exact, 300)
{
	self->cfg.flags |= LU_F_NO_IPC_LOCK;
	self->cfg.memlock = self->cfg.guest_size;
	one_update(_metadata, self);
	ASSERT_FALSE(self->run->msg[0].report.holder_cap_ipc_lock);
}

TEST_F_TIMEOUT(mem, rlimit_below, 300)
{
	const struct lu_vmm_msg *m;

	self->cfg.flags |= LU_F_NO_IPC_LOCK;
	self->cfg.memlock = self->cfg.guest_size;
	self->cfg.memlock_late = self->cfg.guest_size - 4096;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_RAN_ON);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	ASSERT_EQ(-EPERM, m->ret);
	ASSERT_EQ(LIVEUPDATE_REFUSED, m->report.outcome);
	ASSERT_EQ(EPERM, m->report.error);
	ASSERT_STREQ("preflight", m->report.step);
	ASSERT_NE(NULL, strstr(m->report.message, "RLIMIT_MEMLOCK"));
	ASSERT_EQ(0, m->report.holder_pid);
	ASSERT_EQ(self->run->vmm, m->pid);
	assert_lu_end(self->run, self->pinned0, 0);
}

/*
 * Each new binary updates again; each reports once it owns the guest.
 * 100 updates on Debian's kernels, where descriptors, locks or pins that
 * accumulate would show; 25 on the debug kernel, whose checkers (KASAN,
 * lockdep, kmemleak) see every path of an update in the first few, and
 * where one update takes about 4 s under TCG.
 */
TEST_F_TIMEOUT(mem, hundred_updates, 900)
{
	const char *kernel = getenv("VM_KERNEL");
	const int n = kernel && !strcmp(kernel, "debug") ? 25 : 100;
	const struct lu_vmm_msg *first = &self->run->msg[0];

	self->cfg.updates = n;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 800));
	if (self->run->nmsg != n || lu_run_count(self->run, LU_ROLE_UPDATED) != n)
		LU_RUN_LOG(self->run);
	ASSERT_EQ(n, self->run->nmsg);
	ASSERT_EQ(n, lu_run_count(self->run, LU_ROLE_UPDATED));
	for (int i = 0; i < n; i++) {
		const struct lu_vmm_msg *m = &self->run->msg[i];
		char line[512];

		lu_vmm_msg_describe(m, line, sizeof(line));
		if (i == 0 || i == n - 1)
			TH_LOG("update %d: %s", i + 1, line);
		assert_lu_owns(m, &self->cfg, self->pinned0, true);
		ASSERT_EQ(0, m->ret) TH_LOG("%s", line);
		ASSERT_EQ(i + 1, m->update);
		ASSERT_EQ(LIVEUPDATE_UPDATED, m->report.outcome) TH_LOG("%s", line);
		ASSERT_EQ(self->run->vmm, m->pid);
		ASSERT_EQ(lu_cfg_kb(&self->cfg), m->report.vmlck_holder_kb);
		/* No descriptor, lock or pin accumulates. */
		ASSERT_EQ(first->nfds, m->nfds) TH_LOG("update %d: %s", i + 1, line);
		ASSERT_EQ(first->pinned, m->pinned);
		ASSERT_EQ(first->vmlck_kb, m->vmlck_kb);
	}
	TH_LOG("%d updates in %.1f s", n, self->run->seconds);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_HARNESS_MAIN_LU
