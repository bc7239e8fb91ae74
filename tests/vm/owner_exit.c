// SPDX-License-Identifier: GPL-2.0
/*
 * Close-on-exit/exec on vfio_iommu_lu: when the process that owns a
 * container's mappings exits or execs without handing them over, every
 * mapping is unmapped, unpinned and unaccounted, whoever else still holds
 * the descriptor.
 *
 *   owner_exits        a forked child takes ownership and exits
 *   owner_execs        a forked child takes ownership and execs this binary
 *                      (argv[1] == "--idle"); torn down while the new
 *                      image is still running
 *   leaked_descriptor  the owner exits while a child it forked (holding the
 *                      descriptors, never the owner) lives on
 *   container_first    the container is closed before its owner exits (the
 *                      canary vma outlives the container)
 *
 * Checks: pinned-page counters back to where they were, VmLck back, the
 * container empty (UNMAP_ALL reports 0 bytes) and usable again.  Every
 * test proves our backend answered (VFIO_LU_TYPE1v2_IOMMU,
 * VFIO_CHECK_EXTENSION(VFIO_DMA_OWNER) == 1).
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
#define BUF_PAGES	(BUF_SIZE / 4096)

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
	/* A group just closed by an exiting process may take a moment to
	 * become free again (its last references go with the process). */
	for (int i = 0; i < 100; i++) {
		e->group = vfio_open_group(e->container, nr);
		if (e->group != -EBUSY)
			break;
		usleep(50 * 1000);
	}
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

/* The helper child's extra command: 'e' exec this binary again (which
 * answers once, then obeys 'x' only). */
static void child_exec(int container, int cmd, int rep);

static int child_extra(int container, char c, int cmd, int rep)
{
	if (c != 'e')
		return -EINVAL;
	child_exec(container, cmd, rep);	/* returns only on error */
	return -errno;
}

static int no_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

/* 'e': the owner execs; the new image answers once and waits for 'x'. */
static void child_exec(int container, int cmd, int rep)
{
	char a[2][16];

	/* The container descriptor survives exec too: it must not matter. */
	if (no_cloexec(container) || no_cloexec(cmd) || no_cloexec(rep))
		return;
	snprintf(a[0], sizeof(a[0]), "%d", cmd);
	snprintf(a[1], sizeof(a[1]), "%d", rep);
	execl("/proc/self/exe", "owner_exit", "--idle", a[0], a[1],
	      (char *)NULL);
}

static int idle_after_exec(int cmd, int rep)
{
	struct reply r = { .ret = 0, .vmlck_kb = vmlck_kb(0) };
	char c;

	if (write(rep, &r, sizeof(r)) != sizeof(r))
		return 2;
	while (read(cmd, &c, 1) == 1 && c != 'x')
		;
	return 0;
}

/* Number of bytes UNMAP_ALL removes now (0: the container is empty). */
static uint64_t unmap_all(int container)
{
	uint64_t unmapped = ~0ull;

	if (vfio_unmap_raw(container, sizeof(struct vfio_iommu_type1_dma_unmap),
			   VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped))
		return ~0ull;
	return unmapped;
}

/* The container is empty and ours to use again; DMA works. */
static int reusable(struct env *e, uint8_t *buf)
{
	int ret = vfio_map(e->container, buf, BUF_IOVA, BUF_SIZE);

	if (!ret)
		ret = dma_round_trip(&e->edu, buf, BUF_IOVA, 11);
	if (!ret)
		ret = vfio_unmap(e->container, BUF_IOVA, BUF_SIZE);
	return ret;
}

TEST(owner_exits)
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
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA + BUF_SIZE, BUF_SIZE));
	ASSERT_EQ(base + 2 * BUF_KB, vmlck_kb(0));
	ASSERT_EQ(pinned0 + 2 * BUF_PAGES, pinned_settled(pinned0 + 2 * BUF_PAGES));

	ASSERT_EQ(0, child_start(&ch, e.container, child_extra));
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(2 * BUF_KB, r.vmlck_kb);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));

	/* Torn down by the backend, not by us. */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, unmap_all(e.container));
	ASSERT_EQ(0, reusable(&e, buf));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	env_close(&e);
}

TEST(owner_execs)
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
	ASSERT_EQ(0, child_start(&ch, e.container, child_extra));
	r = child_do(&ch, 'o');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(BUF_KB, r.vmlck_kb);

	/* The owner execs (its descriptors stay open across exec). */
	r = child_do(&ch, 'e');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);		/* the new image owes nothing */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));	/* while it runs */
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, unmap_all(e.container));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, reusable(&e, buf));
	env_close(&e);
}

/*
 * The owner (a forked child G of the test) maps, forks H and exits
 * without unmapping; H keeps every descriptor.  H checks that the pages
 * went anyway and reports through a pipe.
 */
static int leaked_holder(int container, int gone, long pinned0)
{
	char c;

	/* EOF once G, the owner, has exited. */
	while (read(gone, &c, 1) > 0)
		;
	if (pinned_settled(pinned0) != pinned0)
		return 10;
	if (unmap_all(container) != 0)
		return 11;
	if (vmlck_kb(0) != 0)
		return 12;
	return 0;
}

TEST(leaked_descriptor)
{
	int result[2], status = -1;
	pid_t g;

	if (edu_group_nr() < 0 || !edu_bdf())
		SKIP(return, "no edu device (not run by tools/vm-run?)");
	ASSERT_EQ(0, pipe(result));
	g = fork();
	ASSERT_LE(0, g);
	if (!g) {
		int gone[2];
		struct env e;
		uint8_t *buf;
		long pinned0;
		pid_t h;

		if (env_open(&e) || pipe(gone))
			_exit(1);
		pinned0 = pinned_base();
		buf = memfd_buffer(BUF_SIZE, NULL);
		if (buf == MAP_FAILED ||
		    vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) ||
		    dma_round_trip(&e.edu, buf, BUF_IOVA, 1))
			_exit(2);
		h = fork();
		if (h < 0)
			_exit(3);
		if (!h) {
			int st;

			close(gone[1]);
			st = leaked_holder(e.container, gone[0], pinned0);
			if (write(result[1], &st, sizeof(st)) != sizeof(st))
				_exit(4);
			_exit(0);
		}
		_exit(0);	/* still owning: the backend must clean up */
	}
	close(result[1]);
	ASSERT_EQ(g, waitpid(g, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	status = -1;
	ASSERT_EQ(sizeof(status), read(result[0], &status, sizeof(status)));
	ASSERT_EQ(0, status);
}

/*
 * The container goes first (its release unmaps everything and disarms
 * the canary); the owner exits later: its canary vma fires into nothing.
 */
TEST(container_first)
{
	long base = vmlck_kb(0), pinned0;
	struct child ch;
	struct env e;
	uint8_t *buf;

	ENV_OPEN(&e);
	pinned0 = pinned_base();
	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, child_start(&ch, e.container, child_extra));
	ASSERT_EQ(0, child_do(&ch, 'o').ret);
	/* The child holds copies of the descriptors: close ours, then its. */
	env_close(&e);
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	/* The same from the test process itself as owner. */
	ENV_OPEN(&e);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	env_close(&e);
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--idle"))
		return idle_after_exec(atoi(argv[2]), atoi(argv[3]));
	return test_harness_run(argc, argv);
}
