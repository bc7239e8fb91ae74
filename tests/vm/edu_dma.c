// SPDX-License-Identifier: GPL-2.0
/*
 * The test bed's own proof: the edu device copies a pattern from a mapped
 * memfd into its buffer and back to another place in the mapping, through
 * the emulated VT-d, first with the STOCK vfio_iommu_type1 backend (if
 * that fails, nothing else run in the VM means anything), then with ours.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull

FIXTURE(edu) {
	int container;
	int group;
	struct edu edu;
	uint8_t *buf;
};

BACKEND_VARIANTS(edu);

FIXTURE_SETUP(edu)
{
	self->container = self->group = self->edu.device = -1;
	self->buf = NULL;
	REQUIRE_EDU();
	open_edu(&variant->be, &self->container, &self->group);
	/* A second proof, independent of ours: only stock offers
	 * VFIO_UPDATE_VADDR. */
	ASSERT_EQ(!variant->be.ours, ioctl(self->container, VFIO_CHECK_EXTENSION,
					   VFIO_UPDATE_VADDR));
	ASSERT_EQ(0, edu_open(&self->edu, self->group, edu_bdf()));
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(edu)
{
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	edu_close(&self->edu);
	close_fd(&self->group);
	close_fd(&self->container);
}

TEST_F(edu, round_trip)
{
	const uint32_t len = EDU_DMA_MAX;
	const size_t src = 0x1000, dst = 0x10000;
	uint64_t unmapped = 0;

	ASSERT_EQ(0, vfio_map(self->container, self->buf, BUF_IOVA, BUF_SIZE));
	for (unsigned int seed = 1; seed <= 2; seed++) {
		fill_pattern(self->buf + src, len, seed);
		memset(self->buf + dst, 0, len);
		ASSERT_EQ(0, edu_dma(&self->edu, BUF_IOVA + src, 0, len, false));
		ASSERT_EQ(0, edu_dma(&self->edu, BUF_IOVA + dst, 0, len, true));
		ASSERT_EQ(0, memcmp(self->buf + src, self->buf + dst, len));
	}
	ASSERT_EQ(0, vfio_unmap_raw(self->container,
				    sizeof(struct vfio_iommu_type1_dma_unmap), 0,
				    BUF_IOVA, BUF_SIZE, &unmapped));
	ASSERT_EQ(BUF_SIZE, unmapped);
}

TEST_F(edu, unmapped_iova_is_blocked)
{
	const uint32_t len = 1024;
	const size_t off = 0x2000;

	/* Load the device buffer from a live mapping, then unmap it: a write
	 * back to the old IOVA must be stopped by the IOMMU. */
	ASSERT_EQ(0, vfio_map(self->container, self->buf, BUF_IOVA, BUF_SIZE));
	memset(self->buf + off, 0xa5, len);
	ASSERT_EQ(0, edu_dma(&self->edu, BUF_IOVA + off, 0, len, false));
	ASSERT_EQ(0, vfio_unmap(self->container, BUF_IOVA, BUF_SIZE));
	memset(self->buf + off, 0, len);
	ASSERT_EQ(0, edu_dma(&self->edu, BUF_IOVA + off, 0, len, true));
	for (uint32_t i = 0; i < len; i++)
		ASSERT_EQ(0, self->buf[off + i]);
}

TEST_HARNESS_MAIN
