// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance, accounting and release: locked_vm (VmLck of
 * /proc/self/status) going up with mappings and pins and back to zero,
 * RLIMIT_MEMLOCK refusing maps and pins once CAP_IPC_LOCK is dropped,
 * and every page pinned being released (system-wide FOLL_PIN counters of
 * /proc/vmstat back to where they were) when the container, the group or
 * the process goes away.  Containers with the edu device (an IOMMU
 * domain: MAP_DMA pins), with the test mdev (no domain: pins happen on
 * the mdev's request), and with both, attached in either order.
 *
 * Each case runs on the stock vfio_iommu_type1 and on vfio_iommu_lu and
 * must give the same numbers; the expected ones are stock's.  The cases
 * open what they need themselves (the fixture opens nothing), because
 * several must open and close groups in a particular order or in a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(4 * SZ_1M)
#define IOVA		0x100000ull

FIXTURE(acct) {
	int container;
	int group;		/* edu */
	struct test_mdev mdev;
	uint8_t *buf;
	long pinned_base;
};

BACKEND_VARIANTS(acct);

FIXTURE_SETUP(acct)
{
	self->container = self->group = -1;
	self->mdev = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_EDU();
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0, BUF_SIZE);
	self->pinned_base = pinned_pages_now();
	ASSERT_LE(0, self->pinned_base);
	ASSERT_VMLCK_KB(0);
}

FIXTURE_TEARDOWN(acct)
{
	test_mdev_destroy(&self->mdev);
	close_fd(&self->group);
	close_fd(&self->container);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
}

/* Drop CAP_IPC_LOCK under RLIMIT_MEMLOCK = limit bytes, and make sure the
 * limit really applies now: mlock() beyond it fails, within it works. */
