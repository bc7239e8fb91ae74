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
 *
 * Every test proves our backend answered: VFIO_SET_IOMMU with
 * VFIO_LU_TYPE1v2_IOMMU and VFIO_CHECK_EXTENSION(VFIO_DMA_OWNER) == 1.
 * Children report through pipes (struct reply) and never use the
 * harness's assertions.
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
#include "conformance_util.h"
#include "edu.h"
#include "owner_child.h"
#include "vfio_util.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)

/* ---- shared by every test ---- */

struct env {
	int container;
	int group;
	struct edu edu;
};

/* Container + edu group + our backend, proven; edu opened.  0 or -errno. */
static int env_open(struct env *e)
{
	int nr = edu_group_nr(), ret;

	memset(e, 0, sizeof(*e));
	e->container = e->group = e->edu.device = -1;
	if (nr < 0 || !edu_bdf())
		return -ENODEV;
	e->container = vfio_open_container();
	if (e->container < 0)
		return e->container;
	e->group = vfio_open_group(e->container, nr);
	if (e->group < 0)
		return e->group;
	ret = vfio_set_iommu(e->container, VFIO_LU_TYPE1v2_IOMMU);
	if (ret)
		return ret;
	if (ioctl(e->container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU) != 1 ||
	    ioctl(e->container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) != 1)
		return -EPROTO;
	return edu_open(&e->edu, e->group, edu_bdf());
}

static void env_close(struct env *e)
{
	if (e->edu.device >= 0)
		edu_close(&e->edu);
	if (e->group >= 0)
		close(e->group);
	if (e->container >= 0)
		close(e->container);
}

#define ENV_OPEN(e) do {						\
	int __r = env_open(e);						\
	if (__r == -ENODEV)						\
		SKIP(return, "no edu device (not run by tools/vm-run?)"); \
	ASSERT_EQ(0, __r);						\
} while (0)

static int stage_vaddr(int container, void *vaddr, uint64_t iova,
		       uint64_t size)
{
	return vfio_map_raw(container, sizeof(struct vfio_iommu_type1_dma_map),
			    VFIO_DMA_MAP_FLAG_VADDR, (uintptr_t)vaddr, iova,
			    size);
}

/*
 * The device reads a pattern at buf+src (IOVA iova+src) and writes it back
 * at buf+dst: 0 if every byte arrived, else -1 / -errno.
 */
static int dma_round_trip(struct edu *edu, uint8_t *buf, uint64_t iova,
			  unsigned int seed)
{
	const uint32_t len = EDU_DMA_MAX;
	const size_t src = 0x3000, dst = 0x9000;
	int ret;

	fill_pattern(buf + src, len, seed);
	memset(buf + dst, 0, len);
	ret = edu_dma(edu, iova + src, 0, len, false);
	if (!ret)
		ret = edu_dma(edu, iova + dst, 0, len, true);
	if (!ret && check_pattern(buf + dst, len, seed) >= 0)
		ret = -1;
	return ret;
}

/* ---- the seed's sequence, across exec ---- */

#define CK(cond) do {							\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s failed (errno %d)\n",		\
			__FILE__, __LINE__, #cond, errno);		\
		_exit(1);						\
	}								\
} while (0)

static int no_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/*
 * The old VMM: set up, map, prove DMA, fork the holder, let it take
 * ownership, exec the new VMM with every descriptor preserved.
 */
static void old_vmm(void)
{
	struct child holder;
	struct reply r;
	struct env e;
	char args[8][32];
	uint8_t *buf;
	int memfd;

	CK(env_open(&e) == 0);
	buf = memfd_buffer(BUF_SIZE, &memfd);
	CK(buf != MAP_FAILED);
	CK(vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) >= BUF_KB);
	CK(dma_round_trip(&e.edu, buf, BUF_IOVA, 1) == 0);
	/* Guest memory the new VMM must see: written now, read after exec. */
	fill_pattern(buf + 0x40000, 0x10000, 42);

	/* 1. fork; 2. the holder takes ownership (and the locked_vm). */
	CK(child_start(&holder, e.container, NULL) == 0);
	r = child_do(&holder, 'o');
	CK(r.ret == 0);
	CK(r.vmlck_kb >= BUF_KB);
	CK(vmlck_kb(0) == r.vmlck_kb - BUF_KB);

	/* 3. exec the new binary, descriptors preserved. */
	CK(no_cloexec(e.container) == 0 && no_cloexec(e.group) == 0 &&
	   no_cloexec(e.edu.device) == 0 && no_cloexec(memfd) == 0 &&
	   no_cloexec(holder.cmd) == 0 && no_cloexec(holder.rep) == 0);
	snprintf(args[0], 32, "%d", e.container);
	snprintf(args[1], 32, "%d", e.edu.device);
	snprintf(args[2], 32, "%d", memfd);
	snprintf(args[3], 32, "%d", holder.pid);
	snprintf(args[4], 32, "%d", holder.cmd);
	snprintf(args[5], 32, "%d", holder.rep);
	snprintf(args[6], 32, "%lu", (unsigned long)(uintptr_t)buf);
	execl("/proc/self/exe", "owner_handoff", "--post-exec", args[0],
	      args[1], args[2], args[3], args[4], args[5], args[6],
	      (char *)NULL);
	CK(!"exec");
}

