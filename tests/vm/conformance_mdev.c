// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance, mediated devices: a container holding only the test mdev
 * (kmod/test_mdev.c, an emulated-IOMMU device), so nothing is pinned at
 * MAP_DMA time and every pin, unpin and CPU copy goes through the
 * backend's pin_pages / unpin_pages / dma_rw ops, and unmaps of pinned
 * ranges go through the dma_unmap notification.  Each case runs on the
 * stock vfio_iommu_type1 and on vfio_iommu_lu and must give the same
 * result; the expected values are what the stock backend does.
 *
 * Accounting here: without an IOMMU domain the backend charges locked_vm
 * (VmLck) per page pinned for the mdev, once per page however often it is
 * pinned, and the system-wide FOLL_PIN counters move once per page too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(4 * SZ_1M)
#define IOVA		0x100000ull
#define PIN_R		VFIO_LU_TEST_MDEV_PIN_READ
#define PIN_W		VFIO_LU_TEST_MDEV_PIN_WRITE

FIXTURE(mdev) {
	int container;
	struct test_mdev mdev;
	uint8_t *buf;
	long pinned_base;
};

BACKEND_VARIANTS(mdev);

FIXTURE_SETUP(mdev)
{
	self->container = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_MDEV_VARIANT();
	self->pinned_base = pinned_pages_now();
	ASSERT_LE(0, self->pinned_base);
	open_mdev(&variant->be, &self->container, &self->mdev);
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, BUF_SIZE);		/* populate */
}

FIXTURE_TEARDOWN(mdev)
{
	test_mdev_destroy(&self->mdev);
	close_fd(&self->container);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
}

/* Helper triples for the device ioctls, on self->mdev.device. */
#define _test_cmd_pin(iova, npage, flags, pfns)				\
	test_mdev_pin(self->mdev.device, (iova), (npage), (flags), (pfns))
#define test_cmd_pin(iova, npage)					\
	ASSERT_EQ(0, _test_cmd_pin(iova, npage, PIN_RW, NULL))
#define test_cmd_pin_flags(iova, npage, flags)				\
	ASSERT_EQ(0, _test_cmd_pin(iova, npage, flags, NULL))
#define test_err_pin(_errno, iova, npage, flags)			\
	ASSERT_EQ(-(_errno), _test_cmd_pin(iova, npage, flags, NULL))
#define _test_cmd_unpin(iova, npage)					\
	test_mdev_unpin(self->mdev.device, (iova), (npage))
#define test_cmd_unpin(iova, npage)					\
	ASSERT_EQ(0, _test_cmd_unpin(iova, npage))
#define test_err_unpin(_errno, iova, npage)				\
	ASSERT_EQ(-(_errno), _test_cmd_unpin(iova, npage))
#define _test_cmd_rw(iova, data, len, write)				\
	test_mdev_rw(self->mdev.device, (iova), (data), (len), (write))
#define test_cmd_rw(iova, data, len, write)				\
	ASSERT_EQ(0, _test_cmd_rw(iova, data, len, write))
#define test_err_rw(_errno, iova, data, len, write)			\
	ASSERT_EQ(-(_errno), _test_cmd_rw(iova, data, len, write))

/* The driver's bookkeeping: pages and references it holds pinned. */
#define ASSERT_MDEV_PINNED(dev, pages, refs) do {			\
	struct vfio_lu_test_mdev_status __st;				\
	ASSERT_EQ(0, test_mdev_status((dev), &__st));			\
	ASSERT_EQ((uint64_t)(pages), __st.pinned_pages);		\
	ASSERT_EQ((uint64_t)(refs), __st.pin_refs);			\
} while (0)

/* ---- pinning ---- */

TEST_F(mdev, map_alone_pins_nothing)
{
	test_cmd_map(IOVA, self->buf, BUF_SIZE);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, BUF_SIZE, BUF_SIZE);
}

