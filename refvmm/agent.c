// SPDX-License-Identifier: GPL-2.0
/*
 * The agent: the "device side" of the reference VMM.  Real devices DMA on
 * their own while the VMM is busy, and the live update must not disturb
 * them; the agent plays that part from a child process forked at start-up,
 * so that it keeps going while the VMM forks the holder, execs and
 * commits.  It survives the VMM's exec (the VMM's pid stays the same) and
 * dies with the VMM (PR_SET_PDEATHSIG, and a getppid() check).
 *
 * Its loop, forever:
 * - edu: write a pattern into a guest page through its own MAP_SHARED
 *   mapping of the RAM memfd, have edu copy it RAM -> device and then
 *   device -> RAM into another page, and check the bytes;
 * - while edu works (a transfer takes ~100 ms of virtual time), the
 *   mediated device: PIN a page, DMA_RW write a pattern into it, DMA_RW
 *   read it back, check it there and in our own mapping, UNPIN.
 * The pages rotate through the agent's area (refvmm.h), and every page a
 * device writes is marked in the stats page first, for the dirty-logging
 * check (dirty.c).  Counts, the slowest pin and the last success of each
 * go to the stats page, a memfd kept across the update.
 *
 * The agent holds copies of the device descriptors (fork), never the
 * container's mappings: edu DMAs through the IOMMU, and the mediated
 * device pins from whichever process owns the container at the time.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "refvmm.h"

/* edu registers in BAR0 */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_START		0x1
#define EDU_CMD_TO_RAM		0x2
#define EDU_BUF_ADDR		0x40000u
#define EDU_LEN			2048u	/* QEMU 7.2: keep inside the buffer */
#define EDU_TIMEOUT_NS		(30ull * 1000000000)

#define EDU_FIRST		0			/* agent pages */
#define EDU_PAGES		(AGENT_PAGES / 2)
#define MDEV_FIRST		(AGENT_PAGES / 2)
#define MDEV_PAGES		(AGENT_PAGES / 2)
#define MDEV_STRIDE		389
#define MDEV_LEN		512u
#define POLL_US			2000

uint64_t stat_get(const uint64_t *field)
{
	return __atomic_load_n(field, __ATOMIC_RELAXED);
}

static void stat_inc(uint64_t *field)
{
	__atomic_fetch_add(field, 1, __ATOMIC_RELAXED);
}

static void stat_set(uint64_t *field, uint64_t val)
{
	__atomic_store_n(field, val, __ATOMIC_RELAXED);
}

static void stat_max(uint64_t *field, uint64_t val)
{
	uint64_t old = stat_get(field);

	while (val > old &&
	       !__atomic_compare_exchange_n(field, &old, val, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void mark_written(struct agent_stats *s, unsigned int page)
{
	/* Once the device has written: see dirty.c for why. */
	__atomic_fetch_or(&s->written[page / 64], 1ull << (page % 64),
			  __ATOMIC_SEQ_CST);
}

static uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)((seq * 131 + i * 7 + (i >> 8)) ^ (seq >> 8));
}

static void fill(uint8_t *p, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(seq, i);
}

static bool same(const volatile uint8_t *p, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(seq, i))
			return false;
	return true;
}

/* ---- the agent process ---- */

struct agent {
	struct agent_stats *s;
	uint8_t *ram;			/* our own mapping of the memfd */
	volatile uint8_t *bar;		/* edu BAR0, NULL without edu */
	uint64_t bar_size;
	int mdev;			/* device fd, -1 without */
	pid_t parent;
	uint64_t seq;
	/* edu state machine */
	int edu_phase;			/* 0 idle, 1 to device, 2 to RAM */
	uint64_t edu_seq, edu_start_ns, edu_prev_ok_ns;
	unsigned int edu_src, edu_dst;
	unsigned int mdev_next;
};

static void edu_reg(struct agent *a, unsigned int off, uint64_t val)
{
	*(volatile uint64_t *)(a->bar + off) = val;
}

static bool edu_busy(struct agent *a)
{
	return *(volatile uint64_t *)(a->bar + EDU_REG_DMA_CMD) & EDU_CMD_START;
}