/* Map BAR0 of an inherited edu device fd (bus mastering is still on). */
static int edu_attach(struct edu *edu, int device)
{
	struct vfio_region_info bar0 = {
		.argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	void *p;

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar0))
		return -errno;
	p = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, device,
		 bar0.offset);
	if (p == MAP_FAILED)
		return -errno;
	edu->device = device;
	edu->bar0 = p;
	edu->bar0_size = bar0.size;
	return 0;
}

/* The new VMM, after exec: steps 4 and 5 of the seed. */
static int new_vmm(char **argv)
{
	int container = atoi(argv[0]), device = atoi(argv[1]);
	int memfd = atoi(argv[2]);
	struct child holder = {
		.pid = atoi(argv[3]), .cmd = atoi(argv[4]), .rep = atoi(argv[5]),
	};
	uintptr_t old_vaddr = strtoul(argv[6], NULL, 0);
	struct edu edu;
	uint8_t *buf;

	CK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) == 1);
	CK(edu_attach(&edu, device) == 0);
	/* The guest keeps running: the device still reaches the memory. */
	CK(vmlck_kb(0) == 0);

	/* 4. remap the preserved memory object, at a different address. */
	buf = mmap((void *)(old_vaddr + (64u << 20)), BUF_SIZE,
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		   memfd, 0);
	CK(buf != MAP_FAILED);
	CK((uintptr_t)buf != old_vaddr);
	CK(check_pattern(buf + 0x40000, 0x10000, 42) < 0);
	CK(stage_vaddr(container, buf, BUF_IOVA, BUF_SIZE) == 0);
	/* Staging alone changes nothing. */
	CK(vmlck_kb(0) == 0);
	CK(vmlck_kb(holder.pid) >= BUF_KB);
	CK(change_owner(container) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(vmlck_kb(holder.pid) == 0);

	/* 5. the holder exits: nothing is torn down, it no longer owns. */
	CK(child_stop(&holder) == 0);
	usleep(200 * 1000);

	/* DMA into the new mapping, byte for byte, through the new vaddr. */
	CK(dma_round_trip(&edu, buf, BUF_IOVA, 7) == 0);
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
	pid_t pid;
	int status;

	if (edu_group_nr() < 0 || !edu_bdf())
		SKIP(return, "no edu device (not run by tools/vm-run?)");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		old_vmm();
		_exit(1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* ---- after fork, without exec ---- */

TEST(fork_and_back)
{
	long base = vmlck_kb(0), pinned0;
	struct child ch;
	struct reply r;
	struct env e;
	uint8_t *buf;

	ENV_OPEN(&e);
	pinned0 = pinned_base();
	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 1));

	ASSERT_EQ(0, child_start(&ch, e.container, NULL));
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB, r.vmlck_kb);	/* fork starts at 0 */
	ASSERT_EQ(base, vmlck_kb(0));
	/* The parent is no longer the owner: it may not map. */
	ASSERT_EQ(-EPERM, vfio_map(e.container, buf, BUF_IOVA + BUF_SIZE,
				   BUF_SIZE));
	/* The device still works on the same pages. */
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 2));

	/* Take it back: same vaddrs. */
	ASSERT_EQ(0, change_owner(e.container));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	r = child_do(&ch, 'o');		/* and again, both ways */
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, change_owner(e.container));
	ASSERT_EQ(0, change_owner(e.container));	/* owner, nothing staged: no-op */
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));

	/* The old owner exits: it owns nothing, nothing is torn down. */
	ASSERT_EQ(0, child_stop(&ch));
	usleep(200 * 1000);
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 3));
	ASSERT_EQ(pinned0 + BUF_SIZE / 4096, pinned_settled(pinned0 + BUF_SIZE / 4096));
	ASSERT_EQ(0, vfio_unmap(e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	env_close(&e);
}

/* ---- errors: nothing changes ---- */

/* Two mappings, A and B, of one memfd; the test process owns them. */
struct two {
	struct env e;
	int memfd;
	uint8_t *buf;
	long base;
};

static int two_setup(struct two *t)
{
	int ret = env_open(&t->e);

	if (ret)
		return ret;
	t->base = vmlck_kb(0);
	t->buf = memfd_buffer(BUF_SIZE, &t->memfd);
	if (t->buf == MAP_FAILED)
		return -ENOMEM;
	ret = vfio_map(t->e.container, t->buf, BUF_IOVA, BUF_SIZE / 2);
	if (!ret)
		ret = vfio_map(t->e.container, t->buf + BUF_SIZE / 2,
			       BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2);
	return ret;
}

#define TWO_SETUP(t) do {						\
	int __r = two_setup(t);						\
	if (__r == -ENODEV)						\
		SKIP(return, "no edu device (not run by tools/vm-run?)"); \
	ASSERT_EQ(0, __r);						\
} while (0)

