// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO_CHANGE_DMA_OWNER and staged VFIO_DMA_MAP_FLAG_VADDR on vfio_iommu_lu,
 * with the edu device DMAing through the mappings:
 *
 *   seed_sequence      the seed's live update: fork, the child takes
 *                      ownership, the parent execs this binary again
 *                      (argv[1] == "--post-exec"), remaps the memfd passed
 *                      across exec, stages the vaddr, commits; the child
 *                      exits; DMA into the new mapping checked byte for byte
 *   fork_and_back      ownership to a forked child (same vaddrs) and back
 *   partial_staging    EINVAL, nothing changed
 *   enxio_*            a vaddr that maps another memfd, private memory, a
 *                      shorter mapping, other permissions: ENXIO, nothing
 *                      changed
 *   rlimit_too_low     the new owner's RLIMIT_MEMLOCK: ENOMEM, nothing
 *                      changed
 *   child_cannot_pin   a forked child cannot map (EPERM) nor exceed the
 *                      limit once it owns
 *   many_mappings      thousands of mappings moved at once
 *   repeated_handoffs  ownership back and forth, no locked_vm or pin growth
 *   unmap_by_non_owner the refund goes to the owner; an empty container
 *                      belongs to whoever maps first
 *   canary_sealed      the owner's canary vma cannot be unmapped,
 *                      mprotected, moved or copied by fork
 *
 * Every test proves our backend answered (backend_set()), and checks that
 * a handoff pins nothing anew: the system's acquired-pin counter, not only
 * the net pinned count, is unchanged across it.  Children report through
 * pipes (struct reply) and never use the harness's assertions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)

/* ---- shared by every test ---- */

/* The edu device in a container of ours; the test process owns. */
OWNER_FIXTURE(owner, BUF_SIZE);


/* ---- the seed's sequence, across exec ---- */

/*
 * The old VMM: set up, map, prove DMA, fork the holder, let it take
 * ownership, exec the new VMM with every descriptor preserved.
 */
