// SPDX-License-Identifier: GPL-2.0
/*
 * The drop-in mode: vfio_iommu_lu loaded with type1v2=1 answers
 * VFIO_TYPE1v2_IOMMU, so an unmodified Type1v2 user gets it
 * (include/vfio_lu.h, docs/ownership.md).  Registered with MODULE_PARAMS
 * "type1v2=1"; skipped (with the reason) when the parameter is not set.
 *
 *   type1v2_user_gets_ours
 *			VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU), as any VMM: our
 *			backend answers (VFIO_CHECK_EXTENSION of
 *			VFIO_LU_TYPE1v2_IOMMU and of VFIO_DMA_OWNER is 1),
 *			memfd and anonymous memory map, edu DMA works through
 *			both, unmap reports the sizes, VmLck and the pinned
 *			pages are exact at every step.
 *   launcher_exec_loses_mappings
 *			the deliberate difference from stock: a launcher that
 *			maps and then execs the VMM binary (this one, with
 *			"--alone") loses its mappings at exec (close-on-exit):
 *			the new image finds the container empty, nothing
 *			pinned or charged, and may map again.  Stock keeps
 *			them pinned for the new image.
 *   launcher_hands_to_holder
 *			the same launcher hands the mappings to a forked
 *			holder first ("--handed"): the new image finds them
 *			intact (pattern, DMA through the holder's pages, no
 *			page pinned anew), maps the memfd, stages, commits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(2u << 20)
#define BUF_IOVA	0x100000ull
#define BUF_KB		(BUF_SIZE / 1024)
#define BUF_PAGES	(BUF_SIZE / 4096)
#define ANON_SIZE	(1u << 20)
#define ANON_IOVA	0x800000ull
#define OLD_OFF		0x40000		/* the launcher's CPU writes here */

/* What an unmodified VMM asks for; backend_set() proves it is ours. */
static const struct backend dropin = {
	.name = "VFIO_TYPE1v2_IOMMU served by vfio_iommu_lu",
	.type = VFIO_TYPE1v2_IOMMU,
	.ours = true,
};

#define PARAM_PATH	"/sys/module/" OURS_MODULE "/parameters/type1v2"
#define NO_DROPIN	"vfio_iommu_lu not loaded with type1v2=1 (tools/vm-run " \
			"--module-params type1v2=1)"

