// SPDX-License-Identifier: GPL-2.0
/*
 * The owner's life cycle on vfio_iommu_lu (docs/ownership.md): what a
 * failing call leaves behind, what repeated handoffs cost the processes
 * involved, and whose staged vaddrs a commit uses.
 *
 *   failed_map_claims_nothing
 *			MAP_DMA from a process that does not own the (empty)
 *			container, failing 1000 times: it never becomes the
 *			owner and no canary vma is mapped into it.
 *   bounce_keeps_map_count_flat
 *			ownership bounced 1000 times between the test and a
 *			forked child: each keeps one canary, re-armed, so
 *			neither map count grows.
 *   third_party_partial_stage_ignored
 *			a third process stages a vaddr for one mapping of two:
 *			the holder's plain VFIO_CHANGE_DMA_OWNER (inherited
 *			vaddrs) still succeeds; the third party's own commit
 *			is EINVAL until it withdraws what it staged, then it
 *			commits with the inherited vaddrs.
 *   withdraw_arguments
 *			a withdrawal (VFIO_DMA_MAP_FLAG_VADDR, size 0) with a
 *			nonzero iova or vaddr is EINVAL.
 *   stage_range_all_or_nothing
 *			one VFIO_DMA_MAP_FLAG_VADDR over several whole
 *			adjacent mappings stages each at its offset; a range
 *			over a gap, starting or ending inside a mapping,
 *			running past the last, with a misaligned or wrapping
 *			vaddr, or with a short argsz is EINVAL and stages
 *			nothing (the owner's commit stays a no-op, which a
 *			partial staging would make EINVAL).
 *   stage_range_commit
 *			the range staged at a second view of the memfd
 *			commits, and the vaddrs are the right ones: with the
 *			first view gone, a forked child's plain commit of the
 *			inherited vaddrs succeeds.  A range staged over a view
 *			whose middle is another memfd, or read-only, fails at
 *			the commit (ENXIO) and installs nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define IOVA_A		0x100000ull
#define IOVA_B		0x400000ull
#define CANARY_NAME	"vfio_iommu_lu owner"

FIXTURE(life) {
	int container;
	int group;
};

FIXTURE_SETUP(life)
{
	self->container = self->group = -1;
	REQUIRE_EDU();
	open_edu(&backend_ours, &self->container, &self->group);
}

FIXTURE_TEARDOWN(life)
{
	close_fd(&self->group);
	close_fd(&self->container);
}

/* Lines of /proc/<pid>/maps (pid 0: self), and how many are canaries. */
static int count_vmas(pid_t pid, int *canaries)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), pid ? "/proc/%d/maps" : "/proc/self/maps",
		 pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	*canaries = 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		*canaries += !!strstr(line, CANARY_NAME);
	}
	fclose(f);
	return n;
}

/* Inherited by forked helpers: the two buffers the test maps. */
static uint8_t *buf_a, *buf_b;

/* Extra commands: 'f' 1000 failing maps, 's' stage A only, 'w' withdraw. */
static int extra(int container, char c, int cmd, int rep)
{
	int canaries, before, after;

	switch (c) {
	case 'f':
		before = count_vmas(0, &canaries);
		if (before < 0 || canaries)
			return -EPROTO;
		for (int i = 0; i < 1000; i++) {
			/* An IOVA of its own over memory that is not there. */
			if (vfio_map_raw(container,
					 sizeof(struct vfio_iommu_type1_dma_map),
					 VFIO_DMA_MAP_FLAG_READ |
					 VFIO_DMA_MAP_FLAG_WRITE,
					 (uintptr_t)unmapped_hole(BUF_SIZE),
					 IOVA_B, BUF_SIZE) != -EFAULT)
				return -EPROTO;
		}
		after = count_vmas(0, &canaries);
		/* unmapped_hole() leaves nothing mapped behind either. */
		return after == before && !canaries ? 0 : -EEXIST;
	case 's':
		return vfio_stage_vaddr(container, buf_a, IOVA_A, BUF_SIZE);
	case 'w':
		return vfio_stage_vaddr(container, NULL, 0, 0);
	}
	return -EINVAL;
}

