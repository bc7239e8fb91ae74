// SPDX-License-Identifier: GPL-2.0-only
/*
 * object.c - the memory object behind a mapping: what VFIO_CHANGE_DMA_OWNER
 * requires a new owner's vaddr to map, and what every pin must come from.
 *
 * Identity.  A piece of a mapping is identified by the address_space its
 * vma maps (file->f_mapping) and the page offset in it, with the vma's
 * READ/WRITE/SHARED/PFNMAP flags.  The address_space, not the inode: every
 * anon-inode file (perf events, KVM vCPUs, a vfio device opened through
 * its group) shares one inode, while vfio points a device file's f_mapping
 * at the device's own inode.  So:
 *   - shared file memory whose f_mapping is the file's own inode's (memfd,
 *     tmpfs, hugetlbfs, regular files; also a memfd reopened through
 *     /proc) is identified by it, and we hold the file's path (mount and
 *     dentry, hence inode and address_space) for as long as we record it:
 *     an inode without its mount made umount BUG once;
 *   - a shared VM_PFNMAP mapping whose f_mapping lies behind the file (a
 *     device BAR mmap'ed from a vfio device fd) is identified by that
 *     address_space and its inode number without holding either: holding
 *     the device's file would keep the device, its group and so the
 *     container open (a cycle), and its inode belongs to vfio's internal
 *     file system.  Such memory is neither pinned nor charged, so the
 *     check decides only which process's lifetime bounds the mapping;
 *   - anything else (anonymous or private memory, holes, other anon-inode
 *     files) has no identity and can never change owner (ENXIO).
 *
 * What is pinned is what is recorded: every pin (IOMMU path, device pins,
 * after any owner change) checks each page against the record: a page
 * from GUP must belong to the recorded address_space (if there is one) and
 * lie in a piece that was not VM_PFNMAP; a PFNMAP lookup must come from a
 * VM_PFNMAP piece of the same object.  The PFNMAP flag of the record then
 * tells, at unpin time, which IOVAs hold no page reference.
 *
 * Releasing a path may evict the inode (the last reference to a closed,
 * unmapped tmpfs file), which must not run under lu_iommu.lock: records of
 * removed mappings wait on lu_iommu.dead_segs and are put by lu_unlock().
 */
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/path.h>
#include <linux/slab.h>

#include "lu.h"

/**
 * struct lu_segs - the record of one mapping's memory object
 * @dead: in lu_iommu.dead_segs once the mapping is gone
 * @n: pieces in use
 * @cap: pieces allocated
 * @seg: the pieces, in vaddr (and IOVA) order
 */
struct lu_segs {
	struct list_head	dead;
	unsigned int		n;
	unsigned int		cap;
	struct lu_seg		seg[];
};

/* The identity of @vma's memory (see the file header), or NULL. */
static struct address_space *lu_vma_object(struct vm_area_struct *vma,
					   bool *own_inode)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping;

	*own_inode = false;
	if (!file || !(vma->vm_flags & VM_SHARED))
		return NULL;
	mapping = file->f_mapping;
	if (!mapping || !mapping->host)
		return NULL;
	if (mapping->host == file_inode(file)) {
		if (file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC)
			return NULL;	/* one inode for every such file */
		*own_inode = true;
		return mapping;
	}
	return (vma->vm_flags & VM_PFNMAP) ? mapping : NULL;
}

static unsigned long lu_vma_flags(struct vm_area_struct *vma)
{
	return vma->vm_flags & (VM_READ | VM_WRITE | VM_SHARED | VM_PFNMAP);
}

static void lu_segs_put(struct lu_segs *segs)
{
	unsigned int i;

	if (!segs)
		return;
	for (i = 0; i < segs->n; i++) {
		if (segs->seg[i].path.mnt)
			path_put(&segs->seg[i].path);
	}
	kfree(segs);
}

/**
 * lu_object_drop - forget @dma's record; its references go at lu_unlock()
 * @iommu: the container (lock held)
 * @dma: a mapping being freed (linked or not)
 */
void lu_object_drop(struct lu_iommu *iommu, struct lu_dma *dma)
{
	lockdep_assert_held(&iommu->lock);

	if (dma->segs)
		list_add(&dma->segs->dead, &iommu->dead_segs);
	dma->segs = NULL;
}

