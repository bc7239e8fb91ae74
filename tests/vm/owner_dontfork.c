// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM marked MADV_DONTFORK, as QEMU marks it, on vfio_iommu_lu with
 * the edu device DMAing (docs/ownership.md): a forked holder does not
 * inherit the memory at the mapping's vaddr, so it has to map the memfd
 * (whose descriptor it does inherit) itself and stage its own vaddr.
 *
 *   plain_change_enxio
 *			the holder lacks the vaddr: its plain
 *			VFIO_CHANGE_DMA_OWNER fails with ENXIO and nothing
 *			changes (the parent still owns, pays and may map, the
 *			holder pays nothing, no page pinned anew, DMA works).
 *   holder_stages_own_vaddr
 *			the holder maps the memfd at an address of its own,
 *			stages it and commits: it owns and pays, nothing is
 *			pinned anew, and edu copies a pattern the holder wrote
 *			into pages the holder (and the parent) read back.  The
 *			parent's plain commit is then ENXIO (the vaddr is the
 *			holder's now); it stages its own and takes the
 *			mappings back the same way.  The holder's exit tears
 *			nothing down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)
#define BUF_PAGES	(BUF_SIZE / 4096)
#define PROBE_IOVA	0x1000000ull
#define HOLDER_SRC	0x20000		/* the holder writes, the device reads */
#define HOLDER_DST	0x30000		/* the device writes, the holder reads */
#define HOLDER_SEED	77

/* Inherited by the holder: the memfd, the parent's vaddr, and an address
 * range reserved for the holder's own view (PROT_NONE in the parent). */
static int g_memfd = -1;
static uint8_t *g_buf, *g_hole;

FIXTURE(df) {
	struct edu_env e;
	int memfd;
	uint8_t *buf;
	uint8_t *hole;
	long base;
	long pinned0;
};

FIXTURE_SETUP(df)
{
	self->e = (struct edu_env)EDU_ENV_NONE;
	self->memfd = -1;
	self->buf = self->hole = MAP_FAILED;
	REQUIRE_EDU();
	open_edu_env(&backend_ours, &self->e);
	self->base = vmlck_kb(0);
	ASSERT_LE(0, self->base);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
	self->buf = memfd_buffer(BUF_SIZE, &self->memfd);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, madvise(self->buf, BUF_SIZE, MADV_DONTFORK));
	self->hole = mmap(NULL, BUF_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->hole);
	g_memfd = self->memfd;
	g_buf = self->buf;
	g_hole = self->hole;
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 1));
}

FIXTURE_TEARDOWN(df)
{
	edu_env_close(&self->e);
	close_fd(&self->memfd);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	if (self->hole != MAP_FAILED)
		munmap(self->hole, BUF_SIZE);
}

/*
 * The holder's commands: 'a' is the parent's vaddr absent here (0 if so);
 * 'v' map the memfd over the reserved range and stage it; 'w' write the
 * pattern at HOLDER_SRC; 'c' check it at HOLDER_DST (0 if every byte is
 * there).
 */
static int holder_extra(int container, char c, int cmd, int rep)
{
	switch (c) {
	case 'a':
		/* msync() of an unmapped range: ENOMEM. */
		if (!msync(g_buf, 4096, MS_ASYNC))
			return -EEXIST;
		return errno == ENOMEM ? 0 : -errno;
	case 'v':
		if (mmap(g_hole, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, g_memfd, 0) != g_hole)
			return -errno;
		return vfio_stage_vaddr(container, g_hole, BUF_IOVA, BUF_SIZE);
	case 'w':
		fill_pattern(g_hole + HOLDER_SRC, EDU_DMA_MAX, HOLDER_SEED);
		memset(g_hole + HOLDER_DST, 0, EDU_DMA_MAX);
		return 0;
	case 'c':
		return check_pattern(g_hole + HOLDER_DST, EDU_DMA_MAX,
				     HOLDER_SEED) < 0 ? 0 : -EIO;
	}
	return -EINVAL;
}

TEST_F(df, plain_change_enxio)
{
	long acquired0 = pin_acquired_now();
	struct child h;
	struct reply r;

	ASSERT_EQ(0, child_start(&h, self->e.container, holder_extra));
	ASSERT_EQ(0, child_do(&h, 'a').ret) TH_LOG("fork copied DONTFORK memory");
	r = child_do(&h, 'o');
	ASSERT_EQ(-ENXIO, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	ASSERT_EQ(self->base + BUF_KB, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	/* Still ours: the holder may not map, we may. */
	ASSERT_EQ(-EPERM, child_do(&h, 'm').ret);
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, PROBE_IOVA, 4096));
	ASSERT_EQ(0, vfio_unmap(self->e.container, PROBE_IOVA, 4096));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 2));
	ASSERT_EQ(0, child_stop(&h));
	ASSERT_EQ(self->pinned0 + BUF_PAGES,
		  pinned_settled(self->pinned0 + BUF_PAGES));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(self->base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_F(df, holder_stages_own_vaddr)
{
	long base = self->base, acquired0 = pin_acquired_now();
	struct child h;
	struct reply r;

	ASSERT_EQ(0, child_start(&h, self->e.container, holder_extra));
	ASSERT_EQ(0, child_do(&h, 'a').ret);
	ASSERT_EQ(0, child_do(&h, 'v').ret);
	/* Staging alone moves nothing. */
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	r = child_do(&h, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB, r.vmlck_kb);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(-EPERM, vfio_map(self->e.container, self->buf, PROBE_IOVA,
				   4096));

	/* The device copies what the holder wrote; both views see it. */
	ASSERT_EQ(0, child_do(&h, 'w').ret);
	ASSERT_EQ(0, edu_dma(&self->e.edu, BUF_IOVA + HOLDER_SRC, 0,
			     EDU_DMA_MAX, false));
	ASSERT_EQ(0, edu_dma(&self->e.edu, BUF_IOVA + HOLDER_DST, 0,
			     EDU_DMA_MAX, true));
	ASSERT_EQ(0, child_do(&h, 'c').ret);
	ASSERT_GT(0, check_pattern(self->buf + HOLDER_DST, EDU_DMA_MAX,
				   HOLDER_SEED));

	/* Back the same way: our plain commit would use the holder's vaddr. */
	ASSERT_EQ(-ENXIO, change_owner(self->e.container));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(BUF_KB, vmlck_kb(h.pid));
	ASSERT_EQ(0, vfio_stage_vaddr(self->e.container, self->buf, BUF_IOVA,
				      BUF_SIZE));
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, PROBE_IOVA, 4096));
	ASSERT_EQ(0, vfio_unmap(self->e.container, PROBE_IOVA, 4096));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, vmlck_kb(h.pid));

	/* The holder leaves: it owns nothing, nothing goes. */
	ASSERT_EQ(0, child_stop(&h));
	usleep(200 * 1000);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(self->pinned0 + BUF_PAGES,
		  pinned_settled(self->pinned0 + BUF_PAGES));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 3));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(self->pinned0, pinned_settled(self->pinned0));
}

TEST_HARNESS_MAIN
