// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance, real device DMA: QEMU's edu device copies between guest
 * IOVAs and its internal buffer through the emulated VT-d, so what the
 * backend put in the IOMMU page table is checked byte for byte: DMA lands
 * exactly where the mapping says, a write to an unmapped or read-only IOVA
 * does not land (the VT-d fault it causes is logged in dmesg and is
 * expected), a read from an unmapped IOVA fetches nothing, and a remap
 * sends DMA to the new memory only.  Each case runs on the stock
 * vfio_iommu_type1 and on vfio_iommu_lu and must give the same result.
 *
 * The edu DMA mask is 28 bits: every IOVA here is below 256 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vfio_lu_test.h"

#define BUF_SIZE	(4 * SZ_1M)
#define IOVA		0x100000ull		/* 1 MiB */
#define LEN		EDU_DMA_MAX

FIXTURE(edu) {
	int container;
	int group;
	struct edu edu;
	uint8_t *buf;
	uint8_t *scratch;	/* a second buffer, mapped by some cases */
};

BACKEND_VARIANTS(edu);

FIXTURE_SETUP(edu)
{
	self->container = self->group = self->edu.device = -1;
	REQUIRE_EDU();
	open_edu(&variant->be, &self->container, &self->group);
	ASSERT_EQ(0, edu_open(&self->edu, self->group, edu_bdf()));
	self->buf = memfd_buffer(BUF_SIZE, NULL);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->scratch = memfd_buffer(SZ_1M, NULL);
	ASSERT_NE(MAP_FAILED, self->scratch);
}

