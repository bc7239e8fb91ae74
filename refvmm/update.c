// SPDX-License-Identifier: GPL-2.0
/*
 * The live update, both sides (include/liveupdate.h, docs/orchestrator.md).
 *
 * Old binary, on an exec request: describe what must survive (the
 * container; groups, devices, the listening socket, the requesting
 * client and the agent's stats page as kept descriptors; guest RAM as a
 * region), note the "before" figures, hand our state over as a versioned
 * payload (struct refvmm_state) and call liveupdate_exec().  If it
 * returns, nothing was exec'd: reply with the report and run on.
 *
 * New binary, at start: liveupdate_resume(); if resumed, take everything
 * back by name (never create a container, RAM or agent anew: the agent is
 * still our child, the pid did not change), map RAM ourselves (MAP_SHARED,
 * MADV_DONTFORK), liveupdate_commit(), then reply to the client the old
 * binary kept for us: the library's report and our own vmm.* figures.
 * The same code runs in the previous binary when the holder restarts it
 * (a roll-back): then the pid is new and the old agent died with the old
 * process, so a new agent starts.
 *
 * Pages pinned by the update itself: the system-wide pin counter
 * (nr_foll_pin_acquired) counts the pins our mediated device makes during
 * the update too.  Around each of our two readings of it the agent holds
 * its pins (agent_hold()), so that its pin count, read at the same
 * moment, is exact: pins in the window minus the agent's pins in the
 * window is what the update (or anything else on the system) pinned.  Our
 * window starts before liveupdate_exec() and ends after
 * liveupdate_commit(), so it holds the library's (report.pins_acquired).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refvmm.h"

#define STATE_MAGIC	0x52564d4d53544154ull	/* "RVMMSTAT" */
#define STATE_VERSION	1

/* Names of the kept descriptors. */
#define FD_EDU_GROUP	"edu-group"
#define FD_EDU_DEVICE	"edu-device"
#define FD_MDEV_GROUP	"mdev-group"
#define FD_MDEV_DEVICE	"mdev-device"
#define FD_LISTEN	"listen"
#define FD_CLIENT	"client"
#define FD_STATS	"agent-stats"

/*
 * The payload.  Appended to only; a reader takes a record at least as
 * large as the one it knows (a newer writer's tail is ignored) with the
 * same magic and version.
 */
struct refvmm_state {
	uint64_t magic;
	uint32_t version;
	uint32_t size;
	/* who wrote it */
	char version_str[16];
	char binary[256];
	/* configuration */
	uint64_t mem_bytes;
	uint32_t hugetlb, dirty, tick_ms, updates;
	char socket_path[108];
	char edu_bdf[32];
	int32_t edu_group_nr;
	uint32_t mdev_created;
	char mdev_uuid[40];
	/* running state */
	int32_t agent_pid;
	uint64_t start_ns;
	uint64_t counter_expected, counter_gap;
	uint64_t dirty_prev[AGENT_WORDS];
	uint64_t dirty_reads, dirty_checked, dirty_missed;
	/* the figures before the update */
	int32_t pid_before;
	int32_t has_client;
	int64_t vmlck_before_kb;
	uint64_t t_before_ns;
	uint64_t edu_ok, edu_failed, mdev_ok, mdev_failed;
	uint64_t pins_done;		/* the agent's, held */
	int64_t pins_acquired;		/* the system's, -1 unknown */
	uint64_t dirty_extra;
};

/* The after figures, measured where the reply is written. */
struct after {
	int64_t vmlck_kb;
	uint64_t edu_ok, edu_failed, mdev_ok, mdev_failed, pins_done;
	int64_t pins_acquired;
	char dirty[512];
};

static void exe_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n < 0 ? 0 : n] = '\0';
}

/*
 * nr_foll_pin_acquired, exact: the per-CPU deltas folded first
 * (vm.stat_refresh, root only); -1 if that or the read fails.
 */
static int64_t pins_acquired(void)
{
	char line[128];
	int64_t val = -1;
	FILE *f;
	int fd;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, "1", 1) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_foll_pin_acquired %" SCNd64, &val) == 1)
			break;
	fclose(f);
	return val;
}

/* Pins in the system and by the agent at one moment, no pin in flight. */
static void pin_snapshot(struct vmm *v, int64_t *system, uint64_t *agent)
{
	bool held = !agent_hold(v);

	*system = pins_acquired();
	*agent = stat_get(&v->stats->pins_done);
	agent_release(v);
	if (!held)
		*system = -1;	/* not exact: say unknown */
}

