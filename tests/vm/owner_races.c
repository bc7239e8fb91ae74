// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_CHANGE_DMA_OWNER racing itself, the owner's exit and the device, on
 * vfio_iommu_lu with the edu device DMAing (docs/ownership.md):
 *
 *   concurrent_change_owner
 *			two forked helpers released by one barrier call
 *			CHANGE_DMA_OWNER at the same moment, 200 rounds over
 *			512 mappings (the test takes ownership back before
 *			each; the log says how often the calls overlapped in
 *			time, rarely under TCG's one host thread): both calls
 *			succeed, exactly one helper ends as the owner (VmLck of
 *			the three processes sums to the mapped size; only the
 *			owner's MAP_DMA of an extra page succeeds, EPERM for the
 *			others), and when the two calls did not overlap in time
 *			the owner is the one that came second; no page is
 *			pinned anew (nr_foll_pin_acquired unchanged).
 *   owner_exits_during_change
 *			40 rounds: a forked child takes ownership and exits at
 *			once while a helper hammers CHANGE_DMA_OWNER from the
 *			moment the child owns (with a varying delay): every
 *			call returns 0 or ESRCH; afterwards the container is
 *			either the helper's (VmLck = size) or torn down
 *			(empty), and the pinned-page counters end at the
 *			baseline.
 *   claim_after_owner_exit
 *			100 rounds: a forked child takes ownership of the
 *			empty container and exits; the test maps as soon as
 *			the child's mm is gone, before the close-on-exit work
 *			ran: the map succeeds, and the dead owner's canary is
 *			not used after being freed (KASAN; a fuzzer find).
 *   dma_during_bounces
 *			a thread keeps edu copying through rotating pages
 *			(device reads a pattern, writes it to another page,
 *			the CPU checks it) while ownership bounces 200 times
 *			between the test and a forked child: no DMA error,
 *			every byte lands, no page pinned anew.
 *   seed_dma_before_commit
 *			the seed's sequence (fork, the holder owns, exec of
 *			this binary with "--post-exec") where the new image
 *			maps the memfd at a new address and lets edu read and
 *			write through the holder's mappings BEFORE staging and
 *			committing, and again between staging and commit: the
 *			bytes arrive in its new mapping; then it commits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)
#define BUF_PAGES	(BUF_SIZE / 4096)
#define PROBE_IOVA	0x1000000ull	/* an extra one-page mapping */
#define RACE_PIECES	512		/* mappings of the concurrent case */
/* At most this long (seconds) per racing case, whatever the kernel. */
#define RACE_SECONDS	15

OWNER_FIXTURE(races, BUF_SIZE);

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* State shared with the forked helpers (MAP_SHARED anonymous page). */
struct shared {
	/* concurrent_change_owner */
	atomic_int arrived;
	double t0[2], t1[2];		/* each racer's call, start and end */
	/* owner_exits_during_change */
	atomic_int owned;		/* the exiting child owns */
	atomic_int stop;		/* the hammer stops */
	int delay;			/* spins before the first call */
	long calls_ok, calls_esrch, calls_other;
	int other_errno;
};

static struct shared *sh;
static uint8_t *buf;		/* the mapped memfd, inherited by fork */
static int go_pipe = -1;	/* read end of the racers' barrier */

static struct shared *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Helper commands: '0'/'1' race as racer 0/1 (wait for the barrier, then
 * CHANGE_DMA_OWNER); 'p' probe ownership (MAP_DMA of one page at
 * PROBE_IOVA, unmapped again); 'h' hammer CHANGE_DMA_OWNER until told to
 * stop.
 */
