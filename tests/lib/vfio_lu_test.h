/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfio_lu_test.h - everything a VM test of vfio_iommu_lu includes: one
 * header, several files behind it, one per concern:
 *
 *   vfio_util.h	containers, groups, backends (backend_set() proves which
 *			one answered), map/unmap, VFIO_CHANGE_DMA_OWNER, VmLck
 *			and pinned-page readers (vfio_util.c)
 *   edu.h		QEMU's edu device: a real DMA engine behind the IOMMU
 *   mdev_util.h	the test mdev (tests/kmod/): pin, unpin, dma_rw, status
 *   child.h		a helper child obeying one-byte commands (fork scenarios)
 *   reexec.h		exec of the test binary with descriptors preserved
 *   lu_vmm.h		the test binary as a VMM updated by the orchestrator
 *			library (lu_vmm.c, built only into the liveupdate_*
 *			suites, which link libliveupdate)
 *   fail_nth.h		per-task fault injection on the debug kernel
 *			(fail-nth sweeps, docs/fault-injection.md)
 *   below		IOMMU info decoding, capabilities and rlimits, byte
 *			patterns (common.c), dirty tracking ioctls (dirty.c)
 *
 * Plain helpers (0 or -errno) are always declared; the kselftest-harness
 * parts (backend variants, skips, setup helpers, assertion macros, helper
 * triples) only when the file including this one has included
 * kselftest_harness.h first.  The triples follow
 * tools/testing/selftests/iommu: _test_cmd_x() returns the raw result,
 * test_cmd_x() asserts success, test_err_x(E, ...) asserts -E.
 */
#ifndef VFIO_LU_TEST_H
#define VFIO_LU_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "vfio_util.h"
#include "edu.h"
#include "mdev_util.h"
#include "child.h"
#include "reexec.h"
#include "lu_vmm.h"
#include "fail_nth.h"

#define MAP_RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_1M		0x100000ull
#define SZ_2M		0x200000ull
#define PAGE_SZ		SZ_4K
/* Bytes of n pages. */
#define PG(n)		((uint64_t)(n) * PAGE_SZ)

/* What VFIO_IOMMU_GET_INFO reported, capability chain decoded. */
#define INFO_MAX_CAPS	16
#define INFO_MAX_RANGES	32
struct iommu_info {
	uint32_t argsz;			/* as returned with a large buffer */
	uint32_t argsz_needed;		/* as returned with no room for caps */
	uint32_t flags;
	uint64_t pgsizes;
	uint32_t cap_offset;
	int nr_caps;
	uint16_t cap_id[INFO_MAX_CAPS];
	uint16_t cap_version[INFO_MAX_CAPS];
	uint32_t nr_ranges;
	struct { uint64_t start, end; } range[INFO_MAX_RANGES];	/* inclusive */
	bool has_dma_avail;
	uint32_t dma_avail;
	bool has_migration;
	uint32_t mig_flags;
	uint64_t mig_pgsize_bitmap;
	uint64_t mig_max_dirty_bitmap_size;
};

/* VFIO_IOMMU_GET_INFO with a 64 KiB buffer, chain checked for sanity
 * (in bounds, forward-linked, no loop): 0, -errno, or -EPROTO if the
 * chain is malformed. */
int iommu_info_get(int container, struct iommu_info *info);
/* Index of capability id in info, -1 if absent. */
int iommu_info_find_cap(const struct iommu_info *info, uint16_t id);
/* Does [start, last] lie entirely inside one reported IOVA range?  With
 * no IOVA range capability (emulated-IOMMU-only containers) everything is
 * valid. */
bool iova_range_valid(const struct iommu_info *info, uint64_t start,
		      uint64_t last);
/* The reserved hole (gap between two reported ranges) containing addr:
 * true and *first, *last set, or false. */
bool iova_hole_at(const struct iommu_info *info, uint64_t addr,
		  uint64_t *first, uint64_t *last);

/* Is /sys/module/<name> present? */
bool module_loaded(const char *name);
/* Does the running kernel have lockdep (the debug kernel)? */
bool kernel_has_lockdep(void);

