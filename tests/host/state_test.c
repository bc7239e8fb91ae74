// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * state_test - the record that crosses exec (liveupdate/lib/state.c) on
 * the host: a full round trip; every truncation refused; every single-bit
 * corruption refused; another magic or version refused as EPROTO (a binary
 * must not guess at a record it does not know); records that checksum
 * right but do not add up (counts past the limits, sizes that disagree,
 * duplicate or empty names, bad regions) refused as EBADMSG.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lu_int.h"
#include "expect.h"

static struct liveupdate *sample(struct lu_before *b)
{
	struct liveupdate *lu = liveupdate_new();
	char payload[1000];

	lu->container = 5;
	/* The description normally checks its fds are open; fill it directly. */
	for (int i = 0; i < 3; i++) {
		snprintf(lu->fds[i].name, sizeof(lu->fds[i].name), "fd-%d", i);
		lu->fds[i].fd = 10 + i;
	}
	lu->nr_fds = 3;
	lu->regions = calloc(3, sizeof(*lu->regions));
	for (int i = 0; i < 3; i++)
		lu->regions[i] = (struct liveupdate_region){
			.fd = 20 + i, .prot = LIVEUPDATE_PROT_READ | (i ? LIVEUPDATE_PROT_WRITE : 0),
			.offset = 0x1000ull * i, .size = 0x200000ull << i,
			.iova = 0x40000000ull * i, .vaddr = (void *)(0x7f0000000000ull + (i << 24)),
		};
	lu->nr_regions = 3;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7);
	liveupdate_set_payload(lu, payload, sizeof(payload));
	lu->timeout_ms = 1234;

	memset(b, 0, sizeof(*b));
	b->pid = 4242;
	b->holder_pid = 4343;
	snprintf(b->binary, sizeof(b->binary), "/usr/bin/refvmm");
	b->t_start_ns = 111;
	b->t_exec_ns = 222;
	for (int i = 0; i < LIVEUPDATE_NR_PHASES; i++)
		b->phase_ns[i] = 1000 + i;
	b->mdev_wait_ns = 333;
	b->vmlck_kb = 1 << 20;
	b->vmlck_holder_kb = 1 << 20;
	b->pins = 99;
	b->dirty = 1;
	b->holder_cap_ipc_lock = true;
	return lu;
}

static void round_trip(const void *buf, size_t len, const struct liveupdate *lu,
		       const struct lu_before *b)
{
	struct liveupdate *out = NULL;
	struct lu_before ob;
	size_t plen;
	const char *p;

	EXPECT(lu_state_decode(buf, len, &out, &ob) == 0);
	if (!out)
		return;
	EXPECT(out->container == 5 && out->nr_fds == 3 && out->nr_regions == 3);
	EXPECT(out->timeout_ms == 1234);
	for (int i = 0; i < 3; i++) {
		EXPECT(!strcmp(out->fds[i].name, lu->fds[i].name));
		EXPECT(out->fds[i].fd == lu->fds[i].fd);
		EXPECT(out->regions[i].fd == lu->regions[i].fd);
		EXPECT(out->regions[i].prot == lu->regions[i].prot);
		EXPECT(out->regions[i].offset == lu->regions[i].offset);
		EXPECT(out->regions[i].size == lu->regions[i].size);
		EXPECT(out->regions[i].iova == lu->regions[i].iova);
		/* The new binary maps the regions anew. */
		EXPECT(out->regions[i].vaddr == NULL);
	}
	p = liveupdate_payload(out, &plen);
	EXPECT(plen == 1000 && !memcmp(p, lu->payload, 1000));
	EXPECT(ob.pid == 4242 && ob.holder_pid == 4343);
	EXPECT(!strcmp(ob.binary, "/usr/bin/refvmm"));
	EXPECT(ob.t_start_ns == 111 && ob.t_exec_ns == 222);
	EXPECT(!memcmp(ob.phase_ns, b->phase_ns, sizeof(ob.phase_ns)));
	EXPECT(ob.mdev_wait_ns == 333 && ob.pins == 99 && ob.dirty == 1);
	EXPECT(ob.vmlck_kb == 1 << 20 && ob.vmlck_holder_kb == 1 << 20);
	EXPECT(ob.holder_cap_ipc_lock);
	liveupdate_free(out);
}