static void measure_after(struct vmm *v, struct after *a)
{
	pin_snapshot(v, &a->pins_acquired, &a->pins_done);
	a->vmlck_kb = vmlck_kb();
	a->edu_ok = stat_get(&v->stats->edu_ok);
	a->edu_failed = stat_get(&v->stats->edu_failed);
	a->mdev_ok = stat_get(&v->stats->mdev_ok);
	a->mdev_failed = stat_get(&v->stats->mdev_failed);
}

int update_describe(struct vmm *v, struct liveupdate *lu, int client)
{
	const struct {
		const char *name;
		int fd;
	} keep[] = {
		{ FD_EDU_GROUP, v->edu_group },
		{ FD_EDU_DEVICE, v->edu_device },
		{ FD_MDEV_GROUP, v->mdev_group },
		{ FD_MDEV_DEVICE, v->mdev_device },
		{ FD_LISTEN, v->listen_fd },
		{ FD_STATS, v->stats_fd },
		{ FD_CLIENT, client },
	};
	struct ram_part parts[RAM_PARTS_MAX];
	int n = ram_parts(v, parts);
	int ret;

	ret = liveupdate_set_container(lu, v->container);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (keep[i].fd < 0)
			continue;
		ret = liveupdate_keep_fd(lu, keep[i].name, keep[i].fd);
		if (ret)
			return ret;
	}
	for (int i = 0; i < n; i++) {
		struct liveupdate_region r = {
			.fd = v->mem_fd,
			.prot = LIVEUPDATE_PROT_READ | LIVEUPDATE_PROT_WRITE,
			.offset = parts[i].offset,
			.size = parts[i].size,
			.iova = parts[i].iova,
			.vaddr = v->ram + parts[i].offset,
		};

		ret = liveupdate_add_region(lu, &r);
		if (ret)
			return ret;
	}
	return 0;
}

static void state_fill(struct vmm *v, struct refvmm_state *st, int client)
{
	memset(st, 0, sizeof(*st));
	st->magic = STATE_MAGIC;
	st->version = STATE_VERSION;
	st->size = sizeof(*st);
	snprintf(st->version_str, sizeof(st->version_str), "%s",
		 REFVMM_VERSION);
	exe_path(st->binary, sizeof(st->binary));
	st->mem_bytes = v->mem_bytes;
	st->hugetlb = v->hugetlb;
	st->dirty = v->dirty;
	st->tick_ms = v->tick_ms;
	st->updates = v->updates;
	memcpy(st->socket_path, v->socket_path, sizeof(st->socket_path));
	memcpy(st->edu_bdf, v->edu_bdf, sizeof(st->edu_bdf));
	st->edu_group_nr = v->edu_group_nr;
	st->mdev_created = v->mdev_created;
	memcpy(st->mdev_uuid, v->mdev_uuid, sizeof(v->mdev_uuid));
	st->agent_pid = v->agent_pid;
	st->start_ns = v->start_ns;
	st->counter_expected = v->counter_expected;
	st->counter_gap = v->counter_gap;
	memcpy(st->dirty_prev, v->dirty_prev, sizeof(st->dirty_prev));
	st->dirty_reads = v->dirty_reads;
	st->dirty_checked = v->dirty_checked;
	st->dirty_missed = v->dirty_missed;
	st->dirty_extra = v->dirty_extra;

	st->pid_before = getpid();
	st->has_client = client >= 0;
	st->vmlck_before_kb = vmlck_kb();
	st->edu_ok = stat_get(&v->stats->edu_ok);
	st->edu_failed = stat_get(&v->stats->edu_failed);
	st->mdev_ok = stat_get(&v->stats->mdev_ok);
	st->mdev_failed = stat_get(&v->stats->mdev_failed);
	/* The window maxima start now. */
	__atomic_store_n(&v->stats->pin_max_window_ns, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->stats->edu_gap_max_window_ns, 0,
			 __ATOMIC_SEQ_CST);
	pin_snapshot(v, &st->pins_acquired, &st->pins_done);
	st->t_before_ns = now_ns();
}

