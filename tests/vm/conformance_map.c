// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance, map/unmap shapes: VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA
 * on a container holding the edu device (a real IOMMU domain, so every map
 * pins and every IOVA is checked against the domain's aperture and
 * reserved regions).  Each case runs on the stock vfio_iommu_type1 and on
 * vfio_iommu_lu (FIXTURE_VARIANT) and must give the same result on both;
 * the expected values are what the stock backend does (Linux 6.12).
 *
 * Ranges in this file: iova/size pairs, i.e. [iova, iova + size).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(4 * SZ_1M)
#define IOVA		0x100000ull		/* 1 MiB */
#define MSI_FIRST	0xfee00000ull		/* VT-d interrupt range */
#define MSI_LAST	0xfeefffffull

FIXTURE(map) {
	int container;
	int group;
	uint8_t *buf;
	struct iommu_info info;
	long pinned_base;
};

BACKEND_VARIANTS(map);

FIXTURE_SETUP(map)
{
	self->container = self->group = -1;
	REQUIRE_EDU();
	self->pinned_base = pinned_pages_now();
	ASSERT_LE(0, self->pinned_base);
	open_edu(&variant->be, &self->container, &self->group);
	ASSERT_EQ(0, iommu_info_get(self->container, &self->info));
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(map)
{
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	close_fd(&self->group);
	close_fd(&self->container);
}

/* ---- basic ---- */

TEST_F(map, map_unmap_4k)
{
	test_cmd_map(IOVA, self->buf, SZ_4K);
	test_cmd_unmap(IOVA, SZ_4K, SZ_4K);
}

TEST_F(map, map_unmap_2m_aligned)
{
	test_cmd_map(SZ_2M, self->buf, SZ_2M);
	test_cmd_unmap(SZ_2M, SZ_2M, SZ_2M);
}

TEST_F(map, map_unmap_whole_buffer)
{
	test_cmd_map(IOVA, self->buf, BUF_SIZE);
	ASSERT_PINNED(self->pinned_base, BUF_SIZE / PAGE_SZ);
	test_cmd_unmap(IOVA, BUF_SIZE, BUF_SIZE);
	ASSERT_PINNED(self->pinned_base, 0);
}

TEST_F(map, map_at_iova_zero)
{
	test_cmd_map(0, self->buf, SZ_64K);
	test_cmd_unmap(0, SZ_64K, SZ_64K);
}

TEST_F(map, map_read_only_and_write_only)
{
	test_cmd_map_flags(IOVA, self->buf, SZ_64K, VFIO_DMA_MAP_FLAG_READ);
	test_cmd_map_flags(IOVA + SZ_64K, self->buf, SZ_64K, VFIO_DMA_MAP_FLAG_WRITE);
	test_cmd_unmap(IOVA, 2 * SZ_64K, 2 * SZ_64K);
}

TEST_F(map, remap_after_unmap)
{
	for (int i = 0; i < 3; i++) {
		test_cmd_map(IOVA, self->buf + i * SZ_64K, SZ_64K);
		test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	}
}

/* One memory range at several IOVAs: allowed, each mapping pins it. */
TEST_F(map, same_vaddr_at_two_iovas)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_map(IOVA + SZ_1M, self->buf, SZ_64K);
	ASSERT_PINNED(self->pinned_base, 2 * SZ_64K / PAGE_SZ);
	test_cmd_unmap(IOVA, 2 * SZ_1M, 2 * SZ_64K);
	ASSERT_PINNED(self->pinned_base, 0);
}

