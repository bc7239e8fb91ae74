// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance, dirty page tracking as userspace knows it from Type1v2:
 * the migration capability, VFIO_IOMMU_DIRTY_PAGES START / STOP /
 * GET_BITMAP and VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, with the semantics
 * of the seed series: a read reports the pages dirtied since the last
 * read and clears them, pages still pinned are marked again, a page
 * unpinned between two reads is reported by the next read only, and while
 * a device that does not pin (an IOMMU device) is attached every mapped
 * page is dirty.
 *
 * Every case runs on both backends and expects the same answers (the
 * design of ours is in docs/dirty.md).
 *
 * Container: the test mdev (pins on request) and, in one case, the edu
 * device as well.
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
#define NPAGES		64

FIXTURE(dirty) {
	int container;
	int edu_group;
	struct test_mdev mdev;
	uint8_t *buf;
};

BACKEND_VARIANTS(dirty);

FIXTURE_SETUP(dirty)
{
	self->container = self->edu_group = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_MDEV_VARIANT();
	open_mdev(&variant->be, &self->container, &self->mdev);
	self->buf = memfd_buffer(PG(NPAGES), NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, PG(NPAGES));
	test_cmd_map(IOVA, self->buf, PG(NPAGES));
}

FIXTURE_TEARDOWN(dirty)
{
	test_mdev_destroy(&self->mdev);
	close_fd(&self->edu_group);
	close_fd(&self->container);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, PG(NPAGES));
}

/* GET_BITMAP into a zeroed bits. */
static int get_bitmap(int container, uint64_t iova, uint64_t size,
		      uint64_t pgsize, uint64_t *bits, uint64_t bits_size)
{
	memset(bits, 0, bits_size);
	return dirty_get_bitmap(container, iova, size, pgsize, bits, bits_size);
}

/* UNMAP with GET_DIRTY_BITMAP into a zeroed bits. */
static int unmap_get_bitmap(int container, uint64_t iova, uint64_t size,
			    uint64_t *bits, uint64_t bits_size,
			    uint64_t *unmapped)
{
	memset(bits, 0, bits_size);
	return dirty_unmap_bitmap(container, iova, size, 0, PAGE_SZ, bits,
				  bits_size, unmapped);
}

#define START	VFIO_IOMMU_DIRTY_PAGES_FLAG_START
#define STOP	VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP

/* The set bits of the whole mapping's bitmap, as a 64-bit word. */
#define test_cmd_read_dirty(expect) do {				\
	uint64_t __bits[NPAGES / 64];					\
	ASSERT_EQ(0, get_bitmap(self->container, IOVA, PG(NPAGES),	\
				PAGE_SZ, __bits, sizeof(__bits)));	\
	ASSERT_EQ((uint64_t)(expect), __bits[0]);			\
} while (0)

#define BIT(n)	(1ull << (n))

TEST_F(dirty, migration_capability)
{
	struct iommu_info info;

	ASSERT_EQ(0, iommu_info_get(self->container, &info));
	ASSERT_TRUE(info.has_migration);
	EXPECT_EQ(0, info.mig_flags);
	EXPECT_NE(0, info.mig_pgsize_bitmap & PAGE_SZ);
	EXPECT_LT(0, info.mig_max_dirty_bitmap_size);
}

TEST_F(dirty, bitmap_needs_tracking)
{
	uint64_t bits[1];

	ASSERT_EQ(-EINVAL, get_bitmap(self->container, IOVA, PG(NPAGES),
				      PAGE_SZ, bits, sizeof(bits)));
	test_cmd_dirty(START);
	test_cmd_dirty(STOP);
	ASSERT_EQ(-EINVAL, get_bitmap(self->container, IOVA, PG(NPAGES),
				      PAGE_SZ, bits, sizeof(bits)));
}

