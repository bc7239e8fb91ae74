// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep (docs/fault-injection.md), debug kernel only: for
 * every path of ours, fail its 1st, 2nd, ... failure point (slab or page
 * allocation, user copy, and the module's test-only points at iommu_map
 * and pinning, kmod/fault.h) through this thread's fail-nth, until a run
 * reaches no injected failure.  After each run the call either failed
 * with ENOMEM or EFAULT and changed nothing, or succeeded and did all of
 * its work; what is checked is what a VMM sees: VmLck, pages pinned
 * system wide, the mappings the container may still create, the dirty
 * bits, who may map.  The bed fails the run on any kernel report, pages
 * left pinned, or kmemleak objects (tools/vm-run).
 *
 *   iommu.*	container with edu (pages pinned and IOMMU-mapped at MAP_DMA)
 *   mdev.*	container with only the test mdev (pins on demand, dma_rw,
 *		dirty bits of what it writes)
 *   update.commit
 *		the orchestrator's update: the new binary's liveupdate_commit()
 *		(tests/lib/lu_vmm.c arms fail-nth around it); a refused commit
 *		must roll back to the previous binary owning the guest
 *
 * Each sweep prints "# fail-nth <path>: <n> points" (the failure points it
 * reached: the n after which a run had no injected failure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA		0x100000ull
#define GUEST		SZ_64K			/* 16 pages */
#define GUEST_PAGES	(GUEST / PAGE_SZ)
#define HUGE_IOVA	0x400000ull		/* 2 MiB aligned */
#define BITS_WORDS	1			/* 16 pages: one u64 */

/* What a VMM can see of a container and its owner, without changing it. */
struct acct {
	long vmlck_kb;		/* the caller's */
	long pinned;		/* pages pinned system wide */
	uint32_t avail;		/* mappings it may still create */
};

static struct acct acct_now(int container)
{
	struct acct a = {
		.vmlck_kb = vmlck_kb(0),
		.pinned = pinned_pages_now(),
		.avail = vfio_dma_avail(container),
	};

	return a;
}

/* ENOMEM (allocation, pinning, iommu_map) or EFAULT (user copy). */
static bool sane_errno(int ret)
{
	return ret == -ENOMEM || ret == -EFAULT;
}

#define ASSERT_ACCT_EQ(want, got) do {					\
	struct acct __w = (want), __g = (got);				\
	ASSERT_EQ(__w.vmlck_kb, __g.vmlck_kb) TH_LOG("VmLck");		\
	ASSERT_EQ(__w.pinned, __g.pinned) TH_LOG("pinned pages");	\
	ASSERT_EQ(__w.avail, __g.avail) TH_LOG("DMA_AVAIL");		\
} while (0)

/*
 * The sweep: for n = 1, 2, ... arm fail-nth n, evaluate call (0 or
 * -errno) into ret, disarm; check (a statement seeing ret and injected)
 * asserts the outcome and restores the starting state after a success.
 * Ends after the first run with no injected failure, which must succeed.
 */
#define SWEEP(path, call, check) do {					\
	int __n, ret, injected;						\
									\
	ASSERT_EQ(0, fail_nth_setup());					\
	for (__n = 1;; __n++) {						\
		ASSERT_EQ(0, fail_nth_arm(__n));			\
		ret = (call);						\
		injected = fail_nth_disarm();				\
		ASSERT_LE(0, injected);					\
		if (!injected)						\
			ASSERT_EQ(0, ret) TH_LOG("%s with no injected "	\
				"failure: %s", path, strerror(-ret));	\
		if (ret)						\
			ASSERT_TRUE(sane_errno(ret))			\
				TH_LOG("%s, point %d: %s", path, __n,	\
				       strerror(-ret));			\
		check;							\
		if (!injected)						\
			break;						\
		ASSERT_LT(__n, FAIL_NTH_MAX);				\
	}								\
	printf("# fail-nth %s: %d points\n", path, __n - 1);		\
	fflush(stdout);							\
} while (0)

