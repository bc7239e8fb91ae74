// SPDX-License-Identifier: GPL-2.0
/*
 * A mediated device pinning and copying (vfio_pin_pages, vfio_dma_rw)
 * while ownership moves back and forth, on vfio_iommu_lu:
 *
 *   pins_charged_to_owner  a device pin is charged to the current owner
 *                          (VmLck exact), and its charge moves with
 *                          VFIO_CHANGE_DMA_OWNER, both ways
 *   pins_during_handoffs   every request uses the current owner's mm,
 *                          succeeds while an owner is alive, and blocks at
 *                          most for the duration of an ioctl, never on
 *                          userspace.  Then the owner exits while the device
 *                          keeps asking and holds a pin it will not let go
 *                          (VFIO_LU_TEST_MDEV_MODE_HOLD), and the teardown
 *                          is held in the device's callback (_MODE_STALL):
 *                          meanwhile pin, dma_rw, MAP_DMA and
 *                          CHANGE_DMA_OWNER fail at once with ESRCH; the
 *                          device is told to drop its pins (unmap_calls);
 *                          the pin it does not let go stays, with its
 *                          mapping (never pulled from under a live
 *                          driver), everything else is released; requests
 *                          stay refused (ESRCH, a new reference on the
 *                          held page too) and an unmap is EBUSY while
 *                          the device lives; closing it and the container
 *                          releases the rest
 *   new_owner_limit_governs_pins
 *                          the new owner's RLIMIT_MEMLOCK and CAP_IPC_LOCK
 *                          govern later device pins, both ways; VmLck of
 *                          the pins held across the handoff exact
 *   unmap_with_held_pins   an unmap whose device does not let go: EBUSY
 *                          after the backend asked it, the mapping and its
 *                          charge kept; released with the container
 *
 * Every case proves our backend answered (backend_set()).
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
#include "vfio_lu_test.h"

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
	/* Once the owner is gone: failures by errno. */
	long esrch, einval, other_failures_after;
	int first_other_after;
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

		ret = test_mdev_pin(p->device, iova, 1, PIN_RW, NULL);
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
		} else if (ret && !ok) {
			/* ESRCH while the dead owner's mappings exist,
			 * EINVAL for those already removed. */
			if (ret == -ESRCH)
				p->esrch++;
			else if (ret == -EINVAL)
				p->einval++;
			else if (!p->other_failures_after++)
				p->first_other_after = ret;
		}
		seq++;
	}
	return NULL;
}

FIXTURE(owner_mdev) {
	int container;
	struct test_mdev m;
	uint8_t *buf;
	long base;		/* VmLck before any mapping */
	long pinned0;		/* pages pinned system wide before */
};

FIXTURE_SETUP(owner_mdev)
{
	self->container = -1;
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	self->buf = NULL;
	REQUIRE_MDEV();
	self->base = vmlck_kb(0);
	ASSERT_LE(0, self->base);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
	open_mdev(&backend_ours, &self->container, &self->m);
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, BUF_SIZE);
	ASSERT_EQ(0, vfio_map(self->container, self->buf, BUF_IOVA, BUF_SIZE));
	/* No IOMMU domain: the map alone charges nothing. */
	ASSERT_EQ(self->base, vmlck_kb(0));
}

FIXTURE_TEARDOWN(owner_mdev)
{
	test_mdev_destroy(&self->m);
	close_fd(&self->container);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
}

TEST_F(owner_mdev, pins_charged_to_owner)
{
	long base = self->base, acquired0;
	struct child ch;
	struct reply r;

	ASSERT_EQ(0, child_start(&ch, self->container, NULL));
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	/* The device pins from the child's mm, charged to the child. */
	ASSERT_EQ(0, test_mdev_pin(self->m.device, BUF_IOVA + PG(3), 2, PIN_RW,
				   NULL));
	ASSERT_EQ(8, vmlck_kb(ch.pid));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0 + 2, pinned_settled(self->pinned0 + 2));
	/* Ownership back: the charge moves, nothing is pinned anew. */
	acquired0 = pin_acquired_now();
	ASSERT_LE(0, acquired0);
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(acquired0, pin_acquired_now());
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(base + 8, vmlck_kb(0));
	/* And to the child again, then a pin from our mm. */
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(8, r.vmlck_kb);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(acquired0, pin_acquired_now());
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, test_mdev_pin(self->m.device, BUF_IOVA + PG(9), 1, PIN_RW,
				   NULL));
	ASSERT_EQ(base + 12, vmlck_kb(0));
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, test_mdev_unpin(self->m.device, BUF_IOVA + PG(3), 2));
	ASSERT_EQ(0, test_mdev_unpin(self->m.device, BUF_IOVA + PG(9), 1));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

