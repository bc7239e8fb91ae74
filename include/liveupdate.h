/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * liveupdate.h - live update of a VMM that holds VFIO devices, on the
 * vfio_iommu_lu backend (vfio_lu.h).  Link with -lliveupdate
 * (pkg-config liveupdate).  Design and recovery paths: docs/orchestrator.md.
 *
 * The old VMM describes what must survive (the container, its group and
 * device descriptors, the guest memory regions, its own state as an opaque
 * payload) and calls liveupdate_exec():
 *
 *   old VMM (pid P)                      holder (child of P, sandboxed)
 *   1. fork ------------------------->   2. map every region from its
 *                                           descriptor, stage the vaddrs,
 *                                           VFIO_CHANGE_DMA_OWNER
 *   3. exec NEW_BINARY (pid P), with the
 *      kept descriptors and the state
 *      record open, all others closed
 *   4. liveupdate_resume(): read the record
 *      liveupdate_commit(): map, stage,
 *      VFIO_CHANGE_DMA_OWNER   ---------->  5. exit
 *
 * Every step has a way back (docs/orchestrator.md): before exec the old
 * VMM keeps or takes back ownership and runs on; after exec the holder,
 * which owns every mapping and holds every descriptor, restarts the
 * previous binary in resume mode if the new one dies, hangs past the
 * timeout, or fails to read the record, stage or commit; if the holder
 * dies, the new binary maps everything again (re-pinning, reported).
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure, and set errno too.  The library starts no thread,
 * installs no signal handler and leaves SIGCHLD alone: it waits only for
 * the processes it forked, by pid, with bounded timeouts, so a VMM with its
 * own event loop can call it from that loop (liveupdate_exec() and
 * liveupdate_commit() block for the duration of the update).
 */
#ifndef LIVEUPDATE_H
#define LIVEUPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this API and of the state record it writes. */
#define LIVEUPDATE_API_VERSION		1

/* Environment of a binary started by an update (set by the library). */
#define LIVEUPDATE_ENV_STATE		"LIVEUPDATE_STATE_FD"
#define LIVEUPDATE_ENV_CTL		"LIVEUPDATE_CTL_FD"
#define LIVEUPDATE_ENV_ROLLBACK		"LIVEUPDATE_ROLLBACK"

/* Limits. */
#define LIVEUPDATE_MAX_REGIONS		4096
#define LIVEUPDATE_MAX_FDS		256
#define LIVEUPDATE_NAME_MAX		32	/* with the NUL */
#define LIVEUPDATE_MAX_PAYLOAD		(1u << 20)

/* Permissions of a region: the VFIO_DMA_MAP_FLAG_READ/WRITE values. */
#define LIVEUPDATE_PROT_READ		(1u << 0)
#define LIVEUPDATE_PROT_WRITE		(1u << 1)

/*
 * One DMA mapping of guest memory: a MAP_SHARED mapping of a memory object
 * (memfd, including MFD_HUGETLB; a tmpfs or hugetlbfs file) that the VMM
 * mapped into the container with VFIO_IOMMU_MAP_DMA.  @fd must stay open
 * until the update; it is kept across exec.  The VMM may have marked the
 * range MADV_DONTFORK: the holder maps the object from @fd itself.
 */
struct liveupdate_region {
	int fd;			/* the memory object, opened O_RDWR if writable */
	uint32_t prot;		/* LIVEUPDATE_PROT_* as given to MAP_DMA */
	uint64_t offset;	/* of the mapping in the file, page aligned */
	uint64_t size;		/* page aligned (huge-page aligned for hugetlb) */
	uint64_t iova;
	void *vaddr;		/* where this process maps it; after resume:
				 * NULL until liveupdate_commit() maps it,
				 * unless the VMM sets it first */
};

/* The phases of an update, timed (CLOCK_MONOTONIC, nanoseconds). */
enum liveupdate_phase {
	LIVEUPDATE_PHASE_PREFLIGHT,	/* checks in the old VMM */
	LIVEUPDATE_PHASE_FORK,		/* fork() of the holder */
	LIVEUPDATE_PHASE_HOLDER_OWN,	/* holder: sandbox, map, stage, own */
	LIVEUPDATE_PHASE_EXEC,		/* execve() until liveupdate_resume() */
	LIVEUPDATE_PHASE_STATE_READ,	/* read and check the record */
	LIVEUPDATE_PHASE_REMAP,		/* mmap the regions in the new binary */
	LIVEUPDATE_PHASE_STAGE,		/* VFIO_DMA_MAP_FLAG_VADDR, every region */
	LIVEUPDATE_PHASE_COMMIT,	/* VFIO_CHANGE_DMA_OWNER (or re-map) */
	LIVEUPDATE_PHASE_HOLDER_EXIT,	/* holder told, until it is reaped */
	LIVEUPDATE_PHASE_TOTAL,		/* from liveupdate_exec() to the end */
	LIVEUPDATE_NR_PHASES
};

