// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page tracking across the FULL live-update handoff on vfio_iommu_lu
 * (docs/dirty.md "Across the live update", docs/ownership.md), with the
 * test mdev writing through vfio_dma_rw (which dirties exactly the pages
 * it touches):
 *
 *   full           tracking started, pages written, some read (and so
 *                  cleared), more written; fork, the holder takes
 *                  ownership (VFIO_CHANGE_DMA_OWNER); more written while
 *                  it owns; the old VMM execs this binary ("--post-exec"),
 *                  which writes more while the holder still owns, mmaps
 *                  the memfd preserved across exec at another address,
 *                  stages it (VFIO_DMA_MAP_FLAG_VADDR), writes more, commits
 *                  (VFIO_CHANGE_DMA_OWNER); the holder exits; more writes.
 *                  The first GET_BITMAP after the commit must report
 *                  exactly the pages written since the last read (none of
 *                  the pages read before the fork, unless written again);
 *                  the next read nothing; a further write exactly that
 *                  page; STOP works (GET_BITMAP then EINVAL).  Every byte
 *                  written through dma_rw, in every phase, is found in the
 *                  memfd through the post-exec process's mapping.
 *   pinned         the same, and the mdev pins one page before the fork
 *                  (unpinned after exec, before the commit) and one while
 *                  the holder owns (unpinned after the commit): a pinned
 *                  page is dirty at every read and once more after its
 *                  unpin, whichever process owns.
 *
 * (Variants of one case, handoff.*.fork_exec_commit.)  The test proves
 * our backend answered (backend_set(), and the extensions again after
 * exec), and that neither the holder's take-over nor the commit pins
 * anything anew (the acquired-pin counter is unchanged across each).  The processes that do the handoff
 * (the old VMM, its holder, the new VMM) report with exit statuses, never
 * with the harness's assertions; the harness process only creates the
 * mdev instance, waits, and removes the instance.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA		0x100000ull
#define NPAGES		130	/* 3 words, the last one partial */
#define NWORDS		((NPAGES + 63) / 64)
#define WLEN		200	/* bytes per dma_rw write */

/*
 * The write schedule, by phase.  Every write puts WLEN pattern bytes
 * (seed = phase * 1000 + page) at the page's own offset, so the last
 * phase that wrote a page determines its content.
 */
enum {
	PH_READ,	/* before fork, then read (cleared) */
	PH_PRE,		/* before fork, after that read */
	PH_HOLDER,	/* the forked holder owns, old VMM writes */
	PH_EXEC,	/* after exec, holder still owns, nothing staged */
	PH_STAGED,	/* after exec, new vaddr staged, not committed */
	PH_COMMIT,	/* after the commit and the holder's exit */
	PH_LATER,	/* after the exact read: tracking still active */
	NPHASES
};

/* Each list ends with -1.  Pages repeat across phases on purpose: a page
 * read and cleared then written again must show; one read and not written
 * again must not. */
static const int sched[NPHASES][12] = {
	[PH_READ]	= { 0, 1, 2, 63, 64, 100, 129, -1 },
	[PH_PRE]	= { 2, 5, 64, 65, -1 },
	[PH_HOLDER]	= { 7, 65, 66, 127, -1 },
	[PH_EXEC]	= { 8, 70, -1 },
	[PH_STAGED]	= { 9, 71, 128, -1 },
	[PH_COMMIT]	= { 10, 66, 120, 129, -1 },
	[PH_LATER]	= { 33, -1 },
};

static size_t page_off(int page)
{
	return (size_t)(page * 37) % (PAGE_SZ - WLEN);
}

/* Write one phase's pages through vfio_dma_rw: 0 or -errno. */
static int write_phase(int device, int phase)
{
	uint8_t data[WLEN];
	int ret;

	for (int i = 0; sched[phase][i] >= 0; i++) {
		int p = sched[phase][i];

		fill_pattern(data, WLEN, phase * 1000 + p);
		ret = test_mdev_rw(device, IOVA + PG(p) + page_off(p), data,
				   WLEN, true);
		if (ret) {
			fprintf(stderr, "dma_rw write, phase %d page %d: %d\n",
				phase, p, ret);
			return ret;
		}
	}
	return 0;
}

