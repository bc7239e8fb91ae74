// SPDX-License-Identifier: GPL-2.0
/*
 * Every way back of the orchestrator library (docs/orchestrator.md): the
 * test binary is the VMM (lu_vmm.h), with the edu device DMAing and the
 * test mdev in one container of ours, 4 MiB of MADV_DONTFORK guest RAM
 * in a memfd, and updates itself into /proc/self/exe.
 *
 * Before exec: nothing changed, the old VMM runs on (same pid), the error
 * is reported (outcome rolled-back):
 *   fork_fails          clone and clone3 fail (seccomp, EAGAIN)
 *   holder_enxio        the holder's VFIO_CHANGE_DMA_OWNER fails: the
 *                       VMM's vaddr was mapped over by another memfd after
 *                       MAP_DMA and the region names that one (the
 *                       preflight passes, the backend knows the first)
 *   exec_missing, exec_enoexec, exec_e2big
 *                       the exec fails (ENOENT, a 0755 file of garbage,
 *                       an argument of 200 KiB): the holder owned every
 *                       mapping, the old VMM takes them back
 *   exec_missing_plain  the same without MADV_DONTFORK (the holder's own
 *                       mapping of the memfd lands elsewhere)
 * After exec, the holder restarts the previous binary in resume mode (new
 * pid), which takes the mappings from the holder, nothing re-pinned:
 *   new_dies            the new binary dies (SIGKILL) before committing
 *   new_hangs           it never commits: killed at the timeout
 *   record_corrupt      one byte of its record flipped: liveupdate_resume()
 *                       EBADMSG
 *   record_version      the record's version changed: EPROTO
 *   stage_fails         it stages a wrapping vaddr (EINVAL)
 *   commit_fails        it commits private anonymous memory (ENXIO)
 *   restarted_updates_again
 *                       the new binary dies; the restarted previous binary
 *                       then updates again, on the fast path, with no
 *                       descriptor left over from the first try
 * The holder dies while it owns the mappings:
 *   holder_killed       the new binary SIGKILLs it before committing: the
 *                       mappings are torn down (close-on-exit), the commit
 *                       sees ESRCH and maps everything again (outcome
 *                       updated-remapped, pages re-pinned), same pid
 *
 * In every case the guest's memory pattern survives, edu DMA through the
 * IOMMU and mdev dma_rw work in whichever binary runs at the end, VmLck is
 * exactly the guest's, the pages pinned system wide are exactly the
 * guest's, no process of the update is left (report pipe closed, all
 * reaped: the test is a child subreaper) and nothing stays pinned after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

FIXTURE(rb) {
	struct test_mdev m;
	struct lu_run *run;
	struct lu_vmm_cfg cfg;
	long pinned0;
};

FIXTURE_SETUP(rb)
{
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	self->run = NULL;
	REQUIRE_EDU();
	REQUIRE_MDEV();
	self->run = calloc(1, sizeof(*self->run));
	ASSERT_NE(NULL, self->run);
	ASSERT_EQ(0, test_mdev_create(&self->m));
	self->cfg = lu_vmm_cfg_default();
	self->cfg.flags |= LU_F_MDEV;
	self->cfg.mdev_group_nr = self->m.group_nr;
	snprintf(self->cfg.mdev_uuid, sizeof(self->cfg.mdev_uuid), "%s", self->m.uuid);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(rb)
{
	EXPECT_EQ(0, test_mdev_destroy(&self->m));
	free(self->run);
}

/*
 * No exec took place, or it failed: one message, from the old VMM, which
 * runs on with the same pid and owns the guest again; the report says
 * rolled-back, err, step.
 */
static void ran_on(struct __test_metadata *_metadata, FIXTURE_DATA(rb) *self,
		   int err, const char *step)
{
	const struct lu_vmm_msg *m;

	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_RAN_ON);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(-err, m->ret);
	ASSERT_EQ(LIVEUPDATE_ROLLED_BACK, m->report.outcome);
	ASSERT_EQ(err, m->report.error);
	ASSERT_STREQ(step, m->report.step);
	ASSERT_NE(0, m->report.message[0]);
	ASSERT_EQ(self->run->vmm, m->pid);
	ASSERT_EQ(m->pid, m->report.pid_before);
	ASSERT_EQ(m->pid, m->report.pid_after);
	ASSERT_FALSE(m->report.rollback);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	assert_lu_end(self->run, self->pinned0, 0);
}