static void *guest_buffer(int *fd)
{
	void *p = memfd_buffer(GUEST, fd);

	if (p != MAP_FAILED)
		fill_pattern(p, GUEST, 7);
	return p;
}

/* Skip, saying why, unless fail-nth reaches the module's points too. */
#define REQUIRE_FAIL_NTH() do {						\
	int __r = fail_nth_setup();					\
	if (__r == -ENOENT)						\
		SKIP(return, "no fault injection: needs the debug kernel " \
		     "and the module's debug build (fail_vfio_iommu_lu)"); \
	ASSERT_EQ(0, __r) TH_LOG("fault injection set-up: %s",		\
				 strerror(-__r));			\
} while (0)

/* ---- container with edu: the IOMMU path ---- */

FIXTURE(iommu) {
	int container, group, memfd;
	void *guest;
	struct acct a0;		/* nothing mapped */
};

FIXTURE_SETUP(iommu)
{
	self->container = self->group = self->memfd = -1;
	REQUIRE_EDU();
	REQUIRE_FAIL_NTH();
	open_edu(&backend_ours, &self->container, &self->group);
	self->guest = guest_buffer(&self->memfd);
	ASSERT_NE(MAP_FAILED, self->guest);
	/* We are the owner, canary armed (it stays): every run of a sweep
	 * by this process takes the same path (see map_dma_new_owner). */
	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA, GUEST));
	self->a0 = acct_now(self->container);
}

FIXTURE_TEARDOWN(iommu)
{
	if (self->container >= 0)
		vfio_unmap_all(self->container);
	close_fd(&self->group);
	close_fd(&self->container);
	close_fd(&self->memfd);
}

/* a0 plus the whole guest mapped, pinned and charged. */
static struct acct mapped(struct acct a, uint64_t size)
{
	a.vmlck_kb += size / 1024;
	a.pinned += size / PAGE_SZ;
	a.avail--;
	return a;
}

TEST_F_TIMEOUT(iommu, get_info, 600)
{
	struct iommu_info info;

	SWEEP("GET_INFO", iommu_info_get(self->container, &info), {
		ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
	});
}

TEST_F_TIMEOUT(iommu, map_dma, 600)
{
	SWEEP("MAP_DMA (owner)", vfio_map(self->container, self->guest, IOVA, GUEST), {
		if (ret) {
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		} else {
			ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
				       acct_now(self->container));
			ASSERT_EQ(0, vfio_unmap(self->container, IOVA, GUEST));
		}
	});
}

TEST_F_TIMEOUT(iommu, map_dma_huge, 600)
{
	long old;
	int fd;
	void *p;

	if (lu_hugepages_reserve(2, &old))
		SKIP(return, "no 2 MiB huge pages to be had");
	fd = memfd_create("fail_nth_huge", MFD_HUGETLB);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, SZ_2M));
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, SZ_2M);
	SWEEP("MAP_DMA (2 MiB huge page)",
	      vfio_map(self->container, p, HUGE_IOVA, SZ_2M), {
		if (ret) {
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		} else {
			/* A huge page counts once per small page pinned. */
			ASSERT_EQ(self->a0.vmlck_kb + 2048, vmlck_kb(0));
			ASSERT_EQ(self->a0.avail - 1,
				  vfio_dma_avail(self->container));
			ASSERT_EQ(0, vfio_unmap(self->container, HUGE_IOVA,
						SZ_2M));
		}
	});
	munmap(p, SZ_2M);
	close(fd);
	lu_hugepages_restore(old);
}

TEST_F_TIMEOUT(iommu, unmap_dma, 600)
{
	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	SWEEP("UNMAP_DMA", vfio_unmap(self->container, IOVA, GUEST), {
		if (ret) {
			ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
				       acct_now(self->container));
		} else {
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
			ASSERT_EQ(0, vfio_map(self->container, self->guest,
					      IOVA, GUEST));
		}
	});
}