static void limit_memlock(struct __test_metadata *_metadata, uint64_t limit)
{
	size_t big = limit + 2 * PAGE_SZ;
	void *p = mmap(NULL, big, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	long locked_kb = vmlck_kb(0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_LE(0, locked_kb);
	ASSERT_EQ(0, set_memlock_limit(limit));
	ASSERT_EQ(0, drop_cap_ipc_lock());
	ASSERT_FALSE(cap_ipc_lock_effective());
	ASSERT_NE(0, mlock(p, big));
	ASSERT_EQ(ENOMEM, errno);
	if ((uint64_t)locked_kb * 1024 + PAGE_SZ <= limit) {
		ASSERT_EQ(0, mlock(p, PAGE_SZ));
		ASSERT_EQ(0, munlock(p, PAGE_SZ));
	}
	munmap(p, big);
	ASSERT_VMLCK_KB(locked_kb);
}

/* ---- locked_vm with an IOMMU domain ---- */

TEST_F(acct, vmlck_follows_maps)
{
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_2M);
	ASSERT_VMLCK_KB(2048);
	ASSERT_PINNED(self->pinned_base, 512);
	test_cmd_map(IOVA + SZ_2M, self->buf + SZ_2M, SZ_1M);
	ASSERT_VMLCK_KB(3072);
	ASSERT_PINNED(self->pinned_base, 768);
	test_cmd_unmap(IOVA, SZ_2M, SZ_2M);
	ASSERT_VMLCK_KB(1024);
	ASSERT_PINNED(self->pinned_base, 256);
	test_cmd_unmap_all(SZ_1M);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* Each mapping charges what it pinned, even when two map the same
 * memory (stock type1 does not look for aliases). */
TEST_F(acct, vmlck_alias_charged_per_mapping)
{
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_1M);
	test_cmd_map(IOVA + SZ_2M, self->buf, SZ_1M);
	ASSERT_VMLCK_KB(2048);
	ASSERT_PINNED(self->pinned_base, 512);
	test_cmd_unmap(IOVA, SZ_1M, SZ_1M);
	ASSERT_VMLCK_KB(1024);
	ASSERT_PINNED(self->pinned_base, 256);
	test_cmd_unmap(IOVA + SZ_2M, SZ_1M, SZ_1M);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* ---- RLIMIT_MEMLOCK ---- */

TEST_F(acct, rlimit_refuses_map)
{
	limit_memlock(_metadata, SZ_1M);
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, 512 * 1024);
	ASSERT_VMLCK_KB(512);
	/* Beyond the limit: refused as a whole, nothing more pinned. */
	test_err_map(ENOMEM, IOVA + SZ_1M, self->buf + SZ_1M, SZ_1M);
	ASSERT_VMLCK_KB(512);
	ASSERT_PINNED(self->pinned_base, 128);
	test_cmd_unmap(IOVA + SZ_1M, SZ_1M, 0);
	/* Up to the limit exactly is fine; one page more is not. */
	test_cmd_map(IOVA + SZ_1M, self->buf + SZ_1M, 512 * 1024);
	ASSERT_VMLCK_KB(1024);
	test_err_map(ENOMEM, IOVA + SZ_2M, self->buf + SZ_2M, PAGE_SZ);
	ASSERT_VMLCK_KB(1024);
	ASSERT_PINNED(self->pinned_base, 256);
	test_cmd_unmap_all(SZ_1M);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* The same limit with CAP_IPC_LOCK kept: ignored.  (Shows that the drop
 * is what makes rlimit_refuses_map refuse.) */
TEST_F(acct, rlimit_ignored_with_cap_ipc_lock)
{
	ASSERT_EQ(0, set_memlock_limit(SZ_1M));
	ASSERT_TRUE(cap_ipc_lock_effective());
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_2M);
	ASSERT_VMLCK_KB(2048);
	test_cmd_unmap_all(SZ_2M);
	ASSERT_VMLCK_KB(0);
}

/* The capability that counts is the one held at MAP_DMA time. */
TEST_F(acct, rlimit_cap_dropped_after_map)
{
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_2M);
	limit_memlock(_metadata, SZ_1M);
	ASSERT_VMLCK_KB(2048);
	test_err_map(ENOMEM, IOVA + SZ_2M, self->buf + SZ_2M, PAGE_SZ);
	test_cmd_unmap_all(SZ_2M);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

TEST_F(acct, rlimit_refuses_mdev_pin)
{
	REQUIRE_MDEV_VARIANT();
	limit_memlock(_metadata, SZ_64K);
	open_mdev(&variant->be, &self->container, &self->mdev);
	test_cmd_map(IOVA, self->buf, SZ_1M);	/* pins nothing: fine */
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 16, PIN_RW, NULL));
	ASSERT_VMLCK_KB(64);
	ASSERT_EQ(-ENOMEM, test_mdev_pin(self->mdev.device, IOVA + PG(16), 1,
					 PIN_RW, NULL));
	/* A batch that crosses the limit is undone as a whole. */
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA + PG(12), 4));
	ASSERT_EQ(-ENOMEM, test_mdev_pin(self->mdev.device, IOVA + PG(12), 8,
					 PIN_RW, NULL));
	ASSERT_VMLCK_KB(48);
	ASSERT_PINNED(self->pinned_base, 12);
	test_cmd_unmap_all(SZ_1M);
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/* ---- release on close and exit ---- */

/* Closing the container fd first: the group still holds the container,
 * so the mappings live on until the group is closed too. */
TEST_F(acct, container_then_group_close)
{
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_2M);
	close(self->container);
	self->container = -1;
	ASSERT_PINNED(self->pinned_base, 512);
	ASSERT_VMLCK_KB(2048);
	close(self->group);
	self->group = -1;
	ASSERT_PINNED(self->pinned_base, 0);
	ASSERT_VMLCK_KB(0);
}

/* Closing the last group releases everything, container fd still open;
 * the container is usable again afterwards (back to no IOMMU). */
