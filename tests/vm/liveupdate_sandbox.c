// SPDX-License-Identifier: GPL-2.0
/*
 * The holder's sandbox (liveupdate/lib/sandbox.c): once forked, the
 * process that owns every mapping of the guest while the VMM execs may do
 * nothing but finish the update.  The test binary is the VMM (lu_vmm.h),
 * the edu device DMAing, 4 MiB of MADV_DONTFORK guest RAM.
 *
 *   syscall.<name>     LIVEUPDATE_TEST_HOLDER_SYSCALL makes the holder
 *                      issue one call right after entering its sandbox.
 *                      Outside the allow-list (socket, openat, execve,
 *                      ioctl on another descriptor, kill of another
 *                      process, ptrace, mprotect): the kernel kills it
 *                      (SIGSYS: the kernel's audit record of the kill,
 *                      type=1326 sig=31, is in its log),
 *                      the VMM takes its mappings back and runs on, same
 *                      pid, outcome rolled-back.  Inside it (getpid): the
 *                      update goes through.
 *   holder_status      the new binary pauses before committing and reads
 *                      /proc/<holder>/status while the holder owns the
 *                      guest: CapInh, CapPrm, CapEff, CapBnd, CapAmb all 0,
 *                      NoNewPrivs 1, Seccomp 2 (filter), one filter, VmLck
 *                      exactly the guest's
 *   holder_ipc_lock    RLIMIT_MEMLOCK below the guest's size, CAP_IPC_LOCK
 *                      held: the holder keeps exactly CAP_IPC_LOCK
 *                      (permitted, effective, bounding), and the report
 *                      says so
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IPC_LOCK_BIT	(1ull << CAP_IPC_LOCK)

FIXTURE(sb) {
	struct lu_run *run;
	struct lu_vmm_cfg cfg;
	long pinned0;
};

FIXTURE_SETUP(sb)
{
	self->run = NULL;
	REQUIRE_EDU();
	self->run = calloc(1, sizeof(*self->run));
	ASSERT_NE(NULL, self->run);
	self->cfg = lu_vmm_cfg_default();
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(sb)
{
	free(self->run);
}

/* /dev/kmsg, positioned after the last record. */
static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The kernel's audit record of a seccomp kill of pid (type=1326 ...
 * sig=31 ... syscall=nr) among the records read from fd: 1 found, 0 not,
 * -EBADF if /dev/kmsg could not be opened.  Without auditd the kernel
 * prints it (kauditd).
 */
static int kmsg_seccomp_kill(int fd, pid_t pid, int nr)
{
	char rec[2048], want_pid[32], want_nr[32];
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	snprintf(want_pid, sizeof(want_pid), " pid=%d ", pid);
	snprintf(want_nr, sizeof(want_nr), " syscall=%d ", nr);
	/* kauditd prints from its own thread: give it a moment. */
	for (int tries = 0; tries < 300; ) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0) {
			usleep(10 * 1000);
			tries++;
			continue;
		}
		rec[n] = 0;
		if (strstr(rec, "type=1326") && strstr(rec, want_pid) &&
		    strstr(rec, " sig=31 ") && strstr(rec, want_nr))
			return 1;
	}
	return 0;
}

FIXTURE(call) {
	struct lu_run *run;
	struct lu_vmm_cfg cfg;
	long pinned0;
};

FIXTURE_VARIANT(call) {
	int nr;
	bool allowed;
};

FIXTURE_VARIANT_ADD(call, socket)   { .nr = SYS_socket };
FIXTURE_VARIANT_ADD(call, openat)   { .nr = SYS_openat };
FIXTURE_VARIANT_ADD(call, execve)   { .nr = SYS_execve };
FIXTURE_VARIANT_ADD(call, ioctl)    { .nr = SYS_ioctl };	/* fd 0 */
FIXTURE_VARIANT_ADD(call, kill)     { .nr = SYS_kill };	/* pid 0 */
FIXTURE_VARIANT_ADD(call, ptrace)   { .nr = SYS_ptrace };
FIXTURE_VARIANT_ADD(call, mprotect) { .nr = SYS_mprotect };
FIXTURE_VARIANT_ADD(call, getpid)   { .nr = SYS_getpid, .allowed = true };