/* Staging a vaddr (FLAG_VADDR), then the owner's own commit of it. */
TEST_F_TIMEOUT(iommu, stage_vaddr, 600)
{
	void *view = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->memfd, 0);

	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	SWEEP("MAP_DMA FLAG_VADDR (stage)",
	      vfio_stage_vaddr(self->container, view, IOVA, GUEST), {
		ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
			       acct_now(self->container));
		if (!ret)	/* withdraw */
			ASSERT_EQ(0, vfio_map_raw(self->container,
				sizeof(struct vfio_iommu_type1_dma_map),
				VFIO_DMA_MAP_FLAG_VADDR, 0, 0, 0));
	});
	munmap(view, GUEST);
}

/*
 * The owner commits a vaddr it staged (a second view of the memfd), in
 * turn each view: a failure must keep the staged one (the next run, not
 * staging again, installs it), a success installs it.
 */
TEST_F_TIMEOUT(iommu, change_owner_self, 600)
{
	void *views[2] = { self->guest, NULL };
	int cur = 0;

	views[1] = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED,
			self->memfd, 0);
	ASSERT_NE(MAP_FAILED, views[1]);
	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, views[1], IOVA, GUEST));
	SWEEP("CHANGE_DMA_OWNER (owner, staged vaddr)",
	      change_owner(self->container), {
		ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
			       acct_now(self->container));
		if (!ret) {
			cur = !cur;
			ASSERT_EQ(0, vfio_stage_vaddr(self->container,
						      views[!cur], IOVA,
						      GUEST));
		}
	});
	/* The vaddr last installed is the one device pins go through:
	 * unmapping the other view must not matter. */
	ASSERT_EQ(0, munmap(views[!cur], GUEST));
	ASSERT_EQ(0, vfio_map_raw(self->container,
				  sizeof(struct vfio_iommu_type1_dma_map),
				  VFIO_DMA_MAP_FLAG_VADDR, 0, 0, 0));
	ASSERT_EQ(0, change_owner(self->container));
}

/*
 * ---- a new owner: fresh processes ----
 *
 * The first call that makes a process the owner arms its canary (a vma
 * in its address space, kept until it exits: docs/ownership.md); later
 * calls by the same process do not.  So that every run of a sweep takes
 * the same path, each runs in a new child: it makes its call with
 * fail-nth n, reports, and waits for the parent's checks before it exits.
 */
struct fresh {
	int ret;		/* the call's */
	int injected;		/* fail_nth_disarm() */
	long vmlck0_kb;		/* the child's VmLck before the call */
	long vmlck_kb;		/* and after it */
};
struct fresh_child {
	pid_t pid;
	int go;			/* parent's write end: "exit now" */
};

/* What a fresh child does, unarmed (prep) and armed (call): 0 or -errno. */
typedef int (*fresh_fn)(int container, void *arg);

/* Fork, run prep (if any) then call with fail-nth n in the child, return
 * its report. */
static int fresh_start(struct fresh_child *fc, int container, fresh_fn prep,
		       fresh_fn call, void *arg, unsigned int n,
		       struct fresh *res)
{
	int rep[2], go[2];