TEST_F(life, failed_map_claims_nothing)
{
	struct child ch;
	int canaries;

	buf_a = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf_a);
	/* The test owned the container once, then emptied it. */
	ASSERT_EQ(0, vfio_map(self->container, buf_a, IOVA_A, BUF_SIZE));
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A, BUF_SIZE));
	ASSERT_LE(0, count_vmas(0, &canaries));
	ASSERT_EQ(1, canaries);

	ASSERT_EQ(0, child_start(&ch, self->container, extra));
	ASSERT_EQ(0, child_do(&ch, 'f').ret);
	ASSERT_EQ(0, child_stop(&ch));
	/* The test still maps as the owner, with the canary it had. */
	ASSERT_EQ(0, vfio_map(self->container, buf_a, IOVA_A, BUF_SIZE));
	ASSERT_LE(0, count_vmas(0, &canaries));
	ASSERT_EQ(1, canaries);
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A, BUF_SIZE));
	munmap(buf_a, BUF_SIZE);
}

TEST_F(life, bounce_keeps_map_count_flat)
{
	int mine0, theirs0, mine, theirs, c;
	long base = vmlck_kb(0);
	struct child ch;

	buf_a = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf_a);
	ASSERT_EQ(0, vfio_map(self->container, buf_a, IOVA_A, BUF_SIZE));
	ASSERT_EQ(0, child_start(&ch, self->container, NULL));

	/* One round gives each its canary. */
	ASSERT_EQ(0, child_do(&ch, 'o').ret);
	ASSERT_EQ(0, change_owner(self->container));
	mine0 = count_vmas(0, &c);
	ASSERT_EQ(1, c);
	theirs0 = count_vmas(ch.pid, &c);
	ASSERT_EQ(1, c);

	for (int i = 0; i < 1000; i++) {
		struct reply r = child_do(&ch, 'o');

		ASSERT_EQ(0, r.ret);
		ASSERT_EQ(BUF_SIZE / 1024, r.vmlck_kb);
		ASSERT_EQ(0, change_owner(self->container));
	}
	mine = count_vmas(0, &c);
	ASSERT_EQ(1, c);
	theirs = count_vmas(ch.pid, &c);
	ASSERT_EQ(1, c);
	EXPECT_EQ(mine0, mine);
	EXPECT_EQ(theirs0, theirs);
	EXPECT_EQ(base + BUF_SIZE / 1024, vmlck_kb(0));
	EXPECT_EQ(0, vmlck_kb(ch.pid));

	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A, BUF_SIZE));
	munmap(buf_a, BUF_SIZE);
}

TEST_F(life, third_party_partial_stage_ignored)
{
	struct child holder, third;

	buf_a = memfd_buffer(BUF_SIZE, NULL);
	buf_b = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf_a);
	ASSERT_NE(MAP_FAILED, buf_b);
	ASSERT_EQ(0, vfio_map(self->container, buf_a, IOVA_A, BUF_SIZE));
	ASSERT_EQ(0, vfio_map(self->container, buf_b, IOVA_B, BUF_SIZE));
	ASSERT_EQ(0, child_start(&holder, self->container, extra));
	ASSERT_EQ(0, child_start(&third, self->container, extra));

	/* The third party stages one mapping of two. */
	ASSERT_EQ(0, child_do(&third, 's').ret);
	/* The holder's plain commit does not see it. */
	ASSERT_EQ(0, child_do(&holder, 'o').ret);
	/* The third party's own commit does: partial, EINVAL. */
	ASSERT_EQ(-EINVAL, child_do(&third, 'o').ret);
	/* Withdrawn, it commits with the inherited vaddrs. */
	ASSERT_EQ(0, child_do(&third, 'w').ret);
	ASSERT_EQ(0, child_do(&third, 'o').ret);
	/* And the test takes it back, nothing staged anywhere. */
	ASSERT_EQ(0, change_owner(self->container));

	ASSERT_EQ(0, child_stop(&third));
	ASSERT_EQ(0, child_stop(&holder));
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A, IOVA_B + BUF_SIZE - IOVA_A));
	munmap(buf_a, BUF_SIZE);
	munmap(buf_b, BUF_SIZE);
}