TEST_F(map, private_anonymous_memory)
{
	void *anon = mmap(NULL, SZ_64K, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, anon);
	test_cmd_map(IOVA, anon, SZ_64K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	munmap(anon, SZ_64K);
}

/* ---- argument shapes MAP_DMA refuses ---- */

TEST_F(map, map_zero_size)
{
	test_err_map(EINVAL, IOVA, self->buf, 0);
}

TEST_F(map, map_no_prot)
{
	test_err_map_flags(EINVAL, IOVA, self->buf, SZ_4K, 0);
}

TEST_F(map, map_unaligned_iova)
{
	test_err_map(EINVAL, IOVA + 1, self->buf, SZ_4K);
	test_err_map(EINVAL, IOVA + 0x800, self->buf, SZ_4K);
}

TEST_F(map, map_unaligned_vaddr)
{
	test_err_map(EINVAL, IOVA, self->buf + 1, SZ_4K);
	test_err_map(EINVAL, IOVA, self->buf + 0x800, SZ_4K);
}

TEST_F(map, map_unaligned_size)
{
	test_err_map(EINVAL, IOVA, self->buf, 1);
	test_err_map(EINVAL, IOVA, self->buf, SZ_4K + 0x200);
	test_err_map(EINVAL, IOVA, self->buf, SZ_4K - 1);
}

TEST_F(map, map_iova_wraps)
{
	test_err_map(EINVAL, ~0ull - SZ_4K + 1, self->buf, 2 * SZ_4K);
	test_err_map(EINVAL, 1ull << 63, self->buf, 1ull << 63);
}

TEST_F(map, map_vaddr_wraps)
{
	test_err_map(EINVAL, IOVA, (void *)(uintptr_t)(~0ull - SZ_4K + 1), 2 * SZ_4K);
}

/* Nothing is left behind by a refused map: the IOVA range is free. */
TEST_F(map, refused_maps_leave_nothing)
{
	test_err_map(EINVAL, IOVA, self->buf, 0);
	test_err_map(EINVAL, IOVA + 1, self->buf, SZ_4K);
	test_err_map_flags(EINVAL, IOVA, self->buf, SZ_4K, 0);
	test_cmd_unmap(0, 1ull << 39, 0);
	ASSERT_PINNED(self->pinned_base, 0);
	ASSERT_VMLCK_KB(0);
}

/* ---- overlapping maps ---- */

static void map_three(struct __test_metadata *_metadata,
		      FIXTURE_DATA(map) *self)
{
	/* [IOVA, +64K) [IOVA+128K, +64K) [IOVA+256K, +64K) */
	for (int i = 0; i < 3; i++) {
		test_cmd_map(IOVA + i * 2 * SZ_64K, self->buf + i * SZ_64K, SZ_64K);
	}
}

TEST_F(map, overlap_exact)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA, self->buf + SZ_64K, SZ_64K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, overlap_head)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA - SZ_4K, self->buf, 2 * SZ_4K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, overlap_tail)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA + SZ_64K - SZ_4K, self->buf, 2 * SZ_4K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, overlap_inside)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA + SZ_4K, self->buf, SZ_4K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, overlap_covering)
{
	test_cmd_map(IOVA + SZ_64K, self->buf, SZ_64K);
	test_err_map(EEXIST, IOVA, self->buf, 4 * SZ_64K);
	test_cmd_unmap(IOVA + SZ_64K, SZ_64K, SZ_64K);
}

TEST_F(map, overlap_spanning_two)
{
	map_three(_metadata, self);
	/* From inside the first to inside the second, and across a gap. */
	test_err_map(EEXIST, IOVA + SZ_4K, self->buf, 2 * SZ_64K);
	test_err_map(EEXIST, IOVA + SZ_64K, self->buf, 2 * SZ_64K);
	test_cmd_unmap(IOVA, 6 * SZ_64K, 3 * SZ_64K);
}

TEST_F(map, adjacent_maps)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_map(IOVA + SZ_64K, self->buf + SZ_64K, SZ_64K);
	test_cmd_map(IOVA - SZ_64K, self->buf + 2 * SZ_64K, SZ_64K);
	test_cmd_unmap(IOVA - SZ_64K, 3 * SZ_64K, 3 * SZ_64K);
}