static int helper_extra(int container, char c, int cmd, int rep)
{
	int i, r, round;
	char b;

	switch (c) {
	case '0':
	case '1':
		i = c - '0';
		if (read(go_pipe, &b, 1) != 1)
			return -EPIPE;
		/* Both on a CPU before either calls: spin until both came
		 * (bounded, in case only one CPU runs them). */
		round = atomic_fetch_add(&sh->arrived, 1) / 2;
		for (long n = 0; n < 50000000 &&
		     atomic_load(&sh->arrived) < 2 * (round + 1); n++)
			;
		sh->t0[i] = now_s();
		r = change_owner(container);
		sh->t1[i] = now_s();
		return r;
	case 'p':
		r = vfio_map(container, buf, PROBE_IOVA, 4096);
		if (!r)
			r = vfio_unmap(container, PROBE_IOVA, 4096);
		return r;
	case 'h':
		while (!atomic_load(&sh->owned) && !atomic_load(&sh->stop))
			;
		for (volatile int n = 0; n < sh->delay; n++)
			;
		do {
			r = change_owner(container);
			if (!r) {
				sh->calls_ok++;
			} else if (r == -ESRCH) {
				sh->calls_esrch++;
			} else {
				sh->calls_other++;
				sh->other_errno = -r;
			}
		} while (!atomic_load(&sh->stop));
		return 0;
	}
	return -EINVAL;
}

TEST_F(races, concurrent_change_owner)
{
	long base = self->base, acquired0, vb, vc, vt;
	int go[2], owner_is, overlapped = 0, ordered = 0;
	struct child ch[2];
	struct reply r[2];
	char two[2] = { 'g', 'g' };
	double t0;

	buf = self->buf;
	sh = shared_page();
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, pipe(go));
	go_pipe = go[0];
	/* Many mappings: each call walks them all, and lasts long enough
	 * for the two to meet in the kernel now and then. */
	for (size_t off = 0; off < BUF_SIZE; off += BUF_SIZE / RACE_PIECES) {
		ASSERT_EQ(0, vfio_map(self->e.container, buf + off,
				      BUF_IOVA + off, BUF_SIZE / RACE_PIECES));
	}
	ASSERT_EQ(0, child_start(&ch[0], self->e.container, helper_extra));
	ASSERT_EQ(0, child_start(&ch[1], self->e.container, helper_extra));

	t0 = now_seconds();
	for (int round = 0; round < 200; round++) {
		/* A debug kernel under TCG gets through a part of them. */
		if (round >= 20 && now_seconds() - t0 > RACE_SECONDS)
			break;
		acquired0 = pin_acquired_now();
		ASSERT_EQ(0, change_owner(self->e.container));
		ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
		/* Both wait on the barrier, then on each other. */
		for (int i = 0; i < 2; i++) {
			char c = '0' + i;

			ASSERT_EQ(1, write(ch[i].cmd, &c, 1));
		}
		ASSERT_EQ(2, write(go[1], two, 2));
		for (int i = 0; i < 2; i++) {
			ASSERT_EQ(sizeof(r[i]), read(ch[i].rep, &r[i],
						     sizeof(r[i])));
		}
		/* Both were alive and inherited the vaddrs: both succeed. */
		ASSERT_EQ(0, r[0].ret) TH_LOG("round %d", round);
		ASSERT_EQ(0, r[1].ret) TH_LOG("round %d", round);
		/* All or nothing: the charge is in exactly one place. */
		vb = vmlck_kb(ch[0].pid);
		vc = vmlck_kb(ch[1].pid);
		vt = vmlck_kb(0);
		ASSERT_EQ(base + BUF_KB, vb + vc + vt) TH_LOG("round %d", round);
		ASSERT_EQ(base, vt);
		ASSERT_TRUE((vb == BUF_KB && !vc) || (vc == BUF_KB && !vb))
			TH_LOG("round %d: VmLck %ld and %ld", round, vb, vc);
		owner_is = vb == BUF_KB ? 0 : 1;
		/* Calls that did not overlap: the second one won. */
		if (sh->t1[0] < sh->t0[1]) {
			ASSERT_EQ(1, owner_is) TH_LOG("round %d", round);
			ordered++;
		} else if (sh->t1[1] < sh->t0[0]) {
			ASSERT_EQ(0, owner_is) TH_LOG("round %d", round);
			ordered++;
		} else {
			overlapped++;
		}
		ASSERT_NO_NEW_PINS(acquired0);
		/* Only the owner may map. */
		ASSERT_EQ(-EPERM, vfio_map(self->e.container, buf, PROBE_IOVA,
					   4096));
		ASSERT_EQ(0, child_do(&ch[owner_is], 'p').ret);
		ASSERT_EQ(-EPERM, child_do(&ch[!owner_is], 'p').ret);
	}
	TH_LOG("calls overlapping in time: %d rounds, one after the other: %d",
	       overlapped, ordered);

	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(0, child_stop(&ch[0]));
	ASSERT_EQ(0, child_stop(&ch[1]));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 3));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	close(go[0]);
	close(go[1]);
}

