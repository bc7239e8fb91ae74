// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty.c - dirty page tracking as Type1v2 userspace knows it:
 * VFIO_IOMMU_DIRTY_PAGES (START, STOP, GET_BITMAP), the bitmap of
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP and the migration capability of
 * VFIO_IOMMU_GET_INFO.  The design is in docs/dirty.md.
 *
 * State.  While tracking runs (lu_iommu.dirty_tracking), every mapping
 * has a bitmap, lu_dma.dirty, one bit per tracking page (the smallest
 * IOMMU page size when tracking started, lu_iommu.dirty_pgshift): bit i
 * stands for IOVA lu_dma.iova + (i << dirty_pgshift).  Nothing else is
 * kept: memory is one bit per mapped page.  Bits are set when
 *   - tracking starts, for every page a mediated device holds pinned;
 *   - a device pins a page (vfio_pin_pages);
 *   - a device writes through vfio_dma_rw.
 * A read (GET_BITMAP) reports and clears the bits, then sets again the
 * bits of pages still pinned: a page unpinned since the previous read is
 * reported by the next read only.  While an IOMMU-backed group that never
 * pinned is attached (lu_iommu.nr_unscoped_groups), every page of every
 * mapping the IOMMU path holds pinned is reported dirty, without touching
 * the bitmaps; when such a group stops counting (it detaches, or pins for
 * the first time and so reports its writes from then on), every one of
 * those pages is marked in the bitmaps first, so what its device wrote
 * since the last read is still reported by the next.
 *
 * The bitmaps and the tracking flag belong to this file alone: ownership
 * changes (owner.c) and staged vaddrs never touch them, so bits survive
 * VFIO_CHANGE_DMA_OWNER; they are keyed by IOVA, which an owner change
 * keeps.
 *
 * Copies to userspace go through a scratch buffer of LU_DIRTY_CHUNK words
 * allocated per call: the cost of a read is bounded in memory whatever the
 * size of the guest, and linear in the words of bitmap covered.
 *
 * Everything runs under lu_iommu.lock, but no user page is ever faulted
 * under it: the user bitmap may be a FUSE file or a userfaultfd region,
 * and mediated devices must not wait for userspace.  Copies run with page
 * faults disabled; one that would fault gives up (-EAGAIN) having cleared
 * nothing, the caller drops the lock, faults the page in, and starts
 * again.  A read clears its bits only once every word is delivered, under
 * the same hold of the lock, so no bit is lost and none is set meanwhile.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lu.h"

/* As Type1v2: a bitmap is counted in u64 words, up to INT_MAX pages. */
#define LU_DIRTY_BYTES(npages)	(ALIGN((u64)(npages), 64) / BITS_PER_BYTE)
#define LU_DIRTY_PAGES_MAX	((u64)INT_MAX)
#define LU_DIRTY_SIZE_MAX	LU_DIRTY_BYTES(LU_DIRTY_PAGES_MAX)

/* Words of user bitmap built and copied at a time. */
#define LU_DIRTY_CHUNK		(PAGE_SIZE / sizeof(u64))

static unsigned long lu_dirty_nbits(const struct lu_iommu *iommu,
				    const struct lu_dma *dma)
{
	return dma->size >> iommu->dirty_pgshift;
}

/* Give @dma a clear bitmap.  Return: 0, -EINVAL (too large), -ENOMEM. */
static int lu_dirty_alloc(struct lu_iommu *iommu, struct lu_dma *dma)
{
	unsigned long nbits = lu_dirty_nbits(iommu, dma);

	if (nbits > LU_DIRTY_PAGES_MAX)
		return -EINVAL;
	dma->dirty = kvcalloc(BITS_TO_LONGS(nbits), sizeof(unsigned long),
			      GFP_KERNEL_ACCOUNT);
	return dma->dirty ? 0 : -ENOMEM;
}

/**
 * lu_dirty_free - forget the dirty bits of @dma (it is going away)
 * @dma: the mapping
 */
void lu_dirty_free(struct lu_dma *dma)
{
	kvfree(dma->dirty);
	dma->dirty = NULL;
}

/* Mark the pages mediated devices hold pinned in @dma. */
static void lu_dirty_mark_pinned(struct lu_iommu *iommu, struct lu_dma *dma)
{
	struct rb_node *node;

	for (node = rb_first(&dma->pfns); node; node = rb_next(node)) {
		struct lu_pfn *p = rb_entry(node, struct lu_pfn, node);

		__set_bit((p->iova - dma->iova) >> iommu->dirty_pgshift,
			  dma->dirty);
	}
}

