// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging (--dirty), as a migration loop does it: tracking started
 * at start-up (VFIO_IOMMU_DIRTY_PAGES START) and one GET_BITMAP of all of
 * RAM every second.  Tracking is never restarted across the update: the
 * new binary finds it running (the backend keeps bits and tracking across
 * VFIO_CHANGE_DMA_OWNER) and its first read must report every page a
 * device wrote during the handoff.
 *
 * The check: the agent marks each page in the stats page once a device
 * has written it.  Around each read the agent holds its mediated device
 * (agent_hold(): no pin, write or unpin in flight) while we take
 * (atomically exchange) the marks and read the bitmap.  So the pages
 * taken are exactly those the mediated device wrote since the previous
 * read, every one of them must be reported by this read, and without edu
 * nothing else may be: a page reported that no device wrote is an
 * invented one (the vCPU's writes are the CPU's, which VFIO never sees).
 * The previous read before an update and the first one after it are made
 * the same way, so the first read after the commit must report exactly
 * what the devices wrote during the handoff.  If the agent cannot be held,
 * a page taken must be in this read or the previous one (a write between
 * the previous taking and the previous read is consumed by that read);
 * the previous read's bits of the agent's pages cross the update in the
 * payload for that case.
 *
 * While an IOMMU-backed group (edu) is attached the backend cannot see
 * device writes and reports every page of every mapping dirty, so the
 * check is then met trivially; it is exact with the mediated device alone
 * (--no-edu), whose writes go through vfio_dma_rw().  The verdict says
 * which case it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/vfio.h>
#include "refvmm.h"

#define AGENT_WORD0	(AGENT_BASE / PAGE_SZ / 64)

static int dirty_flag(int container, uint32_t flag)
{
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = flag,
	};

	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &d) ? -errno : 0;
}

/*
 * One read per RAM part, each into its place in v->dirty_bits (indexed by
 * RAM offset; the high part starts at 3 GiB, a whole number of words).
 * A failure after the first part consumed that part's bits: they are lost
 * for this round, which the caller reports as a failed read.
 */
static int get_bitmap(struct vmm *v)
{
	struct ram_part parts[RAM_PARTS_MAX];
	int n = ram_parts(v, parts);
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} a;

	memset(v->dirty_bits, 0, v->dirty_words * 8);
	for (int i = 0; i < n; i++) {
		uint64_t pages = parts[i].size / PAGE_SZ;

		memset(&a, 0, sizeof(a));
		a.d.argsz = sizeof(a);
		a.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		a.g.iova = parts[i].iova;
		a.g.size = parts[i].size;
		a.g.bitmap.pgsize = PAGE_SZ;
		a.g.bitmap.size = (pages + 63) / 64 * 8;
		a.g.bitmap.data = (void *)(v->dirty_bits +
					   parts[i].offset / PAGE_SZ / 64);
		if (ioctl(v->container, VFIO_IOMMU_DIRTY_PAGES, &a))
			return -errno;
	}
	return 0;
}

static int dirty_alloc(struct vmm *v)
{
	v->dirty_words = (v->mem_bytes / PAGE_SZ + 63) / 64;
	v->dirty_bits = calloc(v->dirty_words, 8);
	return v->dirty_bits ? 0 : -ENOMEM;
}