	if (pipe(rep) || pipe(go))
		return -errno;
	fc->pid = fork();
	if (fc->pid < 0)
		return -errno;
	if (!fc->pid) {
		struct fresh r = { .ret = -EINVAL };
		char c;

		close(rep[0]);
		close(go[1]);
		r.ret = prep ? prep(container, arg) : 0;
		r.vmlck0_kb = vmlck_kb(0);
		if (!r.ret)
			r.ret = fail_nth_setup();
		if (!r.ret)
			r.ret = fail_nth_arm(n);
		if (!r.ret) {
			r.ret = call(container, arg);
			r.injected = fail_nth_disarm();
		}
		r.vmlck_kb = vmlck_kb(0);
		if (write(rep[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(rep[1]);
	close(go[0]);
	fc->go = go[1];
	if (read(rep[0], res, sizeof(*res)) != sizeof(*res)) {
		close(rep[0]);
		return -EPIPE;
	}
	close(rep[0]);
	return 0;
}

/* Let the child exit and reap it: its exit status, -1 if abnormal. */
static int fresh_end(struct fresh_child *fc)
{
	int st;

	close(fc->go);
	if (waitpid(fc->pid, &st, 0) != fc->pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int fresh_map(int container, void *guest)
{
	return vfio_map(container, guest, IOVA, GUEST);
}

/* MAP_DMA into the empty container by a new process: it becomes the
 * owner (canary armed, pages charged to it); its exit tears it down. */
TEST_F_TIMEOUT(iommu, map_dma_new_owner, 600)
{
	struct fresh_child fc;
	struct fresh r;
	unsigned int n;

	ASSERT_EQ(0, fail_nth_setup());
	for (n = 1;; n++) {
		ASSERT_EQ(0, fresh_start(&fc, self->container, NULL,
					 fresh_map, self->guest, n, &r));
		ASSERT_LE(0, r.injected);
		if (!r.injected)
			ASSERT_EQ(0, r.ret) TH_LOG("no injected failure: %s",
						   strerror(-r.ret));
		if (r.ret) {
			ASSERT_TRUE(sane_errno(r.ret))
				TH_LOG("point %u: %s", n, strerror(-r.ret));
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
			ASSERT_EQ(r.vmlck0_kb, r.vmlck_kb);
		} else {
			struct acct want = mapped(self->a0, GUEST);

			want.vmlck_kb = self->a0.vmlck_kb;	/* ours */
			ASSERT_ACCT_EQ(want, acct_now(self->container));
			ASSERT_EQ(r.vmlck0_kb + GUEST / 1024, r.vmlck_kb);
		}
		ASSERT_EQ(0, fresh_end(&fc));
		/* Close-on-exit: the child's mappings go with it. */
		ASSERT_EQ(0, vfio_wait_torn_down(self->container,
						 self->a0.avail));
		ASSERT_EQ(self->a0.pinned, pinned_settled(self->a0.pinned));
		if (!r.injected)
			break;
		ASSERT_LT(n, FAIL_NTH_MAX);
	}
	printf("# fail-nth MAP_DMA (new owner): %u points\n", n - 1);
}

/* The fork handoff's take-over: a child maps the guest memfd at a new
 * vaddr, drops the old one, stages and commits. */
struct take_arg {
	void *guest;
	int memfd;
};

static int take_prep(int container, void *arg)
{
	struct take_arg *t = arg;
	void *view = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED,
			  t->memfd, 0);

	if (view == MAP_FAILED || munmap(t->guest, GUEST))
		return -errno;
	return vfio_stage_vaddr(container, view, IOVA, GUEST);
}

static int take(int container, void *arg)
{
	(void)arg;
	return change_owner(container);
}

TEST_F_TIMEOUT(iommu, change_owner_child, 600)
{
	struct take_arg t = { self->guest, self->memfd };
	struct fresh_child fc;
	struct fresh r;
	unsigned int n;

	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	ASSERT_EQ(0, fail_nth_setup());
	for (n = 1;; n++) {
		ASSERT_EQ(0, fresh_start(&fc, self->container, take_prep,
					 take, &t, n, &r));
		ASSERT_LE(0, r.injected);
		if (!r.injected)
			ASSERT_EQ(0, r.ret) TH_LOG("no injected failure: %s",
						   strerror(-r.ret));
		if (r.ret) {
			ASSERT_TRUE(sane_errno(r.ret))
				TH_LOG("point %u: %s", n, strerror(-r.ret));
			/* Nothing moved: the parent still owns and pays. */
			ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
				       acct_now(self->container));
			ASSERT_EQ(r.vmlck0_kb, r.vmlck_kb);
		} else {
			ASSERT_EQ(self->a0.vmlck_kb, vmlck_kb(0));
			ASSERT_EQ(r.vmlck0_kb + GUEST / 1024, r.vmlck_kb);
			/* Only the owner maps: the parent may not now. */
			ASSERT_EQ(-EPERM, vfio_map(self->container,
						   self->guest, IOVA + GUEST,
						   PAGE_SZ));
			/* Back to the parent, at its own vaddr (the
			 * mapping's is the child's now). */
			ASSERT_EQ(0, vfio_stage_vaddr(self->container,
						      self->guest, IOVA,
						      GUEST));
			ASSERT_EQ(0, change_owner(self->container));
			ASSERT_ACCT_EQ(mapped(self->a0, GUEST),
				       acct_now(self->container));
		}
		ASSERT_EQ(0, fresh_end(&fc));
		if (!r.injected)
			break;
		ASSERT_LT(n, FAIL_NTH_MAX);
	}
	printf("# fail-nth CHANGE_DMA_OWNER (forked child, staged): %u points\n",
	       n - 1);
}

/* ---- container with only the test mdev ---- */

FIXTURE(mdev) {
	int container, memfd;
	struct test_mdev m;
	void *guest;
	struct acct a0;		/* guest mapped, nothing pinned */
};

FIXTURE_SETUP(mdev)
{
	self->container = self->memfd = -1;
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_MDEV();
	REQUIRE_FAIL_NTH();
	open_mdev(&backend_ours, &self->container, &self->m);
	self->guest = guest_buffer(&self->memfd);
	ASSERT_NE(MAP_FAILED, self->guest);
	ASSERT_EQ(0, vfio_map(self->container, self->guest, IOVA, GUEST));
	self->a0 = acct_now(self->container);
}

FIXTURE_TEARDOWN(mdev)
{
	test_mdev_destroy(&self->m);
	close_fd(&self->container);
	close_fd(&self->memfd);
}

TEST_F_TIMEOUT(mdev, pin, 600)
{
	struct acct want = self->a0;

	want.vmlck_kb += 4 * 4;
	want.pinned += 4;
	SWEEP("mdev pin (vfio_pin_pages, 4 pages)",
	      test_mdev_pin(self->m.device, IOVA + PAGE_SZ, 4, PIN_RW, NULL), {
		if (ret) {
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		} else {
			ASSERT_ACCT_EQ(want, acct_now(self->container));
			ASSERT_EQ(0, test_mdev_unpin(self->m.device,
						     IOVA + PAGE_SZ, 4));
		}
	});
}

TEST_F_TIMEOUT(mdev, dma_rw, 600)
{
	uint8_t buf[256];

	memset(buf, 0xa5, sizeof(buf));
	SWEEP("mdev dma_rw (write)",
	      test_mdev_rw(self->m.device, IOVA + 100, buf, sizeof(buf), true), {
		ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		if (!ret) {
			ASSERT_EQ(0, memcmp((uint8_t *)self->guest + 100, buf,
					    sizeof(buf)));
			fill_pattern(self->guest, GUEST, 7);
		}
	});
	SWEEP("mdev dma_rw (read)",
	      test_mdev_rw(self->m.device, IOVA + 100, buf, sizeof(buf), false), {
		ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		if (!ret)
			ASSERT_EQ(0, memcmp((uint8_t *)self->guest + 100, buf,
					    sizeof(buf)));
	});
}

/* Pages 1 and 3 written by the device: the dirty bits 0b1010. */
#define DIRTY_WANT	0xaull

static void dirty_pages_1_3(struct __test_metadata *_metadata, int device)
{
	uint8_t b = 1;

	ASSERT_EQ(0, test_mdev_rw(device, IOVA + PG(1), &b, 1, true));
	ASSERT_EQ(0, test_mdev_rw(device, IOVA + PG(3), &b, 1, true));
}

TEST_F_TIMEOUT(mdev, dirty_start_stop, 600)
{
	uint64_t bits;

	SWEEP("DIRTY_PAGES START",
	      dirty_flag(self->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), {
		ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
		/* Started or not, as the result says. */
		ASSERT_EQ(ret ? -EINVAL : 0,
			  dirty_get_bitmap(self->container, IOVA, GUEST,
					   PAGE_SZ, &bits, sizeof(bits)));
		if (!ret)
			ASSERT_EQ(0, dirty_flag(self->container,
					VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	});
	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	SWEEP("DIRTY_PAGES STOP",
	      dirty_flag(self->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), {
		ASSERT_EQ(ret ? 0 : -EINVAL,
			  dirty_get_bitmap(self->container, IOVA, GUEST,
					   PAGE_SZ, &bits, sizeof(bits)));
		if (!ret)
			ASSERT_EQ(0, dirty_flag(self->container,
					VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	});
}

TEST_F_TIMEOUT(mdev, dirty_get_bitmap, 600)
{
	uint64_t bits;

	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	/* Clear what START marked, then dirty two pages. */
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, GUEST, PAGE_SZ,
				      &bits, sizeof(bits)));
	dirty_pages_1_3(_metadata, self->m.device);
	SWEEP("DIRTY_PAGES GET_BITMAP",
	      (bits = 0, dirty_get_bitmap(self->container, IOVA, GUEST,
					  PAGE_SZ, &bits, sizeof(bits))), {
		if (ret) {
			/* Nothing reported, nothing cleared: the bits are
			 * still there for an unarmed read (which clears). */
			bits = 0;
			ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA,
						      GUEST, PAGE_SZ, &bits,
						      sizeof(bits)));
		}
		ASSERT_EQ(DIRTY_WANT, bits);
		dirty_pages_1_3(_metadata, self->m.device);
	});
}

TEST_F_TIMEOUT(mdev, unmap_dirty_bitmap, 600)
{
	struct acct unmapped = self->a0;
	uint64_t bits, size;

	unmapped.avail++;
	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, GUEST, PAGE_SZ,
				      &bits, sizeof(bits)));
	dirty_pages_1_3(_metadata, self->m.device);
	SWEEP("UNMAP_DMA GET_DIRTY_BITMAP",
	      (bits = 0, dirty_unmap_bitmap(self->container, IOVA, GUEST, 0,
					    PAGE_SZ, &bits, sizeof(bits),
					    &size)), {
		if (ret) {
			/* Still mapped, bits kept. */
			ASSERT_ACCT_EQ(self->a0, acct_now(self->container));
			bits = 0;
			ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA,
						      GUEST, PAGE_SZ, &bits,
						      sizeof(bits)));
			ASSERT_EQ(DIRTY_WANT, bits);
		} else {
			ASSERT_EQ(GUEST, size);
			ASSERT_EQ(DIRTY_WANT, bits);
			ASSERT_ACCT_EQ(unmapped, acct_now(self->container));
			ASSERT_EQ(0, vfio_map(self->container, self->guest,
					      IOVA, GUEST));
			/* A new mapping starts with every page dirty. */
			ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA,
						      GUEST, PAGE_SZ, &bits,
						      sizeof(bits)));
		}
		dirty_pages_1_3(_metadata, self->m.device);
	});
}