/*
 * After a handoff the new owner's own RLIMIT_MEMLOCK and CAP_IPC_LOCK
 * govern the device's pins, both ways: a child under a 4 MiB limit
 * without the capability takes over and the device may pin exactly 4 MiB
 * from its mm; back to the test process (capable), the charge comes back
 * exact and more pins are allowed.
 */
TEST_F(owner_mdev, new_owner_limit_governs_pins)
{
	const uint64_t extra_iova = BUF_IOVA + 16 * BUF_SIZE;
	const size_t extra_size = BUF_SIZE + PG(1);
	int dev = self->m.device;
	long base = self->base;
	uint8_t *extra;
	struct child ch;
	struct reply r;

	extra = memfd_buffer(extra_size, NULL);
	ASSERT_NE(MAP_FAILED, extra);
	ASSERT_EQ(0, vfio_map(self->container, extra, extra_iova, extra_size));
	ASSERT_EQ(0, child_start(&ch, self->container, NULL));
	ASSERT_EQ(0, child_do(&ch, 'l').ret);	/* 4 MiB, no CAP_IPC_LOCK */
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	/* Up to the child's limit exactly (1024 pages), not one page more. */
	ASSERT_EQ(0, test_mdev_pin(dev, BUF_IOVA, BUF_PAGES, PIN_RW, NULL));
	ASSERT_EQ(0, test_mdev_pin(dev, extra_iova, BUF_PAGES, PIN_RW, NULL));
	ASSERT_EQ(4096, vmlck_kb(ch.pid));
	ASSERT_EQ(-ENOMEM, test_mdev_pin(dev, extra_iova + BUF_SIZE, 1, PIN_RW,
					 NULL));
	ASSERT_EQ(4096, vmlck_kb(ch.pid));
	ASSERT_EQ(base, vmlck_kb(0));
	/* Back to us: the charge moves exactly, and our capability, not the
	 * child's limit, governs the next pin. */
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(base + 4096, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, test_mdev_pin(dev, extra_iova + BUF_SIZE, 1, PIN_RW, NULL));
	ASSERT_EQ(base + 4100, vmlck_kb(0));
	ASSERT_EQ(0, test_mdev_unpin(dev, BUF_IOVA, BUF_PAGES));
	ASSERT_EQ(0, test_mdev_unpin(dev, extra_iova, BUF_PAGES + 1));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_unmap(self->container, extra_iova, extra_size));
	munmap(extra, extra_size);
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(owner_mdev, pins_during_handoffs)
{
	long base = self->base, pinned0 = self->pinned0;
	struct pinner p = { 0 };
	struct vfio_lu_test_mdev_status st = { 0 };
	int container = self->container;
	uint8_t *buf = self->buf;
	pthread_t thread;
	double t0;

	p.device = self->m.device;
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

	/* Last round: the child owns and exits, while the device holds a
	 * pin it will not let go of when told, and holds the teardown's
	 * first notification until we have looked. */
	{
		struct child ch;

		ASSERT_EQ(0, child_start(&ch, container, NULL));
		ASSERT_EQ(0, child_do(&ch, 'o').ret);
		ASSERT_EQ(0, test_mdev_set_mode(self->m.device,
						VFIO_LU_TEST_MDEV_MODE_HOLD |
						VFIO_LU_TEST_MDEV_MODE_STALL));
		ASSERT_EQ(0, test_mdev_pin(self->m.device, BUF_IOVA + PG(1), 1,
					   PIN_RW, NULL));
		usleep(20 * 1000);
		atomic_store(&p.expect_ok, 0);
		ASSERT_EQ(0, child_stop(&ch));
	}
	/* The owner is gone; its teardown waits in the device's callback. */
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(0, test_mdev_status(self->m.device, &st));
		if (st.stalled)
			break;
		usleep(10 * 1000);
	}
	ASSERT_EQ(1, st.stalled) TH_LOG("the teardown never notified the device");
	/* Meanwhile every request fails at once: the owner's mm is gone. */
	t0 = now_ms();
	{
		uint64_t v = 1;

		EXPECT_EQ(-ESRCH, test_mdev_pin(self->m.device, BUF_IOVA + PG(2),
						1, PIN_RW, NULL));
		EXPECT_EQ(-ESRCH, test_mdev_rw(self->m.device, BUF_IOVA + PG(2),
					       &v, sizeof(v), true));
		EXPECT_EQ(-ESRCH, vfio_map(container, buf, BUF_IOVA + BUF_SIZE,
					   PG(1)));
		EXPECT_EQ(-ESRCH, change_owner(container));
	}
	/* (A call that waited for the stalled teardown would wait until the
	 * mode changes below: never.  The bound only makes that fail fast.) */
	EXPECT_LT(now_ms() - t0, 10000.0);
	usleep(50 * 1000);	/* the pinner asks meanwhile too */
	/* Let the teardown go on. */
	ASSERT_EQ(0, test_mdev_set_mode(self->m.device,
					VFIO_LU_TEST_MDEV_MODE_HOLD));
	t0 = now_ms();
	/*
	 * The device did not let go of its pin when told: that page stays
	 * pinned, with its mapping; the rest of the dead owner's went.
	 */
	ASSERT_EQ(pinned0 + 1, pinned_settled(pinned0 + 1));
	TH_LOG("teardown done %.1f ms after the stall ended", now_ms() - t0);
	usleep(100 * 1000);
	ASSERT_EQ(pinned0 + 1, pinned_settled(pinned0 + 1));
	/* Still no owner: no new reference, not even on the page held. */
	EXPECT_EQ(-ESRCH, test_mdev_pin(self->m.device, BUF_IOVA + PG(1), 1,
					PIN_RW, NULL));
	EXPECT_EQ(-ESRCH, change_owner(container));
	/* An unmap asks the device again, in vain: EBUSY, nothing changes. */
	EXPECT_EQ(-EBUSY, vfio_unmap(container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(pinned0 + 1, pinned_settled(pinned0 + 1));
	usleep(100 * 1000);
	atomic_store(&p.stop, 1);
	ASSERT_EQ(0, pthread_join(thread, NULL));

	TH_LOG("%ld requests, slowest %.1f ms; after the owner died: %ld "
	       "ESRCH, %ld EINVAL", p.requests, p.max_ms, p.esrch, p.einval);
	EXPECT_EQ(0, p.failures_while_ok) TH_LOG("first error %d", p.first_error);
	/* The pinner asked during the held teardown: refused with ESRCH, at
	 * once (max_ms below). */
	EXPECT_LT(0, p.esrch);
	EXPECT_EQ(0, p.other_failures_after)
		TH_LOG("first other error after the owner died: %d",
		       p.first_other_after);
	EXPECT_GT(p.requests, ROUNDS);
	/* The device wrote guest memory through the owners' mms. */
	uint64_t written = 0;

	for (unsigned int i = 0; i < BUF_PAGES && !written; i++)
		memcpy(&written, buf + i * 4096 + 8, sizeof(written));
	EXPECT_NE(0, written);
	/* TCG is slow; a request that waited on userspace would wait forever. */
	EXPECT_LT(p.max_ms, 5000.0);
	ASSERT_EQ(0, test_mdev_status(self->m.device, &st));
	EXPECT_EQ(0, st.pinned_pages);
	/* Told to drop its pins (by the teardown, by the unmap), it kept one. */
	EXPECT_LT(1, st.unmap_calls);
	EXPECT_LE(1, st.held_refs);
	ASSERT_EQ(pinned0 + 1, pinned_settled(pinned0 + 1));
	/* Closing device and container releases it; the dead mm owes nothing. */
	test_mdev_destroy(&self->m);
	close_fd(&self->container);
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
}

/*
 * The device does not let go when told: the unmap fails with EBUSY after
 * the backend asked it (more than once), and changes nothing: the
 * mapping, the pin and its charge stay.  The container's release frees
 * them (the fixture's teardown; vm-run fails a run that leaves pins).
 */
TEST_F(owner_mdev, unmap_with_held_pins)
{
	struct vfio_lu_test_mdev_status st;
	long base = self->base;

	ASSERT_EQ(0, test_mdev_pin(self->m.device, BUF_IOVA + PG(5), 1, PIN_RW,
				   NULL));
	ASSERT_EQ(base + 4, vmlck_kb(0));
	ASSERT_EQ(0, test_mdev_set_mode(self->m.device,
					VFIO_LU_TEST_MDEV_MODE_HOLD));
	ASSERT_EQ(-EBUSY, vfio_unmap(self->container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, test_mdev_status(self->m.device, &st));
	EXPECT_LT(1, st.unmap_calls);
	EXPECT_EQ(1, st.held_refs);
	EXPECT_EQ(0, st.unmap_released);
	/* Nothing changed: still mapped (EEXIST), still pinned, charged. */
	ASSERT_EQ(-EEXIST, vfio_map(self->container, self->buf, BUF_IOVA,
				    PG(1)));
	ASSERT_EQ(base + 4, vmlck_kb(0));
	ASSERT_EQ(self->pinned0 + 1, pinned_settled(self->pinned0 + 1));
	/* The device may still work on the rest of the mapping. */
	ASSERT_EQ(0, test_mdev_rw(self->m.device, BUF_IOVA + PG(7), &st, 8,
				  true));
	/* Closing device and container releases it all. */
	test_mdev_destroy(&self->m);
	close(self->container);
	self->container = -1;
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
}

TEST_HARNESS_MAIN
