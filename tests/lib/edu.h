/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driving QEMU's "edu" PCI device through VFIO: its DMA engine copies
 * between guest IOVAs and a 4 KiB buffer inside the device, which is how
 * the tests make a real device read and write mapped memory through the
 * (emulated) IOMMU.
 */
#ifndef EDU_H
#define EDU_H

#include <stdbool.h>
#include <stdint.h>

struct backend;

#define EDU_BUF_ADDR	0x40000u	/* device address of its buffer */
#define EDU_BUF_SIZE	4096u
/* QEMU 7.2 rejects a transfer that ends exactly at the buffer's end. */
#define EDU_DMA_MAX	2048u
/* The device's DMA mask is 28 bits. */
#define EDU_IOVA_LIMIT	(1ull << 28)

struct edu {
	int device;			/* VFIO device fd */
	volatile uint8_t *bar0;		/* mmap of BAR0 registers */
	uint64_t bar0_size;
};

/* Get the device from group_fd (whose container has an IOMMU set), map
 * BAR0 and enable bus mastering.  0 or -errno. */
int edu_open(struct edu *edu, int group_fd, const char *bdf);
void edu_close(struct edu *edu);

/* Copy len bytes (<= EDU_DMA_MAX) between IOVA iova and offset off of the
 * device buffer; to_ram chooses the direction.  Waits for completion.
 * 0 or -errno (-ETIMEDOUT if the device never finishes). */
int edu_dma(struct edu *edu, uint64_t iova, uint32_t off, uint32_t len,
	    bool to_ram);

/* Take over a device fd inherited across exec (reexec.h): map BAR0 again
 * (bus mastering is still on).  0 or -errno. */
int edu_adopt(struct edu *edu, int device);

/*
 * The device reads a pattern at buf + 0x3000 (IOVA iova + 0x3000) and
 * writes it back at buf + 0x9000: 0 if every byte arrived, else -1 or
 * -errno.  buf is the mapping of iova, at least 0x9800 bytes.
 */
int edu_dma_round_trip(struct edu *edu, uint8_t *buf, uint64_t iova,
		   unsigned int seed);

/* The edu device in a container set to a backend, proven, device open:
 * for processes that report without the harness (see CK()). */
struct edu_env {
	int container;
	int group;
	struct edu edu;
};

/* Nothing open yet (for teardowns). */
#define EDU_ENV_NONE	{ .container = -1, .group = -1, .edu = { .device = -1 } }

/* 0; -ENODEV without an edu device; -errno (nothing left open). */
int edu_env_open(struct edu_env *e, const struct backend *be);
/* Close what is open.  Idempotent. */
void edu_env_close(struct edu_env *e);

#endif