TEST_F(races, owner_exits_during_change)
{
	long base = self->base, pinned0 = self->pinned0, ok = 0, esrch = 0;
	int kept = 0, torn = 0, status;
	uint32_t avail0 = vfio_dma_avail(self->e.container);
	struct child h;
	struct reply r;
	double t0;
	pid_t a;

	ASSERT_LT(0, avail0);
	buf = self->buf;
	sh = shared_page();
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, child_start(&h, self->e.container, helper_extra));
	srand(1);

	t0 = now_seconds();
	for (int round = 0; round < 40; round++) {
		if (round >= 10 && now_seconds() - t0 > RACE_SECONDS)
			break;
		/* The test owns the mapping again (maps it if torn down). */
		if (vfio_dma_avail(self->e.container) == avail0) {
			ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA,
					      BUF_SIZE));
		} else {
			ASSERT_EQ(0, change_owner(self->e.container));
		}
		ASSERT_EQ(base + BUF_KB, vmlck_kb(0));

		atomic_store(&sh->owned, 0);
		atomic_store(&sh->stop, 0);
		sh->delay = rand() % 200000;
		sh->calls_ok = sh->calls_esrch = sh->calls_other = 0;
		ASSERT_EQ(1, write(h.cmd, "h", 1));

		a = fork();
		ASSERT_LE(0, a);
		if (!a) {
			int ret = change_owner(self->e.container);

			atomic_store(&sh->owned, 1);
			_exit(ret ? 10 : 0);
		}
		ASSERT_EQ(a, waitpid(a, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		/* Keep hammering into the teardown. */
		usleep(20 * 1000);
		atomic_store(&sh->stop, 1);
		ASSERT_EQ(sizeof(r), read(h.rep, &r, sizeof(r)));
		ASSERT_EQ(0, r.ret);
		ASSERT_EQ(0, sh->calls_other)
			TH_LOG("round %d: CHANGE_DMA_OWNER failed with %s",
			       round, strerror(sh->other_errno));
		ok += sh->calls_ok;
		esrch += sh->calls_esrch;

		ASSERT_EQ(base, vmlck_kb(0));
		if (vmlck_kb(h.pid) == BUF_KB) {
			/* The helper took over before the exit. */
			ASSERT_EQ(avail0 - 1, vfio_dma_avail(self->e.container));
			kept++;
		} else {
			/* The exit won: everything went, nothing charged. */
			ASSERT_EQ(0, vfio_wait_torn_down(self->e.container,
							 avail0))
				TH_LOG("round %d: neither owned nor torn down",
				       round);
			ASSERT_EQ(0, vmlck_kb(h.pid));
			ASSERT_EQ(pinned0, pinned_settled(pinned0));
			torn++;
		}
	}
	TH_LOG("helper kept the mapping %d times, torn down %d times; "
	       "calls: %ld returned 0, %ld ESRCH", kept, torn, ok, esrch);

	ASSERT_EQ(0, child_stop(&h));
	if (vfio_dma_avail(self->e.container) != avail0) {
		/* The helper owned at its exit: close-on-exit. */
		ASSERT_EQ(0, vfio_wait_torn_down(self->e.container, avail0));
	}
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	/* Still usable. */
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 4));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

/*
 * Found by the fuzzer (docs/fuzzing.md): a child takes ownership of the
 * EMPTY container and exits; its canary closes and queues the teardown,
 * and the test maps at once, before that work runs.  The claim's arming
 * swept the dead owner's canary off the container's list, freeing it, and
 * then disarmed it through the former owner it still held: a
 * use-after-free (KASAN on the debug kernel).  The window is the work
 * item's latency; the test's EOF on a pipe the child holds comes right
 * after the child's mm is gone (exit_mm precedes exit_files), so most
 * rounds map inside it.
 */
#define CLAIM_ROUNDS	100

