// SPDX-License-Identifier: GPL-2.0
/*
 * A mediated device pinning and copying (vfio_pin_pages, vfio_dma_rw)
 * while ownership moves back and forth, on vfio_iommu_lu: every request
 * uses the current owner's mm, succeeds while an owner is alive, and
 * blocks at most for the duration of an ioctl, never on userspace.  Then
 * the owner exits while the device keeps asking: requests fail at once,
 * the device is told to drop its pins, nothing stays pinned.
 *
 * The test proves our backend answered (VFIO_LU_TYPE1v2_IOMMU,
 * VFIO_CHECK_EXTENSION(VFIO_DMA_OWNER) == 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "conformance_util.h"
#include "mdev_util.h"
#include "owner_child.h"
#include "vfio_util.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_PAGES	(BUF_SIZE / 4096)
#define BUF_KB		(BUF_SIZE / 1024)
#define ROUNDS		20

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The device's side: pin a page, write through vfio_dma_rw, unpin. */
struct pinner {
	int device;
	atomic_int stop;
	atomic_int expect_ok;	/* an owner is alive: every request succeeds */
	long requests, failures_while_ok;
	int first_error;
	double max_ms;
};

static void *pinner_main(void *arg)
{
	struct pinner *p = arg;
	uint64_t seq = 0;

	while (!atomic_load(&p->stop)) {
		uint64_t iova = BUF_IOVA + (seq % BUF_PAGES) * 4096;
		int ok = atomic_load(&p->expect_ok);
		double t0 = now_ms(), dt;
		int ret;

		ret = test_mdev_pin(p->device, iova, 1,
				    VFIO_LU_TEST_MDEV_PIN_READ |
				    VFIO_LU_TEST_MDEV_PIN_WRITE, NULL);
		if (!ret) {
			int r2 = test_mdev_rw(p->device, iova + 8, &seq,
					      sizeof(seq), true);
			int r3 = test_mdev_unpin(p->device, iova, 1);

			ret = r2 ? r2 : r3;
		}
		dt = now_ms() - t0;
		if (dt > p->max_ms)
			p->max_ms = dt;
		p->requests++;
		if (ret && ok && atomic_load(&p->expect_ok)) {
			p->failures_while_ok++;
			if (!p->first_error)
				p->first_error = ret;
		}
		seq++;
	}
	return NULL;
}

TEST(pins_during_handoffs)
{
	long base = vmlck_kb(0), pinned0;
	struct test_mdev m = { .group = -1, .device = -1 };
	struct pinner p = { 0 };
	struct vfio_lu_test_mdev_status st = { 0 };
	pthread_t thread;
	int container;
	uint8_t *buf;
	double t0;

	if (!test_mdev_available())
		SKIP(return, "the test mdev parent is not registered (tools/vm-run --insmod)");
	pinned0 = pinned_base();
	container = vfio_open_container();
	ASSERT_LE(0, container);
	ASSERT_EQ(0, test_mdev_create_in(&m, container));
	ASSERT_EQ(0, vfio_set_iommu(container, VFIO_LU_TYPE1v2_IOMMU));
	ASSERT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU));
	ASSERT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER));
	ASSERT_EQ(0, test_mdev_open_device(&m));
	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0, BUF_SIZE);
	ASSERT_EQ(0, vfio_map(container, buf, BUF_IOVA, BUF_SIZE));

	p.device = m.device;
	atomic_store(&p.expect_ok, 1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, pinner_main, &p));
	for (int i = 0; i < ROUNDS; i++) {
		struct child ch;
		struct reply r;

		ASSERT_EQ(0, child_start(&ch, container, NULL));
		r = child_do(&ch, 'o');
		ASSERT_EQ(0, r.ret);
		usleep(20 * 1000);	/* the device pins from the child's mm */
		ASSERT_EQ(0, change_owner(container));
		ASSERT_EQ(0, child_stop(&ch));
	}

	/* Last round: the child owns and exits. */
	{
		struct child ch;

		ASSERT_EQ(0, child_start(&ch, container, NULL));
		ASSERT_EQ(0, child_do(&ch, 'o').ret);
		usleep(20 * 1000);
		atomic_store(&p.expect_ok, 0);
		ASSERT_EQ(0, child_stop(&ch));
	}
	/* Everything goes, while the device keeps asking. */
	t0 = now_ms();
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	TH_LOG("teardown seen after %.1f ms", now_ms() - t0);
	usleep(100 * 1000);
	atomic_store(&p.stop, 1);
	ASSERT_EQ(0, pthread_join(thread, NULL));

	TH_LOG("%ld requests, slowest %.1f ms", p.requests, p.max_ms);
	EXPECT_EQ(0, p.failures_while_ok) TH_LOG("first error %d", p.first_error);
	EXPECT_GT(p.requests, ROUNDS);
	/* TCG is slow; a request that waited on userspace would wait forever. */
	EXPECT_LT(p.max_ms, 5000.0);
	/* The device wrote guest memory through the owners' mms. */
	{
		uint64_t v = 0;

		for (unsigned int i = 0; i < BUF_PAGES && !v; i++)
			memcpy(&v, buf + i * 4096 + 8, sizeof(v));
		EXPECT_NE(0, v);
	}
	ASSERT_EQ(0, test_mdev_status(m.device, &st));
	EXPECT_EQ(0, st.pinned_pages);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	test_mdev_destroy(&m);
	close(container);
}

TEST_HARNESS_MAIN
