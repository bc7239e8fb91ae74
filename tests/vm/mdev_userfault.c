// SPDX-License-Identifier: GPL-2.0
/*
 * A mediated device's request that must wait for userspace (the owner's
 * memory behind it is a userfaultfd region nobody serves yet) waits alone:
 * another device request meanwhile returns at once.  On both backends:
 *
 *   dma_rw_on_userfault_lets_pins_through
 *			a vfio_dma_rw write into an unserved page; a pin of
 *			another page by a second device, from another thread.
 *   pin_on_userfault_lets_pins_through
 *			a pin of an unserved page; a pin of another page by a
 *			second device.
 *
 * Then the page is served and the waiting request completes: the bytes
 * are there, or the pin holds the page now backing it.
 * DIFFERENCES: stock vfio_iommu_type1 faults a dma_rw page in under its
 * container lock, and the second pin waits for userspace too; it refuses
 * a pin of an unserved page at once (EFAULT: its GUP may not wait), where
 * ours waits for the page, holding no lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA		0x100000ull
#define UFFD_IOVA	0x800000ull
#define NPAGES		16

FIXTURE(uf) {
	int container;
	struct test_mdev mdev;
	struct test_mdev other;	/* a second device: its own pins, own lock */
	uint8_t *buf;		/* ordinary memory, mapped at IOVA */
	struct uffd_page u;	/* unserved memory, mapped at UFFD_IOVA */
};

BACKEND_VARIANTS(uf);

FIXTURE_SETUP(uf)
{
	int r;

	self->container = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	self->other = (struct test_mdev)TEST_MDEV_NONE;
	self->buf = MAP_FAILED;
	self->u = (struct uffd_page){ .uffd = -1, .page = MAP_FAILED };
	REQUIRE_MDEV();
	SKIP_STOCK_MDEV_ON_LOCKDEP();
	r = uffd_page_open(&self->u, PG(NPAGES));
	if (r == -ENOSYS || r == -EPERM)
		SKIP(return, "userfaultfd unavailable: %s", strerror(-r));
	ASSERT_EQ(0, r);
	open_mdev(&variant->be, &self->container, &self->mdev);
	ASSERT_EQ(0, test_mdev_create_in(&self->other, self->container));
	ASSERT_EQ(0, test_mdev_open_device(&self->other));
	self->buf = memfd_buffer(PG(NPAGES), NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	/* Only the test mdev: MAP_DMA pins nothing, touches nothing. */
	test_cmd_map(IOVA, self->buf, PG(NPAGES));
	test_cmd_map(UFFD_IOVA, self->u.page, PG(NPAGES));
}

FIXTURE_TEARDOWN(uf)
{
	test_mdev_destroy(&self->other);
	test_mdev_destroy(&self->mdev);
	close_fd(&self->container);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, PG(NPAGES));
	uffd_page_close(&self->u);
}

struct waiting_request {
	int device;
	bool rw;		/* a dma_rw write, else a pin */
	uint64_t pfn;		/* a pin's page */
	int ret;
};

static void *waiting_request_fn(void *arg)
{
	struct waiting_request *w = arg;
	uint64_t v = 0x5a5a5a5a5a5a5a5aull;

	w->ret = w->rw ?
		test_mdev_rw(w->device, UFFD_IOVA + PG(2), &v, sizeof(v), true) :
		test_mdev_pin(w->device, UFFD_IOVA + PG(2), 1, PIN_RW, &w->pfn);
	return NULL;
}

static void request_on_userfault(struct __test_metadata *_metadata,
				 FIXTURE_DATA(uf) *self,
				 const FIXTURE_VARIANT(uf) *variant, bool rw)
{
	struct waiting_request w = { .device = self->mdev.device, .rw = rw };
	struct timed_pin pin = {
		.device = self->other.device, .iova = IOVA + PG(5),
		.flags = PIN_RW,
	};
	pthread_t waiter, pinner;

	ASSERT_EQ(0, pthread_create(&waiter, NULL, waiting_request_fn, &w));
	if (!variant->be.ours && !rw) {
		/* DIFFERENCE: stock refuses at once, nothing waits. */
		ASSERT_EQ(0, pthread_join(waiter, NULL));
		EXPECT_EQ(-EFAULT, w.ret);
		EXPECT_FALSE(uffd_fault_pending(&self->u, 0));
		return;
	}
	ASSERT_TRUE(uffd_fault_pending(&self->u, 5000));

	/* The other request must not wait for the unserved page. */
	ASSERT_EQ(0, pthread_create(&pinner, NULL, timed_pin_fn, &pin));
	usleep(1500 * 1000);
	ASSERT_EQ(0, uffd_serve(&self->u));
	ASSERT_EQ(0, pthread_join(pinner, NULL));
	ASSERT_EQ(0, pthread_join(waiter, NULL));
	ASSERT_EQ(0, pin.ret);
	if (variant->be.ours) {
		EXPECT_GT(1.0, pin.seconds);
	} else {
		/* DIFFERENCE (stock defect): the pin waited for userspace. */
		EXPECT_LT(1.0, pin.seconds);
	}

	/* Served, the waiting request went through. */
	ASSERT_EQ(0, w.ret);
	if (rw) {
		EXPECT_EQ(0x5a, ((uint8_t *)self->u.page)[PG(2)]);
	} else {
		EXPECT_EQ(vaddr_to_pfn((uint8_t *)self->u.page + PG(2)),
			  (int64_t)w.pfn);
		ASSERT_EQ(0, test_mdev_unpin(self->mdev.device,
					     UFFD_IOVA + PG(2), 1));
	}
	ASSERT_EQ(0, test_mdev_unpin(self->other.device, IOVA + PG(5), 1));
}

TEST_F(uf, dma_rw_on_userfault_lets_pins_through)
{
	request_on_userfault(_metadata, self, variant, true);
}

TEST_F(uf, pin_on_userfault_lets_pins_through)
{
	request_on_userfault(_metadata, self, variant, false);
}

TEST_HARNESS_MAIN