/* Did every write of the phases [0, upto] land in buf (the last writer of
 * each page wins), and is every other byte still zero?  0 or -1. */
static int check_content(const uint8_t *buf, int upto)
{
	for (int p = 0; p < NPAGES; p++) {
		const uint8_t *pg = buf + PG(p);
		int last = -1;
		size_t off = page_off(p);

		for (int ph = 0; ph <= upto; ph++)
			for (int i = 0; sched[ph][i] >= 0; i++)
				if (sched[ph][i] == p)
					last = ph;
		for (size_t b = 0; b < PAGE_SZ; b++) {
			if (last >= 0 && b >= off && b < off + WLEN)
				continue;
			if (pg[b]) {
				fprintf(stderr, "page %d byte %zu: %#x, not 0\n",
					p, b, pg[b]);
				return -1;
			}
		}
		if (last >= 0 &&
		    check_pattern(pg + off, WLEN, last * 1000 + p) >= 0) {
			fprintf(stderr, "page %d: not phase %d's bytes (first "
				"wrong at %ld)\n", p, last,
				check_pattern(pg + off, WLEN, last * 1000 + p));
			return -1;
		}
	}
	return 0;
}

/* GET_BITMAP of the whole mapping into w[NWORDS] (zeroed first). */
static int read_bits(int container, uint64_t *w)
{
	memset(w, 0, NWORDS * 8);
	return dirty_get_bitmap(container, IOVA, PG(NPAGES), PAGE_SZ, w,
				NWORDS * 8);
}

/* The union of the pages of phases [from, to] into want[NWORDS]. */
static void want_bits(uint64_t *want, int from, int to)
{
	memset(want, 0, NWORDS * 8);
	for (int ph = from; ph <= to; ph++)
		for (int i = 0; sched[ph][i] >= 0; i++)
			want[sched[ph][i] / 64] |= 1ull << (sched[ph][i] % 64);
}

/* Pages pinned (pinned variant only) to add to an expectation, -1 ended. */
static const int no_pins[] = { -1 };

/* Read and compare with phases [from, to] plus the pages in pins[]
 * exactly: 0 or -1 (logged). */
static int read_expect_pins(int container, int from, int to,
			    const int *pins, const char *what)
{
	uint64_t got[NWORDS], want[NWORDS];
	int ret = read_bits(container, got), bad = 0;

	if (ret) {
		fprintf(stderr, "%s: GET_BITMAP: %d\n", what, ret);
		return -1;
	}
	if (from <= to)
		want_bits(want, from, to);
	else
		memset(want, 0, sizeof(want));
	for (int i = 0; pins[i] >= 0; i++)
		want[pins[i] / 64] |= 1ull << (pins[i] % 64);
	for (int i = 0; i < NWORDS; i++) {
		if (got[i] == want[i])
			continue;
		bad = 1;
		fprintf(stderr, "%s: word %d: got %#llx want %#llx "
			"(lost %#llx, invented %#llx)\n", what, i,
			(unsigned long long)got[i], (unsigned long long)want[i],
			(unsigned long long)(want[i] & ~got[i]),
			(unsigned long long)(got[i] & ~want[i]));
	}
	return bad ? -1 : 0;
}

#define read_expect(c, from, to, what)					\
	read_expect_pins((c), (from), (to), no_pins, (what))

/*
 * The pinned variant: the mdev also pins page PIN_A
 * before the fork and page PIN_B while the holder owns; PIN_A is unpinned
 * after exec (holder still owning), PIN_B after the commit.  A pinned page
 * is dirty at every read and once more after its unpin.
 */
#define PIN_A	40
#define PIN_B	41

static int pin1(int device, int page)
{
	int ret = test_mdev_pin(device, IOVA + PG(page), 1, PIN_RW, NULL);

	if (ret)
		fprintf(stderr, "pin page %d: %d\n", page, ret);
	return ret;
}

