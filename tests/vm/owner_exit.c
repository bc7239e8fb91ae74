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
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)
#define BUF_PAGES	(BUF_SIZE / 4096)

/* ---- shared by every test ---- */

/* The edu device in a container of ours; the test process owns. */
OWNER_FIXTURE(owner, BUF_SIZE);

/* What the helper child closes on 'c' (its copies, inherited by fork). */
static struct edu_env *child_env;

/*
 * The helper child's extra commands: 'e' exec this binary again (the new
 * image answers once, then obeys 'x' only); 'c' close every descriptor and
 * mapping of the container it inherited (child_env), staying alive.
 */
static int child_extra(int container, char c, int cmd, int rep)
{
	struct reexec rx;
	int ret;

	switch (c) {
	case 'e':
		reexec_init(&rx, "--idle");
		ret = reexec_fd(&rx, cmd);
		if (!ret)
			ret = reexec_fd(&rx, rep);
		/* The container descriptor survives exec too: it must not
		 * matter. */
		if (!ret)
			ret = reexec_fd(&rx, container);
		return ret ? ret : reexec(&rx);
	case 'c':
		if (!child_env)
			return -EINVAL;
		edu_env_close(child_env);	/* BAR0 mapping too */
		return 0;
	}
	return -EINVAL;
}

/* The container is empty and ours to use again; DMA works. */
static int reusable(struct edu_env *e, uint8_t *buf)
{
	int ret = vfio_map(e->container, buf, BUF_IOVA, BUF_SIZE);

	if (!ret)
		ret = edu_dma_round_trip(&e->edu, buf, BUF_IOVA, 11);
	if (!ret)
		ret = vfio_unmap(e->container, BUF_IOVA, BUF_SIZE);
	return ret;
}

TEST_F(owner, owner_exits)
{
	long base = self->base, pinned0 = self->pinned0;
	uint8_t *buf = self->buf;
	struct child ch;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA + BUF_SIZE, BUF_SIZE));
	ASSERT_EQ(base + 2 * BUF_KB, vmlck_kb(0));
	ASSERT_EQ(pinned0 + 2 * BUF_PAGES, pinned_settled(pinned0 + 2 * BUF_PAGES));

	test_cmd_child_owns(&ch, self->e.container, child_extra, 2 * BUF_KB);
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));

	/* Torn down by the backend, not by us. */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
	ASSERT_EQ(0, reusable(&self->e, buf));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
}

TEST_F(owner, owner_execs)
{
	long base = self->base, pinned0 = self->pinned0;
	uint8_t *buf = self->buf;
	struct child ch;
	struct reply r;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	test_cmd_child_owns(&ch, self->e.container, child_extra, BUF_KB);

	/* The owner execs (its descriptors stay open across exec). */
	r = child_do(&ch, 'e');
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, r.vmlck_kb);		/* the new image owes nothing */
	ASSERT_EQ(pinned0, pinned_settled(pinned0));	/* while it runs */
	ASSERT_EQ(0, vmlck_kb(ch.pid));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, vfio_unmap_all(self->e.container));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(0, reusable(&self->e, buf));
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
	if (vfio_unmap_all(container) != 0)
		return 11;
	if (vmlck_kb(0) != 0)
		return 12;
	return 0;
}

TEST(leaked_descriptor)
{
	int result[2], status = -1;
	pid_t g;

	REQUIRE_EDU();
	ASSERT_EQ(0, pipe(result));
	g = fork();
	ASSERT_LE(0, g);
	if (!g) {
		int gone[2];
		struct edu_env e;
		uint8_t *buf;
		long pinned0;
		pid_t h;

		if (edu_env_open(&e, &backend_ours) || pipe(gone))
			_exit(1);
		pinned0 = pinned_base();
		if (pinned0 < 0)
			_exit(5);
		buf = memfd_buffer(BUF_SIZE, NULL);
		if (buf == MAP_FAILED ||
		    vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) ||
		    edu_dma_round_trip(&e.edu, buf, BUF_IOVA, 1))
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
 * The container goes first: every descriptor of it is closed (the owner's
 * copies too) while the owner still lives; its release unmaps everything,
 * refunds the owner and disarms the canary.  The owner exits later: its
 * canary vma fires into nothing.
 */
TEST_F(owner, container_first)
{
	long base = self->base, pinned0 = self->pinned0;
	uint8_t *buf = self->buf;
	struct child ch;

	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	child_env = &self->e;
	test_cmd_child_owns(&ch, self->e.container, child_extra, BUF_KB);
	/* The owner drops its copies, then we drop ours: released now. */
	ASSERT_EQ(0, child_do(&ch, 'c').ret);
	ASSERT_EQ(BUF_KB, vmlck_kb(ch.pid));	/* we still hold it */
	edu_env_close(&self->e);
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(0, vmlck_kb(ch.pid));		/* refunded, owner alive */
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(0, child_stop(&ch));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
	/* The same from the test process itself as owner. */
	ASSERT_EQ(0, edu_env_open(&self->e, &backend_ours));
	ASSERT_EQ(0, vfio_map(self->e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	edu_env_close(&self->e);
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	ASSERT_EQ(base, vmlck_kb(0));
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--idle", 3);

	if (args)
		return child_idle_after_exec(reexec_arg(args, 0),
					     reexec_arg(args, 1));
	return test_harness_run(argc, argv);
}