/**
 * lu_dirty_mark_unscoped - an unscoped IOMMU-backed group stops counting
 * @iommu: the container (lock held)
 *
 * Called before such a group detaches or narrows its scope: the pages it
 * may have written are every page the IOMMU path maps, which reads
 * reported only while the group counted.  Marks them all.
 */
void lu_dirty_mark_unscoped(struct lu_iommu *iommu)
{
	struct lu_dma *dma;

	lockdep_assert_held(&iommu->lock);

	if (!iommu->dirty_tracking || !iommu->nr_unscoped_groups)
		return;
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma;
	     dma = lu_dma_next(dma)) {
		if (dma->dirty && dma->pinned)
			bitmap_set(dma->dirty, 0, lu_dirty_nbits(iommu, dma));
		cond_resched();
	}
}

/**
 * lu_dirty_map - a new mapping is being created
 * @iommu: the container (lock held)
 * @dma: the mapping, not yet linked
 *
 * While tracking, the mapping gets its (clear) bitmap.  On failure the
 * caller drops the mapping.
 *
 * Return: 0, -EINVAL (mapping too large to track), -ENOMEM.
 */
int lu_dirty_map(struct lu_iommu *iommu, struct lu_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	if (!iommu->dirty_tracking)
		return 0;
	return lu_dirty_alloc(iommu, dma);
}

/**
 * lu_dirty_mark - devices wrote [@iova, @iova + @len) of @dma
 * @iommu: the container (lock held)
 * @dma: the mapping, which contains the range
 * @iova: first byte
 * @len: bytes, at least 1
 */