static void old_vmm(void)
{
	struct child holder;
	struct reexec rx;
	struct reply r;
	struct edu_env e;
	uint8_t *buf;
	long acquired0;
	int memfd;

	CK(edu_env_open(&e, &backend_ours) == 0);
	buf = memfd_buffer(BUF_SIZE, &memfd);
	CK(buf != MAP_FAILED);
	CK(vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(edu_dma_round_trip(&e.edu, buf, BUF_IOVA, 1) == 0);
	/* Guest memory the new VMM must see: written now, read after exec. */
	fill_pattern(buf + 0x40000, 0x10000, 42);

	/* 1. fork; 2. the holder takes ownership (and the locked_vm). */
	acquired0 = pin_acquired_now();
	CK(acquired0 >= 0);
	CK(child_start(&holder, e.container, NULL) == 0);
	r = child_do(&holder, 'o');
	CK(r.ret == 0);
	CK(r.vmlck_kb == BUF_KB);
	CK(vmlck_kb(0) == 0);
	CK(pin_acquired_now() == acquired0);

	/* 3. exec the new binary, descriptors preserved. */
	reexec_init(&rx, "--post-exec");
	CK(reexec_fd(&rx, e.container) == 0);
	CK(reexec_fd(&rx, e.group) == 0);
	CK(reexec_fd(&rx, e.edu.device) == 0);
	CK(reexec_fd(&rx, memfd) == 0);
	CK(reexec_child(&rx, &holder) == 0);
	CK(reexec_num(&rx, (uintptr_t)buf) == 0);
	CK(reexec_num(&rx, acquired0) == 0);
	CK(reexec(&rx) == 0);
	CK(!"exec");
}
#define POST_EXEC_ARGS	9

/* The new VMM, after exec: steps 4 and 5 of the seed. */
static int new_vmm(char **argv)
{
	int container = reexec_arg(argv, 0), device = reexec_arg(argv, 2);
	int memfd = reexec_arg(argv, 3);
	struct child holder = child_from_args(argv, 4);
	uintptr_t old_vaddr = reexec_arg(argv, 7);
	long acquired0 = reexec_arg(argv, 8);
	struct edu edu;
	uint8_t *buf;

	CK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU) == 1);
	CK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) == 1);
	CK(edu_adopt(&edu, device) == 0);
	CK(vmlck_kb(0) == 0);
	/* The guest keeps running: the device still reaches the memory, here
	 * through pages the holder owns (the old vaddr is gone with exec). */
	CK(edu_dma(&edu, BUF_IOVA + 0x40000, 0, EDU_DMA_MAX, false) == 0);
	CK(edu_dma(&edu, BUF_IOVA + 0x70000, 0, EDU_DMA_MAX, true) == 0);

	/* 4. remap the preserved memory object, at a different address. */
	buf = mmap((void *)(old_vaddr + (64u << 20)), BUF_SIZE,
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		   memfd, 0);
	CK(buf != MAP_FAILED);
	CK((uintptr_t)buf != old_vaddr);
	CK(check_pattern(buf + 0x40000, 0x10000, 42) < 0);
	/* What the device copied between exec and commit arrived. */
	CK(check_pattern(buf + 0x70000, EDU_DMA_MAX, 42) < 0);
	CK(vfio_stage_vaddr(container, buf, BUF_IOVA, BUF_SIZE) == 0);
	/* Staging alone changes nothing. */
	CK(vmlck_kb(0) == 0);
	CK(vmlck_kb(holder.pid) == BUF_KB);
	CK(change_owner(container) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(vmlck_kb(holder.pid) == 0);
	/* Neither the holder's take-over nor the commit pinned anything. */
	CK(pin_acquired_now() == acquired0);

	/* 5. the holder exits: nothing is torn down, it no longer owns. */
	CK(child_stop(&holder) == 0);
	usleep(200 * 1000);

	/* DMA into the new mapping, byte for byte, through the new vaddr. */
	CK(edu_dma_round_trip(&edu, buf, BUF_IOVA, 7) == 0);
	memset(buf + 0x50000, 0, EDU_DMA_MAX);
	fill_pattern(buf + 0x60000, EDU_DMA_MAX, 9);
	CK(edu_dma(&edu, BUF_IOVA + 0x60000, 0, EDU_DMA_MAX, false) == 0);
	CK(edu_dma(&edu, BUF_IOVA + 0x50000, 0, EDU_DMA_MAX, true) == 0);
	CK(check_pattern(buf + 0x50000, EDU_DMA_MAX, 9) < 0);
	/* The new VMM owns: it may map more (same pages at another IOVA). */
	CK(vfio_map(container, buf, BUF_IOVA + 0x1000000, 0x100000) == 0);
	CK(vmlck_kb(0) == BUF_KB + 1024);
	CK(vfio_unmap(container, BUF_IOVA + 0x1000000, 0x100000) == 0);
	CK(vfio_unmap(container, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == 0);
	return 0;
}

TEST(seed_sequence)
{
	REQUIRE_EDU();
	ASSERT_CHILD_RUNS(old_vmm);
}

/* ---- after fork, without exec ---- */

TEST_F(owner, fork_and_back)
{
	long base = self->base, pinned0 = self->pinned0, acquired0;
	uint8_t *buf = self->buf;
	struct child ch;
	struct reply r;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 1));

	acquired0 = pin_acquired_now();
	/* fork starts at 0: the child's VmLck is what it took over */
	test_cmd_child_owns(&ch, self->e.container, NULL, BUF_KB);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	/* The parent is no longer the owner: it may not map. */
	ASSERT_EQ(-EPERM, vfio_map(self->e.container, buf, BUF_IOVA + BUF_SIZE,
				   BUF_SIZE));
	/* The device still works on the same pages. */
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 2));

	/* Take it back: same vaddrs. */
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	r = child_do(&ch, 'o');		/* and again, both ways */
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(0, change_owner(self->e.container));	/* owner, nothing staged: no-op */
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);

	/* The old owner exits: it owns nothing, nothing is torn down. */
	ASSERT_EQ(0, child_stop(&ch));
	usleep(200 * 1000);
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 3));
	ASSERT_EQ(pinned0 + BUF_SIZE / 4096, pinned_settled(pinned0 + BUF_SIZE / 4096));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