/*
 * The new binary failed after exec: its message (role, ret), then the
 * previous binary's, restarted by the holder under a new pid, which took
 * the mappings from the holder without re-pinning.  The first image's
 * wait status is want_status.
 */
static void restarted(struct __test_metadata *_metadata, FIXTURE_DATA(rb) *self,
		      enum lu_vmm_role role, int ret, const char *why,
		      int want_status)
{
	const struct lu_vmm_msg *n, *m;

	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(2, self->run->nmsg);
	n = lu_run_find(self->run, role);
	ASSERT_NE(NULL, n) TH_LOG("no %s message from the new binary",
				  lu_vmm_role_name(role));
	ASSERT_EQ(self->run->vmm, n->pid);
	ASSERT_EQ(ret, n->ret);
	m = lu_run_find(self->run, LU_ROLE_RESTARTED);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, m->ret);
	ASSERT_EQ(LIVEUPDATE_ROLLED_BACK, m->report.outcome);
	ASSERT_TRUE(m->report.rollback);
	ASSERT_NE(0, m->rollback[0]);
	ASSERT_NE(NULL, strstr(m->rollback, why))
		TH_LOG("rollback reason \"%s\", want \"%s\"", m->rollback, why);
	ASSERT_NE(self->run->vmm, m->pid);
	ASSERT_EQ(self->run->vmm, m->report.pid_before);
	ASSERT_EQ(m->pid, m->report.pid_after);
	ASSERT_EQ(0, m->update);
	ASSERT_EQ(lu_cfg_kb(&self->cfg), m->report.vmlck_holder_kb);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	/* The holder exited once the restarted binary had committed (not
	 * when it exits): that binary's parent is then our process (the
	 * subreaper), which reaped it, exited 0. */
	ASSERT_EQ(getpid(), m->ppid)
		TH_LOG("the holder (pid %d) outlived the restarted binary's commit",
		       m->report.holder_pid);
	ASSERT_EQ(0, lu_run_status_of(self->run, m->pid));
	assert_lu_end(self->run, self->pinned0, want_status);
}

#define KILLED	SIGKILL		/* wait status of a process SIGKILLed */

TEST_F_TIMEOUT(rb, fork_fails, 300)
{
	self->cfg.flags |= LU_F_NO_FORK;
	ran_on(_metadata, self, EAGAIN, "fork");
	ASSERT_EQ(0, self->run->msg[0].report.holder_pid);
}

TEST_F_TIMEOUT(rb, holder_enxio, 300)
{
	self->cfg.flags |= LU_F_REPLACE;
	ran_on(_metadata, self, ENXIO, "holder-own");
}

TEST_F_TIMEOUT(rb, exec_missing, 300)
{
	self->cfg.exec = LU_EXEC_MISSING;
	ran_on(_metadata, self, ENOENT, "exec");
	ASSERT_EQ(lu_cfg_kb(&self->cfg), self->run->msg[0].report.vmlck_holder_kb);
}

TEST_F_TIMEOUT(rb, exec_missing_plain, 300)
{
	self->cfg.flags &= ~LU_F_DONTFORK;
	self->cfg.exec = LU_EXEC_MISSING;
	ran_on(_metadata, self, ENOENT, "exec");
}

TEST_F_TIMEOUT(rb, exec_enoexec, 300)
{
	self->cfg.exec = LU_EXEC_ENOEXEC;
	ran_on(_metadata, self, ENOEXEC, "exec");
}

TEST_F_TIMEOUT(rb, exec_e2big, 300)
{
	self->cfg.exec = LU_EXEC_E2BIG;
	ran_on(_metadata, self, E2BIG, "exec");
}

