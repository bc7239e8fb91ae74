// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty bitmap reads racing what changes the mappings, and a reader that
 * is killed while its bitmap waits for userspace (docs/dirty.md).  Both
 * backends, the test mdev writing through vfio_dma_rw:
 *
 *   unmap_races_get_bitmap
 *			3000 rounds (or 15 s, at least 100) of map, device
 *			write, unmap in one thread,
 *			with layouts that alternate (one mapping, two halves,
 *			a mapping that sticks out of the read range, one that
 *			leaves a gap), while another thread reads the bitmap
 *			of the whole range without pause: every read returns
 *			0 or EINVAL (the range bisects a mapping of the
 *			moment) and never reports a page no device wrote; the
 *			errnos seen are logged.  Then, quietly, one read
 *			reports exactly the pages written.
 *   killed_reader_on_userfault
 *			a forked child reads the bitmap into a userfaultfd page
 *			nobody serves and gets SIGKILL while it waits: it dies
 *			(the call ends), and the parent, sharing the
 *			container, then reads every bit set before (the
 *			killed read consumed nothing), and the next read none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define IOVA		0x100000ull
#define NPAGES		512			/* the read range: 2 MiB */
#define RANGE		PG(NPAGES)
#define STICK_OUT	PG(64)			/* past the read range */
#define BUF_BYTES	(RANGE + STICK_OUT)
#define ROUNDS		3000
/* At most this long (seconds) whatever the kernel: a debug kernel under
 * TCG manages a fraction of the rounds. */
#define RACE_SECONDS	15

FIXTURE(dr) {
	int container;
	struct test_mdev m;
	uint8_t *buf;
};

BACKEND_VARIANTS(dr);

FIXTURE_SETUP(dr)
{
	self->container = -1;
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	self->buf = MAP_FAILED;
	REQUIRE_MDEV_VARIANT();
	open_mdev(&variant->be, &self->container, &self->m);
	self->buf = memfd_buffer(BUF_BYTES, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(dr)
{
	test_mdev_destroy(&self->m);
	close_fd(&self->container);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, BUF_BYTES);
}

/* Pages (relative to IOVA) the device writes whenever they are mapped.
 * Mapping boundaries are multiples of 64 pages: stock's bitmap shifting
 * at other offsets is dirty_bitmap's subject, not this one's. */
static const unsigned int written[] = { 1, 70, 255, 256, 300, 511, 520 };
#define NWRITTEN	(sizeof(written) / sizeof(written[0]))

static bool was_written(unsigned int page)
{
	for (unsigned int i = 0; i < NWRITTEN; i++)
		if (written[i] == page)
			return true;
	return false;
}

/* Layouts: [first, last) page ranges, up to two mappings. */
static const struct { unsigned int first, last; } layout[][2] = {
	{ { 0, NPAGES } },				/* one */
	{ { 0, NPAGES / 2 }, { NPAGES / 2, NPAGES } },	/* halves */
	{ { NPAGES / 2, NPAGES + 64 } },		/* sticks out */
	{ { 64, NPAGES } },				/* a gap */
};
#define NLAYOUTS	(sizeof(layout) / sizeof(layout[0]))

struct reader {
	int container;
	atomic_int stop;
	long reads, ok, einval, other, bits;
	int other_errno;
	long phantom;		/* first page reported but never written */
};

static void *reader_fn(void *arg)
{
	struct reader *rd = arg;
	uint64_t bits[NPAGES / 64];

	while (!atomic_load(&rd->stop)) {
		int r;

		memset(bits, 0, sizeof(bits));
		r = dirty_get_bitmap(rd->container, IOVA, RANGE, PAGE_SZ, bits,
				     sizeof(bits));
		rd->reads++;
		if (r == -EINVAL) {
			rd->einval++;
			continue;
		}
		if (r) {
			rd->other++;
			rd->other_errno = -r;
			continue;
		}
		rd->ok++;
		for (unsigned int i = 0; i < NPAGES; i++) {
			if (!((bits[i / 64] >> (i % 64)) & 1))
				continue;
			rd->bits++;
			if (!was_written(i) && rd->phantom < 0)
				rd->phantom = i;
		}
	}
	return NULL;
}

/* Map layout l, let the device write its pages of written[]. */
static int map_and_write(FIXTURE_DATA(dr) *self, unsigned int l)
{
	uint8_t data[64];
	int r;

	memset(data, 0xa5, sizeof(data));
	for (int j = 0; j < 2 && layout[l][j].last; j++) {
		unsigned int f = layout[l][j].first, n = layout[l][j].last - f;

		r = vfio_map(self->container, self->buf + PG(f), IOVA + PG(f),
			     PG(n));
		if (r)
			return r;
	}
	for (unsigned int i = 0; i < NWRITTEN; i++) {
		for (int j = 0; j < 2 && layout[l][j].last; j++) {
			if (written[i] < layout[l][j].first ||
			    written[i] >= layout[l][j].last)
				continue;
			r = test_mdev_rw(self->m.device, IOVA + PG(written[i]),
					 data, sizeof(data), true);
			if (r)
				return r;
		}
	}
	return 0;
}

TEST_F(dr, unmap_races_get_bitmap)
{
	struct reader rd = { .container = self->container, .phantom = -1 };
	uint64_t bits[NPAGES / 64];
	unsigned int expect = 0;
	double t0;
	pthread_t t;

	test_cmd_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &rd));
	t0 = now_seconds();

	for (int round = 0; round < ROUNDS; round++) {
		if (round >= 100 && now_seconds() - t0 > RACE_SECONDS)
			break;
		ASSERT_EQ(0, map_and_write(self, round % NLAYOUTS))
			TH_LOG("round %d", round);
		/* Now and then give the reader time to see the bits. */
		if (!(round % 4))
			usleep(200);
		test_cmd_unmap(IOVA, BUF_BYTES,
			       round % NLAYOUTS == 2 ? PG(NPAGES / 2 + 64) :
			       round % NLAYOUTS == 3 ? PG(NPAGES - 64) : RANGE);
	}
	atomic_store(&rd.stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("%s: %ld reads: %ld returned 0 (%ld bits), %ld EINVAL, "
	       "%ld other (last errno %d)", variant->be.name, rd.reads, rd.ok,
	       rd.bits, rd.einval, rd.other, rd.other_errno);
	EXPECT_EQ(0, rd.other) TH_LOG("a read failed with %s",
				      strerror(rd.other_errno));
	EXPECT_EQ(-1, rd.phantom) TH_LOG("page %ld reported, never written",
					 rd.phantom);
	/* The reader ran while the layouts changed. */
	EXPECT_LT(0, rd.ok);

	/* Quiet: one read reports exactly the pages written. */
	ASSERT_EQ(0, map_and_write(self, 0));
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, RANGE, PAGE_SZ,
				      bits, sizeof(bits)));
	for (unsigned int i = 0; i < NPAGES; i++) {
		bool set = (bits[i / 64] >> (i % 64)) & 1;

		EXPECT_EQ(was_written(i), set) TH_LOG("page %u", i);
		expect += was_written(i);
	}
	EXPECT_LT(0, expect);
	test_cmd_unmap(IOVA, RANGE, RANGE);
}