/* Still owned by us, at the old vaddrs, charged once, DMA working. */
#define ASSERT_UNCHANGED(t) do {					\
	ASSERT_EQ((t)->base + BUF_KB, vmlck_kb(0));			\
	ASSERT_EQ(0, dma_round_trip(&(t)->e.edu, (t)->buf, BUF_IOVA, 5)); \
} while (0)

/* A second view of the same memfd, for the legitimate staging. */
static uint8_t *remap(struct two *t)
{
	return mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    t->memfd, 0);
}

TEST(partial_staging)
{
	struct child ch;
	struct two t;
	uint8_t *view;

	TWO_SETUP(&t);
	view = remap(&t);
	ASSERT_NE(MAP_FAILED, view);
	/* Staging needs the exact iova and size of one mapping. */
	ASSERT_EQ(-EINVAL, stage_vaddr(t.e.container, view, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(-EINVAL, stage_vaddr(t.e.container, view, BUF_IOVA + 4096,
				       BUF_SIZE / 2 - 4096));
	ASSERT_EQ(-EINVAL, vfio_map_raw(t.e.container,
					sizeof(struct vfio_iommu_type1_dma_map),
					VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ,
					(uintptr_t)view, BUF_IOVA, BUF_SIZE / 2));
	/* A alone: EINVAL for us, who staged it. */
	ASSERT_EQ(0, stage_vaddr(t.e.container, view, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(-EINVAL, change_owner(t.e.container));
	ASSERT_UNCHANGED(&t);
	/*
	 * Staged vaddrs belong to who staged them: a forked child's plain
	 * commit does not see ours and succeeds; we cannot take it back
	 * while our partial staging stands, and can once we withdraw it.
	 */
	ASSERT_EQ(0, child_start(&ch, t.e.container, NULL));
	ASSERT_EQ(0, child_do(&ch, 'o').ret);
	ASSERT_EQ(-EINVAL, change_owner(t.e.container));
	ASSERT_EQ(0, stage_vaddr(t.e.container, NULL, 0, 0));
	ASSERT_EQ(0, change_owner(t.e.container));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_UNCHANGED(&t);
	ASSERT_EQ(0, stage_vaddr(t.e.container, view, BUF_IOVA, BUF_SIZE / 2));
	/* B too: the commit moves both vaddrs (same process: no charge). */
	ASSERT_EQ(0, stage_vaddr(t.e.container, view + BUF_SIZE / 2,
				 BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
	ASSERT_EQ(0, change_owner(t.e.container));
	ASSERT_EQ(t.base + BUF_KB, vmlck_kb(0));
	munmap(t.buf, BUF_SIZE);	/* the old view is no longer needed */
	ASSERT_EQ(0, dma_round_trip(&t.e.edu, view, BUF_IOVA, 6));
	/* Staged vaddrs were installed: an unchanged commit is fine. */
	ASSERT_EQ(0, change_owner(t.e.container));
	ASSERT_EQ(0, vfio_unmap(t.e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(t.base, vmlck_kb(0));
	env_close(&t.e);
}

/* Stage @bad for A and a good view for B: ENXIO, then fix A and commit. */
static void enxio_case(struct __test_metadata *_metadata, struct two *t,
		       uint8_t *bad)
{
	uint8_t *view = remap(t);

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_NE(MAP_FAILED, view);
	ASSERT_EQ(0, stage_vaddr(t->e.container, bad, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(0, stage_vaddr(t->e.container, view + BUF_SIZE / 2,
				 BUF_IOVA + BUF_SIZE / 2, BUF_SIZE / 2));
	ASSERT_EQ(-ENXIO, change_owner(t->e.container));
	ASSERT_UNCHANGED(t);
	/* Staging again replaces: now it works. */
	ASSERT_EQ(0, stage_vaddr(t->e.container, view, BUF_IOVA, BUF_SIZE / 2));
	ASSERT_EQ(0, change_owner(t->e.container));
	ASSERT_EQ(t->base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, dma_round_trip(&t->e.edu, view, BUF_IOVA, 8));
}

TEST(enxio_other_memfd)
{
	struct two t;

	TWO_SETUP(&t);
	enxio_case(_metadata, &t, memfd_buffer(BUF_SIZE / 2, NULL));
	env_close(&t.e);
}

TEST(enxio_private_mapping)
{
	struct two t;

	TWO_SETUP(&t);
	/* Same memfd, but MAP_PRIVATE. */
	enxio_case(_metadata, &t, mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE, t.memfd, 0));
	env_close(&t.e);
}

TEST(enxio_shorter_mapping)
{
	uint8_t *area;
	struct two t;

	TWO_SETUP(&t);
	/* The memfd's first half minus one page, then anonymous memory. */
	area = mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_NE(MAP_FAILED, mmap(area, BUF_SIZE / 2 - 4096,
				   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				   t.memfd, 0));
	enxio_case(_metadata, &t, area);
	env_close(&t.e);
}

TEST(enxio_other_offset_or_permissions)
{
	struct two t;

	TWO_SETUP(&t);
	/* Same memfd at another offset (B's pages for A). */
	enxio_case(_metadata, &t, mmap(NULL, BUF_SIZE / 2, PROT_READ | PROT_WRITE,
				       MAP_SHARED, t.memfd, BUF_SIZE / 2));
	/* Same pages, read-only. */
	enxio_case(_metadata, &t, mmap(NULL, BUF_SIZE / 2, PROT_READ,
				       MAP_SHARED, t.memfd, 0));
	env_close(&t.e);
}

/* Private memory never changes owner, even at the same vaddr after fork. */
TEST(enxio_private_after_fork)
{
	long base = vmlck_kb(0);
	struct child ch;
	struct env e;
	void *anon;

	ENV_OPEN(&e);
	anon = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	memset(anon, 1, BUF_SIZE);
	ASSERT_EQ(0, vfio_map(e.container, anon, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, dma_round_trip(&e.edu, anon, BUF_IOVA, 1));
	ASSERT_EQ(0, child_start(&ch, e.container, NULL));
	ASSERT_EQ(-ENXIO, child_do(&ch, 'o').ret);
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, dma_round_trip(&e.edu, anon, BUF_IOVA, 2));
	env_close(&e);
}

TEST(rlimit_too_low)
{
	long base = vmlck_kb(0);
	struct child ch;
	struct reply r;
	struct env e;
	uint8_t *big;

	ENV_OPEN(&e);
	/* 8 MiB mapped; the child may lock 4 MiB only. */
	big = memfd_buffer(4 * BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, big);
	ASSERT_EQ(0, vfio_map(e.container, big, BUF_IOVA, 4 * BUF_SIZE));
	ASSERT_EQ(base + 4 * BUF_KB, vmlck_kb(0));
	ASSERT_EQ(0, child_start(&ch, e.container, NULL));
	ASSERT_EQ(0, child_do(&ch, 'l').ret);
	r = child_do(&ch, 'o');
	ASSERT_EQ(-ENOMEM, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);		/* nothing charged to it */
	ASSERT_EQ(base + 4 * BUF_KB, vmlck_kb(0));	/* nor taken from us */
	ASSERT_EQ(-EPERM, child_do(&ch, 'm').ret);	/* still not the owner */
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, dma_round_trip(&e.edu, big, BUF_IOVA, 3));
	ASSERT_EQ(0, vfio_unmap(e.container, BUF_IOVA, 4 * BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	env_close(&e);
}

/*
 * The parent under a 4 MiB limit maps 2 MiB.  A forked child cannot map
 * (EPERM); once it owns, the 2 MiB count against its own limit, so 4 MiB
 * more fail (ENOMEM).  When it exits still owning, everything goes.
 */
TEST(child_cannot_pin)
{
	long base, pinned0;
	struct child ch;
	struct reply r;
	struct env e;
	uint8_t *buf;

	ENV_OPEN(&e);
	ASSERT_EQ(0, set_memlock_limit(4u << 20));
	ASSERT_EQ(0, drop_cap_ipc_lock());
	base = vmlck_kb(0);
	pinned0 = pinned_base();
	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));

	ASSERT_EQ(0, child_start(&ch, e.container, NULL));
	ASSERT_EQ(-EPERM, child_do(&ch, 'm').ret);
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB, r.vmlck_kb);
	ASSERT_EQ(-ENOMEM, child_do(&ch, 'm').ret);
	/* The parent cannot map around it either. */
	ASSERT_EQ(-EPERM, vfio_map(e.container, buf, BUF_IOVA + BUF_SIZE,
				   BUF_SIZE));
	ASSERT_EQ(0, child_stop(&ch));
	/* Close on exit: all unmapped, unpinned, unaccounted. */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 4));
	env_close(&e);
}

/* ---- scale and repetition ---- */

#define MANY		2048
#define MANY_SIZE	((size_t)MANY * 4096)

TEST(many_mappings)
{
	long base = vmlck_kb(0), pinned0;
	struct timespec t0, t1;
	struct child ch;
	struct reply r;
	struct env e;
	uint8_t *buf;
	uint64_t unmapped = 0;

	ENV_OPEN(&e);
	pinned0 = pinned_base();
	buf = memfd_buffer(MANY_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	for (size_t i = 0; i < MANY; i++)
		ASSERT_EQ(0, vfio_map(e.container, buf + i * 4096,
				      BUF_IOVA + i * 4096, 4096));
	ASSERT_EQ(base + MANY_SIZE / 1024, vmlck_kb(0));

	ASSERT_EQ(0, child_start(&ch, e.container, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = child_do(&ch, 'o');
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, r.ret);
	TH_LOG("%d mappings moved in %.1f ms", MANY,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ASSERT_EQ(MANY_SIZE / 1024, r.vmlck_kb);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, change_owner(e.container));
	ASSERT_EQ(base + MANY_SIZE / 1024, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));
	/* DMA across mapping boundaries (several 4 KiB mappings). */
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 5));
	ASSERT_EQ(0, vfio_unmap_raw(e.container,
				    sizeof(struct vfio_iommu_type1_dma_unmap),
				    VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped));
	ASSERT_EQ(MANY_SIZE, unmapped);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	env_close(&e);
}

TEST(repeated_handoffs)
{
	long base = vmlck_kb(0), pinned0, pinned1;
	struct env e;
	uint8_t *buf;

	ENV_OPEN(&e);
	pinned0 = pinned_base();
	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	pinned1 = pinned_settled(pinned0 + BUF_SIZE / 4096);
	ASSERT_EQ(pinned0 + BUF_SIZE / 4096, pinned1);

	for (int i = 0; i < 40; i++) {
		struct child ch;
		struct reply r;

		ASSERT_EQ(0, child_start(&ch, e.container, NULL));
		r = child_do(&ch, 'o');
		ASSERT_EQ(0, r.ret);
		ASSERT_EQ(BUF_KB, r.vmlck_kb);
		ASSERT_EQ(base, vmlck_kb(0));
		ASSERT_EQ(0, change_owner(e.container));
		ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
		ASSERT_EQ(0, child_stop(&ch));
		ASSERT_EQ(pinned1, pinned_settled(pinned1));
	}
	ASSERT_EQ(0, dma_round_trip(&e.edu, buf, BUF_IOVA, 9));
	ASSERT_EQ(0, vfio_unmap(e.container, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	env_close(&e);
}

int main(int argc, char **argv)
{
	if (argc == 9 && !strcmp(argv[1], "--post-exec"))
		return new_vmm(argv + 2);
	return test_harness_run(argc, argv);
}
