// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * state.c - the record that crosses exec.
 *
 * Layout (host byte order: the record never leaves the machine, and both
 * binaries run on it):
 *
 *   struct lu_rec_head     magic "VFIOLUST", version, sizes, crc32c
 *   struct lu_rec_fd       x nr_fds      (kept descriptors by name)
 *   struct lu_rec_region   x nr_regions
 *   payload                payload_len bytes (the VMM's own)
 *
 * The crc32c covers the whole record with the crc field read as 0.  A
 * decoder refuses a different magic or version (EPROTO: a binary that does
 * not know this record must not guess) and anything whose sizes, counts,
 * checksum or fields do not add up (EBADMSG).  Structures only grow by
 * appending, with a new version.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lu_int.h"

#define LU_REC_MAGIC		"VFIOLUST"
#define LU_REC_PHASES		16

struct lu_rec_head {
	char magic[8];
	uint32_t version;
	uint32_t head_size;
	uint64_t total_size;
	uint32_t crc;
	uint32_t nr_fds;
	uint32_t nr_regions;
	uint32_t payload_len;
	int32_t container;
	int32_t pid;
	int32_t holder_pid;
	uint32_t timeout_ms;
	uint32_t flags;
#define LU_REC_CAP_IPC_LOCK	(1u << 0)
	int32_t dirty;
	uint64_t t_start_ns;
	uint64_t t_exec_ns;
	uint64_t mdev_wait_ns;
	uint64_t vmlck_kb;
	uint64_t vmlck_holder_kb;
	uint64_t pins;
	uint64_t phase_ns[LU_REC_PHASES];
	char binary[256];
};

struct lu_rec_fd {
	char name[LIVEUPDATE_NAME_MAX];
	int32_t fd;
	uint32_t reserved;
};

struct lu_rec_region {
	int32_t fd;
	uint32_t prot;
	uint64_t offset;
	uint64_t size;
	uint64_t iova;
	uint64_t old_vaddr;
};

_Static_assert(LIVEUPDATE_NR_PHASES <= LU_REC_PHASES, "record phase slots");
_Static_assert(offsetof(struct lu_rec_head, nr_fds) == LU_REC_OFF_NR_FDS &&
	       offsetof(struct lu_rec_head, nr_regions) == LU_REC_OFF_NR_REGIONS &&
	       offsetof(struct lu_rec_head, payload_len) == LU_REC_OFF_PAYLOAD_LEN,
	       "field offsets the tests use");

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t lu_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_table[1])
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t record_crc(const uint8_t *buf, size_t len)
{
	const size_t at = offsetof(struct lu_rec_head, crc);
	const uint32_t zero = 0;
	uint32_t c;

	c = lu_crc32c(0, buf, at);
	c = lu_crc32c(c, &zero, sizeof(zero));
	return lu_crc32c(c, buf + at + sizeof(zero), len - at - sizeof(zero));
}

void lu_state_set_crc(void *buf, size_t len)
{
	struct lu_rec_head *h = buf;

	if (len >= sizeof(*h))
		h->crc = record_crc(buf, len);
}

int lu_state_encode(const struct liveupdate *lu, const struct lu_before *b,
		    void **out, size_t *out_len)
{
	size_t len = sizeof(struct lu_rec_head) +
		     lu->nr_fds * sizeof(struct lu_rec_fd) +
		     lu->nr_regions * sizeof(struct lu_rec_region) +
		     lu->payload_len;
	uint8_t *buf = calloc(1, len);
	struct lu_rec_head *h = (void *)buf;
	struct lu_rec_fd *f;
	struct lu_rec_region *r;

	if (!buf)
		return -ENOMEM;
	memcpy(h->magic, LU_REC_MAGIC, 8);
	h->version = LIVEUPDATE_API_VERSION;
	h->head_size = sizeof(*h);
	h->total_size = len;
	h->nr_fds = lu->nr_fds;
	h->nr_regions = lu->nr_regions;
	h->payload_len = lu->payload_len;
	h->container = lu->container;
	h->pid = b->pid;
	h->holder_pid = b->holder_pid;
	h->timeout_ms = lu->timeout_ms;
	h->flags = b->holder_cap_ipc_lock ? LU_REC_CAP_IPC_LOCK : 0;
	h->dirty = b->dirty;
	h->t_start_ns = b->t_start_ns;
	h->t_exec_ns = b->t_exec_ns;
	h->mdev_wait_ns = b->mdev_wait_ns;
	h->vmlck_kb = b->vmlck_kb;
	h->vmlck_holder_kb = b->vmlck_holder_kb;
	h->pins = b->pins;
	memcpy(h->phase_ns, b->phase_ns, sizeof(b->phase_ns));
	snprintf(h->binary, sizeof(h->binary), "%s", b->binary);

	f = (void *)(h + 1);
	for (unsigned int i = 0; i < lu->nr_fds; i++, f++) {
		memcpy(f->name, lu->fds[i].name, sizeof(f->name));
		f->fd = lu->fds[i].fd;
	}
	r = (void *)f;
	for (unsigned int i = 0; i < lu->nr_regions; i++, r++) {
		r->fd = lu->regions[i].fd;
		r->prot = lu->regions[i].prot;
		r->offset = lu->regions[i].offset;
		r->size = lu->regions[i].size;
		r->iova = lu->regions[i].iova;
		r->old_vaddr = (uintptr_t)lu->regions[i].vaddr;
	}
	if (lu->payload_len)
		memcpy(r, lu->payload, lu->payload_len);
	h->crc = record_crc(buf, len);
	*out = buf;
	*out_len = len;
	return 0;
}