static void state_restore(struct vmm *v, const struct refvmm_state *st)
{
	v->mem_bytes = st->mem_bytes;
	v->hugetlb = st->hugetlb;
	v->dirty = st->dirty;
	v->tick_ms = st->tick_ms;
	v->updates = st->updates;
	memcpy(v->socket_path, st->socket_path, sizeof(v->socket_path));
	v->socket_path[sizeof(v->socket_path) - 1] = '\0';
	memcpy(v->edu_bdf, st->edu_bdf, sizeof(v->edu_bdf));
	v->edu_bdf[sizeof(v->edu_bdf) - 1] = '\0';
	v->edu_group_nr = st->edu_group_nr;
	v->mdev_created = st->mdev_created;
	memcpy(v->mdev_uuid, st->mdev_uuid, sizeof(v->mdev_uuid));
	v->mdev_uuid[sizeof(v->mdev_uuid) - 1] = '\0';
	v->start_ns = st->start_ns;
	v->counter_expected = st->counter_expected;
	v->counter_gap = st->counter_gap;
	memcpy(v->dirty_prev, st->dirty_prev, sizeof(v->dirty_prev));
	v->dirty_reads = st->dirty_reads;
	v->dirty_checked = st->dirty_checked;
	v->dirty_missed = st->dirty_missed;
	v->dirty_extra = st->dirty_extra;
}

static long long diff(uint64_t after, uint64_t before)
{
	return (long long)(after - before);
}

/* Our figures, "vmm." keys, after the library's report. */
static void vmm_lines(struct vmm *v, FILE *f, const struct refvmm_state *st,
		      const struct after *a)
{
	char exe[256];
	int64_t window = -1, repinned = -1;
	uint64_t device = a->pins_done - st->pins_done;

	exe_path(exe, sizeof(exe));
	if (st->pins_acquired >= 0 && a->pins_acquired >= 0) {
		window = a->pins_acquired - st->pins_acquired;
		repinned = window - (int64_t)device;
	}
	fprintf(f, "vmm.version_before=%s\nvmm.version_after=%s\n"
		"vmm.binary_before=%s\nvmm.binary_after=%s\n"
		"vmm.pid_before=%d\nvmm.pid_after=%d\n",
		st->version_str, REFVMM_VERSION, st->binary, exe,
		st->pid_before, getpid());
	fprintf(f, "vmm.update_ms=%.1f\n",
		(now_ns() - st->t_before_ns) / 1e6);
	fprintf(f, "vmm.dma_ok_before=%llu\nvmm.dma_ok_after=%llu\n"
		"vmm.dma_failed_before=%llu\nvmm.dma_failed_after=%llu\n"
		"vmm.dma_during_update=%lld\nvmm.dma_max_interval_ms=%.1f\n",
		(unsigned long long)st->edu_ok, (unsigned long long)a->edu_ok,
		(unsigned long long)st->edu_failed,
		(unsigned long long)a->edu_failed, diff(a->edu_ok, st->edu_ok),
		stat_get(&v->stats->edu_gap_max_window_ns) / 1e6);
	fprintf(f, "vmm.mdev_ok_before=%llu\nvmm.mdev_ok_after=%llu\n"
		"vmm.mdev_failed_before=%llu\nvmm.mdev_failed_after=%llu\n"
		"vmm.mdev_during_update=%lld\n"
		"vmm.mdev_pin_max_us_during_update=%llu\n",
		(unsigned long long)st->mdev_ok, (unsigned long long)a->mdev_ok,
		(unsigned long long)st->mdev_failed,
		(unsigned long long)a->mdev_failed,
		diff(a->mdev_ok, st->mdev_ok),
		(unsigned long long)(stat_get(&v->stats->pin_max_window_ns) /
				     1000));
	fprintf(f, "vmm.guest_counter=%llu\nvmm.guest_counter_expected=%llu\n"
		"vmm.counter_gap=%lld\n",
		(unsigned long long)guest_counter(v),
		(unsigned long long)v->counter_expected,
		(long long)(guest_counter(v) - v->counter_expected));
	fprintf(f, "vmm.vmlck_before_kb=%lld\nvmm.vmlck_after_kb=%lld\n",
		(long long)st->vmlck_before_kb, (long long)a->vmlck_kb);
	fprintf(f, "vmm.pins_acquired_window=%lld\n"
		"vmm.device_pins_during_update=%llu\n"
		"vmm.repinned_pages=%lld\n",
		(long long)window, (unsigned long long)device,
		(long long)repinned);
	fprintf(f, "vmm.dirty_verdict=%s\n", a->dirty);
	fprintf(f, "vmm.agent_pid=%d\nvmm.updates=%u\n",
		(int)v->agent_pid, v->updates);
}