/* ---- the orchestrator's update ---- */

/*
 * Points of the new binary's commit swept one by one.  The commit reaches
 * a hundred or more (reading /proc, messages to the holder, its polling
 * waits) and each run is a whole update (5 to 10 s on the debug
 * kernel), so the test command's sweep takes the first COMMIT_SWEEP,
 * which hold the kernel calls of the handoff (staging, CHANGE_DMA_OWNER,
 * the canary) and the "committed" message, and then every
 * COMMIT_STRIDE-th point.  FAIL_NTH_COMMIT=all in the environment sweeps
 * every point (about 20 minutes on the debug kernel;
 * docs/fault-injection.md).
 *
 * The number of points is not fixed: the wait for the holder to exit
 * polls, and each round's sleep copies its timespec from user space, one
 * point more per round.  So, as in the kernel's iommufd_fail_nth, the
 * sweep ends at the first run that reaches no injected failure (which
 * must have committed cleanly), not at a count taken beforehand; the
 * first run, without injection, only tells the order of magnitude.
 */
#define COMMIT_SWEEP	48
#define COMMIT_STRIDE	8

FIXTURE(update) {
	int unused;
};
FIXTURE_SETUP(update) { }
FIXTURE_TEARDOWN(update) { }

/*
 * One update whose new binary commits with fail-nth n: it commits and
 * owns the guest, or the previous binary, restarted by the holder, owns
 * it again (the commit refused, or the holder never heard of it), with
 * nothing lost or leaked.  *left: what fail-nth read back.
 */