TEST_F_TIMEOUT(races, claim_after_owner_exit, 300)
{
	int container = self->e.container;
	long pinned0 = self->pinned0;
	double t0 = now_s();

	for (int round = 0; round < CLAIM_ROUNDS; round++) {
		int fds[2], status;
		pid_t pid;
		char b;

		ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(fds[0]);
			/* Empty container: the child simply becomes the owner. */
			CK(change_owner(container) == 0);
			_exit(0);
		}
		close(fds[1]);
		ASSERT_EQ(0, read(fds[0], &b, 1));	/* EOF: its mm is gone */
		close(fds[0]);
		/* The dead owner's container is empty: anyone may claim it. */
		ASSERT_EQ(0, vfio_map(container, self->buf, BUF_IOVA, PG(1)));
		ASSERT_EQ(0, vfio_unmap(container, BUF_IOVA, PG(1)));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	TH_LOG("%d rounds in %.1f s", CLAIM_ROUNDS, now_s() - t0);
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(self->base, vmlck_kb(0));
}

/* ---- the device keeps copying ---- */

#define ROT_PAGES	64
#define SRC_PAGE	0	/* device reads pages 0..63 */
#define DST_PAGE	256	/* and writes pages 256..319 */

struct dma_loop {
	struct edu *edu;
	uint8_t *buf;
	atomic_int stop;
	atomic_int rounds;
	int err;		/* first DMA error, 0 if none */
	long bad;		/* round whose bytes did not land, or -1 */
	long bad_off;
};

static void *dma_loop_fn(void *arg)
{
	struct dma_loop *d = arg;

	for (unsigned int k = 0; !atomic_load(&d->stop); k++) {
		size_t src = PG(SRC_PAGE + k % ROT_PAGES);
		size_t dst = PG(DST_PAGE + k % ROT_PAGES);
		long off;
		int r;

		fill_pattern(d->buf + src, EDU_DMA_MAX, 100 + k);
		memset(d->buf + dst, 0, EDU_DMA_MAX);
		r = edu_dma(d->edu, BUF_IOVA + src, 0, EDU_DMA_MAX, false);
		if (!r)
			r = edu_dma(d->edu, BUF_IOVA + dst, 0, EDU_DMA_MAX,
				    true);
		if (r) {
			d->err = r;
			break;
		}
		off = check_pattern(d->buf + dst, EDU_DMA_MAX, 100 + k);
		if (off >= 0) {
			d->bad = k;
			d->bad_off = off;
			break;
		}
		atomic_fetch_add(&d->rounds, 1);
	}
	return NULL;
}

TEST_F(races, dma_during_bounces)
{
	struct dma_loop d = { .edu = &self->e.edu, .buf = self->buf, .bad = -1 };
	long base = self->base, acquired0;
	int during0, during;
	struct child ch;
	pthread_t t;

	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE));
	/* Fork the holder before the thread exists. */
	ASSERT_EQ(0, child_start(&ch, self->e.container, NULL));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, pthread_create(&t, NULL, dma_loop_fn, &d));
	during0 = atomic_load(&d.rounds);
	for (int i = 0; i < 200; i++) {
		struct reply r = child_do(&ch, 'o');

		ASSERT_EQ(0, r.ret) TH_LOG("bounce %d", i);
		ASSERT_EQ(BUF_KB, r.vmlck_kb);
		ASSERT_EQ(base, vmlck_kb(0));
		usleep(10 * 1000);
		ASSERT_EQ(0, change_owner(self->e.container));
		ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
		usleep(10 * 1000);
	}
	during = atomic_load(&d.rounds) - during0;
	atomic_store(&d.stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%d DMA round trips during the bounces", during);
	ASSERT_EQ(0, d.err) TH_LOG("edu_dma: %s", strerror(-d.err));
	ASSERT_EQ(-1, d.bad) TH_LOG("round %ld: byte %ld did not land",
				    d.bad, d.bad_off);
	/* The device really was busy while ownership moved. */
	ASSERT_LE(2, during);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

/* ---- the seed's sequence, the device working before the commit ---- */

/* Offsets in the buffer: written by the old VMM's CPU, then the device's
 * source and destination before staging and between staging and commit. */
#define OLD_OFF		0x40000
#define PRE_SRC		0x10000
#define PRE_DST		0x20000
#define STAGED_SRC	0x50000
#define STAGED_DST	0x60000

static void old_vmm(void)
{
	struct child holder;
	struct reexec rx;
	struct edu_env e;
	long acquired0;
	int memfd;

	CK(edu_env_open(&e, &backend_ours) == 0);
	buf = memfd_buffer(BUF_SIZE, &memfd);
	CK(buf != MAP_FAILED);
	CK(vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) == 0);
	CK(edu_dma_round_trip(&e.edu, buf, BUF_IOVA, 1) == 0);
	fill_pattern(buf + OLD_OFF, 0x10000, 42);

	acquired0 = pin_acquired_now();
	CK(acquired0 >= 0);
	CK(child_start(&holder, e.container, NULL) == 0);
	CK(child_do(&holder, 'o').ret == 0);
	CK(vmlck_kb(0) == 0);

	reexec_init(&rx, "--post-exec");
	CK(reexec_fd(&rx, e.container) == 0);
	CK(reexec_fd(&rx, e.edu.device) == 0);
	CK(reexec_fd(&rx, memfd) == 0);
	CK(reexec_child(&rx, &holder) == 0);
	CK(reexec_num(&rx, (uintptr_t)buf) == 0);
	CK(reexec_num(&rx, acquired0) == 0);
	CK(reexec_fd(&rx, e.group) == 0);
	CK(reexec(&rx) == 0);
	CK(!"exec");
}
#define POST_EXEC_ARGS	9