FIXTURE_TEARDOWN(edu)
{
	if (self->scratch && self->scratch != MAP_FAILED)
		munmap(self->scratch, SZ_1M);
	if (self->buf && self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	edu_close(&self->edu);
	close_fd(&self->group);
	close_fd(&self->container);
}

/* RAM (iova) -> device buffer (off). */
#define dma_to_dev(iova, off, len)					\
	ASSERT_EQ(0, edu_dma(&self->edu, (iova), (off), (len), false))
/* device buffer (off) -> RAM (iova). */
#define dma_to_ram(iova, off, len)					\
	ASSERT_EQ(0, edu_dma(&self->edu, (iova), (off), (len), true))

/* Load the device buffer [off, off + len) with pattern seed, through a
 * temporary mapping of scratch at a private IOVA. */
#define SCRATCH_IOVA	0x8000000ull	/* 128 MiB */
static void load_device(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, uint32_t off, uint32_t len,
			unsigned int seed)
{
	fill_pattern(self->scratch, len, seed);
	test_cmd_map(SCRATCH_IOVA, self->scratch, SZ_64K);
	dma_to_dev(SCRATCH_IOVA, off, len);
	test_cmd_unmap(SCRATCH_IOVA, SZ_64K, SZ_64K);
}

/* Read the device buffer [off, off + len) into out via scratch. */
static void read_device(struct __test_metadata *_metadata,
			FIXTURE_DATA(edu) *self, uint32_t off, uint32_t len,
			void *out)
{
	memset(self->scratch, 0, len);
	test_cmd_map(SCRATCH_IOVA, self->scratch, SZ_64K);
	dma_to_ram(SCRATCH_IOVA, off, len);
	test_cmd_unmap(SCRATCH_IOVA, SZ_64K, SZ_64K);
	memcpy(out, self->scratch, len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Byte for byte, at unaligned offsets, across page and 2 MiB boundaries;
 * the bytes around the destination stay untouched. */
TEST_F(edu, round_trip_exact)
{
	static const struct {
		uint64_t src, dst;
		uint32_t dev, len;
	} t[] = {
		{ 0x1000, 0x10000, 0, LEN },
		{ 0xff801, 0x2007ff, 1, LEN - 1 },	/* unaligned, crosses pages */
		{ 0x1fff00, 0x3ff7f3, 100, 1500 },	/* crosses 2 MiB */
		{ 0x3ffff0, 0x123, 7, 16 },
	};

	test_cmd_map(IOVA, self->buf, BUF_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		memset(self->buf, 0, BUF_SIZE);
		fill_pattern(self->buf + t[i].src, t[i].len, i + 1);
		dma_to_dev(IOVA + t[i].src, t[i].dev, t[i].len);
		/* The source is left alone. */
		ASSERT_EQ(-1, check_pattern(self->buf + t[i].src, t[i].len, i + 1));
		memset(self->buf + t[i].src, 0, t[i].len);
		dma_to_ram(IOVA + t[i].dst, t[i].dev, t[i].len);
		ASSERT_EQ(-1, check_pattern(self->buf + t[i].dst, t[i].len, i + 1))
			TH_LOG("transfer %zu", i);
		/* Nothing else in the buffer changed. */
		memset(self->buf + t[i].dst, 0, t[i].len);
		ASSERT_TRUE(all_zero(self->buf, BUF_SIZE)) TH_LOG("transfer %zu", i);
	}
	test_cmd_unmap(IOVA, BUF_SIZE, BUF_SIZE);
}

TEST_F(edu, dma_at_iova_zero)
{
	test_cmd_map(0, self->buf, SZ_64K);
	fill_pattern(self->buf, LEN, 3);
	dma_to_dev(0, 0, LEN);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(SZ_4K, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf + SZ_4K, LEN, 3));
	test_cmd_unmap(0, SZ_64K, SZ_64K);
}

TEST_F(edu, write_to_unmapped_iova_blocked)
{
	load_device(_metadata, self, 0, LEN, 4);
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_TRUE(all_zero(self->buf, SZ_64K));
	/* Never mapped at all. */
	dma_to_ram(IOVA + SZ_64K * 16, 0, LEN);
	ASSERT_TRUE(all_zero(self->buf, BUF_SIZE));
	/* The device still works, and its buffer still holds the data. */
	test_cmd_map(IOVA, self->buf, SZ_64K);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf, LEN, 4));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(edu, read_from_unmapped_iova_fetches_nothing)
{
	uint8_t out[LEN];

	load_device(_metadata, self, 0, LEN, 5);
	/* Secret data at an IOVA that was mapped and is not any more. */
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	fill_pattern(self->buf, LEN, 6);
	dma_to_dev(IOVA, 0, LEN);
	read_device(_metadata, self, 0, LEN, out);
	/* Not one byte of the memory behind the old IOVA: the device buffer
	 * holds what it held (pattern 5), or what the blocked read gave
	 * (QEMU fills a transfer the IOMMU refuses with zeros), exactly. */
	if (check_pattern(out, LEN, 5) >= 0)
		ASSERT_TRUE(all_zero(out, LEN))
			TH_LOG("neither the old content nor zeros: first "
			       "byte %#x", out[0]);
	/* The device still works: a mapped read fetches the memory. */
	test_cmd_map(IOVA, self->buf, SZ_64K);
	dma_to_dev(IOVA, 0, LEN);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	read_device(_metadata, self, 0, LEN, out);
	ASSERT_EQ(-1, check_pattern(out, LEN, 6));
}

TEST_F(edu, write_to_read_only_mapping_blocked)
{
	uint8_t out[LEN];

	test_cmd_map_flags(IOVA, self->buf, SZ_64K, VFIO_DMA_MAP_FLAG_READ);
	load_device(_metadata, self, 0, LEN, 7);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_TRUE(all_zero(self->buf, SZ_64K));
	/* Reading through it works. */
	fill_pattern(self->buf + SZ_4K, LEN, 8);
	dma_to_dev(IOVA + SZ_4K, 0, LEN);
	read_device(_metadata, self, 0, LEN, out);
	ASSERT_EQ(-1, check_pattern(out, LEN, 8));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(edu, write_only_mapping_takes_writes)
{
	test_cmd_map_flags(IOVA, self->buf, SZ_64K, VFIO_DMA_MAP_FLAG_WRITE);
	load_device(_metadata, self, 0, LEN, 9);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf, LEN, 9));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(edu, partial_unmap_of_neighbours)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_map(IOVA + SZ_64K, self->buf + SZ_64K, SZ_64K);
	load_device(_metadata, self, 0, LEN, 10);
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	memset(self->buf, 0, 2 * SZ_64K);
	dma_to_ram(IOVA + SZ_64K - LEN, 0, LEN);	/* last bytes of the gone one */
	dma_to_ram(IOVA + SZ_64K, 0, LEN);		/* first bytes of the kept one */
	ASSERT_TRUE(all_zero(self->buf, SZ_64K));
	ASSERT_EQ(-1, check_pattern(self->buf + SZ_64K, LEN, 10));
	test_cmd_unmap(IOVA + SZ_64K, SZ_64K, SZ_64K);
}

