/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lu_int.h - the library's private header: the description a VMM builds,
 * the holder channel's messages, and the helpers the layers share.
 *
 * Layers (each one file; no file calls "up"):
 *   exec.c, resume.c    the two sides of an update (public entry points)
 *   holder.c            the holder and its spare, forked by exec.c
 *   check.c             the preflight, called by exec.c
 *   sandbox.c           the holder's seccomp filter and capabilities
 *   state.c             the record that crosses exec
 *   vfio.c              container calls: stage, commit, re-map, probes
 *   proc.c              /proc readers, clocks, descriptor walks
 *   describe.c          the description and its accessors
 *   report.c            reports: text, JSON, key=value
 *   json.c              JSON strings (the command compiles it in too)
 */
#ifndef LU_INT_H
#define LU_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "liveupdate.h"
#include "export.h"

struct lu_fd {
	char name[LIVEUPDATE_NAME_MAX];
	int fd;
};

/* What the old binary knew before exec, carried by the record. */
struct lu_before {
	pid_t pid;
	pid_t holder_pid;
	char binary[256];
	uint64_t t_start_ns;		/* liveupdate_exec() entered */
	uint64_t t_exec_ns;		/* execve() called */
	uint64_t phase_ns[LIVEUPDATE_NR_PHASES];
	uint64_t mdev_wait_ns;		/* the holder's locked ioctls */
	uint64_t vmlck_kb, vmlck_holder_kb;
	uint64_t pins;			/* nr_foll_pin_acquired */
	int dirty;			/* -1, 0, 1 */
	bool holder_cap_ipc_lock;
};

struct liveupdate {
	int container;
	unsigned int nr_fds;
	struct lu_fd fds[LIVEUPDATE_MAX_FDS];
	unsigned int nr_regions;
	struct liveupdate_region *regions;
	bool *lib_mapped;		/* resume: regions the library mmap'd */
	void *payload;
	size_t payload_len;
	unsigned int timeout_ms;
	char *restart_path;		/* NULL: the running binary */
	char **restart_argv;		/* NULL: /proc/self/cmdline */

	/* Set by liveupdate_resume(). */
	bool resumed;
	int state_fd, ctl_fd;
	char rollback[128];		/* reason, if the holder restarted us */
	uint64_t t_resume_ns;
	uint64_t state_read_ns;
	struct lu_before before;
};

/* ---- the channel between the VMM and the holder (SOCK_SEQPACKET) ---- */
enum lu_msg_type {
	LU_MSG_OWNED = 1,	/* holder -> VMM: I own every mapping */
	LU_MSG_FAILED,		/* holder -> VMM: I could not; nothing changed */
	LU_MSG_COMMITTED,	/* VMM -> holder: I own them now, exit */
	LU_MSG_ABORT,		/* VMM -> holder: exec failed, I took them back */
	LU_MSG_REFUSED,		/* new binary -> holder: roll back */
	LU_MSG_RESTART,		/* holder -> spare: exec the previous binary */
};

struct lu_msg {
	uint32_t type;
	int32_t error;			/* errno */
	char step[32];
	char text[128];
	uint64_t own_ns;		/* holder: sandbox + map + stage + own */
	uint64_t mdev_wait_ns;
	uint64_t vmlck_kb;
	uint32_t cap_ipc_lock;
	uint32_t pad;
};

int lu_msg_send(int fd, enum lu_msg_type type, int error, const char *step,
		const char *text);
int lu_msg_send_full(int fd, const struct lu_msg *m);
/* Wait up to timeout_ms (-1: forever) for one message.  0 and *m filled;
 * -EPIPE the peer closed; -ETIMEDOUT; -EPROTO a short message. */
int lu_msg_recv(int fd, struct lu_msg *m, int timeout_ms);

/* ---- describe.c ---- */
int lu_is_kept(const struct liveupdate *lu, int fd);
/* Every descriptor the update keeps: container, kept fds, region fds,
 * and @extra; sorted, unique.  Returns the count. */
int lu_kept_fds(const struct liveupdate *lu, const int *extra, int nr_extra,
		int *out, int max);

/* ---- proc.c ---- */
uint64_t lu_now_ns(void);
/* VmLck of /proc/self/status in KiB (or of an open status fd); -errno. */
int64_t lu_vmlck_kb(void);
int64_t lu_vmlck_kb_fd(int status_fd);
/* nr_foll_pin_acquired of /proc/vmstat; 0 if absent. */
uint64_t lu_pins_acquired(void);
/* readlink /proc/self/exe into buf. */
void lu_self_exe(char *buf, size_t len);
/* /proc/self/cmdline as a NULL-terminated argv (malloc'd, one block). */
char **lu_self_argv(void);
bool lu_has_cap_ipc_lock(void);