/*
 * Anyone holding the descriptor may unmap; the refund goes to the owner,
 * exactly, not to the caller.  An empty container belongs to whoever
 * maps first.
 */
TEST_F(owner, unmap_by_non_owner)
{
	long base = self->base, pinned0 = self->pinned0, acquired0;
	uint8_t *buf = self->buf;
	struct child ch;
	struct reply r;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(0, vfio_map(self->e.container, buf + BUF_SIZE / 2,
			      BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
	test_cmd_child_owns(&ch, self->e.container, NULL, BUF_KB);
	ASSERT_EQ(base, vmlck_kb(0));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(BUF_KB / 2, vmlck_kb(ch.pid));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0 + BUF_SIZE / 2 / 4096,
		  pinned_settled(pinned0 + BUF_SIZE / 2 / 4096));
	ASSERT_NO_NEW_PINS(acquired0);
	/* The child still owns what is left: we may not map. */
	ASSERT_EQ(-EPERM, vfio_map(self->e.container, buf, BUF_IOVA,
				   BUF_SIZE / 2));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf + BUF_SIZE / 2,
					BUF_IOVA + BUF_SIZE / 2, 12));
	/* The rest too: the container is empty, the owner owes nothing. */
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA + BUF_SIZE / 2,
				BUF_SIZE / 2));
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	/* Whoever maps first owns it now: us, and the child may not map. */
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	r = child_do(&ch, 'm');
	ASSERT_EQ(-EPERM, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);
	ASSERT_EQ(0, child_stop(&ch));
	/* Its exit changes nothing for us. */
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 13));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
}

/* The canary vmas in this process's /proc/self/maps: their number, and
 * the address of the first in *addr. */
static int canaries(void **addr)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vfio_iommu_lu owner]"))
			continue;
		if (!n++ && addr)
			*addr = (void *)strtoul(line, NULL, 16);
	}
	fclose(f);
	return n;
}

/*
 * The canary vma: one in the owner's mm, none in a forked child's
 * (VM_DONTCOPY); userspace can neither unmap, mprotect nor move it
 * (sealed), nor make fork copy it (MADV_DOFORK refused).
 */
TEST_F(owner, canary_sealed)
{
	void *canary = NULL;
	int status;
	pid_t pid;

	ASSERT_EQ(0, canaries(NULL));
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(1, canaries(&canary));
	if (!kernel_at_least(6, 10)) {
		uint32_t avail0 = vfio_dma_avail(self->e.container) + 1;

		/* No mseal before 6.10 (kmod/compat.h): the canary can be
		 * unmapped, and that is the owner letting go: its mappings
		 * are torn down as at exit (docs/ownership.md). */
		ASSERT_EQ(0, munmap(canary, 4096));
		ASSERT_EQ(0, canaries(NULL));
		ASSERT_EQ(0, vfio_wait_torn_down(self->e.container, avail0));
		ASSERT_EQ(self->base, vmlck_kb(0));
		return;
	}
	EXPECT_EQ(-1, munmap(canary, 4096));
	EXPECT_EQ(EPERM, errno);
	/* Even to the protection it has (sealed); never readable (its file
	 * is not). */
	EXPECT_EQ(-1, mprotect(canary, 4096, PROT_NONE));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect(canary, 4096, PROT_READ));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mremap(canary, 4096, 8192, MREMAP_MAYMOVE));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, madvise(canary, 4096, MADV_DOFORK));
	EXPECT_EQ(EINVAL, errno);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(canaries(NULL) == 0 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("a forked child got a canary");
	/* Nothing fired: still mapped, charged, working. */
	ASSERT_EQ(1, canaries(NULL));
	ASSERT_EQ(self->base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, self->buf, BUF_IOVA, 14));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
}