/* Remapping an IOVA to other memory: DMA goes to the new memory only
 * (a stale IOTLB entry would send it to the old one). */
TEST_F(edu, remap_to_new_memory)
{
	load_device(_metadata, self, 0, LEN, 11);
	test_cmd_map(IOVA, self->buf, SZ_64K);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf, LEN, 11));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);

	load_device(_metadata, self, 0, LEN, 12);
	test_cmd_map(IOVA, self->buf + SZ_1M, SZ_64K);
	memset(self->buf, 0, 2 * SZ_1M);
	dma_to_ram(IOVA, 0, LEN);
	ASSERT_TRUE(all_zero(self->buf, SZ_64K));
	ASSERT_EQ(-1, check_pattern(self->buf + SZ_1M, LEN, 12));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
}

TEST_F(edu, unmap_all_blocks_everything)
{
	load_device(_metadata, self, 0, LEN, 13);
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_map(IOVA + SZ_1M, self->buf + SZ_1M, SZ_64K);
	test_cmd_unmap_all(2 * SZ_64K);
	memset(self->buf, 0, BUF_SIZE);
	dma_to_ram(IOVA, 0, LEN);
	dma_to_ram(IOVA + SZ_1M, 0, LEN);
	ASSERT_TRUE(all_zero(self->buf, BUF_SIZE));
}

/* One memory range at two IOVAs: a write through either is one write. */
TEST_F(edu, alias_mappings)
{
	test_cmd_map(IOVA, self->buf, SZ_64K);
	test_cmd_map(IOVA + SZ_1M, self->buf, SZ_64K);
	load_device(_metadata, self, 0, LEN, 14);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(IOVA + SZ_1M + 0x800, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf + 0x800, LEN, 14));
	test_cmd_unmap(IOVA, 2 * SZ_1M, 2 * SZ_64K);
}

/* A device read of read-only memory mapped read-only. */
TEST_F(edu, read_only_memory)
{
	uint8_t *ro = memfd_buffer_ro(SZ_64K);
	uint8_t out[LEN];

	ASSERT_NE(NULL, ro);
	test_cmd_map_flags(IOVA, ro, SZ_64K, VFIO_DMA_MAP_FLAG_READ);
	dma_to_dev(IOVA + SZ_4K, 0, LEN);
	read_device(_metadata, self, 0, LEN, out);
	ASSERT_EQ(0, memcmp(out, ro + SZ_4K, LEN));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	munmap(ro, SZ_64K);
}

/* Private anonymous memory: the pinned page is the one the CPU sees. */
TEST_F(edu, private_anonymous_memory)
{
	uint8_t *anon = mmap(NULL, SZ_64K, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, anon);
	test_cmd_map(IOVA, anon, SZ_64K);
	load_device(_metadata, self, 0, LEN, 15);
	dma_to_ram(IOVA + SZ_4K, 0, LEN);
	ASSERT_EQ(-1, check_pattern(anon + SZ_4K, LEN, 15));
	/* And the other way round. */
	fill_pattern(anon + 2 * SZ_4K, LEN, 16);
	dma_to_dev(IOVA + 2 * SZ_4K, 0, LEN);
	dma_to_ram(IOVA + 3 * SZ_4K, 0, LEN);
	ASSERT_EQ(-1, check_pattern(anon + 3 * SZ_4K, LEN, 16));
	test_cmd_unmap(IOVA, SZ_64K, SZ_64K);
	munmap(anon, SZ_64K);
}

/* Mappings made in the MSI hole's neighbourhood do not matter to edu
 * (28-bit DMA), but a mapping right below 256 MiB does. */
TEST_F(edu, top_of_device_range)
{
	uint64_t iova = EDU_IOVA_LIMIT - SZ_64K;

	test_cmd_map(iova, self->buf, SZ_64K);
	load_device(_metadata, self, 0, LEN, 17);
	memset(self->buf, 0, SZ_64K);
	dma_to_ram(iova + SZ_64K - LEN - 1, 0, LEN);
	ASSERT_EQ(-1, check_pattern(self->buf + SZ_64K - LEN - 1, LEN, 17));
	test_cmd_unmap(iova, SZ_64K, SZ_64K);
}

TEST_HARNESS_MAIN