/* How an update ended. */
enum liveupdate_outcome {
	LIVEUPDATE_UPDATED,		/* new binary runs, nothing re-pinned */
	LIVEUPDATE_UPDATED_REMAPPED,	/* new binary runs, but the holder died
					 * and every region was mapped again
					 * (re-pinned: the slow path) */
	LIVEUPDATE_ROLLED_BACK,		/* the previous binary runs on (same pid
					 * if the failure came before exec, a
					 * new pid if the holder restarted it) */
	LIVEUPDATE_REFUSED,		/* preflight refused; nothing changed */
	LIVEUPDATE_LOST,		/* the guest could not be preserved */
};

/* What liveupdate_exec() or liveupdate_commit() reports. */
struct liveupdate_report {
	uint32_t version;		/* LIVEUPDATE_API_VERSION */
	enum liveupdate_outcome outcome;
	int error;			/* errno of the failure, 0 if none */
	char step[32];			/* the step that failed ("" if none) */
	char message[256];		/* what happened, one line */
	pid_t pid_before, pid_after, holder_pid;
	char binary_before[256], binary_after[256];
	uint32_t nr_regions;
	uint64_t bytes;			/* sum of region sizes */
	uint64_t phase_ns[LIVEUPDATE_NR_PHASES];
	/*
	 * Time in which a mediated device's vfio_pin_pages()/vfio_dma_rw()
	 * could wait for the update: the container ioctls that take the
	 * container's lock (the holder's stage and commit, the new binary's
	 * stage and commit), summed.
	 */
	uint64_t mdev_wait_ns;
	uint64_t vmlck_before_kb;	/* VmLck of the old VMM, before */
	uint64_t vmlck_holder_kb;	/* VmLck of the holder once owner */
	uint64_t vmlck_after_kb;	/* VmLck of the new VMM, after */
	/* /proc/vmstat nr_foll_pin_acquired from before the fork to the end:
	 * every page pinned in the system meanwhile, by anyone. */
	uint64_t pins_acquired;
	bool holder_cap_ipc_lock;	/* the holder kept CAP_IPC_LOCK */
	int dirty_before, dirty_after;	/* dirty tracking started: 1, 0, or
					 * -1 unknown (no probe possible) */
	bool rollback;			/* this binary was restarted by the
					 * holder (pid_after != pid_before) */
};

/* One finding of the preflight check. */
enum liveupdate_level { LIVEUPDATE_OK, LIVEUPDATE_WARN, LIVEUPDATE_FAIL };
#define LIVEUPDATE_MAX_FINDINGS		32
struct liveupdate_finding {
	enum liveupdate_level level;
	char what[24];			/* "module", "memlock", "region 3" ... */
	char text[200];
};
struct liveupdate_check {
	unsigned int nr;
	unsigned int nr_fail, nr_warn;
	struct liveupdate_finding finding[LIVEUPDATE_MAX_FINDINGS];
};

struct liveupdate;

/* ---- the old VMM: describe, check, update ---- */

/* A new, empty description.  NULL with errno ENOMEM. */
struct liveupdate *liveupdate_new(void);
/* Frees the description (never closes a descriptor it was given). */
void liveupdate_free(struct liveupdate *lu);

/* The VFIO container (set to VFIO_LU_TYPE1v2_IOMMU, or Type1v2 with the
 * backend's type1v2 parameter).  -EBADF if fd is not open. */
int liveupdate_set_container(struct liveupdate *lu, int fd);
/*
 * A descriptor to keep open across exec under @name (unique, at most
 * LIVEUPDATE_NAME_MAX - 1 characters): VFIO groups and devices, and the
 * VMM's own (its control socket, a pending client...).  Every descriptor
 * not given here, as container, region or kept fd, is closed at exec.
 * -EEXIST, -ENAMETOOLONG, -EBADF, -ENOSPC.
 */
int liveupdate_keep_fd(struct liveupdate *lu, const char *name, int fd);
/* A guest memory region, as mapped with VFIO_IOMMU_MAP_DMA.  -EINVAL
 * (size 0, misaligned, bad prot), -EBADF, -ENOSPC. */
int liveupdate_add_region(struct liveupdate *lu,
			  const struct liveupdate_region *region);
/* The VMM's own state, copied into the record and handed to the new
 * binary (liveupdate_payload()).  -E2BIG above LIVEUPDATE_MAX_PAYLOAD. */
int liveupdate_set_payload(struct liveupdate *lu, const void *data, size_t len);
/* How long the holder waits for the new binary to commit before it kills
 * it and restarts the previous one (default 30000 ms). */
int liveupdate_set_timeout_ms(struct liveupdate *lu, unsigned int ms);
/*
 * The binary and arguments the holder restarts, in resume mode, if the new
 * binary fails.  Default: the running binary (held open from the start of
 * the update, so replacing the file on disk does not matter) with the
 * arguments in /proc/self/cmdline.
 */
int liveupdate_set_restart(struct liveupdate *lu, const char *path,
			   char *const argv[]);

/*
 * Preflight: is an update possible now?  Fills @check with one finding per
 * subject: the backend module and its VFIO_DMA_OWNER extension on the
 * container, RLIMIT_MEMLOCK against what the holder and the new binary
 * will be charged, CAP_IPC_LOCK, every region shared, descriptor-backed
 * and mapped where described, every kept descriptor open, descriptors that
 * will be closed at exec.  Returns the number of failed findings (0: the
 * update may go ahead) or a negative errno if the check itself failed.
 */