static void reply_report(struct vmm *v, int fd, const struct refvmm_state *st,
			 const struct after *a,
			 const struct liveupdate_report *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return;
	liveupdate_report_write_kv(rep, f);
	vmm_lines(v, f, st, a);
	fputs("\n", f);
	fclose(f);
	ret = write_all(fd, buf, len);
	if (ret)
		vlog("reply to the exec request: %s", strerror(-ret));
	free(buf);
}

void update_exec(struct vmm *v, int client, const struct exec_req *req)
{
	struct liveupdate_report rep;
	struct refvmm_state st;
	struct liveupdate *lu;
	struct after a;
	char *argv[128];
	int ret, n = 0;

	memset(&rep, 0, sizeof(rep));
	memset(&st, 0, sizeof(st));
	lu = liveupdate_new();
	if (!lu) {
		write_all(client, "error=out of memory\n\n", 21);
		return;
	}
	ret = update_describe(v, lu, client);
	if (ret) {
		vlog("describing the update: %s", strerror(-ret));
		rep.version = LIVEUPDATE_API_VERSION;
		rep.outcome = LIVEUPDATE_REFUSED;
		rep.error = -ret;
		snprintf(rep.step, sizeof(rep.step), "describe");
		snprintf(rep.message, sizeof(rep.message),
			 "refvmm could not describe its state: %s",
			 strerror(-ret));
		goto reply;
	}

	/* The new binary gets our options unless the request names args. */
	if (req->nr_args) {
		for (int i = 0; i < req->nr_args; i++)
			argv[n++] = req->args[i];
	} else {
		argv[n++] = (char *)req->path;
		for (int i = 1; v->argv[i] && n < 127; i++)
			argv[n++] = v->argv[i];
	}
	argv[n] = NULL;

	state_fill(v, &st, client);
	ret = liveupdate_set_payload(lu, &st, sizeof(st));
	if (!ret && req->timeout_ms)
		ret = liveupdate_set_timeout_ms(lu, req->timeout_ms);
	if (ret) {
		rep.version = LIVEUPDATE_API_VERSION;
		rep.outcome = LIVEUPDATE_REFUSED;
		rep.error = -ret;
		snprintf(rep.step, sizeof(rep.step), "describe");
		snprintf(rep.message, sizeof(rep.message), "payload: %s",
			 strerror(-ret));
		goto reply;
	}
	vlog("updating into %s (version %s now)", req->path, REFVMM_VERSION);
	ret = liveupdate_exec(lu, req->path, argv, NULL, &rep);
	/* Still here: nothing was exec'd, we own everything and run on. */
	vlog("update not done (%s): %s", liveupdate_outcome_name(rep.outcome),
	     rep.message[0] ? rep.message : strerror(-ret));

reply:
	if (ret && !st.magic)
		state_fill(v, &st, client);
	measure_after(v, &a);
	snprintf(a.dirty, sizeof(a.dirty), "not-checked (no update took "
		 "place)");
	reply_report(v, client, &st, &a, &rep);
	liveupdate_free(lu);
}

/* Take a kept descriptor back; -1 if it was not kept (not used). */
static int kept(struct liveupdate *lu, const char *name)
{
	int fd = liveupdate_fd(lu, name);

	return fd < 0 ? -1 : fd;
}

/*
 * The record's regions must be our RAM layout (ram_parts()) exactly, all
 * from one memfd.  Returns the first region, or NULL.
 */
static const struct liveupdate_region *ram_regions_match(struct vmm *v,
							 struct liveupdate *lu)
{
	struct ram_part parts[RAM_PARTS_MAX];
	const struct liveupdate_region *r, *first = liveupdate_region(lu, 0);
	int n = ram_parts(v, parts);

	if (!first || liveupdate_nr_regions(lu) != (size_t)n)
		return NULL;
	for (int i = 0; i < n; i++) {
		r = liveupdate_region(lu, i);
		if (!r || r->fd != first->fd || r->offset != parts[i].offset ||
		    r->iova != parts[i].iova || r->size != parts[i].size)
			return NULL;
	}
	return first;
}

