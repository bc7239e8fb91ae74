// SPDX-License-Identifier: GPL-2.0
/*
 * What vfio_iommu_lu holds for a mapping is decided once, when it pins,
 * and released exactly (docs/backend.md, "Pinning"), on our backend only:
 *
 *   reserved_pfnmap_page_reused
 *			a driver's reserved page mmap'ed with remap_pfn_range
 *			(the test mdev's page, VM_PFNMAP) is DMA-mapped
 *			(looked up, neither pinned nor charged) and handed to a
 *			device pin; then the driver "frees" it and it is reused
 *			as ordinary RAM (its reserved mark cleared): the device
 *			unpin and UNMAP_DMA must release nothing and refund
 *			nothing.  (The first version asked the page at unmap
 *			time: it unpinned a page it never pinned, a refcount
 *			underflow, and refunded a page it never charged.  Stock
 *			vfio_iommu_type1 asks the page too: not run there.)
 *
 * Checks: the system's pinned-page counters and VmLck unchanged, no kernel
 * report (vm-run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA	0x100000ull

FIXTURE(held) {
	int container;
	int group;
	struct test_mdev mdev;
	long base;
	long pinned0;
};

FIXTURE_SETUP(held)
{
	self->container = self->group = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_EDU();
	REQUIRE_MDEV();
	self->container = vfio_open_container();
	ASSERT_LE(0, self->container);
	/* edu's group too: MAP_DMA then pins (or looks up) at once. */
	ASSERT_EQ(0, test_mdev_create_in(&self->mdev, self->container));
	self->group = vfio_open_group(self->container, edu_group_nr());
	ASSERT_LE(0, self->group);
	ASSERT_BACKEND(self->container, &backend_ours);
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	self->base = vmlck_kb(0);
	ASSERT_LE(0, self->base);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0) TH_LOG("pinned-page counters unreadable");
}

FIXTURE_TEARDOWN(held)
{
	test_mdev_destroy(&self->mdev);
	close_fd(&self->group);
	close_fd(&self->container);
}

/* The test mdev's reserved page: mark it (flag) and get its pfn. */
static int64_t rsvd_page(int device, uint32_t flag)
{
	struct vfio_lu_test_mdev_rsvd arg = {
		.argsz = sizeof(arg),
		.flags = flag,
	};

	if (ioctl(device, VFIO_LU_TEST_MDEV_RSVD, &arg))
		return -errno;
	return arg.pfn;
}

TEST_F(held, reserved_pfnmap_page_reused)
{
	uint64_t pfn = 0;
	int64_t rsvd;
	void *p;

	p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->mdev.device, 0);
	ASSERT_NE(MAP_FAILED, p);
	rsvd = rsvd_page(self->mdev.device, VFIO_LU_TEST_MDEV_RSVD_SET);
	ASSERT_LT(0, rsvd);

	/* Looked up, not pinned, not charged; a device gets the page. */
	test_cmd_map(IOVA, p, PAGE_SZ);
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 1, PIN_RW, &pfn));
	ASSERT_EQ((uint64_t)rsvd, pfn);
	ASSERT_VMLCK_KB(self->base);
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));

	/* The driver lets the page go; it now looks like ordinary RAM. */
	ASSERT_EQ(rsvd, rsvd_page(self->mdev.device,
				  VFIO_LU_TEST_MDEV_RSVD_CLEAR));
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA, 1));
	test_cmd_unmap(IOVA, PAGE_SZ, PAGE_SZ);
	/* Nothing released that was never held, nothing refunded. */
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_VMLCK_KB(self->base);

	ASSERT_EQ(rsvd, rsvd_page(self->mdev.device,
				  VFIO_LU_TEST_MDEV_RSVD_SET));
	ASSERT_EQ(0, munmap(p, PAGE_SZ));
}

TEST_HARNESS_MAIN
