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
#include "edu.h"
#include "vfio_util.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull

FIXTURE(edu) {
	int container;
	int group;
	struct edu edu;
	uint8_t *buf;
};

FIXTURE_VARIANT(edu) {
	unsigned long type;	/* for VFIO_SET_IOMMU */
	int ours;		/* which backend must have answered */
};

FIXTURE_VARIANT_ADD(edu, stock) {
	.type = VFIO_TYPE1v2_IOMMU,
	.ours = 0,
};

FIXTURE_VARIANT_ADD(edu, ours) {
	.type = VFIO_LU_TYPE1v2_IOMMU,
	.ours = 1,
};

FIXTURE_SETUP(edu)
{
	int nr = edu_group_nr();

	if (nr < 0 || !edu_bdf())
		SKIP(return, "no edu device (EDU_GROUP unset: not run by tools/vm-run?)");
	self->container = vfio_open_container();
	ASSERT_LE(0, self->container);
	self->group = vfio_open_group(self->container, nr);
	ASSERT_LE(0, self->group);
	ASSERT_EQ(0, vfio_set_iommu(self->container, variant->type));
	/* Prove which backend answered: only ours knows its private id, only
	 * stock offers VFIO_UPDATE_VADDR. */
	ASSERT_EQ(variant->ours, ioctl(self->container, VFIO_CHECK_EXTENSION,
				       VFIO_LU_TYPE1v2_IOMMU));
	ASSERT_EQ(!variant->ours, ioctl(self->container, VFIO_CHECK_EXTENSION,
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
	close(self->group);
	close(self->container);
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

TEST_F(edu, round_trip)
{
	const uint32_t len = EDU_DMA_MAX;
	const size_t src = 0x1000, dst = 0x10000;
	uint64_t unmapped = 0;

	ASSERT_EQ(0, vfio_map(self->container, self->buf, BUF_IOVA, BUF_SIZE));
	for (unsigned int seed = 1; seed <= 2; seed++) {
		fill(self->buf + src, len, seed);
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