/* ---- errors: nothing changes ---- */

/* Two mappings, A and B, of one memfd; the test process owns them. */
FIXTURE(two) {
	struct edu_env e;
	int memfd;
	uint8_t *buf;
	long base;
};

FIXTURE_SETUP(two)
{
	self->e = (struct edu_env)EDU_ENV_NONE;
	self->memfd = -1;
	REQUIRE_EDU();
	open_edu_env(&backend_ours, &self->e);
	self->base = vmlck_kb(0);
	ASSERT_LE(0, self->base);
	self->buf = memfd_buffer(BUF_SIZE, &self->memfd);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf, BUF_IOVA,
			      BUF_SIZE / 2));
	ASSERT_EQ(0, vfio_map(self->e.container, self->buf + BUF_SIZE / 2,
			      BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
}

FIXTURE_TEARDOWN(two)
{
	edu_env_close(&self->e);
	close_fd(&self->memfd);
}

/* Still owned by us, at the old vaddrs, charged once, DMA working. */
#define ASSERT_UNCHANGED(t) do {					\
	ASSERT_EQ((t)->base + BUF_KB, vmlck_kb(0));			\
	ASSERT_EQ(0, edu_dma_round_trip(&(t)->e.edu, (t)->buf, BUF_IOVA, 5)); \
} while (0)

/* A second view of the same memfd, for the legitimate staging. */
static uint8_t *remap(FIXTURE_DATA(two) *t)
{
	return mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    t->memfd, 0);
}