/**
 * lu_unlock - release lu_iommu.lock, then what removed mappings held
 * @iommu: the container (lock held)
 *
 * Every path that can remove a mapping unlocks through here, so that a
 * file's last reference (and the eviction of its inode) is never dropped
 * under the container lock.
 */
void lu_unlock(struct lu_iommu *iommu)
{
	struct lu_segs *segs, *tmp;
	LIST_HEAD(dead);

	list_splice_init(&iommu->dead_segs, &dead);
	mutex_unlock(&iommu->lock);
	list_for_each_entry_safe(segs, tmp, &dead, dead) {
		list_del(&segs->dead);
		lu_segs_put(segs);
		cond_resched();
	}
}

/* Append a piece, merging with the last if it goes on.  0 or -ENOMEM. */
static int lu_segs_add(struct lu_dma *dma, struct vm_area_struct *vma,
		       unsigned long first, unsigned long npages,
		       pgoff_t pgoff)
{
	struct lu_segs *segs = dma->segs;
	struct address_space *mapping = NULL;
	unsigned long flags = 0;
	bool own_inode = false;
	struct lu_seg *last;

	if (vma) {
		mapping = lu_vma_object(vma, &own_inode);
		flags = lu_vma_flags(vma);
	}
	last = segs && segs->n ? &segs->seg[segs->n - 1] : NULL;
	if (last && last->mapping == mapping && last->flags == flags &&
	    (!mapping || last->pgoff + last->npages == pgoff)) {
		last->npages += npages;
		return 0;
	}
	if (!segs || segs->n == segs->cap) {
		unsigned int ncap = segs ? segs->cap * 2 : 1;
		struct lu_segs *n = krealloc(segs, struct_size(n, seg, ncap),
					     GFP_KERNEL_ACCOUNT);

		if (!n)
			return -ENOMEM;
		if (!segs)
			n->n = 0;
		n->cap = ncap;
		dma->segs = segs = n;
	}
	last = &segs->seg[segs->n++];
	*last = (struct lu_seg){
		.mapping = mapping, .first = first, .pgoff = pgoff,
		.npages = npages, .flags = flags,
	};
	if (mapping) {
		last->ino = mapping->host->i_ino;
		if (own_inode) {
			last->path = vma->vm_file->f_path;
			path_get(&last->path);
		}
	}
	return 0;
}

/**
 * lu_object_record - remember which memory object backs @dma's vaddr
 * @dma: a new mapping (vaddr and size set), not yet linked
 * @mm: the owner's (current) mm
 *
 * Pins made afterwards are checked against this record, so a vma swapped
 * between the record and the pin makes the pin fail instead of recording
 * one object and pinning another.
 *
 * Return: 0; -ENOMEM; -EINTR.  On error nothing is recorded.
 */
int lu_object_record(struct lu_dma *dma, struct mm_struct *mm)
{
	unsigned long addr = dma->vaddr, end = dma->vaddr + dma->size;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end && !ret) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long first = (addr - dma->vaddr) >> PAGE_SHIFT;
		unsigned long next;

		if (!vma || vma->vm_start > addr) {
			/* A hole up to the next vma (or the end). */
			next = vma ? min(end, vma->vm_start) : end;
			ret = lu_segs_add(dma, NULL, first,
					  (next - addr) >> PAGE_SHIFT, 0);
		} else {
			next = min(end, vma->vm_end);
			ret = lu_segs_add(dma, vma, first,
					  (next - addr) >> PAGE_SHIFT,
					  vma->vm_pgoff +
					  ((addr - vma->vm_start) >> PAGE_SHIFT));
		}
		addr = next;
	}
	mmap_read_unlock(mm);
	if (ret) {
		lu_segs_put(dma->segs);
		dma->segs = NULL;
	}
	return ret;
}