TEST_F(life, withdraw_arguments)
{
	buf_a = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf_a);
	ASSERT_EQ(0, vfio_map(self->container, buf_a, IOVA_A, BUF_SIZE));
	ASSERT_EQ(-EINVAL, vfio_stage_vaddr(self->container, NULL, IOVA_A, 0));
	ASSERT_EQ(-EINVAL, vfio_stage_vaddr(self->container, buf_a, 0, 0));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, NULL, 0, 0));
	/* Staged, withdrawn: the commit is the owner's no-op. */
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, buf_a + BUF_SIZE,
				      IOVA_A, BUF_SIZE));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, NULL, 0, 0));
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A, BUF_SIZE));
	munmap(buf_a, BUF_SIZE);
}

/*
 * Stage ranges: RUN_N adjacent mappings of RUN_PIECE bytes from IOVA_A on,
 * then, after a gap of one piece, one more: every piece maps the same
 * memfd at its own offset.
 */
#define RUN_PIECE	(64u << 10)
#define RUN_N		4
#define RUN_LAST_IOVA	(IOVA_A + (RUN_N + 1) * RUN_PIECE)
#define RUN_BYTES	((RUN_N + 1) * RUN_PIECE)

static int map_run(int container, uint8_t *view)
{
	int ret = 0;

	for (unsigned int i = 0; i < RUN_N && !ret; i++)
		ret = vfio_map(container, view + i * RUN_PIECE,
			       IOVA_A + i * RUN_PIECE, RUN_PIECE);
	return ret ? ret : vfio_map(container, view + RUN_N * RUN_PIECE,
				    RUN_LAST_IOVA, RUN_PIECE);
}

/* Stage the whole container at @view: the run in one call, then the last. */
static int stage_run(int container, uint8_t *view)
{
	int ret = vfio_stage_vaddr(container, view, IOVA_A, RUN_N * RUN_PIECE);

	return ret ? ret : vfio_stage_vaddr(container, view + RUN_N * RUN_PIECE,
					    RUN_LAST_IOVA, RUN_PIECE);
}

static uint8_t *map_view(int fd, int prot)
{
	return mmap(NULL, RUN_BYTES, prot, MAP_SHARED, fd, 0);
}