static int unpin1(int device, int page)
{
	int ret = test_mdev_unpin(device, IOVA + PG(page), 1);

	if (ret)
		fprintf(stderr, "unpin page %d: %d\n", page, ret);
	return ret;
}

/*
 * The old VMM (a child of the harness): the mdev instance's uuid and
 * group are given.  Never returns.
 */
static void old_vmm(const struct test_mdev *given, int pin_mode)
{
	struct test_mdev m = *given;
	struct child holder;
	struct reexec rx;
	int container, memfd;
	long acquired0;
	uint8_t *buf;

	m.group = m.device = -1;
	CK(test_mdev_container_open(&m, &backend_ours, &container) == 0);
	buf = memfd_buffer(PG(NPAGES), &memfd);
	CK(buf != MAP_FAILED);
	memset(buf, 0, PG(NPAGES));
	CK(vfio_map(container, buf, IOVA, PG(NPAGES)) == 0);

	CK(dirty_flag(container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START) == 0);
	CK(read_expect(container, 1, 0, "fresh") == 0);
	CK(write_phase(m.device, PH_READ) == 0);
	CK(read_expect(container, PH_READ, PH_READ, "before fork") == 0);
	CK(read_expect(container, 1, 0, "re-read before fork") == 0);
	CK(write_phase(m.device, PH_PRE) == 0);
	CK(check_content(buf, PH_PRE) == 0);
	if (pin_mode) {
		const int a[] = { PIN_A, -1 };

		CK(pin1(m.device, PIN_A) == 0);
		/* Pinned: dirty at every read. */
		CK(read_expect_pins(container, PH_PRE, PH_PRE, a,
				    "pinned before fork") == 0);
		CK(read_expect_pins(container, 1, 0, a,
				    "pinned re-read before fork") == 0);
		/* Written again for the exact read after the commit. */
		CK(write_phase(m.device, PH_PRE) == 0);
	}

	/* Fork the holder; it takes ownership, pinning nothing anew. */
	acquired0 = pin_acquired_now();
	CK(acquired0 >= 0);
	CK(child_start(&holder, container, NULL) == 0);
	CK(child_do(&holder, 'o').ret == 0);
	CK(pin_acquired_now() == acquired0);
	/* We are not the owner any more. */
	CK(vfio_map(container, buf, IOVA + PG(1024), PG(1)) == -EPERM);

	/* The holder owns: dma_rw goes through its mm, same shared pages. */
	CK(write_phase(m.device, PH_HOLDER) == 0);
	CK(check_content(buf, PH_HOLDER) == 0);
	if (pin_mode)
		CK(pin1(m.device, PIN_B) == 0);

	/* Exec the new VMM, descriptors preserved. */
	reexec_init(&rx, "--post-exec");
	CK(reexec_fd(&rx, container) == 0);
	CK(reexec_fd(&rx, m.group) == 0);
	CK(reexec_fd(&rx, m.device) == 0);
	CK(reexec_fd(&rx, memfd) == 0);
	CK(reexec_child(&rx, &holder) == 0);
	CK(reexec_num(&rx, (uintptr_t)buf) == 0);
	CK(reexec_num(&rx, pin_mode) == 0);
	CK(reexec(&rx) == 0);
	CK(!"exec");
	_exit(1);
}
#define POST_EXEC_ARGS	9