/* CAP_IPC_LOCK in the effective set? */
bool cap_ipc_lock_effective(void);
/* Drop CAP_IPC_LOCK from the bounding, effective, permitted and
 * inheritable sets of the calling thread (the process must be single
 * threaded).  0 or -errno. */
int drop_cap_ipc_lock(void);
/* setrlimit(RLIMIT_MEMLOCK) soft = hard = bytes.  0 or -errno. */
int set_memlock_limit(uint64_t bytes);

/* A private anonymous or memfd-backed buffer: see vfio_util.h for
 * memfd_buffer().  A read-only shared memfd mapping of size bytes whose
 * content is pattern-filled through a writable alias first. */
void *memfd_buffer_ro(size_t size);
/* An address range of size bytes with nothing mapped (reserved then
 * unmapped).  NULL on error. */
void *unmapped_hole(size_t size);

/* Deterministic byte patterns. */
void fill_pattern(void *buf, size_t len, unsigned int seed);
/* Offset of the first byte differing from the pattern, or -1. */
long check_pattern(const void *buf, size_t len, unsigned int seed);

/* Mappings the container may still create (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL),
 * 0 if unreadable: a probe that changes nothing. */
uint32_t vfio_dma_avail(int container);
/* Close-on-exit tears a dead owner's mappings down in a work item after
 * its mm is gone: wait (up to 5 s) until DMA_AVAIL is back to avail0.
 * Return: mappings still there (0 once torn down), ~0 if unreadable. */
uint32_t vfio_wait_torn_down(int container, uint32_t avail0);

/*
 * Memory nobody serves yet (userfault.c): size bytes of private memory
 * registered with a userfaultfd (missing pages), so that whoever touches
 * it waits for userspace until uffd_serve() fills it with zeros.
 */
struct uffd_page {
	int uffd;
	void *page;
	size_t size;
};
/* 0 or -errno (-ENOSYS or -EPERM: no userfaultfd for this process). */
int uffd_page_open(struct uffd_page *u, size_t size);
void uffd_page_close(struct uffd_page *u);
/* Is a fault on it pending (waiting up to ms)? */
bool uffd_fault_pending(struct uffd_page *u, int ms);
/* Answer the pending fault: the whole range reads zeros.  0 or -errno. */
int uffd_serve(struct uffd_page *u);

/* A test mdev pin of one page, timed, for a thread (pthread_create()). */
struct timed_pin {
	int device;
	uint64_t iova;
	uint32_t flags;		/* VFIO_LU_TEST_MDEV_PIN_* */
	int ret;		/* out: 0 or -errno */
	double seconds;		/* out: how long it took */
};
void *timed_pin_fn(void *arg);

/* VFIO_IOMMU_DIRTY_PAGES with flag START or STOP: 0 or -errno. */
int dirty_flag(int container, uint32_t flag);
/* GET_BITMAP of [iova, iova + size) into bits (left as it is before:
 * the caller prepares its content).  0 or -errno. */
int dirty_get_bitmap(int container, uint64_t iova, uint64_t size,
		     uint64_t pgsize, void *bits, uint64_t bits_size);
/* UNMAP_DMA with GET_DIRTY_BITMAP (and flags); *unmapped (optional)
 * receives the size the kernel reports.  0 or -errno. */
int dirty_unmap_bitmap(int container, uint64_t iova, uint64_t size,
		       uint32_t flags, uint64_t pgsize, void *bits,
		       uint64_t bits_size, uint64_t *unmapped);

/*
 * For the processes of a fork/exec scenario that are not the harness's
 * (old VMM, holder, new VMM): they report by exit status, never with the
 * harness's assertions.  Exit 1 with the failed condition on stderr.
 */
#define CK(cond) do {							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s failed (errno %d)\n",	\
			__FILE__, __LINE__, #cond, errno);		\
		_exit(1);						\
	}								\
} while (0)


#ifdef __KSELFTEST_HARNESS_H