static void commit_run(struct __test_metadata *_metadata,
		       const struct lu_vmm_cfg *cfg0, unsigned int n,
		       long pinned0, int *injected, long *left)
{
	struct lu_vmm_cfg cfg = *cfg0;
	const struct lu_vmm_msg *a, *u, *r;
	struct lu_run run;

	cfg.commit_fail_nth = n;
	ASSERT_EQ(0, lu_vmm_run(&cfg, &run, 180));
	a = lu_run_find(&run, LU_ROLE_ARMED);
	u = lu_run_find(&run, LU_ROLE_UPDATED);
	r = lu_run_find(&run, LU_ROLE_RESTARTED);
	if (!a || (!u && !r))
		LU_RUN_LOG(&run);
	ASSERT_NE(NULL, a) TH_LOG("point %u: the commit did not return", n);
	ASSERT_LE(0, a->commit_injected) TH_LOG("fail-nth in the new binary");
	*injected = a->commit_injected;
	*left = a->commit_left;
	printf("# commit, fail-nth %u: ret %d, %s, %s, %.1f s\n", n, a->ret,
	       *injected ? "injected" : "not injected",
	       u ? "updated" : r ? "rolled back" : "?", run.seconds);
	if (!*injected) {
		ASSERT_EQ(0, a->ret);
		ASSERT_NE(NULL, u);
		assert_lu_owns(u, &cfg, pinned0, true);
		assert_lu_end(&run, pinned0, 0);
		return;
	}
	if (u) {
		assert_lu_owns(u, &cfg, pinned0, false);
	} else {
		ASSERT_NE(NULL, r) TH_LOG("point %u: nobody owns the guest", n);
		assert_lu_owns(r, &cfg, pinned0, false);
	}
	/* The first image's exit depends on how the new binary ended. */
	ASSERT_LU_RUN_CLEAN(&run);
	ASSERT_EQ(pinned0, pinned_settled(pinned0))
		TH_LOG("pages still pinned after the VMM is gone");
}