/* The device copies src to dst through the IOMMU; the CPU checks dst in
 * the new mapping: 0 if every byte arrived. */
static int device_copy(struct edu *edu, uint8_t *view, size_t src, size_t dst,
		       unsigned int seed)
{
	fill_pattern(view + src, EDU_DMA_MAX, seed);
	memset(view + dst, 0, EDU_DMA_MAX);
	if (edu_dma(edu, BUF_IOVA + src, 0, EDU_DMA_MAX, false) ||
	    edu_dma(edu, BUF_IOVA + dst, 0, EDU_DMA_MAX, true))
		return -1;
	return check_pattern(view + dst, EDU_DMA_MAX, seed) < 0 ? 0 : -1;
}

static int new_vmm(char **argv)
{
	int container = reexec_arg(argv, 0), device = reexec_arg(argv, 1);
	int memfd = reexec_arg(argv, 2);
	struct child holder = child_from_args(argv, 3);
	uintptr_t old_vaddr = reexec_arg(argv, 6);
	long acquired0 = reexec_arg(argv, 7);
	struct edu edu;
	uint8_t *view;

	CK(edu_adopt(&edu, device) == 0);
	CK(vmlck_kb(0) == 0);
	CK(vmlck_kb(holder.pid) == BUF_KB);
	view = mmap((void *)(old_vaddr + (64u << 20)), BUF_SIZE,
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		    memfd, 0);
	CK(view != MAP_FAILED);
	CK(check_pattern(view + OLD_OFF, 0x10000, 42) < 0);
	/* Before staging: the holder owns, the device reaches the memory. */
	CK(device_copy(&edu, view, PRE_SRC, PRE_DST, 43) == 0);
	CK(vfio_stage_vaddr(container, view, BUF_IOVA, BUF_SIZE) == 0);
	/* Staged, not committed: still the holder's pages, still working. */
	CK(device_copy(&edu, view, STAGED_SRC, STAGED_DST, 44) == 0);
	CK(vmlck_kb(0) == 0);
	CK(vmlck_kb(holder.pid) == BUF_KB);
	CK(change_owner(container) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(vmlck_kb(holder.pid) == 0);
	CK(pin_acquired_now() == acquired0);
	CK(child_stop(&holder) == 0);
	CK(device_copy(&edu, view, PRE_SRC, PRE_DST, 45) == 0);
	CK(vfio_unmap(container, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == 0);
	return 0;
}

TEST(seed_dma_before_commit)
{
	REQUIRE_EDU();
	ASSERT_CHILD_RUNS(old_vmm);
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--post-exec", POST_EXEC_ARGS);

	if (args)
		return new_vmm(args);
	return test_harness_run(argc, argv);
}
