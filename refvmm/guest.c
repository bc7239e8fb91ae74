// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM and the "vCPU".
 *
 * RAM is a memfd (MFD_HUGETLB with --hugetlb), mapped MAP_SHARED, as the
 * live update requires: the holder and the new binary map the same memory
 * object from the descriptor.  Like QEMU, we mark it MADV_DONTFORK, so a
 * fork (the agent, the library's holder) never shares or copies it; they
 * map the memfd themselves.
 *
 * The vCPU: on every tick it reads the u64 counter at GUEST_COUNTER_OFF
 * and writes counter + 1, and the VMM counts the writes it made
 * (counter_expected, carried across the update in the payload).  After an
 * update, counter == expected proves the new binary sees every write the
 * old one made: same memory, no write lost, no gap.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refvmm.h"

#define HUGE_SZ		(2 * MIB)

/* Free 2 MiB huge pages, for the error message; -1 if unknown. */
static long huge_pages_free(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

int ram_parts(const struct vmm *v, struct ram_part parts[RAM_PARTS_MAX])
{
	uint64_t low = v->mem_bytes < LOW_RAM_MAX ? v->mem_bytes : LOW_RAM_MAX;

	parts[0] = (struct ram_part){ .offset = 0, .iova = 0, .size = low };
	if (low == v->mem_bytes)
		return 1;
	parts[1] = (struct ram_part){ .offset = low, .iova = HIGH_RAM_IOVA,
				      .size = v->mem_bytes - low };
	return 2;
}

int guest_ram_map(struct vmm *v)
{
	void *p;

	p = mmap(NULL, v->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->mem_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Like QEMU: children (the agent, the holder) map it themselves. */
	if (madvise(p, v->mem_bytes, MADV_DONTFORK)) {
		int ret = -errno;

		munmap(p, v->mem_bytes);
		return ret;
	}
	v->ram = p;
	return 0;
}

int guest_ram_create(struct vmm *v)
{
	unsigned int flags = MFD_CLOEXEC;
	int ret;

	if (v->hugetlb) {
		if (v->mem_bytes % HUGE_SZ) {
			vlog("--hugetlb: --mem must be a multiple of 2 MiB");
			return -EINVAL;
		}
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	}
	v->mem_fd = memfd_create("refvmm-ram", flags);
	if (v->mem_fd < 0) {
		ret = -errno;
		vlog("memfd_create%s: %s", v->hugetlb ? " (MFD_HUGETLB)" : "",
		     strerror(-ret));
		return ret;
	}
	if (ftruncate(v->mem_fd, v->mem_bytes)) {
		ret = -errno;
		vlog("ftruncate of guest RAM: %s", strerror(-ret));
		goto err_close;
	}
	ret = guest_ram_map(v);
	if (ret) {
		if (v->hugetlb && ret == -ENOMEM)
			vlog("no huge pages for %llu MiB of guest RAM: %llu "
			     "needed, %ld free (reserve them in "
			     "/proc/sys/vm/nr_hugepages)",
			     (unsigned long long)(v->mem_bytes / MIB),
			     (unsigned long long)(v->mem_bytes / HUGE_SZ),
			     huge_pages_free());
		else
			vlog("mmap of guest RAM: %s", strerror(-ret));
		goto err_close;
	}
	*(volatile uint64_t *)(v->ram + GUEST_COUNTER_OFF) = 0;
	v->counter_expected = 0;
	return 0;

err_close:
	close(v->mem_fd);
	v->mem_fd = -1;
	return ret;
}

void guest_ram_unmap(struct vmm *v)
{
	if (v->ram)
		munmap(v->ram, v->mem_bytes);
	v->ram = NULL;
}

uint64_t guest_counter(const struct vmm *v)
{
	return *(volatile uint64_t *)(v->ram + GUEST_COUNTER_OFF);
}

void guest_tick(struct vmm *v)
{
	volatile uint64_t *c = (volatile uint64_t *)(v->ram + GUEST_COUNTER_OFF);
	uint64_t val = *c;

	if (val != v->counter_expected && !v->counter_gap) {
		v->counter_gap = val - v->counter_expected;
		vlog("guest counter %llu, expected %llu: a write was lost",
		     (unsigned long long)val,
		     (unsigned long long)v->counter_expected);
	}
	*c = val + 1;
	v->counter_expected++;
}