int liveupdate_check(struct liveupdate *lu, struct liveupdate_check *check);

/*
 * Update into @path with @argv and @envp (NULL: this process's environ).
 * The VMM must have stopped issuing its own container ioctls.  Runs the
 * preflight, forks the holder, waits for it to own the mappings, and
 * execs.  Returns only if no exec took place or the exec failed; then the
 * old VMM owns every mapping again and runs on, and @report says what
 * happened (outcome LIVEUPDATE_REFUSED or LIVEUPDATE_ROLLED_BACK, or
 * LIVEUPDATE_LOST if ownership could not be taken back).  The return
 * value is the negative errno of the failure.
 */
int liveupdate_exec(struct liveupdate *lu, const char *path,
		    char *const argv[], char *const envp[],
		    struct liveupdate_report *report);

/* ---- the new binary: resume, commit ---- */

/*
 * Was this process started by an update?  0: no (normal start, *out
 * NULL).  1: yes, *out describes the container, regions (vaddr NULL),
 * kept descriptors and payload, read from a record whose magic, version,
 * size and checksum are right; the VMM may map regions itself
 * (liveupdate_region_set_vaddr()) and then calls liveupdate_commit().
 * Negative errno: the record cannot be read (-EPROTO wrong magic or
 * version, -EBADMSG checksum or layout, -EBADF descriptors missing); the
 * holder has been told and restarts the previous binary: the caller must
 * exit (with a message) without touching the container.
 */
int liveupdate_resume(struct liveupdate **out);

/*
 * Take the mappings over: map the regions whose vaddr is still NULL
 * (MAP_SHARED from their descriptors), stage every vaddr, commit with
 * VFIO_CHANGE_DMA_OWNER, tell the holder, reap it, and fill @report.
 * If the holder died and its mappings were torn down, map everything
 * again (LIVEUPDATE_UPDATED_REMAPPED).  On failure (negative errno) the
 * holder has been told and restarts the previous binary: the caller must
 * exit without touching the container.  Kept descriptors are close-on-exec
 * again after the call.
 */
int liveupdate_commit(struct liveupdate *lu, struct liveupdate_report *report);

int liveupdate_container(const struct liveupdate *lu);
/* The kept descriptor named @name, or -ENOENT. */
int liveupdate_fd(const struct liveupdate *lu, const char *name);
unsigned int liveupdate_nr_regions(const struct liveupdate *lu);
const struct liveupdate_region *liveupdate_region(const struct liveupdate *lu,
						   unsigned int i);
/* Map region @i at @vaddr yourself (MAP_SHARED of its fd and offset)
 * before liveupdate_commit().  -EINVAL, -ERANGE. */
int liveupdate_region_set_vaddr(struct liveupdate *lu, unsigned int i,
				void *vaddr);
const void *liveupdate_payload(const struct liveupdate *lu, size_t *len);
/* NULL after an update; after a restart by the holder (the new binary
 * failed, this is the previous binary again), why it restarted us. */
const char *liveupdate_rollback_reason(const struct liveupdate *lu);

/* ---- reports ---- */

const char *liveupdate_phase_name(enum liveupdate_phase phase);
const char *liveupdate_outcome_name(enum liveupdate_outcome outcome);
/* The exit status of the liveupdate command for an outcome: 0 updated
 * (also remapped), 3 rolled back, 4 refused, 5 lost. */
int liveupdate_outcome_exit_code(enum liveupdate_outcome outcome);
/* Human-readable report, several lines. */
int liveupdate_report_print(const struct liveupdate_report *r, FILE *out);
/* One JSON object. */
int liveupdate_report_json(const struct liveupdate_report *r, FILE *out);
/*
 * The report as "key=value" lines (the wire form VMMs send to the
 * liveupdate command), and back: one line per field, named as the field
 * (phase timings as phase_ns.<liveupdate_phase_name()>), booleans 0/1,
 * control characters in strings written as spaces, no final empty line
 * (the VMM ends its reply after adding its own keys).  Parsing starts
 * from zeroes with outcome LIVEUPDATE_LOST and dirty state unknown (a
 * reply without an outcome never reads as a success), ignores unknown
 * keys (a newer VMM), and returns -EINVAL for a line without '=', an
 * unknown outcome or level, or a malformed number.  A check is written
 * as nr_fail=, nr_warn= and one "finding=LEVEL WHAT: TEXT" per finding.
 */
int liveupdate_report_write_kv(const struct liveupdate_report *r, FILE *out);
int liveupdate_report_parse_kv(struct liveupdate_report *r, const char *text);
/* Same for the preflight check. */
int liveupdate_check_print(const struct liveupdate_check *c, FILE *out);
int liveupdate_check_write_kv(const struct liveupdate_check *c, FILE *out);
int liveupdate_check_parse_kv(struct liveupdate_check *c, const char *text);

#ifdef __cplusplus
}
#endif

#endif /* LIVEUPDATE_H */