TEST_F(life, stage_range_all_or_nothing)
{
	const uint32_t minsz = sizeof(struct vfio_iommu_type1_dma_map);
	uint8_t *view, *view2;
	int fd;

	view = memfd_buffer(RUN_BYTES, &fd);
	ASSERT_NE(MAP_FAILED, view);
	view2 = map_view(fd, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, view2);
	ASSERT_EQ(0, map_run(self->container, view));

	/* Over the gap, to the end of the last mapping. */
	EXPECT_EQ(-EINVAL, vfio_stage_vaddr(self->container, view2, IOVA_A,
					    RUN_BYTES + RUN_PIECE));
	/* Starting inside the first mapping, ending inside the last. */
	EXPECT_EQ(-EINVAL, vfio_stage_vaddr(self->container, view2,
					    IOVA_A + 4096,
					    RUN_N * RUN_PIECE - 4096));
	EXPECT_EQ(-EINVAL, vfio_stage_vaddr(self->container, view2, IOVA_A,
					    RUN_N * RUN_PIECE - 4096));
	/* Running past the run into the gap. */
	EXPECT_EQ(-EINVAL, vfio_stage_vaddr(self->container, view2, IOVA_A,
					    (RUN_N + 1) * RUN_PIECE));
	/* Misaligned and wrapping vaddrs. */
	EXPECT_EQ(-EINVAL, vfio_stage_vaddr(self->container, view2 + 2048,
					    IOVA_A, RUN_N * RUN_PIECE));
	EXPECT_EQ(-EINVAL, vfio_map_raw(self->container, minsz,
					VFIO_DMA_MAP_FLAG_VADDR,
					-(uint64_t)RUN_PIECE, IOVA_A,
					RUN_N * RUN_PIECE));
	/* An argsz short of the structure. */
	EXPECT_EQ(-EINVAL, vfio_map_raw(self->container, minsz - 1,
					VFIO_DMA_MAP_FLAG_VADDR,
					(uintptr_t)view2, IOVA_A,
					RUN_N * RUN_PIECE));
	/*
	 * Nothing was staged: staging the run alone now leaves the last
	 * mapping unstaged, so the commit is EINVAL; had any refused call
	 * staged, withdrawing shows the commit becomes the no-op again.
	 */
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, view2, IOVA_A,
				      RUN_N * RUN_PIECE));
	EXPECT_EQ(-EINVAL, change_owner(self->container));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, NULL, 0, 0));
	EXPECT_EQ(0, change_owner(self->container));

	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A,
				RUN_LAST_IOVA + RUN_PIECE - IOVA_A));
	munmap(view2, RUN_BYTES);
	munmap(view, RUN_BYTES);
	close(fd);
}

TEST_F(life, stage_range_commit)
{
	uint8_t *view, *view2, *bad, *ro;
	struct child ch;
	int fd, other;

	view = memfd_buffer(RUN_BYTES, &fd);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, map_run(self->container, view));

	/* The run staged at a second view, in one call: it commits. */
	view2 = map_view(fd, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, view2);
	ASSERT_EQ(0, stage_run(self->container, view2));
	ASSERT_EQ(0, change_owner(self->container));
	/* The installed vaddrs are view2's: a child that inherits them
	 * (and not the first view) can take the mappings over. */
	munmap(view, RUN_BYTES);
	ASSERT_EQ(0, child_start(&ch, self->container, NULL));
	EXPECT_EQ(0, child_do(&ch, 'o').ret);
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, child_stop(&ch));

	/* A view whose second piece is another memfd: ENXIO at the commit. */
	bad = map_view(fd, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, bad);
	other = memfd_create("other", 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ftruncate(other, RUN_PIECE));
	ASSERT_NE(MAP_FAILED, mmap(bad + RUN_PIECE, RUN_PIECE,
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, other, 0));
	ASSERT_EQ(0, stage_run(self->container, bad));
	EXPECT_EQ(-ENXIO, change_owner(self->container));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, NULL, 0, 0));

	/* A read-only view: the permissions differ, ENXIO. */
	ro = map_view(fd, PROT_READ);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, stage_run(self->container, ro));
	EXPECT_EQ(-ENXIO, change_owner(self->container));
	ASSERT_EQ(0, vfio_stage_vaddr(self->container, NULL, 0, 0));

	/* Neither failed commit installed anything: the vaddrs are still
	 * view2's, which a child inheriting them can take over. */
	munmap(bad, RUN_BYTES);
	munmap(ro, RUN_BYTES);
	ASSERT_EQ(0, child_start(&ch, self->container, NULL));
	EXPECT_EQ(0, child_do(&ch, 'o').ret);
	ASSERT_EQ(0, change_owner(self->container));
	ASSERT_EQ(0, child_stop(&ch));

	ASSERT_EQ(0, vfio_unmap(self->container, IOVA_A,
				RUN_LAST_IOVA + RUN_PIECE - IOVA_A));
	munmap(view2, RUN_BYTES);
	close(other);
	close(fd);
}

TEST_HARNESS_MAIN