/* The new VMM, after exec.  Its exit status is the result. */
static int new_vmm(char **argv)
{
	int container = reexec_arg(argv, 0), group = reexec_arg(argv, 1);
	int device = reexec_arg(argv, 2), memfd = reexec_arg(argv, 3);
	struct child holder = child_from_args(argv, 4);
	uintptr_t old_vaddr = reexec_arg(argv, 7);
	int pin_mode = reexec_arg(argv, 8);
	const int pins_ab[] = { PIN_A, PIN_B, -1 }, pins_b[] = { PIN_B, -1 };
	const int *after_commit = no_pins, *still = no_pins;
	long acquired0;
	uint8_t *buf;

	/* Still our backend, tracking still on across exec. */
	CK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_LU_TYPE1v2_IOMMU) == 1);
	CK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_OWNER) == 1);

	/* The holder still owns, nothing staged: the device keeps writing. */
	CK(write_phase(device, PH_EXEC) == 0);
	if (pin_mode) {
		CK(unpin1(device, PIN_A) == 0);
		after_commit = pins_ab;
		still = pins_b;
	}

	/* Remap the preserved memfd, at another address, and stage it. */
	buf = mmap((void *)(old_vaddr + (64u << 20)), PG(NPAGES),
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
		   memfd, 0);
	CK(buf != MAP_FAILED);
	CK((uintptr_t)buf != old_vaddr);
	CK(check_content(buf, PH_EXEC) == 0);
	CK(vfio_stage_vaddr(container, buf, IOVA, PG(NPAGES)) == 0);
	CK(write_phase(device, PH_STAGED) == 0);

	/* Commit, pinning nothing anew; then the holder exits. */
	acquired0 = pin_acquired_now();
	CK(acquired0 >= 0);
	CK(change_owner(container) == 0);
	CK(pin_acquired_now() == acquired0);
	CK(child_stop(&holder) == 0);
	usleep(200 * 1000);
	/* We own: we may map (and unmap) more. */
	CK(vfio_map(container, buf, IOVA + PG(1024), PG(1)) == 0);
	CK(vfio_unmap(container, IOVA + PG(1024), PG(1)) == 0);

	CK(write_phase(device, PH_COMMIT) == 0);

	/* Exactly the pages written since the read before the fork. */
	CK(read_expect_pins(container, PH_PRE, PH_COMMIT, after_commit,
			    "after commit") == 0);
	CK(read_expect_pins(container, 1, 0, still,
			    "re-read after commit") == 0);
	if (pin_mode) {
		/* Pinned by the holder's mm, unpinned by the new owner. */
		CK(unpin1(device, PIN_B) == 0);
		CK(read_expect_pins(container, 1, 0, pins_b,
				    "after unpin") == 0);
		CK(read_expect(container, 1, 0, "re-read after unpin") == 0);
	}
	/* Tracking is still active. */
	CK(write_phase(device, PH_LATER) == 0);
	CK(read_expect(container, PH_LATER, PH_LATER, "later") == 0);
	CK(read_expect(container, 1, 0, "re-read later") == 0);
	/* Every byte of every phase, through the new mapping. */
	CK(check_content(buf, PH_LATER) == 0);
	CK(dirty_flag(container, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) == 0);
	{
		uint64_t w[NWORDS];

		CK(read_bits(container, w) == -EINVAL);
	}
	CK(vfio_unmap(container, IOVA, PG(NPAGES)) == 0);
	close(device);
	close(group);
	close(container);
	munmap(buf, PG(NPAGES));
	close(memfd);
	fprintf(stderr, "# post-exec: dirty bits and bytes exact across "
		"the handoff\n");
	return 0;
}

/* The variants: without and with pages pinned by the mdev across it. */
FIXTURE(handoff) {
	struct test_mdev m;
};

FIXTURE_VARIANT(handoff) {
	int pin_mode;
};

FIXTURE_VARIANT_ADD(handoff, full) {
	.pin_mode = 0,
};

FIXTURE_VARIANT_ADD(handoff, pinned) {
	.pin_mode = 1,
};

FIXTURE_SETUP(handoff)
{
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	REQUIRE_MDEV();
	ASSERT_EQ(0, test_mdev_create(&self->m));
}

FIXTURE_TEARDOWN(handoff)
{
	EXPECT_EQ(0, test_mdev_destroy(&self->m));
}

/* The harness process only creates the instance, waits, removes it. */
TEST_F(handoff, fork_exec_commit)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		old_vmm(&self->m, variant->pin_mode);	/* never returns */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	char **args = reexec_args(argc, argv, "--post-exec", POST_EXEC_ARGS);

	if (args)
		return new_vmm(args);
	return test_harness_run(argc, argv);
}