/* Saved FD_CLOEXEC flags of every descriptor, to undo a failed exec. */
struct lu_fd_flags {
	int nr;
	int *fd;
	int *flags;
};
/* Make exactly the descriptors in keep[] (and 0, 1, 2) survive exec:
 * clear FD_CLOEXEC on them, set it on every other.  Saves the old flags
 * in *saved (may be NULL). */
int lu_fds_prepare(const int *keep, int nr_keep, struct lu_fd_flags *saved);
void lu_fds_restore(struct lu_fd_flags *saved);
void lu_fds_free(struct lu_fd_flags *saved);
/* Set FD_CLOEXEC on fd. */
void lu_cloexec(int fd);
/* A copy of envp without LIVEUPDATE_* entries, plus the given ones
 * ("NAME=value" strings, NULL-terminated).  malloc'd; NULL on ENOMEM. */
char **lu_env_with(char *const envp[], char *const add[]);

/* ---- state.c ---- */
/* Serialize lu and *before into a new memory buffer.  0 or -errno. */
int lu_state_encode(const struct liveupdate *lu, const struct lu_before *b,
		    void **buf, size_t *len);
/* Parse buf into a new description (payload copied).  0 or -EPROTO,
 * -EBADMSG, -ENOMEM. */
int lu_state_decode(const void *buf, size_t len, struct liveupdate **out,
		    struct lu_before *b);
uint32_t lu_crc32c(uint32_t crc, const void *buf, size_t len);
/* Recompute a record's checksum in place (tests forge records with it). */
void lu_state_set_crc(void *buf, size_t len);
/* Offsets of a few header fields, for those tests. */
#define LU_REC_OFF_NR_FDS	28
#define LU_REC_OFF_NR_REGIONS	32
#define LU_REC_OFF_PAYLOAD_LEN	36

/* ---- vfio.c ---- */
/* VFIO_DMA_MAP_FLAG_VADDR for every region, from vaddrs[] (or the
 * regions' own vaddr if NULL): one call per run of regions adjacent in
 * IOVA and vaddr (one per region if the backend refuses the run).  Adds
 * the time spent to *locked_ns. */
int lu_stage_all(const struct liveupdate *lu, void *const *vaddrs,
		 uint64_t *locked_ns);
/* Withdraw every vaddr this process staged. */
void lu_stage_withdraw(int container);
int lu_change_owner(int container, uint64_t *locked_ns);
/* The slow path: wait until the dead owner's mappings are torn down,
 * then map every region again from this process (re-pinning). */
int lu_remap_all(const struct liveupdate *lu, uint64_t *locked_ns);
/* Dirty tracking started?  1, 0, or -1 if no probe is possible.
 * Reads a range no mapping covers: consumes no bit. */
int lu_dirty_probe(const struct liveupdate *lu);
/* mmap, MAP_SHARED from its fd at any address, every region whose
 * vaddrs[i] is still NULL; mapped[i] marks those it mapped.  On failure
 * nothing it mapped stays. */
int lu_map_regions(const struct liveupdate *lu, void **vaddrs, bool *mapped);
/* munmap the regions marked in mapped[]; their vaddrs[] become NULL. */
void lu_unmap_regions(const struct liveupdate *lu, void **vaddrs, bool *mapped);

/* ---- check.c ---- */
int lu_check(struct liveupdate *lu, struct liveupdate_check *c);

/* ---- sandbox.c ---- */
struct lu_sandbox {
	int container;
	int pidfd;			/* the VMM, which the holder may kill */
	pid_t spare;			/* and the spare (a restarted VMM) */
	bool keep_ipc_lock;
};
int lu_sandbox_enter(const struct lu_sandbox *sb);

/* ---- holder.c ---- */
struct lu_holder_args {
	struct liveupdate *lu;
	int ctl;			/* the holder's end of the channel */
	int state_fd;
	int exe_fd;			/* the previous binary, for a restart */
	char **restart_argv;
	pid_t vmm;
	bool keep_ipc_lock;
	uint64_t t_fork_ns;
};
__attribute__((noreturn)) void lu_holder_main(const struct lu_holder_args *a);

/* ---- report helpers ---- */
void lu_report_init(struct liveupdate_report *r, const struct liveupdate *lu);
void lu_report_fail(struct liveupdate_report *r, enum liveupdate_outcome o,
		    int error, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define LU_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* LU_INT_H */