/*
 * The harness's per-test alarm is a hang guard, not a time limit: 30 s
 * is too short for it here.  Under TCG a test runs tens of times slower
 * than on hardware, and the debug kernel (KASAN, lockdep, kmemleak) on a
 * loaded host slower again: loops of 40 to 1000 handoffs that take 15 s
 * on an idle host took more than 30 s in CI.  How fast things are is the
 * benchmarks' business (bench/, docs/performance.md).
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

/*
 * A fixture run once per backend:
 *   FIXTURE(x) {...};  BACKEND_VARIANTS(x);
 * whose setup sets variant->be on the container (open_edu(), open_mdev()
 * or ASSERT_BACKEND()).  Cases that only one backend can run belong in a
 * fixture of their own, not here: a SKIP means the environment lacks
 * something, never "not this backend".
 */
#define BACKEND_VARIANTS(fixture)					\
	FIXTURE_VARIANT(fixture) { struct backend be; };		\
	FIXTURE_VARIANT_ADD(fixture, stock) { .be = BACKEND_STOCK };	\
	FIXTURE_VARIANT_ADD(fixture, ours) { .be = BACKEND_OURS }

/* What a test needs from the VM (tools/vm-run provides both). */
#define NO_EDU	"no edu device (EDU_GROUP unset: not run by tools/vm-run?)"
#define NO_MDEV	"the test mdev parent is not registered (load "		\
		"vfio_lu_test_mdev.ko: tools/vm-run --insmod)"
#define REQUIRE_EDU() do {						\
	if (edu_group_nr() < 0 || !edu_bdf())				\
		SKIP(return, NO_EDU);					\
} while (0)
#define REQUIRE_MDEV() do {						\
	if (!test_mdev_available())					\
		SKIP(return, NO_MDEV);					\
} while (0)

/* backend_set() on container, asserted, saying what went wrong. */
#define ASSERT_BACKEND(container, be) do {				\
	int __r = backend_set((container), (be));			\
	if (__r && __r != -EPROTO && (be)->ours &&			\
	    !module_loaded(OURS_MODULE))				\
		TH_LOG("%s is not loaded in this VM", OURS_MODULE);	\
	ASSERT_EQ(0, __r)						\
		TH_LOG("VFIO_SET_IOMMU(%s): %s", (be)->name,		\
		       __r == -EPROTO ? "the wrong backend answered" :	\
		       strerror(-__r));					\
} while (0)

/*
 * Container + edu group + backend be, proven: *container and *group set
 * (-1 on failure, for the teardown).  Call REQUIRE_EDU() first.
 */
static inline void __open_edu(struct __test_metadata *_metadata,
			      const struct backend *be, int *container,
			      int *group)
{
	*container = vfio_open_container();
	ASSERT_LE(0, *container);
	*group = vfio_open_group(*container, edu_group_nr());
	ASSERT_LE(0, *group);
	ASSERT_BACKEND(*container, be);
}
#define open_edu(be, container, group)					\
	__open_edu(_metadata, (be), (container), (group))

/*
 * Container + a new test mdev instance + backend be, proven, device open:
 * *container and *m set (test_mdev_destroy() in the teardown).  Call
 * REQUIRE_MDEV() first.
 */
static inline void __open_mdev(struct __test_metadata *_metadata,
			       const struct backend *be, int *container,
			       struct test_mdev *m)
{
	int r;

	ASSERT_EQ(0, test_mdev_create(m));
	r = test_mdev_container_open(m, be, container);
	if (r && r != -EPROTO && be->ours && !module_loaded(OURS_MODULE))
		TH_LOG("%s is not loaded in this VM", OURS_MODULE);
	ASSERT_EQ(0, r) TH_LOG("test mdev with %s: %s", be->name,
			       r == -EPROTO ? "the wrong backend answered" :
			       strerror(-r));
}
#define open_mdev(be, container, m)					\
	__open_mdev(_metadata, (be), (container), (m))

/*
 * The edu device in a container of backend be, proven, device open: *e
 * (edu_env_close() in the teardown; set it to EDU_ENV_NONE before any
 * SKIP).  Call REQUIRE_EDU() first.
 */