int update_resume(struct vmm *v)
{
	const struct liveupdate_region *r;
	struct liveupdate_report rep;
	const struct refvmm_state *pst;
	struct refvmm_state st;
	struct liveupdate *lu;
	struct after a;
	size_t len = 0;
	int ret, client;

	ret = liveupdate_resume(&lu);
	if (ret == 0)
		return 0;
	if (ret < 0) {
		vlog("started by an update, but its record cannot be read: "
		     "%s; exiting so that the previous binary is restarted",
		     strerror(-ret));
		return ret;
	}

	/* Ours to check: nothing touched yet, exiting rolls back. */
	pst = liveupdate_payload(lu, &len);
	if (!pst || len < sizeof(st) || pst->magic != STATE_MAGIC ||
	    pst->version != STATE_VERSION || pst->size > len) {
		vlog("the payload is not a refvmm state of version %d; "
		     "exiting so that the previous binary is restarted",
		     STATE_VERSION);
		ret = -EPROTO;
		goto err_free;
	}
	memcpy(&st, pst, sizeof(st));
	state_restore(v, &st);
	r = ram_regions_match(v, lu);
	if (!r) {
		vlog("the record does not hold our guest RAM regions");
		ret = -EPROTO;
		goto err_free;
	}
	v->container = liveupdate_container(lu);
	v->edu_group = kept(lu, FD_EDU_GROUP);
	v->edu_device = kept(lu, FD_EDU_DEVICE);
	v->mdev_group = kept(lu, FD_MDEV_GROUP);
	v->mdev_device = kept(lu, FD_MDEV_DEVICE);
	v->listen_fd = kept(lu, FD_LISTEN);
	v->stats_fd = kept(lu, FD_STATS);
	client = kept(lu, FD_CLIENT);
	v->mem_fd = r->fd;
	if (v->container < 0 || v->listen_fd < 0 || v->stats_fd < 0) {
		vlog("the record lacks the container, socket or stats page");
		ret = -EBADF;
		goto err_free;
	}
	ret = agent_stats_map(v);
	if (ret) {
		vlog("agent stats page: %s", strerror(-ret));
		goto err_free;
	}
	/* Map RAM ourselves, as at start (MADV_DONTFORK). */
	ret = guest_ram_map(v);
	if (!ret) {
		struct ram_part parts[RAM_PARTS_MAX];
		int n = ram_parts(v, parts);

		for (int i = 0; i < n && !ret; i++)
			ret = liveupdate_region_set_vaddr(lu, i, v->ram +
							  parts[i].offset);
	}
	if (ret) {
		vlog("mapping guest RAM: %s", strerror(-ret));
		goto err_free;
	}

	memset(&rep, 0, sizeof(rep));
	ret = liveupdate_commit(lu, &rep);
	if (ret) {
		vlog("commit failed (%s): %s; exiting so that the previous "
		     "binary is restarted", strerror(-ret), rep.message);
		goto err_free;
	}
	/* Ours now.  The next update must not inherit these. */
	unsetenv(LIVEUPDATE_ENV_STATE);
	unsetenv(LIVEUPDATE_ENV_CTL);
	unsetenv(LIVEUPDATE_ENV_ROLLBACK);

	if (agent_is_our_child(st.agent_pid)) {
		v->agent_pid = st.agent_pid;
	} else {
		/* Ours but dead (a zombie): reap it; anyone else's: ECHILD. */
		if (st.agent_pid > 0)
			waitpid(st.agent_pid, NULL, WNOHANG);
		/* Restarted by the holder: the agent died with the old pid. */
		vlog("agent %d is gone (pid %d before, %d now): starting "
		     "another", st.agent_pid, st.pid_before, getpid());
		ret = agent_start(v);
		if (ret)
			vlog("fork of the agent: %s", strerror(-ret));
	}
	if (!rep.rollback)
		v->updates++;
	measure_after(v, &a);
	dirty_verdict(v, a.dirty, sizeof(a.dirty));
	vlog("version %s %s from pid %d, version %s, after %.1f ms "
	     "(guest counter %llu, expected %llu)", REFVMM_VERSION,
	     rep.rollback ? "restarted (roll-back)" : "resumed",
	     st.pid_before, st.version_str,
	     (now_ns() - st.t_before_ns) / 1e6,
	     (unsigned long long)guest_counter(v),
	     (unsigned long long)v->counter_expected);
	if (client >= 0) {
		reply_report(v, client, &st, &a, &rep);
		close(client);
	}
	liveupdate_free(lu);
	return 1;

err_free:
	liveupdate_free(lu);
	return ret < 0 ? ret : -EPROTO;
}