TEST_F(two, partial_staging)
{
	FIXTURE_DATA(two) *t = self;
	long acquired0 = pin_acquired_now();
	struct child ch;
	uint8_t *view;

	view = remap(t);
	ASSERT_NE(MAP_FAILED, view);
	/*
	 * Staging takes whole mappings: one, or several adjacent ones in
	 * one call (owner_lifecycle.stage_range_*), never part of one.
	 */
	ASSERT_EQ(-EINVAL, vfio_stage_vaddr(t->e.container, view, BUF_IOVA,
					    BUF_SIZE / 2 + 4096));
	ASSERT_EQ(-EINVAL, vfio_stage_vaddr(t->e.container, view, BUF_IOVA + 4096,
				       BUF_SIZE / 2 - 4096));
	ASSERT_EQ(-EINVAL, vfio_map_raw(t->e.container,
					sizeof(struct vfio_iommu_type1_dma_map),
					VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ,
					(uintptr_t)view, BUF_IOVA, BUF_SIZE / 2));
	/* A alone: EINVAL for us, who staged it. */
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, view, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(-EINVAL, change_owner(t->e.container));
	ASSERT_UNCHANGED(t);
	/*
	 * Staged vaddrs belong to who staged them: a forked child's plain
	 * commit does not see ours and succeeds; we cannot take it back
	 * while our partial staging stands, and can once we withdraw it.
	 */
	ASSERT_EQ(0, child_start(&ch, t->e.container, NULL));
	ASSERT_EQ(0, child_do(&ch, 'o').ret);
	ASSERT_EQ(-EINVAL, change_owner(t->e.container));
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, NULL, 0, 0));
	ASSERT_EQ(0, change_owner(t->e.container));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_UNCHANGED(t);
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, view, BUF_IOVA, BUF_SIZE / 2));
	/* B too: the commit moves both vaddrs (same process: no charge). */
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, view + BUF_SIZE / 2,
				 BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
	ASSERT_EQ(0, change_owner(t->e.container));
	ASSERT_EQ(t->base + BUF_KB, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	munmap(t->buf, BUF_SIZE);	/* the old view is no longer needed */
	ASSERT_EQ(0, edu_dma_round_trip(&t->e.edu, view, BUF_IOVA, 6));
	/* Staged vaddrs were installed: an unchanged commit is fine. */
	ASSERT_EQ(0, change_owner(t->e.container));
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, vfio_unmap(t->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(t->base, vmlck_kb(0));
}

/* Stage @bad for A and a good view for B: ENXIO, then fix A and commit. */
static void enxio_case(struct __test_metadata *_metadata, FIXTURE_DATA(two) *t,
		       uint8_t *bad)
{
	long acquired0 = pin_acquired_now();
	uint8_t *view = remap(t);

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, bad, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, view + BUF_SIZE / 2,
				 BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
	ASSERT_EQ(-ENXIO, change_owner(t->e.container));
	ASSERT_UNCHANGED(t);
	/* Staging again replaces: now it works. */
	ASSERT_EQ(0, vfio_stage_vaddr(t->e.container, view, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(0, change_owner(t->e.container));
	ASSERT_EQ(t->base + BUF_KB, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, edu_dma_round_trip(&t->e.edu, view, BUF_IOVA, 8));
}

TEST_F(two, enxio_other_memfd)
{
	FIXTURE_DATA(two) *t = self;
	enxio_case(_metadata, t, memfd_buffer(BUF_SIZE / 2, NULL));
}

TEST_F(two, enxio_private_mapping)
{
	FIXTURE_DATA(two) *t = self;
	/* Same memfd, but MAP_PRIVATE. */
	enxio_case(_metadata, t, mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE, t->memfd, 0));
}

TEST_F(two, enxio_shorter_mapping)
{
	FIXTURE_DATA(two) *t = self;
	uint8_t *area;
	/* The memfd's first half minus one page, then anonymous memory. */
	area = mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_NE(MAP_FAILED, mmap(area, BUF_SIZE / 2 - 4096,
				   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				   t->memfd, 0));
	enxio_case(_metadata, t, area);
}

TEST_F(two, enxio_other_offset_or_permissions)
{
	FIXTURE_DATA(two) *t = self;
	/* Same memfd at another offset (B's pages for A). */
	enxio_case(_metadata, t, mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
				       MAP_SHARED, t->memfd, BUF_SIZE / 2));
	/* Same pages, read-only. */
	enxio_case(_metadata, t, mmap(NULL, BUF_SIZE / 2, PROT_READ,
				       MAP_SHARED, t->memfd, 0));
}

/* Private memory never changes owner, even at the same vaddr after fork. */
TEST_F(owner, enxio_private_after_fork)
{
	long base = self->base, acquired0;
	struct child ch;
	void *anon;

	anon = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	memset(anon, 1, BUF_SIZE);
	ASSERT_EQ(0, vfio_map(self->e.container, anon, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, anon, BUF_IOVA, 1));
	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, child_start(&ch, self->e.container, NULL));
	ASSERT_EQ(-ENXIO, child_do(&ch, 'o').ret);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, anon, BUF_IOVA, 2));
}

TEST_F(owner, rlimit_too_low)
{
	long base = self->base, acquired0;
	struct child ch;
	struct reply r;
	uint8_t *big;

	/* 8 MiB mapped; the child may lock 4 MiB only. */
	big = memfd_buffer(4 * BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, big);
	ASSERT_EQ(0, vfio_map(self->e.container, big, BUF_IOVA, 4 * BUF_SIZE));
	ASSERT_EQ(base + 4 * BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, child_start(&ch, self->e.container, NULL));
	ASSERT_EQ(0, child_do(&ch, 'l').ret);
	acquired0 = pin_acquired_now();
	r = child_do(&ch, 'o');
	ASSERT_EQ(-ENOMEM, r.ret);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, r.vmlck_kb);		/* nothing charged to it */
	ASSERT_EQ(base + 4 * BUF_KB, vmlck_kb(0));	/* nor taken from us */
	ASSERT_EQ(-EPERM, child_do(&ch, 'm').ret);	/* still not the owner */
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, big, BUF_IOVA, 3));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, 4 * BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
}