static inline void __open_edu_env(struct __test_metadata *_metadata,
				  const struct backend *be, struct edu_env *e)
{
	int r = edu_env_open(e, be);

	ASSERT_EQ(0, r) TH_LOG("edu with %s: %s", be->name, strerror(-r));
}
#define open_edu_env(be, e)	__open_edu_env(_metadata, (be), (e))

/*
 * The fixture of the ownership suites (ours only, edu DMAing), as
 *   OWNER_FIXTURE(owner, BUF_SIZE);
 * self->e: the edu device in a container of ours, device open;
 * self->buf: size bytes of shared memfd, not mapped; self->base and
 * self->pinned0: VmLck and the pages pinned system wide before anything
 * is mapped, asserted readable.
 */
#define OWNER_FIXTURE(name, size)					\
	FIXTURE(name) {							\
		struct edu_env e;					\
		uint8_t *buf;						\
		long base;						\
		long pinned0;						\
	};								\
	FIXTURE_SETUP(name)						\
	{								\
		self->e = (struct edu_env)EDU_ENV_NONE;			\
		REQUIRE_EDU();						\
		open_edu_env(&backend_ours, &self->e);			\
		self->buf = memfd_buffer((size), NULL);			\
		ASSERT_NE(MAP_FAILED, self->buf);			\
		self->base = vmlck_kb(0);				\
		ASSERT_LE(0, self->base);				\
		self->pinned0 = pinned_base();				\
		ASSERT_LE(0, self->pinned0)				\
			TH_LOG("pinned-page counters unreadable");	\
	}								\
	FIXTURE_TEARDOWN(name)						\
	{								\
		edu_env_close(&self->e);				\
		if (self->buf && self->buf != MAP_FAILED)		\
			munmap(self->buf, (size));			\
	}

/*
 * A handoff pins nothing anew: nr_foll_pin_acquired is what it was before
 * (acquired0, from pin_acquired_now()).  The net pinned count would not
 * show a page re-pinned and released again.
 */
#define ASSERT_NO_NEW_PINS(acquired0) do {				\
	ASSERT_LE(0, (acquired0)) TH_LOG("nr_foll_pin_acquired unreadable"); \
	ASSERT_EQ((acquired0), pin_acquired_now())			\
		TH_LOG("pages were pinned during a handoff");		\
} while (0)

/*
 * A helper child (child.h) takes ownership of container: it answers 0,
 * its VmLck is kb afterwards, and nothing was pinned anew.
 */
#define test_cmd_child_owns(ch, container, extra, kb) do {		\
	long __acquired = pin_acquired_now();				\
	struct reply __r;						\
	ASSERT_EQ(0, child_start((ch), (container), (extra)));		\
	__r = child_do((ch), 'o');					\
	ASSERT_EQ(0, __r.ret);						\
	ASSERT_EQ((long)(kb), __r.vmlck_kb);				\
	ASSERT_NO_NEW_PINS(__acquired);					\
} while (0)

/*
 * Run fn() (void, reporting with CK(), exiting 0 on success) in a forked
 * child, as the old VMM of a fork/exec scenario, and assert it succeeded.
 */
#define ASSERT_CHILD_RUNS(fn) do {					\
	int __status;							\
	pid_t __pid = fork();						\
	ASSERT_LE(0, __pid);						\
	if (!__pid) {							\
		fn();							\
		_exit(1);						\
	}								\
	ASSERT_EQ(__pid, waitpid(__pid, &__status, 0));			\
	ASSERT_TRUE(WIFEXITED(__status));				\
	ASSERT_EQ(0, WEXITSTATUS(__status));				\
} while (0)

/* A test_mdev that owns nothing yet (for teardowns). */
#define TEST_MDEV_NONE	{ .uuid = "", .group_nr = -1, .group = -1, .device = -1 }

/*
 * The stock backend cannot take part in mdev cases on a lockdep kernel:
 * vfio_iommu_type1 takes iommu->lock then device_list_lock when a device
 * registers (device open), but holds device_list_lock while an mdev's
 * dma_unmap callback unpins, which takes iommu->lock.  That inversion is
 * real (a device open racing an unmap of pinned pages deadlocks) and
 * lockdep reports it at the first notification, then switches itself
 * off: the run would fail for a stock defect and our backend would go
 * unchecked for the rest of the boot.  The stock reference for these
 * cases comes from the non-debug kernel.
 */
