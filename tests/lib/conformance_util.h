/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the conformance suite (tests/vm/conformance_*.c), which runs
 * the same cases against the stock vfio_iommu_type1 backend and against
 * vfio_iommu_lu and requires identical results.  See docs/conformance.md.
 *
 * Plain helpers (0 or -errno) are always declared; the kselftest-harness
 * parts (variants, assertion macros, helper triples) only when the file
 * including this one has included kselftest_harness.h first.  The triples
 * follow tools/testing/selftests/iommu: _test_cmd_x() returns the raw
 * result, test_cmd_x() asserts success, test_err_x(E, ...) asserts -E.
 */
#ifndef CONFORMANCE_UTIL_H
#define CONFORMANCE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "vfio_util.h"

/* One backend under test: the VFIO_SET_IOMMU type that selects it. */
struct backend {
	const char *name;
	unsigned long type;
	bool ours;
};

#define BACKEND_STOCK	{ .name = "stock vfio_iommu_type1", \
			  .type = VFIO_TYPE1v2_IOMMU, .ours = false }
#define BACKEND_OURS	{ .name = "vfio_iommu_lu", \
			  .type = VFIO_LU_TYPE1v2_IOMMU, .ours = true }
#define OURS_MODULE	"vfio_iommu_lu"

#define MAP_RW		(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_1M		0x100000ull
#define SZ_2M		0x200000ull
#define PAGE_SZ		SZ_4K

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

#ifdef __KSELFTEST_HARNESS_H

/*
 * Every conformance fixture runs once per backend:
 *   FIXTURE(x) {...};  BACKEND_VARIANTS(x);
 * and its setup sets variant->be on the container with ASSERT_BACKEND().
 */
#define BACKEND_VARIANTS(fixture)					\
	FIXTURE_VARIANT(fixture) { struct backend be; };		\
	FIXTURE_VARIANT_ADD(fixture, stock) { .be = BACKEND_STOCK };	\
	FIXTURE_VARIANT_ADD(fixture, ours) { .be = BACKEND_OURS }

/*
 * VFIO_SET_IOMMU with the variant's type, then PROVE which backend
 * answered: after SET_IOMMU only the chosen backend answers
 * VFIO_CHECK_EXTENSION, and only vfio_iommu_lu knows its private id.
 * (Catches vfio_iommu_lu loaded with type1v2=1 taking over the stock id.)
 */
#define ASSERT_BACKEND(container, be) do {				\
	int __r = vfio_set_iommu((container), (be)->type);		\
	if (__r && (be)->ours && !module_loaded(OURS_MODULE))		\
		TH_LOG("%s is not loaded in this VM", OURS_MODULE);	\
	ASSERT_EQ(0, __r)						\
		TH_LOG("VFIO_SET_IOMMU(%s): %s", (be)->name,		\
		       strerror(-__r));					\
	ASSERT_EQ((be)->ours ? 1 : 0,					\
		  ioctl((container), VFIO_CHECK_EXTENSION,		\
			VFIO_LU_TYPE1v2_IOMMU))				\
		TH_LOG("the wrong backend answered VFIO_SET_IOMMU(%s)",	\
		       (be)->name);					\
} while (0)

/* Cases that cannot run on our backend yet: SKIP with the reason. */
#define SKIP_IF_OURS(reason) do {					\
	if (variant->be.ours)						\
		SKIP(return, "%s: %s", variant->be.name, reason);	\
} while (0)

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
	ASSERT_EQ((long)(kb), proc_status_kb(0, "VmLck"))
#define ASSERT_PINNED(base, pages)					\
	ASSERT_EQ((long)(pages), pinned_pages_now() - (base))

#endif /* __KSELFTEST_HARNESS_H */
#endif /* CONFORMANCE_UTIL_H */
