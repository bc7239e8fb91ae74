// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty bits that must not be lost (docs/dirty.md), on both backends:
 *
 *   iommu_group_detach_reports
 *			a container holds the test mdev's group and edu's;
 *			tracking runs, a read consumes the bits, edu writes a
 *			page, edu's device and group are closed (the group
 *			detaches), and the next read must still report what
 *			edu wrote: every page, as while it was attached.
 *   partial_rw_write_marks
 *			a vfio_dma_rw write that fails half way (the owner's
 *			page behind its second page is gone) has written the
 *			first page: that page is reported.  DIFFERENCE: stock
 *			marks only after a successful copy and reports nothing.
 *   get_bitmap_on_userfault_lets_pins_through
 *   unmap_bitmap_on_userfault_lets_pins_through
 *			the user bitmap of a read (or of an unmap) sits on a
 *			userfaultfd page nobody serves yet: the ioctl waits
 *			for userspace, but a device pin meanwhile returns at
 *			once.  DIFFERENCE: stock copies the bitmap under its
 *			container lock, and the pin waits for the page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA		0x100000ull
#define NPAGES		512			/* 2 MiB */

FIXTURE(dd) {
	int container;
	int edu_group;
	struct edu edu;
	struct test_mdev mdev;
	uint8_t *buf;
};

BACKEND_VARIANTS(dd);

FIXTURE_SETUP(dd)
{
	self->container = self->edu_group = self->edu.device = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	self->buf = MAP_FAILED;
	REQUIRE_MDEV();
	SKIP_STOCK_MDEV_ON_LOCKDEP();
	self->container = vfio_open_container();
	ASSERT_LE(0, self->container);
	ASSERT_EQ(0, test_mdev_create_in(&self->mdev, self->container));
	self->buf = memfd_buffer(PG(NPAGES), NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, PG(NPAGES));
}

FIXTURE_TEARDOWN(dd)
{
	if (self->edu.device >= 0)
		edu_close(&self->edu);
	close_fd(&self->edu_group);
	test_mdev_destroy(&self->mdev);
	close_fd(&self->container);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, PG(NPAGES));
}

/* Add edu's group too (before the IOMMU is set), then set and prove it. */
static void setup_backend(struct __test_metadata *_metadata,
			  FIXTURE_DATA(dd) *self,
			  const FIXTURE_VARIANT(dd) *variant, bool with_edu)
{
	if (with_edu) {
		REQUIRE_EDU();
		self->edu_group = vfio_open_group(self->container,
						  edu_group_nr());
		ASSERT_LE(0, self->edu_group);
	}
	ASSERT_BACKEND(self->container, &variant->be);
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	if (with_edu)
		ASSERT_EQ(0, edu_open(&self->edu, self->edu_group, edu_bdf()));
}

static int count_bits(const uint64_t *w, unsigned int nbits)
{
	int n = 0;

	for (unsigned int i = 0; i < nbits; i++)
		n += (w[i / 64] >> (i % 64)) & 1;
	return n;
}

static bool bit(const uint64_t *w, unsigned int i)
{
	return (w[i / 64] >> (i % 64)) & 1;
}

TEST_F(dd, iommu_group_detach_reports)
{
	uint64_t bits[NPAGES / 64];

	setup_backend(_metadata, self, variant, true);
	test_cmd_map(IOVA, self->buf, PG(NPAGES));
	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	/* With edu attached and never pinning, every page reads dirty. */
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(NPAGES),
				      PAGE_SZ, bits, sizeof(bits)));
	ASSERT_EQ(NPAGES, count_bits(bits, NPAGES));

	/* edu writes page 5, then leaves the container. */
	ASSERT_EQ(0, edu_dma(&self->edu, IOVA + PG(5), 0, 64, true));
	edu_close(&self->edu);
	ASSERT_EQ(0, close(self->edu_group));
	self->edu_group = -1;

	/* What it wrote since the last read is still reported. */
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(NPAGES),
				      PAGE_SZ, bits, sizeof(bits)));
	EXPECT_TRUE(bit(bits, 5));
	EXPECT_EQ(NPAGES, count_bits(bits, NPAGES));
	/* Consumed: nothing is pinned any more. */
	memset(bits, 0xff, sizeof(bits));
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(NPAGES),
				      PAGE_SZ, bits, sizeof(bits)));
	EXPECT_EQ(0, count_bits(bits, NPAGES));
}