TEST_F(dirty, bitmap_argument_checks)
{
	uint64_t bits[4];	/* room for 256 pages */
	int c = self->container;

	test_cmd_dirty(START);
	/* Only the smallest page size; a bitmap large enough; page-aligned,
	 * non-empty ranges that do not bisect a mapping or wrap. */
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA, PG(NPAGES), SZ_64K, bits, sizeof(bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA, PG(NPAGES), PAGE_SZ, bits, 4));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA, PG(NPAGES), PAGE_SZ, bits, 0));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA + 1, PG(NPAGES), PAGE_SZ, bits, sizeof(bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA, 0, PAGE_SZ, bits, sizeof(bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA + PG(1), PG(8), PAGE_SZ, bits, sizeof(bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(c, IOVA, PG(8), PAGE_SZ, bits, sizeof(bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(c, ~0ull - PG(1) + 1, PG(2), PAGE_SZ, bits, sizeof(bits)));
	/* A range covering the mapping and more is fine. */
	EXPECT_EQ(0, get_bitmap(c, IOVA - PG(64), PG(NPAGES + 128), PAGE_SZ,
				bits, sizeof(bits)));
}

TEST_F(dirty, pinned_pages_stay_dirty_until_unpinned)
{
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA + PG(3), 1, PIN_RW, NULL));
	test_cmd_dirty(START);		/* pinned before START: marked too */
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA + PG(10), 1, PIN_RW, NULL));
	test_cmd_read_dirty(BIT(3) | BIT(10));
	test_cmd_read_dirty(BIT(3) | BIT(10));
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA + PG(10), 1));
	test_cmd_read_dirty(BIT(3) | BIT(10));	/* once more */
	test_cmd_read_dirty(BIT(3));
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA + PG(3), 1));
	test_cmd_read_dirty(BIT(3));
	test_cmd_read_dirty(0);
	test_cmd_dirty(STOP);
}

TEST_F(dirty, dma_rw_write_reported_once)
{
	uint8_t data[PG(1) + 16];

	memset(data, 0x3c, sizeof(data));
	test_cmd_dirty(START);
	test_cmd_read_dirty(0);
	ASSERT_EQ(0, test_mdev_rw(self->mdev.device, IOVA + PG(5) + 100, data,
				  sizeof(data), true));
	/* A read through dma_rw dirties nothing. */
	ASSERT_EQ(0, test_mdev_rw(self->mdev.device, IOVA + PG(20), data,
				  sizeof(data), false));
	test_cmd_read_dirty(BIT(5) | BIT(6));
	test_cmd_read_dirty(0);
	test_cmd_dirty(STOP);
	/* Not tracked when stopped. */
	ASSERT_EQ(0, test_mdev_rw(self->mdev.device, IOVA, data, 16, true));
	test_cmd_dirty(START);
	test_cmd_read_dirty(0);
}

TEST_F(dirty, unmap_reports_dirty)
{
	uint64_t bits[1], unmapped = 0;
	uint8_t data[16] = { 1 };

	test_cmd_dirty(START);
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA + PG(2), 1, PIN_RW, NULL));
	ASSERT_EQ(0, test_mdev_rw(self->mdev.device, IOVA + PG(7), data,
				  sizeof(data), true));
	ASSERT_EQ(0, unmap_get_bitmap(self->container, IOVA, PG(NPAGES), bits,
				      sizeof(bits), &unmapped));
	ASSERT_EQ(PG(NPAGES), unmapped);
	ASSERT_EQ(BIT(2) | BIT(7), bits[0]);
	/* Without tracking the flag is refused. */
	test_cmd_dirty(STOP);
	test_cmd_map(IOVA, self->buf, PG(NPAGES));
	ASSERT_EQ(-EINVAL, unmap_get_bitmap(self->container, IOVA, PG(NPAGES),
					    bits, sizeof(bits), &unmapped));
}

/* With a device that does not pin (edu, behind the IOMMU) in the
 * container, every mapped page is dirty at every read. */
TEST_F(dirty, iommu_device_dirties_everything)
{
	REQUIRE_EDU();
	self->edu_group = vfio_open_group(self->container, edu_group_nr());
	ASSERT_LE(0, self->edu_group);
	test_cmd_dirty(START);
	test_cmd_read_dirty(~0ull);
	test_cmd_read_dirty(~0ull);
	test_cmd_dirty(STOP);
	close(self->edu_group);
	self->edu_group = -1;
	/* Back to pinned-page scope once it is gone: only what the mdev
	 * pinned (here nothing, as the mdev never pinned). */
	test_cmd_dirty(START);
	test_cmd_read_dirty(0);
}

TEST_HARNESS_MAIN
