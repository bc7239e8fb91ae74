// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page tracking across an update by the orchestrator library: the
 * test binary is the VMM (lu_vmm.h) with a container of ours holding only
 * the test mdev (with an IOMMU-backed device attached every page would be
 * dirty: no meaningful bits), 1 MiB of MADV_DONTFORK guest RAM, written
 * by the mdev through vfio_dma_rw, which dirties exactly the pages it
 * writes.
 *
 *   tracking_on    the old VMM starts tracking, writes pages, reads them
 *                  (cleared, exactly those), writes more, and starts a
 *                  writer process that keeps writing its own pages through
 *                  the mdev during the whole update; the new binary writes
 *                  more while the holder owns, commits, writes more, stops
 *                  the writer.  Tracking is still started after the update
 *                  (the report's before and after, and a probe); the first
 *                  bitmap read after the commit reports exactly the pages
 *                  written since the last read before the update, the
 *                  writer's included (the orchestrator consumed no bit, and
 *                  writes during the handoff are all there), the next read
 *                  nothing, a later write exactly its page; not one of the
 *                  writer's dma_rw calls failed, some ran during the
 *                  handoff; every byte written is in guest memory.
 *   tracking_off   never started: still not started after the update
 *                  (GET_BITMAP EINVAL), the writes all land.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

FIXTURE(dt) {
	struct test_mdev m;
	struct lu_run *run;
	struct lu_vmm_cfg cfg;
	long pinned0;
};

FIXTURE_SETUP(dt)
{
	self->m = (struct test_mdev)TEST_MDEV_NONE;
	self->run = NULL;
	REQUIRE_MDEV();
	self->run = calloc(1, sizeof(*self->run));
	ASSERT_NE(NULL, self->run);
	ASSERT_EQ(0, test_mdev_create(&self->m));
	self->cfg = lu_vmm_cfg_default();
	self->cfg.flags = LU_F_MDEV | LU_F_DIRTY | LU_F_DONTFORK;
	self->cfg.guest_size = 1u << 20;
	self->cfg.mdev_group_nr = self->m.group_nr;
	snprintf(self->cfg.mdev_uuid, sizeof(self->cfg.mdev_uuid), "%s", self->m.uuid);
	self->pinned0 = pinned_base();
	ASSERT_LE(0, self->pinned0);
}

FIXTURE_TEARDOWN(dt)
{
	EXPECT_EQ(0, test_mdev_destroy(&self->m));
	free(self->run);
}

static const struct lu_vmm_msg *update(struct __test_metadata *_metadata,
				       FIXTURE_DATA(dt) *self)
{
	const struct lu_vmm_msg *m;

	ASSERT_EQ(0, lu_vmm_run(&self->cfg, self->run, 120));
	LU_RUN_LOG(self->run);
	ASSERT_EQ(1, self->run->nmsg);
	m = lu_run_find(self->run, LU_ROLE_UPDATED);
	ASSERT_NE(NULL, m);
	TH_LOG("writer: %lld writes, %lld during the handoff, %lld failed (last %d)",
	       (long long)m->writer_writes, (long long)m->writer_handoff,
	       (long long)m->writer_failures, m->writer_err);
	ASSERT_EQ(0, m->ret);
	ASSERT_EQ(LIVEUPDATE_UPDATED, m->report.outcome);
	ASSERT_EQ(self->run->vmm, m->pid);
	assert_lu_owns(m, &self->cfg, self->pinned0, true);
	/* The device wrote throughout, never refused. */
	ASSERT_EQ(0, m->writer_failures) TH_LOG("dma_rw failed: %d", m->writer_err);
	ASSERT_LT(0, m->writer_handoff);
	ASSERT_EQ(0, m->dirty_content) TH_LOG("%s", m->text);
	return m;
}

TEST_F_TIMEOUT(dt, tracking_on, 300)
{
	const struct lu_vmm_msg *m;

	self->cfg.flags |= LU_F_DIRTY_ON;
	m = update(_metadata, self);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(1, m->report.dirty_before);
	ASSERT_EQ(1, m->report.dirty_after);
	ASSERT_EQ(1, m->dirty_on);
	ASSERT_EQ(0, m->dirty_before) TH_LOG("the reads before the update");
	ASSERT_EQ(0, m->dirty_first) TH_LOG("%s", m->text);
	ASSERT_EQ(0, m->dirty_second) TH_LOG("%s", m->text);
	ASSERT_EQ(0, m->dirty_later) TH_LOG("%s", m->text);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_F_TIMEOUT(dt, tracking_off, 300)
{
	const struct lu_vmm_msg *m;

	m = update(_metadata, self);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, m->report.dirty_before);
	ASSERT_EQ(0, m->report.dirty_after);
	ASSERT_EQ(0, m->dirty_on);
	ASSERT_EQ(0, m->dirty_before);
	ASSERT_EQ(0, m->dirty_first) TH_LOG("%s", m->text);
	assert_lu_end(self->run, self->pinned0, 0);
}

TEST_HARNESS_MAIN_LU