TEST_F(acct, group_close_releases)
{
	open_edu(&variant->be, &self->container, &self->group);
	test_cmd_map(IOVA, self->buf, SZ_2M);
	test_cmd_map(IOVA + SZ_2M, self->buf, SZ_1M);
	close(self->group);
	self->group = -1;
	ASSERT_PINNED(self->pinned_base, 0);
	ASSERT_VMLCK_KB(0);
	test_err_map(EINVAL, IOVA, self->buf, SZ_4K);	/* no IOMMU set */
	self->group = vfio_open_group(self->container, edu_group_nr());
	ASSERT_LE(0, self->group);
	ASSERT_BACKEND(self->container, &variant->be);
	test_cmd_map(IOVA, self->buf, SZ_4K);
	test_cmd_unmap(IOVA, SZ_4K, SZ_4K);
}

/* A process that exits with everything open and mapped leaves nothing
 * pinned behind. */
TEST_F(acct, exit_releases)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int c, g;

		if (edu_container_open(&variant->be, &c, &g))
			_exit(2);
		if (vfio_map(c, self->buf, IOVA, SZ_2M))
			_exit(3);
		if (pinned_pages_now() - self->pinned_base != 512)
			_exit(4);
		_exit(0);	/* no unmap, no close */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_PINNED(self->pinned_base, 0);
	/* And the group is free for the next user. */
	open_edu(&variant->be, &self->container, &self->group);
}

TEST_F(acct, exit_releases_mdev_pins)
{
	int status;
	pid_t pid;

	REQUIRE_MDEV_VARIANT();
	ASSERT_EQ(0, test_mdev_create(&self->mdev));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int c;

		if (test_mdev_container_open(&self->mdev, &variant->be, &c))
			_exit(3);
		if (vfio_map(c, self->buf, IOVA, SZ_1M) ||
		    test_mdev_pin(self->mdev.device, IOVA, 16, PIN_RW, NULL) ||
		    test_mdev_pin(self->mdev.device, IOVA, 4, PIN_RW, NULL))
			_exit(4);
		if (pinned_pages_now() - self->pinned_base != 16 ||
		    vmlck_kb(0) != 64)
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_PINNED(self->pinned_base, 0);
}

/* ---- both kinds of device in one container ---- */

/* With an IOMMU domain present, mdev pins are not charged again. */
TEST_F(acct, mixed_container)
{
	open_edu(&variant->be, &self->container, &self->group);
	REQUIRE_MDEV_VARIANT();
	ASSERT_EQ(0, test_mdev_create_in(&self->mdev, self->container));
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	test_cmd_map(IOVA, self->buf, PG(16));
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 16);
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 4, PIN_RW, NULL));
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 20);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

/*
 * After a hole punch in mapped memory (docs/ownership.md, "Pages replaced
 * under a mapping") the IOMMU keeps the old pinned page, but a mediated
 * device's new pin and its vfio_dma_rw() follow the process's vaddr and
 * reach the new page.  The new pin is not charged (a domain is present),
 * like any mdev pin of an IOMMU-backed mapping.
 */