/* Is the module parameter type1v2 set? */
static bool dropin_mode(void)
{
	char c = 0;
	int fd = open(PARAM_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

#define REQUIRE_DROPIN() do {						\
	REQUIRE_EDU();							\
	if (!dropin_mode())						\
		SKIP(return, NO_DROPIN);				\
} while (0)

TEST(type1v2_user_gets_ours)
{
	struct edu_env e = EDU_ENV_NONE;
	long base, pinned0;
	uint64_t unmapped = 0;
	uint8_t *buf, *anon;
	int probe;

	REQUIRE_DROPIN();
	/* Before SET_IOMMU the core asks every backend. */
	probe = vfio_open_container();
	ASSERT_LE(0, probe);
	ASSERT_EQ(1, ioctl(probe, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	close(probe);

	base = vmlck_kb(0);
	ASSERT_LE(0, base);
	pinned0 = pinned_base();
	ASSERT_LE(0, pinned0);
	open_edu_env(&dropin, &e);
	/* What a VMM that knows nothing of us would see, and what we add. */
	EXPECT_EQ(1, ioctl(e.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(e.container, VFIO_CHECK_EXTENSION,
			   VFIO_LU_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(e.container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER));

	buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, buf);
	anon = mmap(NULL, ANON_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_EQ(0, vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE));
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(pinned0 + BUF_PAGES, pinned_settled(pinned0 + BUF_PAGES));
	ASSERT_EQ(0, vfio_map(e.container, anon, ANON_IOVA, ANON_SIZE));
	ASSERT_EQ(base + BUF_KB + ANON_SIZE / 1024, vmlck_kb(0));
	ASSERT_EQ(0, edu_dma_round_trip(&e.edu, buf, BUF_IOVA, 1));
	ASSERT_EQ(0, edu_dma_round_trip(&e.edu, anon, ANON_IOVA, 2));

	ASSERT_EQ(0, vfio_unmap_raw(e.container,
				    sizeof(struct vfio_iommu_type1_dma_unmap),
				    0, ANON_IOVA, ANON_SIZE, &unmapped));
	ASSERT_EQ(ANON_SIZE, unmapped);
	ASSERT_EQ(base + BUF_KB, vmlck_kb(0));
	ASSERT_EQ(BUF_SIZE, vfio_unmap_all(e.container));
	ASSERT_EQ(base, vmlck_kb(0));
	ASSERT_EQ(pinned0, pinned_settled(pinned0));
	edu_env_close(&e);
	munmap(buf, BUF_SIZE);
	munmap(anon, ANON_SIZE);
}

/* ---- a launcher that execs the VMM ---- */

/*
 * The launcher (a child of the test): maps through the Type1v2 id, proves
 * DMA, optionally hands the mappings to a forked holder, and execs this
 * binary with every descriptor.
 */
static void launcher(bool hand_over)
{
	uint32_t avail0;
	struct child holder;
	struct reexec rx;
	struct edu_env e;
	long pinned0, acquired0;
	uint8_t *buf;
	int memfd;

	CK(edu_env_open(&e, &dropin) == 0);
	avail0 = vfio_dma_avail(e.container);
	CK(avail0 > 0);
	pinned0 = pinned_base();
	CK(pinned0 >= 0);
	buf = memfd_buffer(BUF_SIZE, &memfd);
	CK(buf != MAP_FAILED);
	CK(vfio_map(e.container, buf, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(pinned_settled(pinned0 + BUF_PAGES) == pinned0 + BUF_PAGES);
	CK(edu_dma_round_trip(&e.edu, buf, BUF_IOVA, 3) == 0);
	fill_pattern(buf + OLD_OFF, 0x10000, 4);

	reexec_init(&rx, hand_over ? "--handed" : "--alone");
	CK(reexec_fd(&rx, e.container) == 0);
	CK(reexec_fd(&rx, e.group) == 0);
	CK(reexec_fd(&rx, e.edu.device) == 0);
	CK(reexec_fd(&rx, memfd) == 0);
	CK(reexec_num(&rx, avail0) == 0);
	CK(reexec_num(&rx, pinned0) == 0);
	if (hand_over) {
		acquired0 = pin_acquired_now();
		CK(acquired0 >= 0);
		CK(child_start(&holder, e.container, NULL) == 0);
		CK(child_do(&holder, 'o').ret == 0);
		CK(vmlck_kb(0) == 0);
		CK(reexec_num(&rx, acquired0) == 0);
		CK(reexec_num(&rx, holder.pid) == 0);
		CK(reexec_fd(&rx, holder.cmd) == 0);
		CK(reexec_fd(&rx, holder.rep) == 0);
	}
	CK(reexec(&rx) == 0);
	CK(!"exec");
}
#define ALONE_ARGS	6
#define HANDED_ARGS	10

/* The new image of a launcher that kept its mappings: all gone. */
static int after_exec_alone(char **argv)
{
	int container = reexec_arg(argv, 0), device = reexec_arg(argv, 2);
	int memfd = reexec_arg(argv, 3);
	uint32_t avail0 = reexec_arg(argv, 4);
	long pinned0 = reexec_arg(argv, 5);
	struct edu edu;
	uint8_t *view;

	CK(edu_adopt(&edu, device) == 0);
	/* Close-on-exec: unmapped, unpinned, uncharged, by the backend. */
	CK(vfio_wait_torn_down(container, avail0) == 0);
	CK(pinned_settled(pinned0) == pinned0);
	CK(vmlck_kb(0) == 0);
	CK(vfio_unmap_all(container) == 0);
	/* The container is empty: the new image maps as a new owner. */
	view = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CK(view != MAP_FAILED);
	CK(check_pattern(view + OLD_OFF, 0x10000, 4) < 0);
	CK(vfio_map(container, view, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(edu_dma_round_trip(&edu, view, BUF_IOVA, 5) == 0);
	CK(vfio_unmap(container, BUF_IOVA, BUF_SIZE) == 0);
	CK(pinned_settled(pinned0) == pinned0);
	return 0;
}

/* The new image of a launcher that handed its mappings over: intact. */
static int after_exec_handed(char **argv)
{
	int container = reexec_arg(argv, 0), device = reexec_arg(argv, 2);
	int memfd = reexec_arg(argv, 3);
	uint32_t avail0 = reexec_arg(argv, 4);
	long pinned0 = reexec_arg(argv, 5);
	long acquired0 = reexec_arg(argv, 6);
	struct child holder = {
		.pid = reexec_arg(argv, 7), .cmd = reexec_arg(argv, 8),
		.rep = reexec_arg(argv, 9),
	};
	struct edu edu;
	uint8_t *view;

	CK(edu_adopt(&edu, device) == 0);
	/* Nothing is torn down: give a teardown the time it would take. */
	usleep(200 * 1000);
	CK(vfio_dma_avail(container) == avail0 - 1);
	CK(pinned_settled(pinned0 + BUF_PAGES) == pinned0 + BUF_PAGES);
	CK(vmlck_kb(0) == 0);
	CK(vmlck_kb(holder.pid) == BUF_KB);
	view = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CK(view != MAP_FAILED);
	CK(check_pattern(view + OLD_OFF, 0x10000, 4) < 0);
	/* The device reaches the memory through the holder's mappings. */
	CK(edu_dma_round_trip(&edu, view, BUF_IOVA, 6) == 0);
	CK(vfio_stage_vaddr(container, view, BUF_IOVA, BUF_SIZE) == 0);
	CK(change_owner(container) == 0);
	CK(vmlck_kb(0) == BUF_KB);
	CK(vmlck_kb(holder.pid) == 0);
	CK(pin_acquired_now() == acquired0);
	CK(child_stop(&holder) == 0);
	CK(edu_dma_round_trip(&edu, view, BUF_IOVA, 7) == 0);
	CK(vfio_unmap(container, BUF_IOVA, BUF_SIZE) == 0);
	CK(vmlck_kb(0) == 0);
	CK(pinned_settled(pinned0) == pinned0);
	return 0;
}

static void run_launcher(struct __test_metadata *_metadata, bool hand_over)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		launcher(hand_over);
		_exit(1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST(launcher_exec_loses_mappings)
{
	REQUIRE_DROPIN();
	run_launcher(_metadata, false);
}

TEST(launcher_hands_to_holder)
{
	REQUIRE_DROPIN();
	run_launcher(_metadata, true);
}

int main(int argc, char **argv)
{
	char **args;

	args = reexec_args(argc, argv, "--alone", ALONE_ARGS);
	if (args)
		return after_exec_alone(args);
	args = reexec_args(argc, argv, "--handed", HANDED_ARGS);
	if (args)
		return after_exec_handed(args);
	return test_harness_run(argc, argv);
}