int dirty_start(struct vmm *v)
{
	int ret;

	if (!v->dirty)
		return 0;
	ret = dirty_alloc(v);
	if (ret)
		return ret;
	ret = dirty_flag(v->container, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
	if (ret) {
		vlog("VFIO_IOMMU_DIRTY_PAGES START: %s", strerror(-ret));
		return ret;
	}
	vlog("dirty logging started (%llu pages, read every second)",
	     (unsigned long long)(v->mem_bytes / PAGE_SZ));
	return 0;
}

int dirty_read(struct vmm *v, uint64_t *checked, uint64_t *missed,
	       uint64_t *extra_out)
{
	uint64_t taken[AGENT_WORDS], count = 0, chk = 0, miss = 0, extra = 0;
	bool held, exact;
	int ret;

	if (!v->dirty_bits) {
		ret = dirty_alloc(v);
		if (ret)
			return ret;
	}
	held = !agent_hold(v);
	for (int i = 0; i < AGENT_WORDS; i++)
		taken[i] = __atomic_exchange_n(&v->stats->written[i], 0,
					       __ATOMIC_SEQ_CST);
	ret = get_bitmap(v);
	agent_release(v);
	if (ret) {
		/* Nothing consumed: give the marks back. */
		for (int i = 0; i < AGENT_WORDS; i++)
			__atomic_fetch_or(&v->stats->written[i], taken[i],
					  __ATOMIC_SEQ_CST);
		return ret;
	}
	exact = held && v->edu_device < 0;
	for (size_t i = 0; i < v->dirty_words; i++) {
		count += __builtin_popcountll(v->dirty_bits[i]);
		if (exact && (i < AGENT_WORD0 || i >= AGENT_WORD0 + AGENT_WORDS))
			extra += __builtin_popcountll(v->dirty_bits[i]);
	}
	for (int i = 0; i < AGENT_WORDS; i++) {
		uint64_t now = v->dirty_bits[AGENT_WORD0 + i];
		uint64_t seen = held ? now : now | v->dirty_prev[i];

		chk += __builtin_popcountll(taken[i]);
		miss += __builtin_popcountll(taken[i] & ~seen);
		if (exact)
			extra += __builtin_popcountll(now & ~taken[i]);
		v->dirty_prev[i] = now;
	}
	v->dirty_reads++;
	v->dirty_checked += chk;
	v->dirty_missed += miss;
	v->dirty_extra += extra;
	v->dirty_exact = exact;
	v->dirty_last_count = count;
	v->dirty_all = count == v->mem_bytes / PAGE_SZ;
	if (miss)
		vlog("dirty logging missed %llu of %llu pages devices wrote",
		     (unsigned long long)miss, (unsigned long long)chk);
	if (extra)
		vlog("dirty logging reported %llu pages no device wrote",
		     (unsigned long long)extra);
	if (checked)
		*checked = chk;
	if (missed)
		*missed = miss;
	if (extra_out)
		*extra_out = extra;
	return 0;
}

void dirty_verdict(struct vmm *v, char *buf, size_t len)
{
	uint64_t chk = 0, miss = 0, extra = 0;
	const char *how;
	char more[96] = "";
	int ret;

	if (!v->dirty) {
		snprintf(buf, len, "not-tracking (refvmm runs without --dirty)");
		return;
	}
	ret = dirty_read(v, &chk, &miss, &extra);
	if (ret == -EINVAL) {
		snprintf(buf, len, "FAIL: dirty tracking is no longer active "
			 "after the update (GET_BITMAP: EINVAL)");
		return;
	}
	if (ret) {
		snprintf(buf, len, "FAIL: GET_BITMAP after the update: %s",
			 strerror(-ret));
		return;
	}
	if (v->dirty_all)
		how = " (an IOMMU-backed device, edu, is attached: every page "
		      "of guest RAM is reported dirty, so this check is met "
		      "trivially; it is exact with --no-edu)";
	else if (v->dirty_exact)
		how = ", and no other page: exact";
	else
		how = " (the agent could not be held: checked against this "
		      "read and the one before)";
	if (extra) {
		snprintf(more, sizeof(more), "; but also %llu pages no device "
			 "wrote", (unsigned long long)extra);
		how = "";
	}
	snprintf(buf, len, "%s: tracking still active after the update; the "
		 "first read after it reported %llu of the %llu pages the "
		 "devices wrote since the last read before it%s%s",
		 miss || extra ? "FAIL" : "ok",
		 (unsigned long long)(chk - miss), (unsigned long long)chk,
		 how, more);
}

void dirty_free(struct vmm *v)
{
	free(v->dirty_bits);
	v->dirty_bits = NULL;
}