void lu_dirty_mark(struct lu_iommu *iommu, struct lu_dma *dma,
		   dma_addr_t iova, size_t len)
{
	unsigned long first, last;

	lockdep_assert_held(&iommu->lock);

	if (!dma->dirty || !len)
		return;
	first = (iova - dma->iova) >> iommu->dirty_pgshift;
	last = (iova + len - 1 - dma->iova) >> iommu->dirty_pgshift;
	bitmap_set(dma->dirty, first, last - first + 1);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_START: every mapping gets a bitmap. */
static int lu_dirty_start(struct lu_iommu *iommu)
{
	struct lu_dma *dma;
	int ret = 0;

	mutex_lock(&iommu->lock);
	if (iommu->dirty_tracking)
		goto out_unlock;	/* already running: nothing changes */

	iommu->dirty_pgshift = __ffs(iommu->pgsize_bitmap);
	for (dma = lu_dma_first(iommu, 0, U64_MAX); dma;
	     dma = lu_dma_next(dma)) {
		ret = lu_dirty_alloc(iommu, dma);
		if (ret)
			break;
		lu_dirty_mark_pinned(iommu, dma);
		cond_resched();
	}
	if (ret) {
		for (dma = lu_dma_first(iommu, 0, U64_MAX); dma;
		     dma = lu_dma_next(dma))
			lu_dirty_free(dma);
		goto out_unlock;
	}
	iommu->dirty_tracking = true;
out_unlock:
	mutex_unlock(&iommu->lock);
	return ret;
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP: the bits are dropped. */
static void lu_dirty_stop(struct lu_iommu *iommu)
{
	struct lu_dma *dma;

	mutex_lock(&iommu->lock);
	if (iommu->dirty_tracking) {
		iommu->dirty_tracking = false;
		for (dma = lu_dma_first(iommu, 0, U64_MAX); dma;
		     dma = lu_dma_next(dma)) {
			lu_dirty_free(dma);
			cond_resched();
		}
	}
	mutex_unlock(&iommu->lock);
}

/*
 * Word @k of @dma's bitmap (bits [64k, 64k + 64)), bit 0 first; bits past
 * the end of the mapping read 0 (they are never set).  Every page reads
 * dirty if @all.
 */
static u64 lu_dirty_word(struct lu_dma *dma, unsigned long nbits,
			 unsigned long k, bool all)
{
	unsigned long n = min_t(unsigned long, 64, nbits - k * 64);
	u64 w;

	if (all)
		return n == 64 ? ~0ull : (1ull << n) - 1;
#if BITS_PER_LONG == 64
	w = dma->dirty[k];
#else
	w = dma->dirty[2 * k];
	if (n > 32)
		w |= (u64)dma->dirty[2 * k + 1] << 32;
#endif
	return w;
}

/*
 * Store the bits of @dma into the user bitmap @ubits, whose bit 0 stands
 * for @base, in chunks of @buf (LU_DIRTY_CHUNK words), with page faults
 * disabled.  When the mapping starts on a user word (the common case:
 * one bitmap per mapping) no word needs shifting: its bitmap is copied
 * as it is in one copy (64-bit), or, every page being dirty, from a
 * chunk of all-ones words built once.  As Type1v2, the words covering the mapping are written whole:
 * the bits of the first word below the mapping keep what the user bitmap
 * held (an adjacent mapping's bits), bits past the mapping's end are
 * written 0.  Nothing is cleared here (lu_dirty_clear does, after).
 *
 * Return: 0; -EAGAIN with @fault set to the user address (and range) that needs
 * faulting in (a prefix may have been written; writing it again later is
 * harmless, the bits are still set).
 */
/*
 * Copy @words words to @dst with page faults disabled.  If the copy stops
 * short, @fault covers the first byte not written up to @end (the rest of
 * this mapping's words: one restart faults them all in).  0 or -EAGAIN.
 */
static int lu_dirty_put_words(u64 __user *dst, const u64 *src,
			      unsigned long words, u64 __user *end,
			      struct lu_fault *fault)
{
	unsigned long left = __copy_to_user_inatomic(dst, src,
						     words * sizeof(u64));

	if (!left)
		return 0;
	fault->addr = (void __user *)(dst + words) - left;
	fault->len = (void __user *)end - fault->addr;
	return -EAGAIN;
}

static int lu_dirty_copy(struct lu_iommu *iommu, struct lu_dma *dma,
			 u64 __user *ubits, dma_addr_t base, u64 *buf,
			 struct lu_fault *fault)
{
	unsigned long nbits = lu_dirty_nbits(iommu, dma);
	unsigned long bit_off = (dma->iova - base) >> iommu->dirty_pgshift;
	unsigned int shift = bit_off % 64;
	unsigned long uw0 = bit_off / 64;		/* first user word */
	unsigned long nmw = DIV_ROUND_UP(nbits, 64);	/* mapping words */
	unsigned long nw = DIV_ROUND_UP(shift + nbits, 64); /* user words */
	/* Every page is dirty: an IOMMU device that does not pin sees it. */
	bool all = iommu->nr_unscoped_groups && dma->pinned;
	u64 __user *end = ubits + uw0 + nw;
	unsigned long k = 0;
	u64 low = 0;	/* the low @shift bits of the next user word */
	int ret = 0;

	/* Every mapping has a bitmap while tracking runs (lu_dirty_map). */
	if (WARN_ON_ONCE(!dma->dirty))
		return -EINVAL;
	pagefault_disable();
	if (shift) {
		if (__get_user(low, ubits + uw0)) {
			fault->addr = ubits + uw0;
			fault->len = nw * sizeof(u64);
			ret = -EAGAIN;
			goto out;
		}
		low &= (1ull << shift) - 1;
	}

	if (!shift && !all && BITS_PER_LONG == 64) {
		/* The user words are the mapping's own words: one copy. */
		ret = lu_dirty_put_words(ubits + uw0, (u64 *)dma->dirty, nw,
					 end, fault);
		goto out;
	}
	if (!shift && all) {
		/* Every word is all ones but a partial last one. */
		memset(buf, 0xff, LU_DIRTY_CHUNK * sizeof(u64));
		while (k < nw) {
			unsigned long n = min_t(unsigned long, LU_DIRTY_CHUNK,
						nw - k);

			if (k + n == nw)
				buf[n - 1] = lu_dirty_word(dma, nbits, nw - 1,
							   true);
			ret = lu_dirty_put_words(ubits + uw0 + k, buf, n, end,
						 fault);
			if (ret)
				goto out;
			k += n;
		}
		goto out;
	}

	while (k < nw) {
		unsigned long first = k, n;

		for (n = 0; n < LU_DIRTY_CHUNK && k < nw; n++, k++) {
			u64 w = k < nmw ? lu_dirty_word(dma, nbits, k, all) : 0;

			if (shift) {
				buf[n] = low | (w << shift);
				low = w >> (64 - shift);
			} else {
				buf[n] = w;
			}
		}
		ret = lu_dirty_put_words(ubits + uw0 + first, buf, n, end,
					 fault);
		if (ret)
			break;
	}
out:
	pagefault_enable();
	return ret;
}

/* A read delivered @dma's bits: clear them, then mark pinned pages again. */
static void lu_dirty_clear(struct lu_iommu *iommu, struct lu_dma *dma)
{
	bitmap_zero(dma->dirty, lu_dirty_nbits(iommu, dma));
	lu_dirty_mark_pinned(iommu, dma);
}

/* Check a user bitmap as Type1v2 does.  Return: 0 or -EINVAL. */
static int lu_dirty_check_user(const struct vfio_bitmap *b, u64 size)
{
	u64 npages;

	if (!b->pgsize || !access_ok(b->data, b->size))
		return -EINVAL;
	npages = size >> __ffs64(b->pgsize);
	if (!npages || !b->size || b->size > LU_DIRTY_SIZE_MAX ||
	    b->size < LU_DIRTY_BYTES(npages))
		return -EINVAL;
	return 0;
}

/*
 * Report (and with @clear, then clear) the bits of the mappings in
 * [@iova, @last] into @b, whose first bit stands for @iova.  Lock held;
 * no user page is faulted.  Return: 0; -EINVAL (not tracking, page size,
 * a mapping bisected); -ENOMEM; -EAGAIN with @fault set: nothing was
 * cleared, fault the page in and call again.
 */
static int lu_dirty_report(struct lu_iommu *iommu, dma_addr_t iova,
			   dma_addr_t last, const struct vfio_bitmap *b,
			   bool clear, struct lu_fault *fault)
{
	u64 __user *ubits = b->data;
	struct lu_dma *dma;
	u64 *buf;
	int ret = 0;

	if (lu_dirty_unmap_ready(iommu, b))
		return -EINVAL;
	/* Whole mappings only. */
	dma = lu_dma_first(iommu, iova, iova);
	if (dma && dma->iova != iova)
		return -EINVAL;
	dma = lu_dma_first(iommu, last, last);
	if (dma && lu_dma_last(dma) != last)
		return -EINVAL;

	buf = kmalloc_array(LU_DIRTY_CHUNK, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (dma = lu_dma_first(iommu, iova, last); dma && dma->iova <= last;
	     dma = lu_dma_next(dma)) {
		ret = lu_dirty_copy(iommu, dma, ubits, iova, buf, fault);
		if (ret)
			break;
		cond_resched();
	}
	kfree(buf);
	if (ret || !clear)
		return ret;
	/* Every word delivered: only now are the bits consumed. */
	for (dma = lu_dma_first(iommu, iova, last); dma && dma->iova <= last;
	     dma = lu_dma_next(dma))
		lu_dirty_clear(iommu, dma);
	return 0;
}

/**
 * lu_dirty_unmap_ready - may an unmap report its dirty bits into @b?
 * @iommu: the container (lock held)
 * @b: the user bitmap
 *
 * Return: 0; -EINVAL if tracking is not running or @b's page size is not
 * the smallest IOMMU page size.
 */
int lu_dirty_unmap_ready(struct lu_iommu *iommu, const struct vfio_bitmap *b)
{
	lockdep_assert_held(&iommu->lock);

	if (!iommu->dirty_tracking ||
	    b->pgsize != (1ull << iommu->dirty_pgshift) ||
	    b->pgsize != lu_pgsize(iommu))
		return -EINVAL;
	return 0;
}

/**
 * lu_dirty_unmap_report - VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
 * @iommu: the container (lock held)
 * @iova: first IOVA of the unmap
 * @last: its last IOVA (the range has been checked)
 * @b: the user bitmap (checked by lu_dirty_unmap_check())
 * @fault: receives the user address to fault in, on -EAGAIN
 *
 * Copies the bits of the mappings about to be unmapped, without clearing
 * them: if this fails, nothing is unmapped and nothing lost.
 *
 * Return: 0; -EINVAL (not tracking, page size); -ENOMEM; -EAGAIN (drop
 * the lock, lu_fault_in_mm(@fault), start the unmap again).
 */
int lu_dirty_unmap_report(struct lu_iommu *iommu, dma_addr_t iova,
			  dma_addr_t last, const struct vfio_bitmap *b,
			  struct lu_fault *fault)
{
	return lu_dirty_report(iommu, iova, last, b, false, fault);
}

/**
 * lu_dirty_unmap_check - read and check the bitmap argument of an unmap
 * @uarg: struct vfio_iommu_type1_dma_unmap in userspace
 * @argsz: its argsz
 * @size: its size
 * @b: receives the struct vfio_bitmap that follows it
 *
 * Return: 0; -EINVAL (argsz too small for the bitmap, bitmap too small
 * for @size or not accessible, zero page size); -EFAULT.
 */
int lu_dirty_unmap_check(void __user *uarg, u32 argsz, u64 size,
			 struct vfio_bitmap *b)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap,
					 size);

	if (argsz < minsz + sizeof(*b))
		return -EINVAL;
	if (copy_from_user(b, uarg + minsz, sizeof(*b)))
		return -EFAULT;
	return lu_dirty_check_user(b, size);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, after the common checks. */
static long lu_dirty_get_bitmap(struct lu_iommu *iommu, void __user *uarg,
				u32 argsz, size_t minsz)
{
	struct vfio_iommu_type1_dirty_bitmap_get range;
	struct lu_fault fault = {};
	size_t pgsize;
	int ret;

	if (argsz < minsz + sizeof(range))
		return -EINVAL;
	if (copy_from_user(&range, uarg + minsz, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova ||
	    range.iova != (dma_addr_t)range.iova)
		return -EINVAL;
	ret = lu_dirty_check_user(&range.bitmap, range.size);
	if (ret)
		return ret;

	for (;;) {
		mutex_lock(&iommu->lock);
		pgsize = lu_pgsize(iommu);
		ret = -EINVAL;
		if (range.bitmap.pgsize == pgsize &&
		    !(range.iova & (pgsize - 1)) && range.size &&
		    !(range.size & (pgsize - 1)))
			ret = lu_dirty_report(iommu, range.iova,
					      range.iova + range.size - 1,
					      &range.bitmap, true, &fault);
		mutex_unlock(&iommu->lock);
		if (ret != -EAGAIN)
			return ret;
		/* Nothing was consumed: fault the page in, unlocked, again. */
		ret = lu_fault_in_mm(current->mm, &fault, true);
		if (ret)
			return ret;
	}
}

/**
 * lu_ioctl_dirty_pages - VFIO_IOMMU_DIRTY_PAGES
 * @iommu: the container
 * @uarg: struct vfio_iommu_type1_dirty_bitmap in userspace, followed for
 *	GET_BITMAP by struct vfio_iommu_type1_dirty_bitmap_get
 * @ucmd: its fixed part (argsz and flags checked)
 *
 * Exactly one flag.  START and STOP are idempotent.  GET_BITMAP reports
 * the pages dirtied in [iova, iova + size) since the previous read (or
 * START) and clears them, pinned pages excepted.
 *
 * Return: 0; -EINVAL (argsz, flags, a GET_BITMAP argument: range wrapping,
 * misaligned or empty, bisecting a mapping, page size other than the
 * smallest IOMMU page size, bitmap too small or not accessible, tracking
 * not started); -EFAULT (nothing is consumed); -EINTR (killed while
 * faulting the bitmap in); -ENOMEM (START, or a read's scratch buffer).
 */
long lu_ioctl_dirty_pages(struct lu_iommu *iommu, void __user *uarg,
			  union lu_ucmd *ucmd)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap,
					 flags);
	struct vfio_iommu_type1_dirty_bitmap d = ucmd->dirty;

	if (hweight32(d.flags) != 1)
		return -EINVAL;

	switch (d.flags) {
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		return lu_dirty_start(iommu);
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		lu_dirty_stop(iommu);
		return 0;
	default:
		return lu_dirty_get_bitmap(iommu, uarg, d.argsz, minsz);
	}
}

/**
 * lu_dirty_cap_migration - VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
 * @iommu: the container (lock held)
 * @caps: the capability chain being built
 *
 * As Type1v2: no flags, the smallest IOMMU page size, the largest bitmap.
 */
int lu_dirty_cap_migration(struct lu_iommu *iommu, struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_migration cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
		.header.version = 1,
		.flags = 0,
		.pgsize_bitmap = lu_pgsize(iommu),
		.max_dirty_bitmap_size = LU_DIRTY_SIZE_MAX,
	};

	return vfio_info_add_capability(caps, &cap.header, sizeof(cap));
}