static int decode(const void *buf, size_t len)
{
	struct liveupdate *out = (void *)1;
	struct lu_before ob;
	int ret = lu_state_decode(buf, len, &out, &ob);

	if (!ret)
		liveupdate_free(out);
	return ret;
}

static void truncations(const uint8_t *buf, size_t len)
{
	size_t bad = 0;

	for (size_t l = 0; l < len; l++) {
		int ret = decode(buf, l);

		bad += !(ret == -EBADMSG || ret == -EPROTO);
	}
	EXPECT(bad == 0);
	/* One byte too many is refused as well. */
	{
		uint8_t *big = calloc(1, len + 1);

		memcpy(big, buf, len);
		EXPECT(decode(big, len + 1) == -EBADMSG);
		free(big);
	}
}

static void bit_flips(const uint8_t *buf, size_t len)
{
	uint8_t *c = malloc(len);
	size_t accepted = 0;

	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(c, buf, len);
			c[i] ^= 1u << bit;
			accepted += decode(c, len) == 0;
		}
	EXPECT(accepted == 0);
	free(c);
}

static void versions(const uint8_t *buf, size_t len)
{
	uint8_t *c = malloc(len);
	uint32_t v;

	memcpy(c, buf, len);
	c[0] = 'X';
	EXPECT(decode(c, len) == -EPROTO);
	memcpy(c, buf, len);
	memcpy(&v, c + 8, 4);
	v++;
	memcpy(c + 8, &v, 4);
	lu_state_set_crc(c, len);
	EXPECT(decode(c, len) == -EPROTO);
	free(c);
}

/* Change a u32 header field, fix the checksum: must still be refused. */
static int forged_u32(const uint8_t *buf, size_t len, size_t off, uint32_t val)
{
	uint8_t *c = malloc(len);
	int ret;

	memcpy(c, buf, len);
	memcpy(c + off, &val, 4);
	lu_state_set_crc(c, len);
	ret = decode(c, len);
	free(c);
	return ret;
}

static void forged(const uint8_t *buf, size_t len)
{
	EXPECT(forged_u32(buf, len, LU_REC_OFF_NR_FDS, 4) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_NR_FDS, LIVEUPDATE_MAX_FDS + 1) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_NR_FDS, 0xffffffff) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_NR_REGIONS, 2) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_NR_REGIONS, 0x80000000) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_PAYLOAD_LEN, 999) == -EBADMSG);
	EXPECT(forged_u32(buf, len, LU_REC_OFF_PAYLOAD_LEN, LIVEUPDATE_MAX_PAYLOAD + 1) == -EBADMSG);
}

/* Entries that checksum right but make no sense. */
static void bad_entries(void)
{
	struct lu_before b;
	struct liveupdate *lu;
	void *buf;
	size_t len;

	lu = sample(&b);
	strcpy(lu->fds[2].name, lu->fds[0].name);		/* duplicate */
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);

	lu = sample(&b);
	lu->fds[1].name[0] = 0;					/* empty */
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);

	lu = sample(&b);
	lu->regions[1].size = 0;				/* empty region */
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);

	lu = sample(&b);
	lu->regions[2].iova = ~0ull << 12;			/* wraps */
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);

	lu = sample(&b);
	lu->regions[0].prot = 4;				/* unknown prot */
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);

	lu = sample(&b);
	lu->regions[0].fd = -1;
	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	EXPECT(decode(buf, len) == -EBADMSG);
	free(buf);
	liveupdate_free(lu);
}

int main(void)
{
	struct lu_before b;
	struct liveupdate *lu = sample(&b);
	void *buf;
	size_t len;

	EXPECT(lu_state_encode(lu, &b, &buf, &len) == 0);
	round_trip(buf, len, lu, &b);
	truncations(buf, len);
	bit_flips(buf, len);
	versions(buf, len);
	forged(buf, len);
	bad_entries();
	free(buf);
	liveupdate_free(lu);
	return expect_summary("state_test");
}