TEST_F_TIMEOUT(update, commit, 3600)
{
	struct lu_vmm_cfg cfg = lu_vmm_cfg_default();
	const unsigned int probe = 1000000;
	unsigned int n, points, last = 0, swept = 0;
	bool all;
	long pinned0, left;
	int injected;

	REQUIRE_EDU();
	REQUIRE_FAIL_NTH();
	cfg.guest_size = 1u << 20;
	pinned0 = pinned_base();
	ASSERT_LE(0, pinned0);
	/* The run with no injected failure, first: how many points. */
	commit_run(_metadata, &cfg, probe, pinned0, &injected, &left);
	ASSERT_EQ(0, injected);
	points = probe - left;
	printf("# commit: %u points without injection\n", points);
	all = getenv("FAIL_NTH_COMMIT") &&
	      !strcmp(getenv("FAIL_NTH_COMMIT"), "all");
	for (n = 1;; n += all || n < COMMIT_SWEEP ? 1 : COMMIT_STRIDE) {
		/* A run away from the count measured above is a bug, not noise. */
		ASSERT_GT(2 * points + COMMIT_SWEEP, n)
			TH_LOG("point %u still injected: the commit path "
			       "grew far past the %u points measured", n, points);
		commit_run(_metadata, &cfg, n, pinned0, &injected, &left);
		if (!injected)
			break;
		last = n;
		swept++;
	}
	/* The handoff's kernel calls sit in the first points: they must all
	 * have been swept (the run that ended the sweep committed cleanly). */
	ASSERT_LT(COMMIT_SWEEP, n)
		TH_LOG("the sweep ended at point %u, the first run reached %u",
		       n, points);
	if (all)
		printf("# fail-nth liveupdate_commit() (new binary): %u points, "
		       "all swept (%u in the first run)\n", last, points);
	else
		printf("# fail-nth liveupdate_commit() (new binary): %u swept "
		       "(the first %d, then every %dth), point %u the last "
		       "reached, %u not (%u in the first run)\n", swept,
		       COMMIT_SWEEP, COMMIT_STRIDE, last, n, points);
}

TEST_HARNESS_MAIN_LU