TEST_F(acct, hole_punch_mdev_follows_process)
{
	uint64_t old_pfn = 0, new_pfn = 0;
	uint8_t back[1024];
	struct edu edu;
	uint8_t *ram;
	int memfd;

	open_edu(&variant->be, &self->container, &self->group);
	REQUIRE_MDEV_VARIANT();
	ASSERT_EQ(0, test_mdev_create_in(&self->mdev, self->container));
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	ram = memfd_buffer(PG(16), &memfd);
	ASSERT_NE(MAP_FAILED, ram);
	fill_pattern(ram, PG(16), 1);
	test_cmd_map(IOVA, ram, PG(16));
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 1, PIN_RW, &old_pfn));
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA, 1));

	/* The process gets a new first page; ours and the IOMMU's stay. */
	ASSERT_EQ(0, fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, PG(1)));
	fill_pattern(ram, sizeof(back), 2);
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 16);

	/* The mdev: the new page, uncharged. */
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 1, PIN_RW, &new_pfn));
	ASSERT_NE(old_pfn, new_pfn);
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 17);
	ASSERT_EQ(0, test_mdev_rw(self->mdev.device, IOVA, back, sizeof(back),
				  false));
	ASSERT_EQ(-1, check_pattern(back, sizeof(back), 2));

	/* The IOMMU: the old page (copied by edu to an untouched page). */
	ASSERT_EQ(0, edu_open(&edu, self->group, edu_bdf()));
	ASSERT_EQ(0, edu_dma(&edu, IOVA, 0, sizeof(back), false));
	ASSERT_EQ(0, edu_dma(&edu, IOVA + PG(8), 0, sizeof(back), true));
	edu_close(&edu);
	ASSERT_EQ(-1, check_pattern(ram + PG(8), sizeof(back), 1));

	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA, 1));
	ASSERT_PINNED(self->pinned_base, 16);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	munmap(ram, PG(16));
	close(memfd);
}

/*
 * mdev first, IOMMU device added later: the backend pins and maps what
 * was mapped before (replay), charging only the pages the mdev had not
 * pinned already; removing the IOMMU device again charges back only the
 * mdev's pins.  The edu DMA proves the replay reached the IOMMU.
 */
TEST_F(acct, mdev_then_iommu_device)
{
	struct edu edu;

	REQUIRE_MDEV_VARIANT();
	open_mdev(&variant->be, &self->container, &self->mdev);
	test_cmd_map(IOVA, self->buf, PG(16));
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA + PG(4), 4, PIN_RW, NULL));
	ASSERT_VMLCK_KB(16);
	ASSERT_PINNED(self->pinned_base, 4);

	self->group = vfio_open_group(self->container, edu_group_nr());
	ASSERT_LE(0, self->group);
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 20);

	ASSERT_EQ(0, edu_open(&edu, self->group, edu_bdf()));
	fill_pattern(self->buf + PG(1), 1024, 1);
	ASSERT_EQ(0, edu_dma(&edu, IOVA + PG(1), 0, 1024, false));
	ASSERT_EQ(0, edu_dma(&edu, IOVA + PG(9), 0, 1024, true));
	ASSERT_EQ(-1, check_pattern(self->buf + PG(9), 1024, 1));
	edu_close(&edu);

	close(self->group);
	self->group = -1;
	ASSERT_VMLCK_KB(16);
	ASSERT_PINNED(self->pinned_base, 4);
	ASSERT_EQ(0, test_mdev_unpin(self->mdev.device, IOVA + PG(4), 4));
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
	test_cmd_unmap(IOVA, PG(16), PG(16));
}

/* IOMMU device first, mdev added later, then the IOMMU device leaves. */
TEST_F(acct, iommu_device_then_mdev)
{
	open_edu(&variant->be, &self->container, &self->group);
	REQUIRE_MDEV_VARIANT();
	test_cmd_map(IOVA, self->buf, PG(16));
	ASSERT_EQ(0, test_mdev_create_in(&self->mdev, self->container));
	ASSERT_EQ(0, test_mdev_open_device(&self->mdev));
	ASSERT_VMLCK_KB(64);
	ASSERT_EQ(0, test_mdev_pin(self->mdev.device, IOVA, 4, PIN_RW, NULL));
	ASSERT_VMLCK_KB(64);
	ASSERT_PINNED(self->pinned_base, 20);
	close(self->group);
	self->group = -1;
	ASSERT_VMLCK_KB(16);
	ASSERT_PINNED(self->pinned_base, 4);
	test_cmd_unmap(IOVA, PG(16), PG(16));
	ASSERT_VMLCK_KB(0);
	ASSERT_PINNED(self->pinned_base, 0);
}

TEST_HARNESS_MAIN