static bool name_ok(const char *n)
{
	size_t l = strnlen(n, LIVEUPDATE_NAME_MAX);

	return l && l < LIVEUPDATE_NAME_MAX;
}

int lu_state_decode(const void *buf, size_t len, struct liveupdate **out,
		    struct lu_before *b)
{
	const struct lu_rec_head *h = buf;
	const struct lu_rec_fd *f;
	const struct lu_rec_region *r;
	struct liveupdate *lu;
	uint64_t need;
	long pg = sysconf(_SC_PAGESIZE);

	if (len < sizeof(h->magic) + sizeof(h->version))
		return -EBADMSG;
	if (memcmp(h->magic, LU_REC_MAGIC, 8) ||
	    h->version != LIVEUPDATE_API_VERSION)
		return -EPROTO;
	if (len < sizeof(*h) || h->head_size != sizeof(*h) ||
	    h->total_size != len)
		return -EBADMSG;
	if (h->crc != record_crc(buf, len))
		return -EBADMSG;
	if (h->nr_fds > LIVEUPDATE_MAX_FDS || h->nr_regions > LIVEUPDATE_MAX_REGIONS ||
	    h->payload_len > LIVEUPDATE_MAX_PAYLOAD || h->container < 0 ||
	    h->binary[sizeof(h->binary) - 1] || !h->timeout_ms)
		return -EBADMSG;
	need = sizeof(*h) + (uint64_t)h->nr_fds * sizeof(*f) +
	       (uint64_t)h->nr_regions * sizeof(*r) + h->payload_len;
	if (need != len)
		return -EBADMSG;

	lu = liveupdate_new();
	if (!lu)
		return -ENOMEM;
	lu->container = h->container;
	lu->timeout_ms = h->timeout_ms;
	f = (const void *)(h + 1);
	for (unsigned int i = 0; i < h->nr_fds; i++, f++) {
		if (!name_ok(f->name) || f->fd < 0 || f->reserved)
			goto bad;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(lu->fds[j].name, f->name))
				goto bad;
		memcpy(lu->fds[i].name, f->name, sizeof(f->name));
		lu->fds[i].fd = f->fd;
	}
	lu->nr_fds = h->nr_fds;
	r = (const void *)f;
	if (h->nr_regions) {
		lu->regions = calloc(h->nr_regions, sizeof(*lu->regions));
		lu->lib_mapped = calloc(h->nr_regions, sizeof(bool));
		if (!lu->regions || !lu->lib_mapped)
			goto nomem;
	}
	for (unsigned int i = 0; i < h->nr_regions; i++, r++) {
		if (r->fd < 0 || !r->size || (r->size | r->offset | r->iova) & (pg - 1) ||
		    !r->prot || r->prot & ~(LIVEUPDATE_PROT_READ | LIVEUPDATE_PROT_WRITE) ||
		    r->iova + r->size < r->iova)
			goto bad;
		lu->regions[i] = (struct liveupdate_region){
			.fd = r->fd, .prot = r->prot, .offset = r->offset,
			.size = r->size, .iova = r->iova, .vaddr = NULL,
		};
	}
	lu->nr_regions = h->nr_regions;
	if (h->payload_len && liveupdate_set_payload(lu, r, h->payload_len))
		goto nomem;

	memset(b, 0, sizeof(*b));
	b->pid = h->pid;
	b->holder_pid = h->holder_pid;
	memcpy(b->binary, h->binary, sizeof(b->binary));
	b->t_start_ns = h->t_start_ns;
	b->t_exec_ns = h->t_exec_ns;
	b->mdev_wait_ns = h->mdev_wait_ns;
	b->vmlck_kb = h->vmlck_kb;
	b->vmlck_holder_kb = h->vmlck_holder_kb;
	b->pins = h->pins;
	b->dirty = h->dirty;
	b->holder_cap_ipc_lock = h->flags & LU_REC_CAP_IPC_LOCK;
	memcpy(b->phase_ns, h->phase_ns, sizeof(b->phase_ns));
	*out = lu;
	return 0;
bad:
	liveupdate_free(lu);
	return -EBADMSG;
nomem:
	liveupdate_free(lu);
	return -ENOMEM;
}