FIXTURE_SETUP(call)
{
	self->run = NULL;
	REQUIRE_EDU();
	self->run = calloc(1, sizeof(*self->run));
	ASSERT_NE(NULL, self->run);
	self->cfg = lu_vmm_cfg_default();
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(call)
{
	free(self->run);
}

TEST_F_TIMEOUT(call, in_sandbox, 300)
{
	const struct lu_vmm_msg *m;
	int kmsg = kmsg_open_end(), audit;

	self->cfg.holder_syscall = variant->nr;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	if (variant->allowed) {
		m = lu_run_find(self->run, LU_ROLE_UPDATED);
		ASSERT_NE(NULL, m);
		ASSERT_EQ(0, m->ret);
		ASSERT_EQ(LIVEUPDATE_UPDATED, m->report.outcome);
	} else {
		m = lu_run_find(self->run, LU_ROLE_RAN_ON);
		ASSERT_NE(NULL, m);
		ASSERT_EQ(LIVEUPDATE_ROLLED_BACK, m->report.outcome);
		ASSERT_EQ(-m->report.error, m->ret);
		ASSERT_STREQ("holder-own", m->report.step);
		ASSERT_LT(0, m->report.holder_pid);
		/* The proof that seccomp killed it, where the kernel logs. */
		audit = kmsg_seccomp_kill(kmsg, m->report.holder_pid, variant->nr);
		ASSERT_EQ(1, audit)
			TH_LOG("no audit record (type=1326, sig=31, syscall=%d) "
			       "of the holder's death in the kernel log (%d)",
			       variant->nr, audit);
	}
	ASSERT_EQ(self->run->vmm, m->pid);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	assert_lu_end(self->run, self->pinned0, 0);
	if (kmsg >= 0)
		close(kmsg);
}

/* The new binary reads the holder's status while the holder owns. */
static const struct lu_vmm_msg *status_run(struct __test_metadata *_metadata,
					   FIXTURE_DATA(sb) *self)
{
	const struct lu_vmm_msg *m;

	self->cfg.mode = LU_MODE_STATUS;
	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_UPDATED);
	ASSERT_NE(NULL, m);
	TH_LOG("holder %d: CapInh %#llx CapPrm %#llx CapEff %#llx CapBnd %#llx "
	       "CapAmb %#llx NoNewPrivs %d Seccomp %d filters %d VmLck %lld kB",
	       m->holder_pid, (unsigned long long)m->cap_inh,
	       (unsigned long long)m->cap_prm, (unsigned long long)m->cap_eff,
	       (unsigned long long)m->cap_bnd, (unsigned long long)m->cap_amb,
	       m->no_new_privs, m->seccomp, m->seccomp_filters,
	       (long long)m->holder_vmlck_kb);
	ASSERT_EQ(0, m->ret);
	ASSERT_EQ(LIVEUPDATE_UPDATED, m->report.outcome);
	ASSERT_EQ(m->holder_pid, m->report.holder_pid);
	ASSERT_EQ(1, m->no_new_privs);
	ASSERT_EQ(2, m->seccomp);
	ASSERT_EQ(1, m->seccomp_filters);
	ASSERT_EQ(0, m->cap_inh);
	ASSERT_EQ(0, m->cap_amb);
	ASSERT_EQ(lu_cfg_kb(&self->cfg), m->holder_vmlck_kb);
	ASSERT_EQ(lu_cfg_kb(&self->cfg), m->report.vmlck_holder_kb);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	return m;
}

TEST_F_TIMEOUT(sb, holder_status, 300)
{
	const struct lu_vmm_msg *m;

	/* Room for the guest under RLIMIT_MEMLOCK: no reason to keep
	 * CAP_IPC_LOCK. */
	self->cfg.memlock_late = 2 * self->cfg.guest_size;
	m = status_run(_metadata, self);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, m->cap_prm);
	ASSERT_EQ(0, m->cap_eff);
	ASSERT_EQ(0, m->cap_bnd);
	ASSERT_FALSE(m->report.holder_cap_ipc_lock);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_F_TIMEOUT(sb, holder_ipc_lock, 300)
{
	const struct lu_vmm_msg *m;

	ASSERT_TRUE(cap_ipc_lock_effective());
	self->cfg.memlock_late = self->cfg.guest_size / 2;
	m = status_run(_metadata, self);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(IPC_LOCK_BIT, m->cap_prm);
	ASSERT_EQ(IPC_LOCK_BIT, m->cap_eff);
	ASSERT_EQ(IPC_LOCK_BIT, m->cap_bnd);
	ASSERT_TRUE(m->report.holder_cap_ipc_lock);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_HARNESS_MAIN_LU