TEST_F_TIMEOUT(rb, new_dies, 300)
{
	self->cfg.mode = LU_MODE_DIE;
	restarted(_metadata, self, LU_ROLE_DYING, LU_MODE_DIE, "exited", KILLED);
}

TEST_F_TIMEOUT(rb, new_hangs, 300)
{
	self->cfg.mode = LU_MODE_HANG;
	self->cfg.timeout_ms = 8000;	/* the restart must commit within it too */
	restarted(_metadata, self, LU_ROLE_DYING, LU_MODE_HANG, "in time", KILLED);
}

TEST_F_TIMEOUT(rb, record_corrupt, 300)
{
	self->cfg.mode = LU_MODE_CORRUPT;
	restarted(_metadata, self, LU_ROLE_REFUSED, -EBADMSG, "corrupt", 1 << 8);
}

TEST_F_TIMEOUT(rb, record_version, 300)
{
	self->cfg.mode = LU_MODE_VERSION;
	restarted(_metadata, self, LU_ROLE_REFUSED, -EPROTO, "version", 1 << 8);
}

TEST_F_TIMEOUT(rb, stage_fails, 300)
{
	self->cfg.mode = LU_MODE_BAD_STAGE;
	restarted(_metadata, self, LU_ROLE_REFUSED, -EINVAL, "refused", 1 << 8);
}

TEST_F_TIMEOUT(rb, commit_fails, 300)
{
	self->cfg.mode = LU_MODE_BAD_COMMIT;
	restarted(_metadata, self, LU_ROLE_REFUSED, -ENXIO, "refused", 1 << 8);
}

/* After a restart the previous binary is a VMM like any other: it
 * updates again, on the fast path, leaking nothing from the first try. */
TEST_F_TIMEOUT(rb, restarted_updates_again, 300)
{
	const struct lu_vmm_msg *r, *u;

	self->cfg.mode = LU_MODE_DIE;
	self->cfg.flags |= LU_F_RETRY;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(3, self->run->nmsg);
	ASSERT_NE(NULL, lu_run_find(self->run, LU_ROLE_DYING));
	r = lu_run_find(self->run, LU_ROLE_RESTARTED);
	u = lu_run_find(self->run, LU_ROLE_UPDATED);
	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, u);
	ASSERT_NE(self->run->vmm, r->pid);
	assert_lu_owns(r, &self->cfg, self->pinned0, true);
	ASSERT_EQ(0, u->ret);
	ASSERT_EQ(LIVEUPDATE_UPDATED, u->report.outcome);
	ASSERT_FALSE(u->report.rollback);
	ASSERT_EQ(r->pid, u->pid);
	ASSERT_EQ(r->pid, u->report.pid_before);
	ASSERT_EQ(1, u->update);
	ASSERT_EQ(lu_cfg_kb(&self->cfg), u->report.vmlck_holder_kb);
	assert_lu_owns(u, &self->cfg, self->pinned0, true);
	ASSERT_EQ(r->nfds, u->nfds);
	ASSERT_EQ(0, lu_run_status_of(self->run, u->pid));
	assert_lu_end(self->run, self->pinned0, KILLED);
}

TEST_F_TIMEOUT(rb, holder_killed, 300)
{
	const struct lu_vmm_msg *m;

	self->cfg.mode = LU_MODE_KILL_HOLDER;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_UPDATED);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, m->ret);
	ASSERT_EQ(LIVEUPDATE_UPDATED_REMAPPED, m->report.outcome);
	ASSERT_NE(NULL, strstr(m->report.message, "re-pinned"));
	ASSERT_EQ(self->run->vmm, m->pid);
	ASSERT_EQ(m->pid, m->report.pid_before);
	ASSERT_EQ(m->pid, m->report.pid_after);
	ASSERT_EQ(m->holder_pid, m->report.holder_pid);
	/* The slow path: every page pinned again, once (the library's count
	 * and the image's own). */
	ASSERT_EQ(lu_cfg_pages(&self->cfg), m->report.pins_acquired);
	ASSERT_EQ(lu_cfg_pages(&self->cfg), m->acquired);
	assert_lu_owns(m, &self->cfg, self->pinned0, false);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_HARNESS_MAIN_LU