TEST_F(map, fill_gap_between)
{
	map_three(_metadata, self);
	test_cmd_map(IOVA + SZ_64K, self->buf, SZ_64K);
	/* The first, the filler and the second; then the third. */
	test_cmd_unmap(IOVA, 4 * SZ_64K, 3 * SZ_64K);
	test_cmd_unmap(IOVA, 8 * SZ_64K, SZ_64K);
}

/* ---- memory that cannot be pinned ---- */

TEST_F(map, unmapped_vaddr)
{
	void *hole = unmapped_hole(SZ_64K);

	ASSERT_NE(NULL, hole);
	test_err_map(EFAULT, IOVA, hole, SZ_64K);
	ASSERT_PINNED(self->pinned_base, 0);
	ASSERT_VMLCK_KB(0);
	/* The IOVA is free again. */
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, prot_none_vaddr)
{
	void *p = mmap(NULL, SZ_64K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	test_err_map(EFAULT, IOVA, p, SZ_64K);
	test_err_map_flags(EFAULT, IOVA, p, SZ_64K, VFIO_DMA_MAP_FLAG_READ);
	ASSERT_PINNED(self->pinned_base, 0);
	munmap(p, SZ_64K);
}

/* Memory followed by a hole: the map pins the head, fails on the hole,
 * and must unpin the head again. */
TEST_F(map, vaddr_runs_into_hole)
{
	uint8_t *area = mmap(NULL, 2 * SZ_1M, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;
	void *head = memfd_buffer(SZ_1M, &fd);

	ASSERT_NE(MAP_FAILED, area);
	ASSERT_NE(MAP_FAILED, head);
	munmap(head, SZ_1M);
	ASSERT_EQ(area, mmap(area, SZ_1M, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED, fd, 0));
	munmap(area + SZ_1M, SZ_1M);
	close(fd);

	test_err_map(EFAULT, IOVA, area, 2 * SZ_1M);
	ASSERT_PINNED(self->pinned_base, 0);
	ASSERT_VMLCK_KB(0);
	test_cmd_unmap(0, 1ull << 39, 0);
	test_cmd_map(IOVA, area, SZ_1M);
	test_cmd_unmap(IOVA, SZ_1M, SZ_1M);
	munmap(area, SZ_1M);
}

/* Read-only memory: a device-writable map cannot pin it; read-only can. */
TEST_F(map, read_only_memory)
{
	void *ro = memfd_buffer_ro(SZ_64K);

	ASSERT_NE(NULL, ro);
	test_err_map(EFAULT, IOVA, ro, SZ_64K);
	test_err_map_flags(EFAULT, IOVA, ro, SZ_64K, VFIO_DMA_MAP_FLAG_WRITE);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_map_flags(IOVA, ro, SZ_64K, VFIO_DMA_MAP_FLAG_READ);
	ASSERT_PINNED(self->pinned_base, SZ_64K / PAGE_SZ);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	ASSERT_PINNED(self->pinned_base, 0);
	munmap(ro, SZ_64K);
}

/* ---- the IOVA ranges of the domain ---- */

TEST_F(map, iova_ranges_reported)
{
	uint64_t first, last;

	ASSERT_TRUE(self->info.flags & VFIO_IOMMU_INFO_CAPS);
	ASSERT_LE(0, iommu_info_find_cap(&self->info,
					 VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	ASSERT_LE(2, self->info.nr_ranges);
	for (uint32_t i = 0; i < self->info.nr_ranges; i++) {
		ASSERT_LE(self->info.range[i].start, self->info.range[i].end);
		if (i)
			ASSERT_LT(self->info.range[i - 1].end + 1,
				  self->info.range[i].start);
	}
	/* VT-d reserves the interrupt range for MSI. */
	ASSERT_TRUE(iova_hole_at(&self->info, MSI_FIRST, &first, &last));
	ASSERT_LE(first, MSI_FIRST);
	ASSERT_GE(last, MSI_LAST);
}

TEST_F(map, map_in_msi_hole)
{
	uint64_t first, last;

	ASSERT_TRUE(iova_hole_at(&self->info, MSI_FIRST, &first, &last));
	test_err_map(EINVAL, first, self->buf, SZ_4K);
	test_err_map(EINVAL, MSI_FIRST, self->buf, SZ_64K);
	test_err_map(EINVAL, last + 1 - SZ_4K, self->buf, SZ_4K);
	/* Straddling either edge, or covering the whole hole. */
	test_err_map(EINVAL, first - SZ_4K, self->buf, 2 * SZ_4K);
	test_err_map(EINVAL, last + 1 - SZ_4K, self->buf, 2 * SZ_4K);
	test_err_map(EINVAL, first - SZ_1M, self->buf, last - first + 1 + 2 * SZ_1M);
	ASSERT_PINNED(self->pinned_base, 0);
	/* Right below and right above are fine. */
	test_cmd_map(first - SZ_4K, self->buf, SZ_4K);
	test_cmd_map(last + 1, self->buf, SZ_4K);
	test_cmd_unmap(first - SZ_4K, last - first + 1 + 2 * SZ_4K, 2 * SZ_4K);
}

TEST_F(map, unmap_in_msi_hole_is_empty)
{
	uint64_t first, last;

	ASSERT_TRUE(iova_hole_at(&self->info, MSI_FIRST, &first, &last));
	test_cmd_unmap(first, last - first + 1, 0);
}

TEST_F(map, map_beyond_aperture)
{
	uint64_t top = self->info.range[self->info.nr_ranges - 1].end;

	if (top == ~0ull)
		SKIP(return, "the domain covers the whole 64-bit IOVA space");
	ASSERT_EQ(0, (top + 1) & (SZ_4K - 1));
	test_err_map(EINVAL, top + 1, self->buf, SZ_4K);
	test_err_map(EINVAL, top + 1 - SZ_4K, self->buf, 2 * SZ_4K);
	test_err_map(EINVAL, (top + 1) * 2, self->buf, SZ_4K);
	ASSERT_PINNED(self->pinned_base, 0);
	/* The last page of the aperture is usable. */
	test_cmd_map(top + 1 - SZ_4K, self->buf, SZ_4K);
	test_cmd_unmap(top + 1 - SZ_4K, SZ_4K, SZ_4K);
}

/* ---- unmap shapes ---- */

TEST_F(map, unmap_nothing_mapped)
{
	test_cmd_unmap(IOVA, SZ_64K, 0);
	test_cmd_unmap(0, 1ull << 63, 0);
}

TEST_F(map, unmap_covering_several)
{
	map_three(_metadata, self);
	/* A range that covers all three and the gaps. */
	test_cmd_unmap(IOVA - SZ_1M, 4 * SZ_1M, 3 * SZ_64K);
	test_cmd_unmap(IOVA, 6 * SZ_64K, 0);
}

TEST_F(map, unmap_one_of_several)
{
	map_three(_metadata, self);
	/* Exactly the middle one, then a range from the first's end to the
	 * third's start (only gaps and the now-free middle). */
	test_cmd_unmap(IOVA + 2 * SZ_64K, SZ_64K, SZ_64K);
	test_cmd_unmap(IOVA + SZ_64K, 3 * SZ_64K, 0);
	test_cmd_unmap(IOVA, 6 * SZ_64K, 2 * SZ_64K);
}

/* Type1v2: an unmap may not bisect a mapping. */
TEST_F(map, unmap_bisect_head)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA - SZ_4K, 2 * SZ_4K);
	test_err_unmap(EINVAL, IOVA - SZ_1M, SZ_1M + SZ_4K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, unmap_bisect_tail)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA + SZ_4K, SZ_64K);
	test_err_unmap(EINVAL, IOVA + SZ_64K - SZ_4K, SZ_1M);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, unmap_middle_split)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA + SZ_4K, SZ_4K);
	test_err_unmap(EINVAL, IOVA, SZ_64K - SZ_4K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

/* A refused unmap over several mappings changes none of them. */
TEST_F(map, unmap_bisect_is_all_or_nothing)
{
	map_three(_metadata, self);
	/* Covers the first two fully and bisects the third. */
	test_err_unmap(EINVAL, IOVA, 5 * SZ_64K - SZ_4K);
	/* Starts inside the first, covers the rest. */
	test_err_unmap(EINVAL, IOVA + SZ_4K, SZ_1M);
	ASSERT_PINNED(self->pinned_base, 3 * SZ_64K / PAGE_SZ);
	test_cmd_unmap(IOVA, 6 * SZ_64K, 3 * SZ_64K);
}

TEST_F(map, unmap_zero_size)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA, 0);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, unmap_unaligned)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA + 1, SZ_64K);
	test_err_unmap(EINVAL, IOVA, SZ_64K + 1);
	test_err_unmap(EINVAL, IOVA, SZ_64K - 1);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(map, unmap_wraps)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_err_unmap(EINVAL, IOVA, ~0ull - SZ_4K + 1);
	test_err_unmap(EINVAL, ~0ull - SZ_4K + 1, 2 * SZ_4K);
	/* Up to the very last page does not wrap. */
	test_cmd_unmap(0, ~0ull - SZ_4K + 1, SZ_64K);
}