struct blocked_read {
	int container;
	void *bits;
};

static void *blocked_read_fn(void *arg)
{
	struct blocked_read *b = arg;

	/* Returns only once the page is served, which nobody does. */
	dirty_get_bitmap(b->container, IOVA, PG(64), PAGE_SZ, b->bits, 8);
	return NULL;
}

/*
 * The child: read the bitmap into a page nobody serves, tell the parent
 * ('b') once the read waits for that page ('n': no userfaultfd here, 'e'
 * or 't': it could not be set up, or the read did not wait), then wait to
 * be killed.
 */
static void killed_reader(int container, int tell)
{
	struct blocked_read b = { .container = container };
	struct uffd_page u;
	pthread_t t;
	char c = 'b';
	int r;

	r = uffd_page_open(&u, PAGE_SZ);
	if (r) {
		c = r == -ENOSYS || r == -EPERM ? 'n' : 'e';
	} else {
		b.bits = u.page;
		if (pthread_create(&t, NULL, blocked_read_fn, &b))
			c = 'e';
		else if (!uffd_fault_pending(&u, 10000))
			c = 't';
	}
	if (write(tell, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static const unsigned int dirtied[] = { 0, 5, 63 };

TEST_F(dr, killed_reader_on_userfault)
{
	uint64_t bits[1], expect = 0;
	uint8_t data[64];
	int tell[2], status = 0, r = 0;
	char c = 0;
	pid_t pid;

	test_cmd_map(IOVA, self->buf, PG(64));
	test_cmd_dirty(VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	memset(data, 0x3c, sizeof(data));
	for (unsigned int i = 0; i < sizeof(dirtied) / sizeof(dirtied[0]); i++) {
		ASSERT_EQ(0, test_mdev_rw(self->m.device, IOVA + PG(dirtied[i]),
					  data, sizeof(data), true));
		expect |= 1ull << dirtied[i];
	}

	ASSERT_EQ(0, pipe(tell));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(tell[0]);
		killed_reader(self->container, tell[1]);
	}
	close(tell[1]);
	ASSERT_EQ(1, read(tell[0], &c, 1));
	close(tell[0]);
	if (c == 'n') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		SKIP(return, "userfaultfd unavailable");
	}
	ASSERT_EQ('b', c) TH_LOG("the child's read did not wait (%c)", c);
	usleep(200 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	/* The call must end for the child to die. */
	for (int i = 0; i < 1000 && !r; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (!r)
			usleep(10 * 1000);
	}
	ASSERT_EQ(pid, r) TH_LOG("the killed reader did not die in 10 s");
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));

	/* Nothing consumed: every bit set before, and only those. */
	bits[0] = ~0ull;
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(64), PAGE_SZ,
				      bits, sizeof(bits)));
	EXPECT_EQ(expect, bits[0]);
	bits[0] = ~0ull;
	ASSERT_EQ(0, dirty_get_bitmap(self->container, IOVA, PG(64), PAGE_SZ,
				      bits, sizeof(bits)));
	EXPECT_EQ(0, bits[0]);
	test_cmd_unmap(IOVA, PG(64), PG(64));
}

TEST_HARNESS_MAIN