TEST_F(mdev, pin_reports_the_right_pages)
{
	uint64_t pfns[4];

	test_cmd_map(IOVA, self->buf, PG(16));
	memset(pfns, 0, sizeof(pfns));
	ASSERT_EQ(0, _test_cmd_pin(IOVA + PG(1), 4, PIN_RW, pfns));
	for (int i = 0; i < 4; i++) {
		int64_t want = vaddr_to_pfn(self->buf + PG(1 + i));

		ASSERT_LT(0, want);
		ASSERT_EQ((uint64_t)want, pfns[i]) TH_LOG("page %d", i);
	}
	ASSERT_MDEV_PINNED(self->mdev.device, 4, 4);
	ASSERT_VMLCK_KB(16);
	ASSERT_PINNED(self->pinned_base, 4);
	test_cmd_unpin(IOVA + PG(1), 4);
	ASSERT_MDEV_PINNED(self->mdev.device, 0, 0);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

/* The pages behind an IOVA are found through the mapping's vaddr, at any
 * offset of the mapping. */
TEST_F(mdev, pin_follows_the_mapping_offset)
{
	uint64_t pfn;

	test_cmd_map(IOVA, self->buf + SZ_1M, PG(64));
	ASSERT_EQ(0, _test_cmd_pin(IOVA + PG(37), 1, PIN_R, &pfn));
	ASSERT_EQ((uint64_t)vaddr_to_pfn(self->buf + SZ_1M + PG(37)), pfn);
	test_cmd_unpin(IOVA + PG(37), 1);
	test_cmd_unmap(IOVA, PG(64), PG(64));
}

TEST_F(mdev, pin_same_page_twice)
{
	uint64_t a, b;

	test_cmd_map(IOVA, self->buf, PG(16));
	ASSERT_EQ(0, _test_cmd_pin(IOVA, 1, PIN_RW, &a));
	ASSERT_EQ(0, _test_cmd_pin(IOVA, 1, PIN_RW, &b));
	ASSERT_EQ(a, b);
	ASSERT_MDEV_PINNED(self->mdev.device, 1, 2);
	/* Charged and pinned once. */
	ASSERT_VMLCK_KB(4);
	ASSERT_PINNED(self->pinned_base, 1);
	test_cmd_unpin(IOVA, 1);
	ASSERT_VMLCK_KB(4);
	ASSERT_PINNED(self->pinned_base, 1);
	test_cmd_unpin(IOVA, 1);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_F(mdev, pin_overlapping_ranges)
{
	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_pin(IOVA, 4);
	test_cmd_pin(IOVA + PG(2), 4);
	ASSERT_MDEV_PINNED(self->mdev.device, 6, 8);
	ASSERT_VMLCK_KB(24);
	ASSERT_PINNED(self->pinned_base, 6);
	test_cmd_unpin(IOVA, 4);
	ASSERT_VMLCK_KB(16);
	ASSERT_PINNED(self->pinned_base, 4);
	test_cmd_unpin(IOVA + PG(2), 4);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_F(mdev, pin_across_adjacent_mappings)
{
	test_cmd_map(IOVA, self->buf, PG(4));
	test_cmd_map(IOVA + PG(4), self->buf + SZ_1M, PG(4));
	test_cmd_pin(IOVA + PG(2), 4);
	ASSERT_VMLCK_KB(16);
	test_cmd_unpin(IOVA + PG(2), 4);
	test_cmd_unmap(IOVA, PG(8), PG(8));
}

/* A refused pin leaves nothing pinned or charged. */
TEST_F(mdev, pin_unmapped_iova)
{
	test_err_pin(EINVAL, IOVA, 1, PIN_RW);
	test_cmd_map(IOVA, self->buf, PG(16));
	test_err_pin(EINVAL, IOVA + PG(16), 1, PIN_RW);
	test_err_pin(EINVAL, IOVA - PG(1), 1, PIN_RW);
	/* Running over the end, or over the start of the mapping. */
	test_err_pin(EINVAL, IOVA + PG(14), 4, PIN_RW);
	test_err_pin(EINVAL, IOVA - PG(2), 4, PIN_RW);
	ASSERT_MDEV_PINNED(self->mdev.device, 0, 0);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_F(mdev, pin_across_a_gap)
{
	test_cmd_map(IOVA, self->buf, PG(4));
	test_cmd_map(IOVA + PG(5), self->buf + PG(5), PG(4));
	test_err_pin(EINVAL, IOVA + PG(2), 6, PIN_RW);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(9), PG(8));
}

/* The pin's prot must be allowed by the mapping's. */
TEST_F(mdev, pin_prot_checked)
{
	test_cmd_map_flags(IOVA, self->buf, PG(4), VFIO_DMA_MAP_FLAG_READ);
	test_cmd_map_flags(IOVA + PG(4), self->buf + PG(4), PG(4), VFIO_DMA_MAP_FLAG_WRITE);
	test_err_pin(EPERM, IOVA, 1, PIN_W);
	test_err_pin(EPERM, IOVA, 1, PIN_RW);
	test_err_pin(EPERM, IOVA + PG(4), 1, PIN_R);
	test_err_pin(EPERM, IOVA + PG(4), 1, PIN_RW);
	/* A run that becomes forbidden half way is refused as a whole. */
	test_err_pin(EPERM, IOVA + PG(2), 4, PIN_R);
	ASSERT_MDEV_PINNED(self->mdev.device, 0, 0);
	ASSERT_VMLCK_KB(0);
	test_cmd_pin_flags(IOVA, 1, PIN_R);
	test_cmd_pin_flags(IOVA + PG(4), 1, PIN_W);
	/* No prot at all asks for nothing the mapping could refuse. */
	test_cmd_pin_flags(IOVA + PG(1), 1, 0);
	test_cmd_pin_flags(IOVA + PG(5), 1, 0);
	ASSERT_VMLCK_KB(16);
	test_cmd_unmap(IOVA, PG(8), PG(8));
	ASSERT_VMLCK_KB(0);
}

TEST_F(mdev, pin_npage_limits)
{
	test_cmd_map(IOVA, self->buf, SZ_2M + PG(1));
	/* 0 and more than VFIO_PIN_PAGES_MAX_ENTRIES: refused by the core. */
	test_err_pin(EINVAL, IOVA, 0, PIN_RW);
	test_err_pin(E2BIG, IOVA, 513, PIN_RW);
	test_cmd_pin(IOVA, 512);
	ASSERT_VMLCK_KB(2048);
	ASSERT_PINNED(self->pinned_base, 512);
	test_cmd_unpin(IOVA, 512);
	ASSERT_VMLCK_KB(0);
	test_cmd_unmap(IOVA, SZ_2M + PG(1), SZ_2M + PG(1));
}

/* Without an IOMMU domain MAP_DMA does not look at the memory: a mapping
 * of nothing is accepted, and pinning it fails. */
TEST_F(mdev, pin_unmapped_vaddr)
{
	void *hole = unmapped_hole(PG(4));

	ASSERT_NE(NULL, hole);
	test_cmd_map(IOVA, hole, PG(4));
	test_err_pin(EFAULT, IOVA, 1, PIN_RW);
	test_err_pin(EFAULT, IOVA, 1, PIN_R);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(4), PG(4));
}

TEST_F(mdev, pin_read_only_memory)
{
	uint8_t *ro = memfd_buffer_ro(PG(4));
	uint64_t pfn;

	ASSERT_NE(NULL, ro);
	/* Stock accepts a device-writable mapping of read-only memory here
	 * (nothing is pinned at map time).  Pins then fail, even read-only
	 * ones: the memory is pinned with the MAPPING's permissions. */
	test_cmd_map(IOVA, ro, PG(4));
	test_err_pin(EFAULT, IOVA, 1, PIN_W);
	test_err_pin(EFAULT, IOVA, 1, PIN_R);
	test_cmd_unmap(IOVA, PG(4), PG(4));
	test_cmd_map_flags(IOVA, ro, PG(4), VFIO_DMA_MAP_FLAG_READ);
	test_err_pin(EPERM, IOVA, 1, PIN_W);
	ASSERT_EQ(0, _test_cmd_pin(IOVA + PG(1), 1, PIN_R, &pfn));
	ASSERT_EQ((uint64_t)vaddr_to_pfn(ro + PG(1)), pfn);
	test_cmd_unmap(IOVA, PG(4), PG(4));
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	munmap(ro, PG(4));
}

/* ---- the dma_unmap notification ---- */

TEST_F(mdev, unmap_releases_pins)
{
	struct vfio_lu_test_mdev_status st;

	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_map(IOVA + SZ_1M, self->buf + SZ_1M, PG(16));
	test_cmd_pin(IOVA + PG(3), 3);
	test_cmd_pin(IOVA + PG(3), 1);
	test_cmd_pin(IOVA + SZ_1M, 2);
	ASSERT_VMLCK_KB(20);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_LE(1, st.unmap_calls);
	ASSERT_EQ(4, st.unmap_released);
	ASSERT_EQ(2, st.pinned_pages);
	/* What was notified lies inside what was unmapped. */
	ASSERT_LE(IOVA, st.last_unmap_iova);
	ASSERT_GE(IOVA + PG(16), st.last_unmap_iova + st.last_unmap_length);
	ASSERT_VMLCK_KB(8);
	ASSERT_PINNED(self->pinned_base, 2);
	test_cmd_unmap(IOVA + SZ_1M, PG(16), PG(16));
	ASSERT_MDEV_PINNED(self->mdev.device, 0, 0);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* Stock notifies only mappings that have pinned pages. */
TEST_F(mdev, unmap_without_pins_notifies_nothing)
{
	struct vfio_lu_test_mdev_status st;

	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_unmap(IOVA, PG(16), PG(16));
	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_pin(IOVA, 1);
	test_cmd_unpin(IOVA, 1);
	test_cmd_unmap_all(PG(16));
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_EQ(0, st.unmap_calls);
}

TEST_F(mdev, unmap_all_releases_pins)
{
	struct vfio_lu_test_mdev_status st;

	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_map(0x40000000ull, self->buf + SZ_1M, PG(16));
	test_cmd_pin(IOVA, 16);
	test_cmd_pin(0x40000000ull + PG(15), 1);
	test_cmd_unmap_all(PG(32));
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_EQ(17, st.unmap_released);
	ASSERT_EQ(0, st.pin_refs);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* A refused unmap notifies nobody and leaves the pins alone. */
TEST_F(mdev, refused_unmap_keeps_pins)
{
	struct vfio_lu_test_mdev_status st;

	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_pin(IOVA + PG(4), 2);
	test_err_unmap(EINVAL, IOVA + PG(4), PG(2));
	test_err_unmap(EINVAL, IOVA, PG(8));
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_EQ(0, st.unmap_calls);
	ASSERT_EQ(2, st.pin_refs);
	ASSERT_VMLCK_KB(8);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_VMLCK_KB(0);
}

/* Two devices in one container pinning one page: one charge; each device
 * is told to release its own reference. */
TEST_F(mdev, two_devices_share_a_page)
{
	struct test_mdev other;
	struct vfio_lu_test_mdev_status st;
	uint64_t a, b;

	ASSERT_EQ(0, test_mdev_create_in(&other, self->container));
	ASSERT_EQ(0, test_mdev_open_device(&other));
	test_cmd_map(IOVA, self->buf, PG(16));
	ASSERT_EQ(0, _test_cmd_pin(IOVA, 1, PIN_RW, &a));
	ASSERT_EQ(0, test_mdev_pin(other.device, IOVA, 1, PIN_RW, &b));
	ASSERT_EQ(a, b);
	ASSERT_VMLCK_KB(4);
	ASSERT_PINNED(self->pinned_base, 1);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_EQ(1, st.unmap_released);
	ASSERT_EQ(0, test_mdev_status(other.device, &st));
	ASSERT_EQ(1, st.unmap_released);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);

	/* Closing one device releases only its reference. */
	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_pin(IOVA, 1);
	ASSERT_EQ(0, test_mdev_pin(other.device, IOVA, 1, PIN_RW, NULL));
	ASSERT_EQ(0, test_mdev_destroy(&other));
	ASSERT_VMLCK_KB(4);
	ASSERT_PINNED(self->pinned_base, 1);
	test_cmd_unpin(IOVA, 1);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_F(mdev, close_device_releases_pins)
{
	test_cmd_map(IOVA, self->buf, PG(16));
	test_cmd_pin(IOVA, 8);
	test_cmd_pin(IOVA, 2);
	ASSERT_VMLCK_KB(32);
	close(self->mdev.device);
	self->mdev.device = -1;
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	/* The mapping itself stays. */
	test_err_map(EEXIST, IOVA, self->buf, PG(1));
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	ASSERT_MDEV_PINNED(self->mdev.device, 0, 0);
	test_cmd_pin(IOVA, 1);
	ASSERT_VMLCK_KB(4);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_VMLCK_KB(0);
}

/* ---- vfio_dma_rw ---- */

TEST_F(mdev, dma_rw_round_trip)
{
	static uint8_t data[3 * 4096 + 123], back[sizeof(data)];
	const uint64_t off = PG(2) - 77;	/* unaligned, crosses pages */

	test_cmd_map(IOVA, self->buf, PG(16));
	fill_pattern(data, sizeof(data), 1);
	test_cmd_rw(IOVA + off, data, sizeof(data), true);
	ASSERT_EQ(0, memcmp(self->buf + off, data, sizeof(data)));
	ASSERT_EQ(0, self->buf[off - 1]);
	ASSERT_EQ(0, self->buf[off + sizeof(data)]);
	fill_pattern(self->buf + off, sizeof(data), 2);
	test_cmd_rw(IOVA + off, back, sizeof(back), false);
	ASSERT_EQ(-1, check_pattern(back, sizeof(back), 2));
	/* A CPU copy pins nothing and charges nothing. */
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_F(mdev, dma_rw_across_mappings)
{
	uint8_t data[PG(2)];

	test_cmd_map(IOVA, self->buf, PG(4));
	test_cmd_map(IOVA + PG(4), self->buf + SZ_1M, PG(4));
	fill_pattern(data, sizeof(data), 3);
	test_cmd_rw(IOVA + PG(3), data, sizeof(data), true);
	ASSERT_EQ(0, memcmp(self->buf + PG(3), data, PG(1)));
	ASSERT_EQ(0, memcmp(self->buf + SZ_1M, data + PG(1), PG(1)));
	memset(data, 0, sizeof(data));
	test_cmd_rw(IOVA + PG(3), data, sizeof(data), false);
	ASSERT_EQ(-1, check_pattern(data, sizeof(data), 3));
	test_cmd_unmap(IOVA, PG(8), PG(8));
}

TEST_F(mdev, dma_rw_unmapped)
{
	uint8_t data[PG(2)];

	memset(data, 0, sizeof(data));
	test_err_rw(EINVAL, IOVA, data, 16, false);
	test_err_rw(EINVAL, IOVA, data, 16, true);
	test_cmd_map(IOVA, self->buf, PG(4));
	/* Starting in the mapping, running off its end. */
	test_err_rw(EINVAL, IOVA + PG(3), data, sizeof(data), false);
	test_err_rw(EINVAL, IOVA + PG(4), data, 1, true);
	test_cmd_unmap(IOVA, PG(4), PG(4));
}

/* Stock needs the mapping readable for any CPU copy, and writable too
 * for a write. */
TEST_F(mdev, dma_rw_prot_checked)
{
	uint8_t data[64];

	memset(data, 0x11, sizeof(data));
	test_cmd_map_flags(IOVA, self->buf, PG(1), VFIO_DMA_MAP_FLAG_READ);
	test_cmd_map_flags(IOVA + PG(1), self->buf + PG(1), PG(1), VFIO_DMA_MAP_FLAG_WRITE);
	test_err_rw(EPERM, IOVA, data, sizeof(data), true);
	test_cmd_rw(IOVA, data, sizeof(data), false);
	test_err_rw(EPERM, IOVA + PG(1), data, sizeof(data), false);
	test_err_rw(EPERM, IOVA + PG(1), data, sizeof(data), true);
	ASSERT_EQ(0, self->buf[0]);
	ASSERT_EQ(0, self->buf[PG(1)]);
	test_cmd_unmap(IOVA, PG(2), PG(2));
}

TEST_F(mdev, dma_rw_lengths)
{
	uint8_t *data = malloc(VFIO_LU_TEST_MDEV_RW_MAX);

	ASSERT_NE(NULL, data);
	test_cmd_map(IOVA, self->buf, BUF_SIZE);
	test_err_rw(EINVAL, IOVA, data, 0, false);	/* the core refuses 0 */
	fill_pattern(data, VFIO_LU_TEST_MDEV_RW_MAX, 4);
	test_cmd_rw(IOVA + 1, data, VFIO_LU_TEST_MDEV_RW_MAX, true);
	ASSERT_EQ(0, memcmp(self->buf + 1, data, VFIO_LU_TEST_MDEV_RW_MAX));
	test_cmd_rw(IOVA + BUF_SIZE - 1, data, 1, true);
	ASSERT_EQ(data[0], self->buf[BUF_SIZE - 1]);
	test_cmd_unmap(IOVA, BUF_SIZE, BUF_SIZE);
	free(data);
}

/* A mapping of nothing: the copy faults. */
TEST_F(mdev, dma_rw_unmapped_vaddr)
{
	void *hole = unmapped_hole(PG(4));
	uint8_t data[16] = { 0 };

	ASSERT_NE(NULL, hole);
	test_cmd_map(IOVA, hole, PG(4));
	test_err_rw(EFAULT, IOVA, data, sizeof(data), false);
	test_err_rw(EFAULT, IOVA, data, sizeof(data), true);
	test_cmd_unmap(IOVA, PG(4), PG(4));
}

/* ---- another process using the device ---- */

/*
 * A child sharing the device fd pins: the pages are found in the mapping
 * owner's memory and charged to the owner.
 */
TEST_F(mdev, pin_from_another_process)
{
	uint64_t *pfn = mmap(NULL, PG(1), PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, pfn);
	test_cmd_map(IOVA, self->buf, PG(16));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(test_mdev_pin(self->mdev.device, IOVA + PG(2), 2, PIN_RW, pfn) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ((uint64_t)vaddr_to_pfn(self->buf + PG(2)), pfn[0]);
	ASSERT_EQ((uint64_t)vaddr_to_pfn(self->buf + PG(3)), pfn[1]);
	ASSERT_VMLCK_KB(8);
	ASSERT_PINNED(self->pinned_base, 2);
	test_cmd_unpin(IOVA + PG(2), 2);
	ASSERT_VMLCK_KB(0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	munmap(pfn, PG(1));
}

/*
 * A CPU copy asked for by a process that is not the mapping's owner.  The
 * mapped memory is private, so the child's copy-on-write view differs
 * from the owner's: the test can tell whose memory was used.
 *
 * DIFFERENCE (deliberate, MISSION "Mediated devices"): the stock backend
 * copies only in the owner's context (or a kthread's) and fails with
 * EFAULT, copying nothing; vfio_iommu_lu always copies to and from the
 * owner's memory, whoever asks, so the copy succeeds and uses the owner's
 * pages, never the caller's.
 */
TEST_F(mdev, dma_rw_from_another_process)
{
	uint8_t *anon = mmap(NULL, PG(16), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, anon);
	memset(anon, 0, PG(16));
	anon[PG(1)] = 0x42;
	test_cmd_map(IOVA, anon, PG(16));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t data[32];
		int ret;

		anon[PG(1)] = 0x99;	/* the child's own copy */
		memset(data, 0x77, sizeof(data));
		ret = test_mdev_rw(self->mdev.device, IOVA, data, sizeof(data), true);
		if (ret)
			_exit(-ret);
		if (anon[0] != 0)	/* not into the child's memory */
			_exit(101);
		ret = test_mdev_rw(self->mdev.device, IOVA + PG(1), data, 1, false);
		_exit(ret ? -ret : data[0] == 0x42 ? 0 : 100);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (variant->be.ours) {
		ASSERT_EQ(0, WEXITSTATUS(status));
		ASSERT_EQ(0x77, anon[0]);
		ASSERT_EQ(0x77, anon[31]);
	} else {
		ASSERT_EQ(EFAULT, WEXITSTATUS(status));
		ASSERT_EQ(0, anon[0]);
	}
	test_cmd_unmap(IOVA, PG(16), PG(16));
	munmap(anon, PG(16));
}

/* ---- pins racing unmaps ---- */

struct unmapper {
	int container;
	void *buf;
	int rounds;
	volatile int done;
	volatile int error;	/* first unexpected result, 0 if none */
};

static void *unmapper_thread(void *arg)
{
	struct unmapper *u = arg;

	for (int i = 0; i < u->rounds && !u->error; i++) {
		uint64_t unmapped;
		int ret = vfio_map(u->container, u->buf, IOVA, PG(16));

		if (ret) {
			u->error = ret;
			break;
		}
		usleep(500);
		ret = vfio_unmap_raw(u->container,
				     sizeof(struct vfio_iommu_type1_dma_unmap),
				     0, IOVA, PG(16), &unmapped);
		if (ret || unmapped != PG(16))
			u->error = ret ? ret : -EPROTO;
		usleep(100);
	}
	u->done = 1;
	return NULL;
}

/*
 * One thread maps and unmaps while the device pins and unpins in the same
 * range: every pin either fails cleanly (nothing mapped: EINVAL) or is
 * released by the unmap notification, and at the end nothing is pinned
 * or charged.  (Two threads unmapping at once are not tried: see the
 * locking note in kmod/test_mdev.c.)
 */
TEST_F_TIMEOUT(mdev, pins_race_unmaps, 300)
{
	struct unmapper u = {
		.container = self->container,
		.buf = self->buf,
		.rounds = 300,
	};
	struct vfio_lu_test_mdev_status st;
	int pinned = 0, refused = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, unmapper_thread, &u));
	for (unsigned int j = 0; !u.done && !u.error; j++) {
		uint64_t iova = IOVA + PG(j % 16);
		int ret = _test_cmd_pin(iova, 1 + j % 3, PIN_RW, NULL);

		if (ret == -EINVAL) {
			refused++;
			continue;
		}
		if (ret) {
			u.error = ret;
			break;
		}
		pinned++;
		/* Keep every other pin for the notification to release; the
		 * unpin may find it released already. */
		if (j & 1) {
			ret = _test_cmd_unpin(iova, 1 + j % 3);
			if (ret && ret != -EINVAL) {
				u.error = ret;
				break;
			}
		}
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, u.error);
	TH_LOG("%d pins, %d refused", pinned, refused);
	_test_cmd_unmap(IOVA, PG(16), NULL);
	ASSERT_EQ(0, test_mdev_status(self->mdev.device, &st));
	ASSERT_EQ(0, st.pin_refs);
	ASSERT_LT(0, pinned);
	ASSERT_LT(0, st.unmap_calls);	/* the race did reach the notifier */
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* ---- limits and info ---- */

/* The DMA_AVAIL capability is the exact number of mappings allowed. */
TEST_F_TIMEOUT(mdev, dma_entry_limit, 600)
{
	struct iommu_info info;
	uint32_t avail;

	ASSERT_EQ(0, iommu_info_get(self->container, &info));
	ASSERT_TRUE(info.has_dma_avail);
	avail = info.dma_avail;
	ASSERT_LT(0, avail);
	ASSERT_GE(1u << 20, avail) TH_LOG("too many to try: %u", avail);
	/* Distinct IOVAs, one page of memory: without an IOMMU domain
	 * nothing is pinned, so this is cheap. */
	for (uint32_t i = 0; i < avail; i++) {
		ASSERT_EQ(0, _test_cmd_map(PG(2 * (uint64_t)i), self->buf, PG(1)))
			TH_LOG("map %u of %u", i, avail);
	}
	test_err_map(ENOSPC, PG(2 * (uint64_t)avail), self->buf, PG(1));
	ASSERT_EQ(0, iommu_info_get(self->container, &info));
	ASSERT_EQ(0, info.dma_avail);
	test_cmd_unmap_all(PG((uint64_t)avail));
	ASSERT_EQ(0, iommu_info_get(self->container, &info));
	ASSERT_EQ(avail, info.dma_avail);
}

/* An emulated-IOMMU-only container: compared with the stock backend's
 * answer for another instance of the same mdev type. */
TEST_F(mdev, info_matches_stock)
{
	static const struct backend stock = BACKEND_STOCK;
	struct test_mdev ref_mdev;
	struct iommu_info ref, got;
	int ref_container;

	ref_container = vfio_open_container();
	ASSERT_LE(0, ref_container);
	ASSERT_EQ(0, test_mdev_create_in(&ref_mdev, ref_container));
	ASSERT_BACKEND(ref_container, &stock);
	ASSERT_EQ(0, iommu_info_get(ref_container, &ref));
	test_mdev_destroy(&ref_mdev);
	close(ref_container);

	ASSERT_EQ(0, iommu_info_get(self->container, &got));
	EXPECT_EQ(ref.flags, got.flags);
	EXPECT_EQ(ref.pgsizes, got.pgsizes);
	/* No IOMMU domain: no IOVA range restriction reported. */
	EXPECT_EQ(ref.nr_ranges, got.nr_ranges);
	EXPECT_EQ(-1, iommu_info_find_cap(&got, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	EXPECT_EQ(ref.has_dma_avail, got.has_dma_avail);
	EXPECT_EQ(ref.dma_avail, got.dma_avail);
	/* Dirty tracking: the same migration capability. */
	EXPECT_EQ(ref.has_migration, got.has_migration);
	EXPECT_EQ(ref.mig_pgsize_bitmap, got.mig_pgsize_bitmap);
	EXPECT_EQ(ref.mig_max_dirty_bitmap_size, got.mig_max_dirty_bitmap_size);
	/* UPDATE_VADDR is off with an mdev on stock, never offered on ours. */
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
}

/* Anything goes without an IOMMU domain: no aperture, no reserved
 * ranges. */
TEST_F(mdev, no_aperture_without_iommu)
{
	test_cmd_map(0xfee00000ull, self->buf, PG(1));
	test_cmd_map(1ull << 50, self->buf, PG(1));
	test_cmd_map(~0ull - PG(1) + 1, self->buf, PG(1));
	test_cmd_unmap_all(PG(3));
	ASSERT_VMLCK_KB(0);
}

/*
 * The last page of the 64-bit IOVA space, mappable without an IOMMU.
 *
 * DIFFERENCE (found by this suite; a stock bug, vfio_iommu_lu is right):
 * stock's mapping lookups (vfio_find_dma, vfio_find_dma_first_node)
 * compute the end of a range as start + size, which wraps to 0 for a
 * mapping that ends at 2^64.  So stock maps that page but then can
 * neither pin it nor copy to it (EINVAL), does not see it as an overlap
 * (a second identical map succeeds), and cannot unmap it (UNMAP_DMA, exact
 * or ALL, reports 0 bytes): it stays until the container is released.
 * vfio_iommu_lu handles it like any other page.
 */
TEST_F(mdev, last_page_of_iova_space)
{
	const uint64_t last = ~0ull - PG(1) + 1;
	uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	test_cmd_map(last, self->buf, PG(1));
	if (variant->be.ours) {
		test_err_map(EEXIST, last, self->buf, PG(1));
		test_cmd_pin(last, 1);
		ASSERT_VMLCK_KB(4);
		test_cmd_rw(last + PG(1) - sizeof(data), data, sizeof(data), true);
		ASSERT_EQ(0, memcmp(self->buf + PG(1) - sizeof(data), data,
				    sizeof(data)));
		test_cmd_unmap(last, PG(1), PG(1));
		test_cmd_map(last, self->buf, PG(1));
		test_cmd_unmap_all(PG(1));
	} else {
		test_err_pin(EINVAL, last, 1, PIN_RW);
		test_err_rw(EINVAL, last + PG(1) - sizeof(data), data,
			    sizeof(data), true);
		test_cmd_unmap(last, PG(1), 0);
		test_cmd_unmap_all(0);
		test_cmd_map(last, self->buf, PG(1));	/* a duplicate */
	}
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* ---- the test driver's own argument checks (backend independent) ---- */

TEST_F(mdev, test_driver_argument_checks)
{
	struct {
		struct vfio_lu_test_mdev_pin pin;
		uint8_t tail[64];
	} a;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int dev = self->mdev.device;

	test_cmd_map(IOVA, self->buf, PG(16));
	memset(&a, 0, sizeof(a));
	a.pin.argsz = sizeof(a.pin) - 1;
	a.pin.iova = IOVA;
	a.pin.npage = 1;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_PIN, &a));
	EXPECT_EQ(EINVAL, errno);
	a.pin.argsz = sizeof(a);
	a.pin.flags = 1u << 2;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_PIN, &a));
	a.pin.flags = 0;
	a.pin.reserved = 1;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_PIN, &a));
	a.pin.reserved = 0;
	EXPECT_EQ(0, ioctl(dev, VFIO_LU_TEST_MDEV_PIN, &a));
	test_cmd_unpin(IOVA, 1);
	test_err_pin(EINVAL, IOVA + 1, 1, PIN_RW);
	test_err_pin(E2BIG, IOVA, VFIO_LU_TEST_MDEV_PIN_MAX + 1, PIN_RW);
	/* Unpinning what the device does not hold is refused, and nothing
	 * it holds is dropped. */
	test_cmd_pin(IOVA, 1);
	test_err_unpin(EINVAL, IOVA, 2);
	test_err_unpin(EINVAL, IOVA + PG(1), 1);
	test_err_unpin(EINVAL, IOVA, 0);
	ASSERT_MDEV_PINNED(dev, 1, 1);
	test_cmd_unpin(IOVA, 1);
	test_err_rw(E2BIG, IOVA, self->buf, VFIO_LU_TEST_MDEV_RW_MAX + 1, false);
	/* SET_MODE: short argsz, unknown flags refused; the hold mode and
	 * back accepted. */
	struct vfio_lu_test_mdev_mode m = { .argsz = sizeof(m) - 1 };

	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_SET_MODE, &m));
	EXPECT_EQ(EINVAL, errno);
	m.argsz = sizeof(m);
	m.flags = VFIO_LU_TEST_MDEV_MODE_STALL << 1;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_SET_MODE, &m));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, test_mdev_set_mode(dev, VFIO_LU_TEST_MDEV_MODE_HOLD));
	EXPECT_EQ(0, test_mdev_set_mode(dev, 0));
	/* RSVD: short argsz, no flag or both refused; SET accepted. */
	struct vfio_lu_test_mdev_rsvd r = { .argsz = sizeof(r) - 1,
		.flags = VFIO_LU_TEST_MDEV_RSVD_SET };

	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_RSVD, &r));
	EXPECT_EQ(EINVAL, errno);
	r.argsz = sizeof(r);
	r.flags = 0;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_RSVD, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = VFIO_LU_TEST_MDEV_RSVD_SET | VFIO_LU_TEST_MDEV_RSVD_CLEAR;
	EXPECT_EQ(-1, ioctl(dev, VFIO_LU_TEST_MDEV_RSVD, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = VFIO_LU_TEST_MDEV_RSVD_SET;
	EXPECT_EQ(0, ioctl(dev, VFIO_LU_TEST_MDEV_RSVD, &r));
	EXPECT_NE(0, r.pfn);
	/* The first number after the driver's ioctls. */
	EXPECT_EQ(-1, ioctl(dev, _IO(VFIO_TYPE, VFIO_BASE + 70), &a));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(0, ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(VFIO_DEVICE_FLAGS_PLATFORM, info.flags);
	EXPECT_EQ(0, info.num_regions);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

TEST_HARNESS_MAIN
