/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refvmm - the reference VMM of libliveupdate (docs/orchestrator.md).
 *
 * One process, one thread, one poll() loop: guest RAM in a memfd mapped
 * into a VFIO container on vfio_iommu_lu (at iova 0, and above 4 GiB for
 * what does not fit below the MSI window), a "vCPU" that bumps a
 * sequence counter in guest RAM on every tick, dirty logging on request,
 * and a control socket (status / check / exec).  The devices DMA on their
 * own, from a child process, the agent (agent.c), so that they keep going
 * while this process is busy updating itself: the update must never make a
 * device transfer fail, nor lose a guest write.
 *
 * What crosses the update: the container, groups, devices, the RAM memfd
 * and the agent's statistics page as kept descriptors, and a versioned
 * struct refvmm_state as the library's payload (update.c).
 */
#ifndef REFVMM_H
#define REFVMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "liveupdate.h"

#ifndef REFVMM_VERSION
#define REFVMM_VERSION		"1"
#endif

#define PAGE_SZ			4096ull
#define MIB			(1ull << 20)

/*
 * Guest RAM in the IOVA space, as on a PC: the first LOW_RAM_MAX bytes at
 * iova 0, the rest at HIGH_RAM_IOVA.  [3 GiB, 4 GiB) stays a hole because
 * the x86 MSI window (0xfee00000-0xfeefffff) is a reserved region no
 * mapping may cross.  Guests of up to 3 GiB have one mapping, larger ones
 * two (ram_parts()).
 */
#define LOW_RAM_MAX		(3ull << 30)
#define HIGH_RAM_IOVA		(4ull << 30)
#define RAM_PARTS_MAX		2

struct ram_part {
	uint64_t offset;		/* in the memfd and in v->ram */
	uint64_t iova;
	uint64_t size;
};

/*
 * Guest RAM layout of the low part (offsets are iovas too there).
 * Page 0 holds the vCPU's counter.  The agent's devices work in
 * [AGENT_BASE, AGENT_BASE + AGENT_PAGES pages): edu in the first half, the
 * mediated device in the second.  Everything stays below 256 MiB, edu's
 * 28-bit DMA mask.
 */
#define GUEST_COUNTER_OFF	0
#define AGENT_BASE		(1 * MIB)
#define AGENT_PAGES		2048	/* more than they write in a second,
					 * so a read reports a strict subset */
#define AGENT_WORDS		(AGENT_PAGES / 64)
#define MEM_MIN_MIB		16

/* One line of log on stderr, "refvmm[pid]: ..." */
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- agent.c: the device side, a child process ---- */

/*
 * The agent's statistics: one page of a memfd shared by the agent (which
 * writes it) and the VMM (which reads it, and writes only the hold flag,
 * the window fields and the written bitmap, all with atomics).  The memfd
 * is kept across the update, so the counters run on.
 */
#define AGENT_STATS_MAGIC	0x52564d4d41474e54ull	/* "RVMMAGNT" */
#define AGENT_STATS_VERSION	1

struct agent_stats {
	uint64_t magic;
	uint32_t version;
	int32_t pid;			/* the agent running now */
	uint64_t edu_ok, edu_failed;	/* round trips RAM -> edu -> RAM */
	uint64_t mdev_ok, mdev_failed;	/* pin + write + read + unpin */
	uint64_t pins_started;		/* PIN ioctls entered */
	uint64_t pins_done;		/* PIN ioctls that pinned */
	uint64_t pin_max_ns;		/* slowest PIN since start */
	uint64_t pin_max_window_ns;	/* slowest since the VMM reset it */
	uint64_t edu_gap_max_window_ns;	/* longest time between two good
					 * round trips since the VMM reset */
	uint64_t edu_last_ns, mdev_last_ns;	/* CLOCK_MONOTONIC */
	int32_t edu_last_err, mdev_last_err;	/* -errno, -EILSEQ mismatch */
	uint32_t hold;			/* VMM: stop pinning for a moment
					 * (a request number, 0: go on) */
	uint32_t holding;		/* agent: the request acknowledged,
					 * no pin in flight */
	/* Pages a device wrote since the VMM last took them (dirty.c);
	 * set once the write is done. */
	uint64_t written[AGENT_WORDS];
};

/* ---- the VMM ---- */

#define MAX_CLIENTS		8
#define REQ_MAX			4096

struct client {
	int fd;				/* -1: free slot */
	size_t len;
	char buf[REQ_MAX];
};