/* The piece holding page @idx of @dma (binary search), or NULL. */
static const struct lu_seg *lu_object_seg(const struct lu_dma *dma,
					  unsigned long idx)
{
	const struct lu_segs *segs = dma->segs;
	unsigned int lo = 0, hi = segs ? segs->n : 0;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct lu_seg *s = &segs->seg[mid];

		if (idx < s->first)
			hi = mid;
		else if (idx >= s->first + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/**
 * lu_object_pfnmap - was the page of @dma at @iova recorded as VM_PFNMAP?
 * @dma: the mapping
 * @iova: an IOVA inside it
 *
 * Such pages are never pinned nor charged: unpinning skips them.
 */
bool lu_object_pfnmap(const struct lu_dma *dma, dma_addr_t iova)
{
	const struct lu_seg *s = lu_object_seg(dma, (iova - dma->iova) >>
						    PAGE_SHIFT);

	return s && (s->flags & VM_PFNMAP);
}

/**
 * lu_object_check_pages - are pages pinned by GUP what @dma recorded?
 * @dma: the mapping
 * @iova: IOVA of @pages[0]
 * @pages: pinned pages
 * @n: how many
 *
 * Return: 0, or -EFAULT if a page lies where a VM_PFNMAP piece was
 * recorded, or does not belong to the recorded shared object.
 */
int lu_object_check_pages(const struct lu_dma *dma, dma_addr_t iova,
			  struct page **pages, unsigned long n)
{
	unsigned long idx = (iova - dma->iova) >> PAGE_SHIFT, i;
	const struct lu_seg *s = NULL;
	struct folio *checked = NULL;

	for (i = 0; i < n; i++, idx++) {
		struct folio *folio;

		if (!s || idx >= s->first + s->npages) {
			s = lu_object_seg(dma, idx);
			checked = NULL;
		}
		if (!s || (s->flags & VM_PFNMAP))
			return -EFAULT;
		if (!s->mapping)
			continue;
		/* Once per folio and piece: a huge page is 512 pages here. */
		folio = page_folio(pages[i]);
		if (folio == checked)
			continue;
		checked = folio;
		if (folio_test_anon(folio) ||
		    READ_ONCE(folio->mapping) != s->mapping)
			return -EFAULT;
	}
	return 0;
}

/**
 * lu_object_check_vma - may @n PFNMAP pages from @iova come from @vma?
 * @dma: the mapping
 * @iova: first IOVA
 * @n: pages
 * @vma: the VM_PFNMAP vma they are looked up in (mmap_lock held)
 *
 * Return: 0, or -EFAULT if a piece was not recorded VM_PFNMAP or was
 * recorded as another object.
 */
int lu_object_check_vma(const struct lu_dma *dma, dma_addr_t iova,
			unsigned long n, struct vm_area_struct *vma)
{
	unsigned long idx = (iova - dma->iova) >> PAGE_SHIFT;
	unsigned long end = idx + n;
	struct address_space *mapping;
	bool own_inode;

	mapping = lu_vma_object(vma, &own_inode);
	while (idx < end) {
		const struct lu_seg *s = lu_object_seg(dma, idx);

		if (!s || !(s->flags & VM_PFNMAP) ||
		    (s->mapping && s->mapping != mapping))
			return -EFAULT;
		idx = s->first + s->npages;
	}
	return 0;
}

/**
 * lu_object_match - does @vaddr in @mm map exactly @dma's memory object?
 * @mm: the would-be owner's mm (mmap_lock held)
 * @dma: the mapping
 * @vaddr: its vaddr in @mm
 *
 * Same objects at the same offsets, same length, same flags, piece by
 * piece; a piece without identity never matches.
 *
 * Return: 0 or -ENXIO.
 */
int lu_object_match(struct mm_struct *mm, const struct lu_dma *dma,
		    unsigned long vaddr)
{
	unsigned long addr = vaddr, end = vaddr + dma->size, off = 0;
	const struct lu_segs *segs = dma->segs;
	unsigned int i = 0;

	mmap_assert_locked(mm);

	if (end < vaddr || !segs)
		return -ENXIO;
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct address_space *mapping;
		unsigned long n;
		bool own_inode;
		pgoff_t pgoff;

		if (!vma)
			return -ENXIO;
		mapping = lu_vma_object(vma, &own_inode);
		if (!mapping)
			return -ENXIO;
		n = (min(end, vma->vm_end) - addr) >> PAGE_SHIFT;
		pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
		while (n) {
			const struct lu_seg *s;
			unsigned long take;

			if (WARN_ON_ONCE(i >= segs->n))
				return -ENXIO;
			s = &segs->seg[i];
			if (s->mapping != mapping ||
			    s->ino != mapping->host->i_ino ||
			    s->pgoff + off != pgoff ||
			    s->flags != lu_vma_flags(vma))
				return -ENXIO;
			take = min(n, s->npages - off);
			n -= take;
			off += take;
			pgoff += take;
			addr += take << PAGE_SHIFT;
			if (off == s->npages) {
				i++;
				off = 0;
			}
		}
	}
	return 0;
}