TEST_F(dd, partial_rw_write_marks)
{
	uint8_t data[PG(2)];
	uint64_t bits[1] = { 0 };

	setup_backend(_metadata, self, variant, false);
	test_cmd_map(IOVA, self->buf, PG(3));
	/* The owner's second page is gone: a device write through it faults. */
	ASSERT_EQ(0, munmap(self->buf + PG(1), PG(1)));
	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	memset(data, 0x5a, sizeof(data));
	ASSERT_EQ(-EFAULT, test_mdev_rw(self->mdev.device, IOVA, data,
					sizeof(data), true));
	ASSERT_EQ(0x5a, self->buf[0]);		/* page 0 was written */
	ASSERT_EQ(0x5a, self->buf[PG(1) - 1]);
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(3), PAGE_SZ,
				      bits, sizeof(bits)));
	if (variant->be.ours) {
		/* The chunk is marked before the copy: pages 0 and 1. */
		EXPECT_EQ(0x3ull, bits[0]);
	} else {
		/* DIFFERENCE (stock defect): a written page goes unreported. */
		EXPECT_EQ(0, bits[0]);
	}
	/* Put the page back so that teardown unmaps a whole buffer. */
	ASSERT_NE(MAP_FAILED, mmap(self->buf + PG(1), PG(1),
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0));
}

/* ---- a user bitmap nobody serves ---- */

struct blocked_call {
	int container;
	uint64_t *bits;
	bool unmap;
	int ret;
};

static void *blocked_call_fn(void *arg)
{
	struct blocked_call *c = arg;

	c->ret = c->unmap ?
		dirty_unmap_bitmap(c->container, IOVA, PG(64), 0, PAGE_SZ,
				   c->bits, 8, NULL) :
		dirty_get_bitmap(c->container, IOVA, PG(64), PAGE_SZ, c->bits,
				 8);
	return NULL;
}

static void userfault_bitmap(struct __test_metadata *_metadata,
			     FIXTURE_DATA(dd) *self,
			     const FIXTURE_VARIANT(dd) *variant, bool unmap)
{
	struct blocked_call call = { .container = self->container };
	struct timed_pin pin = { .iova = IOVA + PG(100), .flags = PIN_RW };
	pthread_t caller, pinner;
	struct uffd_page u;
	int r;

	setup_backend(_metadata, self, variant, false);
	r = uffd_page_open(&u, PAGE_SZ);
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "userfaultfd unavailable: %s", strerror(-r));
	ASSERT_EQ(0, r);
	test_cmd_map(IOVA, self->buf, PG(64));
	test_cmd_map(IOVA + PG(64), self->buf + PG(64), PG(64));
	ASSERT_EQ(0, dirty_flag(self->container,
				VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA + PG(3), 1,
				   PIN_RW, NULL));

	call.bits = u.page;
	call.unmap = unmap;
	ASSERT_EQ(0, pthread_create(&caller, NULL, blocked_call_fn, &call));
	ASSERT_TRUE(uffd_fault_pending(&u, 5000));

	/* The bitmap's page is not served: a device pin must not care. */
	pin.device = self->mdev.device;
	ASSERT_EQ(0, pthread_create(&pinner, NULL, timed_pin_fn, &pin));
	usleep(1500 * 1000);
	ASSERT_EQ(0, uffd_serve(&u));
	ASSERT_EQ(0, pthread_join(pinner, NULL));
	ASSERT_EQ(0, pthread_join(caller, NULL));
	ASSERT_EQ(0, pin.ret);
	if (variant->be.ours) {
		EXPECT_GT(1.0, pin.seconds);
	} else {
		/* DIFFERENCE (stock defect): the pin waited for userspace. */
		EXPECT_LT(1.0, pin.seconds);
	}

	/* The call went on once served, and lost nothing. */
	if (unmap) {
		/* The unmap asked the device to drop page 3 first. */
		EXPECT_EQ(0, call.ret);
		EXPECT_TRUE(bit(u.page, 3));
	} else {
		EXPECT_EQ(0, call.ret);
		EXPECT_TRUE(bit(u.page, 3));
		EXPECT_EQ(1, count_bits(u.page, 64));
	}
	uffd_page_close(&u);
}

TEST_F(dd, get_bitmap_on_userfault_lets_pins_through)
{
	userfault_bitmap(_metadata, self, variant, false);
}

TEST_F(dd, unmap_bitmap_on_userfault_lets_pins_through)
{
	userfault_bitmap(_metadata, self, variant, true);
}

TEST_HARNESS_MAIN