TEST_F(map, unmap_all_flag)
{
	map_three(_metadata, self);
	test_cmd_map(SZ_1M * 64, self->buf, SZ_1M);
	test_cmd_unmap_all(3 * SZ_64K + SZ_1M);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap_all(0);
}

TEST_F(map, unmap_all_needs_zero_range)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	ASSERT_EQ(-EINVAL, _test_cmd_unmap_flags(IOVA, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	ASSERT_EQ(-EINVAL, _test_cmd_unmap_flags(0, SZ_64K, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	ASSERT_EQ(-EINVAL, _test_cmd_unmap_flags(IOVA, SZ_64K, VFIO_DMA_UNMAP_FLAG_ALL, NULL));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

/* Mappings on both sides of the MSI hole and at the aperture top. */
TEST_F(map, unmap_all_across_holes)
{
	uint64_t top = self->info.range[self->info.nr_ranges - 1].end;
	uint64_t first, last;

	ASSERT_TRUE(iova_hole_at(&self->info, MSI_FIRST, &first, &last));
	test_cmd_map(0, self->buf, SZ_4K);
	test_cmd_map(first - SZ_4K, self->buf, SZ_4K);
	test_cmd_map(last + 1, self->buf, SZ_4K);
	if (top != ~0ull)
		test_cmd_map(top + 1 - SZ_4K, self->buf, SZ_4K);
	test_cmd_unmap_all(top != ~0ull ? 4 * SZ_4K : 3 * SZ_4K);
}

/* The DMA_AVAIL capability counts the mappings still allowed. */
TEST_F(map, dma_avail_counts_mappings)
{
	struct iommu_info now;
	uint32_t avail = self->info.dma_avail;

	ASSERT_TRUE(self->info.has_dma_avail);
	ASSERT_LT(3, avail);
	map_three(_metadata, self);
	ASSERT_EQ(0, iommu_info_get(self->container, &now));
	ASSERT_EQ(avail - 3, now.dma_avail);
	/* A refused map does not consume an entry. */
	test_err_map(EEXIST, IOVA, self->buf, SZ_4K);
	ASSERT_EQ(0, iommu_info_get(self->container, &now));
	ASSERT_EQ(avail - 3, now.dma_avail);
	test_cmd_unmap(IOVA, 6 * SZ_64K, 3 * SZ_64K);
	ASSERT_EQ(0, iommu_info_get(self->container, &now));
	ASSERT_EQ(avail, now.dma_avail);
}

TEST_HARNESS_MAIN