/*
 * The parent under a 4 MiB limit maps 2 MiB.  A forked child cannot map
 * (EPERM); once it owns, the 2 MiB count against its own limit, so 4 MiB
 * more fail (ENOMEM).  When it exits still owning, everything goes.
 */
TEST_F(owner, child_cannot_pin)
{
	long base = self->base, pinned0 = self->pinned0, acquired0;
	uint8_t *buf = self->buf;
	struct child ch;
	struct reply r;

	ASSERT_EQ(0, set_memlock_limit(4u << 20));
	ASSERT_EQ(0, drop_cap_ipc_lock());
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));

	ASSERT_EQ(0, child_start(&ch, self->e.container, NULL));
	ASSERT_EQ(-EPERM, child_do(&ch, 'm').ret);
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	acquired0 = pin_acquired_now();
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB, r.vmlck_kb);
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(-ENOMEM, child_do(&ch, 'm').ret);
	/* The parent cannot map around it either. */
	ASSERT_EQ(-EPERM, vfio_map(self->e.container, buf, BUF_IOVA + BUF_SIZE,
				   BUF_SIZE));
	ASSERT_EQ(0, child_stop(&ch));
	/* Close on exit: all unmapped, unpinned, unaccounted. */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 4));
}

/* ---- scale and repetition ---- */

#define MANY		2048
#define MANY_SIZE	((size_t)MANY * 4096)

TEST_F(owner, many_mappings)
{
	long base = self->base, pinned0 = self->pinned0, acquired0;
	struct timespec t0, t1;
	struct child ch;
	struct reply r;
	uint8_t *buf;
	uint64_t unmapped = 0;

	buf = memfd_buffer(MANY_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	for (size_t i = 0; i < MANY; i++)
		ASSERT_EQ(0, vfio_map(self->e.container, buf + i * 4096,
				      BUF_IOVA + i * 4096, 4096));
	ASSERT_EQ(base + MANY_SIZE / 1024, vmlck_kb(0));

	acquired0 = pin_acquired_now();
	ASSERT_EQ(0, child_start(&ch, self->e.container, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = child_do(&ch, 'o');
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, r.ret);
	TH_LOG("%d mappings moved in %.1f ms", MANY,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ASSERT_EQ(MANY_SIZE / 1024, r.vmlck_kb);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, change_owner(self->e.container));
	ASSERT_EQ(base + MANY_SIZE / 1024, vmlck_kb(0));
	ASSERT_NO_NEW_PINS(acquired0);
	ASSERT_EQ(0, child_stop(&ch));
	/* DMA across mapping boundaries (several 4 KiB mappings). */
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 5));
	ASSERT_EQ(0, vfio_unmap_raw(self->e.container,
				    sizeof(struct vfio_iommu_type1_dma_unmap),
				    VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped));
	ASSERT_EQ(MANY_SIZE, unmapped);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

TEST_F(owner, repeated_handoffs)
{
	long base = self->base, pinned0 = self->pinned0, pinned1, acquired0;
	uint8_t *buf = self->buf;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	pinned1 = pinned_settled(pinned0 + BUF_SIZE / 4096);
	ASSERT_EQ(pinned0 + BUF_SIZE / 4096, pinned1);

	acquired0 = pin_acquired_now();
	for (int i = 0; i < 40; i++) {
		struct child ch;

		test_cmd_child_owns(&ch, self->e.container, NULL, BUF_KB);
		ASSERT_EQ(base, vmlck_kb(0));
		ASSERT_EQ(0, change_owner(self->e.container));
		ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
		ASSERT_EQ(0, child_stop(&ch));
		ASSERT_EQ(pinned1, pinned_settled(pinned1));
		ASSERT_NO_NEW_PINS(acquired0);
	}
	ASSERT_EQ(0, edu_dma_round_trip(&self->e.edu, buf, BUF_IOVA, 9));
	ASSERT_EQ(0, vfio_unmap(self->e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--post-exec", POST_EXEC_ARGS);

	if (args)
		return new_vmm(args);
	return test_harness_run(argc, argv);
}