#define STOCK_MDEV_LOCKDEP						\
	"stock vfio_iommu_type1 inverts iommu->lock and "		\
	"device_list_lock between device registration and dma_unmap "	\
	"notification; lockdep would report it and switch off: stock mdev " \
	"cases run on the non-lockdep kernel only"
#define SKIP_STOCK_MDEV_ON_LOCKDEP() do {				\
	if (!variant->be.ours && kernel_has_lockdep())			\
		SKIP(return, "%s", STOCK_MDEV_LOCKDEP);			\
} while (0)
/* The test mdev, in a case run once per backend. */
#define REQUIRE_MDEV_VARIANT() do {					\
	REQUIRE_MDEV();							\
	SKIP_STOCK_MDEV_ON_LOCKDEP();					\
} while (0)

/* Container map/unmap on self->container. */
#define _test_cmd_map_flags(iova, vaddr, size, flags)			\
	vfio_map_raw(self->container,					\
		     sizeof(struct vfio_iommu_type1_dma_map), (flags),	\
		     (uintptr_t)(vaddr), (iova), (size))
#define _test_cmd_map(iova, vaddr, size)				\
	_test_cmd_map_flags(iova, vaddr, size, MAP_RW)
#define test_cmd_map(iova, vaddr, size)					\
	ASSERT_EQ(0, _test_cmd_map(iova, vaddr, size))
#define test_err_map(_errno, iova, vaddr, size)				\
	ASSERT_EQ(-(_errno), _test_cmd_map(iova, vaddr, size))
#define test_cmd_map_flags(iova, vaddr, size, flags)			\
	ASSERT_EQ(0, _test_cmd_map_flags(iova, vaddr, size, flags))
#define test_err_map_flags(_errno, iova, vaddr, size, flags)		\
	ASSERT_EQ(-(_errno), _test_cmd_map_flags(iova, vaddr, size, flags))

#define _test_cmd_unmap_flags(iova, size, flags, unmapped)		\
	vfio_unmap_raw(self->container,					\
		       sizeof(struct vfio_iommu_type1_dma_unmap), (flags), \
		       (iova), (size), (unmapped))
#define _test_cmd_unmap(iova, size, unmapped)				\
	_test_cmd_unmap_flags(iova, size, 0, unmapped)
/* Unmap and check the size the kernel reports. */
#define test_cmd_unmap(iova, size, expect) do {				\
	uint64_t __unmapped = 0xdeadbeefull;				\
	ASSERT_EQ(0, _test_cmd_unmap(iova, size, &__unmapped));	\
	ASSERT_EQ((uint64_t)(expect), __unmapped);			\
} while (0)
#define test_err_unmap(_errno, iova, size)				\
	ASSERT_EQ(-(_errno), _test_cmd_unmap(iova, size, NULL))
#define test_cmd_unmap_all(expect) do {					\
	uint64_t __unmapped = 0xdeadbeefull;				\
	ASSERT_EQ(0, _test_cmd_unmap_flags(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, \
					   &__unmapped));		\
	ASSERT_EQ((uint64_t)(expect), __unmapped);			\
} while (0)

/* Accounting of the calling process and of the whole system. */
#define ASSERT_VMLCK_KB(kb)						\
	ASSERT_EQ((long)(kb), vmlck_kb(0))
#define ASSERT_PINNED(base, pages) do {					\
	ASSERT_LE(0, (base)) TH_LOG("pinned-page counters unreadable");	\
	ASSERT_EQ((long)(pages), pinned_pages_now() - (base));		\
} while (0)

/* Dirty tracking on self->container. */
#define test_cmd_dirty(flag)						\
	ASSERT_EQ(0, dirty_flag(self->container, (flag)))

#endif /* __KSELFTEST_HARNESS_H */
#endif /* VFIO_LU_TEST_H */