struct vmm {
	/* options */
	char socket_path[108];
	uint64_t mem_bytes;
	bool hugetlb, dirty, want_mdev, want_edu;
	int edu_group_nr;
	char edu_bdf[32];
	int tick_ms;
	char **argv;

	/* guest RAM (guest.c) */
	int mem_fd;
	uint8_t *ram;
	uint64_t counter_expected;
	uint64_t counter_gap;		/* counter - expected at the first
					 * mismatch seen by a tick, 0 if none */

	/* VFIO (vfio.c) */
	int container;
	int edu_group, edu_device;
	int mdev_group, mdev_device;
	char mdev_uuid[37];		/* "" when there is no instance */
	bool mdev_created;		/* by us: remove it at exit */

	/* the agent (agent.c) */
	pid_t agent_pid;		/* -1: none */
	int stats_fd;
	struct agent_stats *stats;

	/* dirty logging (dirty.c) */
	uint64_t *dirty_bits;		/* one bit per page of RAM */
	size_t dirty_words;
	uint64_t dirty_prev[AGENT_WORDS];	/* agent's pages, last read */
	uint64_t dirty_reads, dirty_checked, dirty_missed;
	uint64_t dirty_extra;		/* reported, not written (exact mode) */
	bool dirty_exact;		/* the last read was checked both ways */
	uint64_t dirty_last_count;	/* pages the last read reported */
	bool dirty_all;			/* the last read reported them all */

	/* control and loop (main.c) */
	int listen_fd, sig_fd, tick_fd, dirty_fd;
	struct client clients[MAX_CLIENTS];
	uint64_t start_ns;		/* of the first binary: uptime */
	unsigned int updates;
	bool stopping;
};

/* main.c */
uint64_t now_ns(void);
long vmlck_kb(void);
/* Send buf to fd completely (blocking).  0 or -errno. */
int write_all(int fd, const char *buf, size_t len);

/* guest.c */
/* Where guest RAM goes in the IOVA space: fills parts, returns how many. */
int ram_parts(const struct vmm *v, struct ram_part parts[RAM_PARTS_MAX]);
int guest_ram_create(struct vmm *v);
int guest_ram_map(struct vmm *v);	/* map v->mem_fd (after resume) */
void guest_ram_unmap(struct vmm *v);
uint64_t guest_counter(const struct vmm *v);
void guest_tick(struct vmm *v);

/* vfio.c */
int vfio_setup(struct vmm *v);
int vfio_map_ram(struct vmm *v);
void vfio_teardown(struct vmm *v);
int edu_map_bar0(int device, volatile uint8_t **bar, uint64_t *size);
int mdev_pin(int device, uint64_t iova);
int mdev_unpin(int device, uint64_t iova);
int mdev_rw(int device, uint64_t iova, void *data, uint64_t len, bool write);

/* agent.c */
int agent_stats_create(struct vmm *v);
int agent_stats_map(struct vmm *v);	/* map v->stats_fd (after resume) */
int agent_start(struct vmm *v);
void agent_stop(struct vmm *v);
bool agent_alive(struct vmm *v);	/* reaps it if it died */
bool agent_is_our_child(pid_t pid);
/* Stop the agent's pinning for a moment (hold) and let it go on; used
 * around exact readings of the system's pin counter.  0 or -ETIMEDOUT. */
int agent_hold(struct vmm *v);
void agent_release(struct vmm *v);
uint64_t stat_get(const uint64_t *field);

/* dirty.c */
int dirty_start(struct vmm *v);
/* One migration-loop read: GET_BITMAP and check the agent's writes;
 * pages written and checked, missed, and reported but not written. */
int dirty_read(struct vmm *v, uint64_t *checked, uint64_t *missed,
	       uint64_t *extra);
/* The verdict after an update (first read after the commit). */
void dirty_verdict(struct vmm *v, char *buf, size_t len);
void dirty_free(struct vmm *v);

/* update.c */
struct exec_req {
	unsigned int timeout_ms;	/* 0: library default */
	char path[4096];
	char *args[64];			/* NULL ended, from the request */
	int nr_args;
};
/* Describe what must survive (for check and exec).  @client may be -1. */
int update_describe(struct vmm *v, struct liveupdate *lu, int client);
/* Serve an exec request; returns only if no update took place. */
void update_exec(struct vmm *v, int client, const struct exec_req *req);
/* At start: 0 normal start, 1 resumed (v restored), <0 fatal. */
int update_resume(struct vmm *v);

#endif /* REFVMM_H */