static void edu_kick(struct agent *a, uint64_t iova, bool to_ram)
{
	uint64_t dev = EDU_BUF_ADDR;

	edu_reg(a, EDU_REG_DMA_SRC, to_ram ? dev : iova);
	edu_reg(a, EDU_REG_DMA_DST, to_ram ? iova : dev);
	edu_reg(a, EDU_REG_DMA_CNT, EDU_LEN);
	edu_reg(a, EDU_REG_DMA_CMD,
		EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	a->edu_start_ns = now_ns();
}

static void edu_result(struct agent *a, int err)
{
	uint64_t t = now_ns();

	if (err) {
		stat_inc(&a->s->edu_failed);
		if (a->s->edu_last_err != err)
			fprintf(stderr, "refvmm-agent[%d]: edu round trip: %s\n",
				getpid(), strerror(-err));
		a->s->edu_last_err = err;
		return;
	}
	stat_inc(&a->s->edu_ok);
	stat_set(&a->s->edu_last_ns, t);
	if (a->edu_prev_ok_ns)
		stat_max(&a->s->edu_gap_max_window_ns, t - a->edu_prev_ok_ns);
	a->edu_prev_ok_ns = t;
}

/* One step of the edu round trip; never blocks. */
static void edu_step(struct agent *a)
{
	uint64_t base = AGENT_BASE;

	/* Busy in phase 0 too: a transfer the agent of a VMM that died (a
	 * roll-back) started may still run; the device ignores a new
	 * command until it is done. */
	if (edu_busy(a)) {
		if (a->edu_phase && now_ns() - a->edu_start_ns > EDU_TIMEOUT_NS) {
			edu_result(a, -ETIMEDOUT);
			a->edu_phase = 0;	/* and hope it recovers */
		}
		return;
	}
	switch (a->edu_phase) {
	case 0:
		a->edu_seq = ++a->seq;
		a->edu_src = EDU_FIRST + (a->edu_seq * 2) % EDU_PAGES;
		a->edu_dst = EDU_FIRST + (a->edu_seq * 2 + 1) % EDU_PAGES;
		fill(a->ram + base + a->edu_src * PAGE_SZ, EDU_LEN, a->edu_seq);
		memset(a->ram + base + a->edu_dst * PAGE_SZ, 0, EDU_LEN);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		edu_kick(a, base + a->edu_src * PAGE_SZ, false);
		a->edu_phase = 1;
		break;
	case 1:
		edu_kick(a, base + a->edu_dst * PAGE_SZ, true);
		a->edu_phase = 2;
		break;
	case 2:
		mark_written(a->s, a->edu_dst);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		edu_result(a, same(a->ram + base + a->edu_dst * PAGE_SZ,
				   EDU_LEN, a->edu_seq) ? 0 : -EILSEQ);
		a->edu_phase = 0;
		break;
	}
}

static void mdev_result(struct agent *a, int err, const char *what)
{
	if (err) {
		stat_inc(&a->s->mdev_failed);
		/* Log the first failure of a kind, not every one. */
		if (a->s->mdev_last_err != err)
			fprintf(stderr, "refvmm-agent[%d]: mdev %s: %s\n",
				getpid(), what, strerror(-err));
		a->s->mdev_last_err = err;
		return;
	}
	stat_inc(&a->s->mdev_ok);
	stat_set(&a->s->mdev_last_ns, now_ns());
}

/* PIN, write, read back, check, UNPIN one page through the mdev. */
static void mdev_cycle(struct agent *a)
{
	/* A stride prime to MDEV_PAGES: every page in turn, scattered. */
	unsigned int page = MDEV_FIRST + (a->mdev_next++ * MDEV_STRIDE) %
			    MDEV_PAGES;
	uint64_t iova = AGENT_BASE + page * PAGE_SZ, t0, dt, seq = ++a->seq;
	size_t off = (seq * 64) % (PAGE_SZ - MDEV_LEN);
	uint8_t data[MDEV_LEN];
	int ret;

	stat_inc(&a->s->pins_started);
	t0 = now_ns();
	ret = mdev_pin(a->mdev, iova);
	dt = now_ns() - t0;
	if (ret) {
		mdev_result(a, ret, "PIN");
		return;
	}
	stat_inc(&a->s->pins_done);
	stat_max(&a->s->pin_max_ns, dt);
	stat_max(&a->s->pin_max_window_ns, dt);

	fill(data, MDEV_LEN, seq);
	ret = mdev_rw(a->mdev, iova + off, data, MDEV_LEN, true);
	/* Even a failed write may have written (and dirtied) a part. */
	mark_written(a->s, page);
	if (!ret) {
		memset(data, 0, MDEV_LEN);
		ret = mdev_rw(a->mdev, iova + off, data, MDEV_LEN, false);
		/* Read back by the device, and seen in our own mapping of
		 * the memfd: the device wrote guest RAM, nothing else. */
		if (!ret && (!same(data, MDEV_LEN, seq) ||
			     !same(a->ram + iova + off, MDEV_LEN, seq)))
			ret = -EILSEQ;
	}
	if (mdev_unpin(a->mdev, iova) && !ret)
		ret = -errno;
	mdev_result(a, ret, "cycle");
}

/* Close every descriptor but those in keep[] (sorted ascending). */
static void close_all_but(const int *keep, int n)
{
	int from = 0;

	for (int i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if (keep[i] > from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

static void sort_ints(int *a, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			int t = a[j];

			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

static void __attribute__((noreturn)) agent_main(struct vmm *v, pid_t parent)
{
	struct agent a = { .s = v->stats, .mdev = v->mdev_device,
			   .parent = parent };
	int keep[] = { 0, 1, 2, v->mem_fd, v->edu_device, v->mdev_device };
	uint32_t hold;
	sigset_t none;
	void *p;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* the VMM died before the prctl */
		_exit(1);
	prctl(PR_SET_NAME, "refvmm-agent");
	/* The VMM blocks its signals for its signalfd. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* a terminal's ^C is for the VMM */

	/* Only the devices and the memory; the stats page stays mapped. */
	sort_ints(keep, 6);
	close_all_but(keep, 6);

	p = mmap(NULL, v->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->mem_fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "refvmm-agent[%d]: mmap of guest RAM: %s\n",
			getpid(), strerror(errno));
		_exit(1);
	}
	a.ram = p;
	close(v->mem_fd);
	if (v->edu_device >= 0) {
		ret = edu_map_bar0(v->edu_device, &a.bar, &a.bar_size);
		if (ret) {
			fprintf(stderr, "refvmm-agent[%d]: edu BAR0: %s\n",
				getpid(), strerror(-ret));
			_exit(1);
		}
	}
	__atomic_store_n(&a.s->pid, getpid(), __ATOMIC_SEQ_CST);

	for (;;) {
		if (getppid() != parent)
			_exit(0);
		if (a.bar)
			edu_step(&a);
		hold = __atomic_load_n(&a.s->hold, __ATOMIC_SEQ_CST);
		if (hold)	/* acknowledge this very request */
			__atomic_store_n(&a.s->holding, hold, __ATOMIC_SEQ_CST);
		else if (a.mdev >= 0)
			mdev_cycle(&a);
		usleep(POLL_US);
	}
}

/* ---- the VMM's side ---- */

int agent_stats_map(struct vmm *v)
{
	void *p = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->stats_fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	v->stats = p;
	if (v->stats->magic != AGENT_STATS_MAGIC ||
	    v->stats->version != AGENT_STATS_VERSION) {
		munmap(p, PAGE_SZ);
		v->stats = NULL;
		return -EPROTO;
	}
	return 0;
}

int agent_stats_create(struct vmm *v)
{
	int ret;

	_Static_assert(sizeof(struct agent_stats) <= PAGE_SZ, "stats page");
	v->stats_fd = memfd_create("refvmm-agent-stats", MFD_CLOEXEC);
	if (v->stats_fd < 0)
		return -errno;
	if (ftruncate(v->stats_fd, PAGE_SZ)) {
		ret = -errno;
		goto err_close;
	}
	/* A fresh memfd reads zeros: stamp it, then map it as a resume does. */
	struct agent_stats hdr = { .magic = AGENT_STATS_MAGIC,
				   .version = AGENT_STATS_VERSION };
	if (pwrite(v->stats_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr)) {
		ret = -EIO;
		goto err_close;
	}
	ret = agent_stats_map(v);
	if (ret)
		goto err_close;
	return 0;

err_close:
	close(v->stats_fd);
	v->stats_fd = -1;
	return ret;
}

int agent_start(struct vmm *v)
{
	pid_t parent = getpid(), pid;

	__atomic_store_n(&v->stats->hold, 0, __ATOMIC_SEQ_CST);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		agent_main(v, parent);
	v->agent_pid = pid;
	vlog("agent %d started (%s%s)", pid,
	     v->edu_device >= 0 ? "edu" : "",
	     v->mdev_device >= 0 ? (v->edu_device >= 0 ? ", mdev" : "mdev") : "");
	return 0;
}

void agent_stop(struct vmm *v)
{
	if (v->agent_pid <= 0)
		return;
	kill(v->agent_pid, SIGKILL);
	waitpid(v->agent_pid, NULL, 0);
	v->agent_pid = -1;
}

bool agent_alive(struct vmm *v)
{
	int status;
	pid_t r;

	if (v->agent_pid <= 0)
		return false;
	/* By pid only: the library reaps its own children. */
	r = waitpid(v->agent_pid, &status, WNOHANG);
	if (r == 0)
		return true;
	if (r == v->agent_pid) {
		if (WIFSIGNALED(status))
			vlog("agent %d killed by signal %d", v->agent_pid,
			     WTERMSIG(status));
		else
			vlog("agent %d exited with %d", v->agent_pid,
			     WEXITSTATUS(status));
	}
	v->agent_pid = -1;
	return false;
}

bool agent_is_our_child(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, ppid = -1;
	ssize_t n;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parens. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return false;
	return ppid == getpid() && !strstr(buf, ") Z");
}

/*
 * A request is a number the agent has not acknowledged yet, so that a
 * stale acknowledgement (of a previous request, maybe by a previous
 * binary) never passes for this one.  The agent reads the request before
 * each pin and acknowledges instead of pinning: once acknowledged, no pin
 * is in flight and none starts until the release.
 */
int agent_hold(struct vmm *v)
{
	uint64_t t0 = now_ns();
	uint32_t req;

	if (v->agent_pid <= 0 || v->mdev_device < 0)
		return 0;
	req = __atomic_load_n(&v->stats->holding, __ATOMIC_SEQ_CST) + 1;
	if (!req)
		req = 1;
	__atomic_store_n(&v->stats->hold, req, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&v->stats->holding, __ATOMIC_SEQ_CST) != req) {
		if (now_ns() - t0 > 2000000000ull) {
			vlog("agent did not stop pinning within 2 s");
			return -ETIMEDOUT;
		}
		usleep(200);
	}
	return 0;
}

void agent_release(struct vmm *v)
{
	if (v->stats)
		__atomic_store_n(&v->stats->hold, 0, __ATOMIC_SEQ_CST);
}
