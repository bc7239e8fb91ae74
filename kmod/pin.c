// SPDX-License-Identifier: GPL-2.0-only
/*
 * pin.c - pinning user memory, mapping it into the IOMMU domains, and the
 * locked_vm accounting of each mapping.
 *
 * The IOMMU path.  While a container has an IOMMU-backed domain, every
 * page of every mapping is pinned (FOLL_LONGTERM) from the owner's mm and
 * mapped in every domain.  We keep no array of pinned pages: the page
 * tables of the reference domain (the first in lu_iommu.domains) say
 * which pfn backs each IOVA, and unmapping reads them back before it
 * unpins.  Pages are unpinned only after the IOTLB flush that follows
 * their unmap.
 *
 * VM_PFNMAP memory (for example another device's BAR mmap) is looked up
 * with follow_pfnmap_start(), mapped, but neither pinned nor charged; its
 * pfns must have no struct page or a reserved one (EFAULT otherwise, as
 * type1).  Every page GUP returns stays pinned until it is unmapped,
 * reserved or not (a ZONE_DEVICE page too), except the zero page, which
 * needs no pin.  What was held is decided once, at pin time, and recorded:
 * a page is held unless its piece of the memory object was VM_PFNMAP
 * (object.c checks every pin against the record) or it is the zero page,
 * whose pfn never changes.  Unpinning asks the record, never the page,
 * so a reserved page freed and reused by its driver meanwhile is never
 * unpinned or refunded by mistake.
 *
 * Accounting (the rule is on struct lu_dma): charges go to the owner's
 * mm->locked_vm through __account_locked_vm(), checked against the
 * owner's RLIMIT_MEMLOCK unless the owner had CAP_IPC_LOCK, and are
 * recorded in lu_dma.locked_vm and lu_iommu.locked_vm.  Refunds never
 * fail; if the owner's mm is gone they only update our counters.
 *
 * Everything here runs under lu_iommu.lock and takes the owner's mmap_lock
 * inside it.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "lu.h"

int lu_batch_init(struct lu_batch *batch)
{
	batch->capacity = PAGE_SIZE / sizeof(*batch->pages);
	batch->pages = kmalloc_array(batch->capacity, sizeof(*batch->pages),
				     GFP_KERNEL_ACCOUNT);
	batch->pfns = kmalloc_array(batch->capacity, sizeof(*batch->pfns),
				    GFP_KERNEL_ACCOUNT);
	batch->nr = 0;
	batch->next = 0;
	if (!batch->pages || !batch->pfns) {
		lu_batch_fini(batch);
		return -ENOMEM;
	}
	return 0;
}

void lu_batch_fini(struct lu_batch *batch)
{
	kfree(batch->pages);
	kfree(batch->pfns);
	batch->pages = NULL;
	batch->pfns = NULL;
}

/**
 * lu_charge - charge @npages of @dma to the owner's locked_vm
 * @iommu: the container (lock held)
 * @dma: the mapping the pages belong to
 * @npages: pages to charge
 *
 * Return: 0; -ENOMEM if the owner's RLIMIT_MEMLOCK would be exceeded (and
 * it lacks CAP_IPC_LOCK); -ESRCH if its address space is gone; -EINTR if
 * the caller was killed while waiting for the owner's mmap_lock.
 */
int lu_charge(struct lu_iommu *iommu, struct lu_dma *dma,
	      unsigned long npages)
{
	struct lu_owner *owner = &iommu->owner;
	struct mm_struct *mm;
	int ret;

	lockdep_assert_held(&iommu->lock);

	if (!npages)
		return 0;
	mm = lu_owner_mmget(iommu);
	if (!mm)
		return -ESRCH;
	ret = lu_account(mm, owner->task, owner->lock_cap, npages, true);
	mmput_async(mm);
	if (ret) {
		if (ret == -ENOMEM)
			pr_warn_ratelimited("vfio_iommu_lu: pid %d: RLIMIT_MEMLOCK (%lu) exceeded\n",
					    task_pid_nr(owner->task),
					    task_rlimit(owner->task,
							RLIMIT_MEMLOCK));
		return ret;
	}
	dma->locked_vm += npages;
	iommu->locked_vm += npages;
	return 0;
}

/* Refund @npages of @dma's charge.  Never fails. */
void lu_uncharge(struct lu_iommu *iommu, struct lu_dma *dma,
		 unsigned long npages)
{
	struct lu_owner *owner = &iommu->owner;
	struct mm_struct *mm;

	lockdep_assert_held(&iommu->lock);

	if (!npages)
		return;
	if (WARN_ON(npages > dma->locked_vm || npages > iommu->locked_vm))
		npages = min(dma->locked_vm, iommu->locked_vm);
	dma->locked_vm -= npages;
	iommu->locked_vm -= npages;

	/*
	 * A dead mm's locked_vm no longer matters, but an owner can also let
	 * go while alive: without mseal (before 6.10) it can munmap its
	 * canary, which counts as leaving.  Refund whatever mm still lives.
	 */
	mm = owner->mm;
	if (!mm || !mmget_not_zero(mm))
		return;
	lu_account(mm, owner->task, owner->lock_cap, npages, false);
	mmput_async(mm);
}

/* Do we hold a pin on @pfn at @iova of @dma?  (See the file header.) */
static bool lu_held(const struct lu_dma *dma, dma_addr_t iova,
		    unsigned long pfn)
{
	return !is_zero_pfn(pfn) && !lu_object_pfnmap(dma, iova);
}

/*
 * Look up VM_PFNMAP pfns for @dma from @iova on (user address @vaddr),
 * within one vma, faulting in the first if needed.  Caller holds mmap_lock
 * for read (it may be dropped and retaken by the fault).
 *
 * Return: number of pfns stored (> 0), or -errno; -ENXIO if @vaddr is not
 * in a VM_PFNMAP vma at all; -EFAULT if the vma is not the recorded one.
 */
static long lu_pfnmap_lookup(const struct lu_dma *dma, struct mm_struct *mm,
			     dma_addr_t iova, unsigned long vaddr,
			     unsigned long npages, bool write,
			     unsigned long *pfns)
{
	struct vm_area_struct *vma;
	unsigned long i, addr, pfn;
	bool writable, unlocked;
	int ret;

	vaddr = lu_compat_untag(mm, vaddr);
retry:
	vma = vma_lookup(mm, vaddr);
	if (!vma || !(vma->vm_flags & VM_PFNMAP))
		return -ENXIO;

	for (i = 0, addr = vaddr; i < npages && addr < vma->vm_end;
	     i++, addr += PAGE_SIZE) {
		ret = lu_compat_follow_pfn(vma, addr, &pfn, &writable);
		if (ret && i)
			break;	/* the next call faults it in */
		if (ret) {
			unlocked = false;
			ret = fixup_user_fault(mm, addr,
					       FAULT_FLAG_REMOTE |
					       (write ? FAULT_FLAG_WRITE : 0),
					       &unlocked);
			if (unlocked)
				goto retry;	/* the vma may have changed */
			if (ret)
				return ret;
			ret = lu_compat_follow_pfn(vma, addr, &pfn, &writable);
			if (ret)
				return -EFAULT;
		}
		/* Write access needed, or RAM we could not pin: refuse. */
		if ((write && !writable) || !lu_pfn_reserved(pfn)) {
			if (i)
				break;
			return -EFAULT;
		}
		pfns[i] = pfn;
	}
	/* What is looked up is what MAP_DMA recorded (object.c). */
	ret = lu_object_check_vma(dma, iova, i, vma);
	return ret ? ret : i;
}

/**
 * lu_pin_user - pin up to @npages pages of @dma from @iova on
 * @dma: the mapping (its vaddr in @mm, its prot, its record)
 * @mm: the owner's mm, with a user reference held
 * @iova: first IOVA
 * @npages: most pages to return
 * @pages: scratch array of @npages entries for GUP
 * @pfns: receives the pfns
 * @pfnmap: set if they were looked up in VM_PFNMAP memory (not pinned)
 * @nofault: fault nothing in (FOLL_NOFAULT): the caller holds
 *	lu_iommu.lock and must not wait for userspace; a page that is not
 *	present gives -EAGAIN, to be faulted in with the lock dropped
 *
 * Normal memory is pinned FOLL_LONGTERM (FOLL_WRITE if the mapping is
 * writable); the zero page is released at once (it needs no pin).  If the
 * first page cannot be pinned because it is VM_PFNMAP, pfns are looked up
 * instead.  Pages come out in order, possibly fewer than asked, and each
 * is checked against the mapping's record (object.c).
 *
 * Return: number of pfns stored (> 0), or -errno (-EFAULT for a bad or
 * unsuitable address or memory other than what MAP_DMA recorded, -EINTR
 * if killed, -ENOMEM, -EAGAIN with @nofault, ...).
 */
long lu_pin_user(struct lu_dma *dma, struct mm_struct *mm, dma_addr_t iova,
		 unsigned long npages, struct page **pages,
		 unsigned long *pfns, bool *pfnmap, bool nofault)
{
	unsigned long vaddr = dma->vaddr + (iova - dma->iova);
	unsigned int gup_flags = FOLL_LONGTERM;
	bool write = dma->prot & IOMMU_WRITE;
	long ret, i;

	if (write)
		gup_flags |= FOLL_WRITE;
	if (nofault)
		gup_flags |= FOLL_NOFAULT;

	*pfnmap = false;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = lu_compat_pin_remote(mm, vaddr, npages, gup_flags, pages);
	if (ret > 0) {
		if (lu_object_check_pages(dma, iova, pages, ret)) {
			unpin_user_pages(pages, ret);
			ret = -EFAULT;
			goto out_unlock;
		}
		for (i = 0; i < ret; i++) {
			pfns[i] = page_to_pfn(pages[i]);
			if (is_zero_pfn(pfns[i]))
				unpin_user_page(pages[i]);
		}
	} else {
		long n = lu_pfnmap_lookup(dma, mm, iova, vaddr, npages, write,
					  pfns);

		/* Report GUP's own error unless this really was PFNMAP. */
		if (n != -ENXIO)
			ret = n;
		else if (nofault && (!ret || ret == -EFAULT))
			ret = -EAGAIN;	/* perhaps only not present */
		else if (!ret)
			ret = -EFAULT;
		*pfnmap = n > 0;
	}
out_unlock:
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Release @npages physically contiguous pages that the IOMMU path pinned
 * for [iova, ...) of @dma.
 *
 * Return: how many of them were charged by the IOMMU path, to be refunded.
 */
static unsigned long lu_iommu_unpin(struct lu_dma *dma, dma_addr_t iova,
				    unsigned long pfn, unsigned long npages)
{
	bool dirty = dma->prot & IOMMU_WRITE;
	bool has_ext = !RB_EMPTY_ROOT(&dma->pfns);
	unsigned long i, first = 0, len = 0, refund = 0;

	for (i = 0; i < npages; i++, iova += PAGE_SIZE) {
		if (!lu_held(dma, iova, pfn + i)) {
			if (len)
				unpin_user_page_range_dirty_lock(
					pfn_to_page(pfn + first), len, dirty);
			len = 0;
			continue;
		}
		if (!len)
			first = i;
		len++;
		if (!has_ext || !lu_pfn_find(dma, iova))
			refund++;
	}
	if (len)
		unpin_user_page_range_dirty_lock(pfn_to_page(pfn + first), len,
						 dirty);
	return refund;
}

/* How many of @npages pfns from @iova the IOMMU path must charge. */
static unsigned long lu_iommu_charge_count(struct lu_dma *dma,
					   dma_addr_t iova,
					   const unsigned long *pfns,
					   unsigned long npages, bool pfnmap)
{
	bool has_ext = !RB_EMPTY_ROOT(&dma->pfns);
	unsigned long i, n = 0;

	if (pfnmap)
		return 0;
	for (i = 0; i < npages; i++, iova += PAGE_SIZE) {
		if (is_zero_pfn(pfns[i]))
			continue;
		if (!has_ext || !lu_pfn_find(dma, iova))
			n++;
	}
	return n;
}

/*
 * Refill the container's batch with pfns for @dma from @iova on, and
 * charge them.  On error the batch is empty and nothing stays pinned or
 * charged.
 */
static int lu_batch_fill(struct lu_iommu *iommu, struct lu_dma *dma,
			 struct mm_struct *mm, dma_addr_t iova,
			 unsigned long npages)
{
	struct lu_batch *b = &iommu->batch;
	bool pfnmap;
	long n, i;
	int ret;

	b->nr = 0;
	b->next = 0;
	n = lu_pin_user(dma, mm, iova,
			min_t(unsigned long, npages, b->capacity), b->pages,
			b->pfns, &pfnmap, false);
	if (n < 0)
		return n;
	b->pfnmap = pfnmap;

	ret = lu_charge(iommu, dma, lu_iommu_charge_count(dma, iova, b->pfns,
							  n, pfnmap));
	if (ret) {
		for (i = 0; i < n; i++)
			lu_iommu_unpin(dma, iova + i * PAGE_SIZE, b->pfns[i], 1);
		return ret;
	}
	b->nr = n;
	return 0;
}

/*
 * Map [iova, iova + size) to @phys in every domain of the container and in
 * @extra (a domain being attached, not yet listed).  All or nothing.
 */
static int lu_map_all(struct lu_iommu *iommu, struct lu_domain *extra,
		      dma_addr_t iova, phys_addr_t phys, size_t size, int prot)
{
	struct lu_domain *d;
	int ret;

	prot |= IOMMU_CACHE;
	if (extra) {
		ret = lu_compat_iommu_map(extra->domain, iova, phys, size, prot);
		if (ret)
			return ret;
	}
	list_for_each_entry(d, &iommu->domains, next) {
		ret = lu_compat_iommu_map(d->domain, iova, phys, size, prot);
		if (ret)
			goto err_unmap;
	}
	return 0;

err_unmap:
	list_for_each_entry_continue_reverse(d, &iommu->domains, next)
		iommu_unmap(d->domain, iova, size);
	if (extra)
		iommu_unmap(extra->domain, iova, size);
	return ret;
}

/**
 * lu_pin_map_dma - pin all of @dma and map it into the IOMMU domains
 * @iommu: the container (lock held)
 * @dma: the mapping, not yet pinned
 * @extra: a domain being attached (not yet in lu_iommu.domains), or NULL
 * @mm: the owner's mm, with a user reference held by the caller
 *
 * Maps into every listed domain and @extra.  Runs of physically contiguous
 * pages are mapped with one iommu_map() so that the IOMMU can use large
 * pages; a run may span several batch refills.  Sets nothing in @dma but
 * its charge: the caller decides when the mapping counts as pinned.
 *
 * Return: 0, or -errno with nothing of @dma pinned, mapped or charged.
 */
int lu_pin_map_dma(struct lu_iommu *iommu, struct lu_domain *extra,
		   struct lu_dma *dma, struct mm_struct *mm)
{
	struct lu_batch *b = &iommu->batch;
	dma_addr_t end = dma->iova + dma->size;
	dma_addr_t cur = dma->iova;	/* next IOVA to take from the batch */
	dma_addr_t mapped = dma->iova;	/* [dma->iova, mapped) is mapped */
	unsigned long run_pfn = 0, run_n = 0, refund = 0;
	bool run_held = false, held;
	int ret = 0;

	lockdep_assert_held(&iommu->lock);

	b->nr = 0;
	b->next = 0;
	while (mapped < end) {
		/* Grow a run of contiguous pfns, all held or all not. */
		run_n = 0;
		while (cur < end) {
			unsigned long pfn;

			if (b->next == b->nr) {
				if (fatal_signal_pending(current)) {
					ret = -EINTR;
					goto err_run;
				}
				cond_resched();
				ret = lu_batch_fill(iommu, dma, mm, cur,
						    (end - cur) >> PAGE_SHIFT);
				if (ret)
					goto err_run;
			}
			pfn = b->pfns[b->next];
			/*
			 * lu_held() without its per-page segment search: a
			 * batch is all PFNMAP or all GUP pages, each checked
			 * against the record when pinned (lu_pin_user).
			 */
			held = !b->pfnmap && !is_zero_pfn(pfn);
			if (run_n && (pfn != run_pfn + run_n || held != run_held))
				break;
			if (!run_n) {
				run_pfn = pfn;
				run_held = held;
			}
			run_n++;
			b->next++;
			cur += PAGE_SIZE;
		}

		ret = lu_map_all(iommu, extra, mapped, PFN_PHYS(run_pfn),
				 run_n << PAGE_SHIFT, dma->prot);
		if (ret)
			goto err_run;
		mapped = cur;
		run_n = 0;
	}
	return 0;

err_run:
	/* The run being built, then what is left in the batch. */
	if (run_n)
		refund += lu_iommu_unpin(dma, mapped, run_pfn, run_n);
	for (; b->next < b->nr; b->next++, cur += PAGE_SIZE)
		refund += lu_iommu_unpin(dma, cur, b->pfns[b->next], 1);
	lu_uncharge(iommu, dma, refund);
	lu_unmap_unpin(iommu, extra, dma, dma->iova, mapped - dma->iova);
	return ret;
}

/* Unpin the runs queued in lu_iommu.runs; the IOTLB has been flushed. */
static unsigned long lu_runs_unpin(struct lu_iommu *iommu,
				   struct lu_dma *dma)
{
	unsigned long refund = 0;
	unsigned int i;

	for (i = 0; i < iommu->nr_runs; i++) {
		struct lu_unpin_run *run = &iommu->runs[i];

		refund += lu_iommu_unpin(dma, run->iova, run->pfn,
					 run->npages);
	}
	iommu->nr_runs = 0;
	return refund;
}

/**
 * lu_unmap_unpin - undo the IOMMU path for [@iova, @iova + @size) of @dma
 * @iommu: the container (lock held)
 * @dma: the mapping
 * @iova: first IOVA to undo
 * @size: bytes to undo
 * @extra: a domain being attached (not yet listed) that also maps the
 *	range, or NULL.  The reference domain is @extra if given, else the
 *	first listed one.
 *
 * Unmaps the range from every domain, the reference one last; unpins the
 * pages its page tables name once the IOTLB is flushed, and refunds their
 * charge.  Does not change @dma->pinned.  Never fails: if a domain refuses
 * to unmap, the pages it may still reach stay pinned (and are reported).
 */
void lu_unmap_unpin(struct lu_iommu *iommu, struct lu_domain *extra,
		    struct lu_dma *dma, dma_addr_t iova, size_t size)
{
	struct lu_domain *ref, *d;
	struct iommu_iotlb_gather gather;
	dma_addr_t end = iova + size;
	unsigned long refund = 0;

	lockdep_assert_held(&iommu->lock);

	ref = extra ?: list_first_entry_or_null(&iommu->domains,
						struct lu_domain, next);
	if (!ref || !size)
		return;

	list_for_each_entry(d, &iommu->domains, next) {
		if (d != ref)
			iommu_unmap(d->domain, iova, size);
	}

	iommu_iotlb_gather_init(&gather);
	iommu->nr_runs = 0;
	while (iova < end) {
		phys_addr_t phys = iommu_iova_to_phys(ref->domain, iova);
		size_t len, unmapped;

		if (WARN_ON_ONCE(!phys)) {
			iova += PAGE_SIZE;
			continue;
		}
		/* Largest physically contiguous run: one unmap, one flush. */
		for (len = PAGE_SIZE; iova + len < end; len += PAGE_SIZE) {
			if (iommu_iova_to_phys(ref->domain, iova + len) !=
			    phys + len)
				break;
		}

		unmapped = iommu_unmap_fast(ref->domain, iova, len, &gather);
		if (!unmapped) {
			/* Flush what is queued, then try the plain way. */
			iommu_iotlb_sync(ref->domain, &gather);
			refund += lu_runs_unpin(iommu, dma);
			unmapped = iommu_unmap(ref->domain, iova, len);
			if (WARN_ON_ONCE(!unmapped))
				break;	/* leak pins rather than free DMA targets */
			unmapped = min_t(size_t, unmapped, end - iova);
			refund += lu_iommu_unpin(dma, iova, PHYS_PFN(phys),
						 unmapped >> PAGE_SHIFT);
		} else {
			struct lu_unpin_run *run = &iommu->runs[iommu->nr_runs++];

			unmapped = min_t(size_t, unmapped, end - iova);
			run->iova = iova;
			run->pfn = PHYS_PFN(phys);
			run->npages = unmapped >> PAGE_SHIFT;
			if (iommu->nr_runs == LU_UNPIN_RUNS) {
				/* (sync also re-initializes the gather) */
				iommu_iotlb_sync(ref->domain, &gather);
				refund += lu_runs_unpin(iommu, dma);
				cond_resched();
			}
		}
		iova += unmapped;
	}
	iommu_iotlb_sync(ref->domain, &gather);
	refund += lu_runs_unpin(iommu, dma);
	lu_uncharge(iommu, dma, refund);
}

/**
 * lu_fault_in_mm - fault in @f->addr of @mm, without lu_iommu.lock
 * @mm: the owner's mm, with a user reference held
 * @f: the address, how many bytes from it the request will need (at
 *	least its page), and how often in a row it came back
 * @write: for writing
 *
 * For every user page a copy or pin under lu_iommu.lock could not reach:
 * the owner's memory (device requests) and the caller's own dirty bitmap
 * (current->mm).  May wait for userspace (a FUSE server, a userfaultfd
 * handler): this is why the lock is dropped first.  The pages after the first are faulted
 * in too, so that a request over many missing pages starts again once,
 * not once per page; only the first one must succeed.
 *
 * Return: 0; -EFAULT; -EINTR.
 */
int lu_fault_in_mm(struct mm_struct *mm, struct lu_fault *f,
			  bool write)
{
	unsigned int flags = write ? FAULT_FLAG_WRITE : 0;
	bool unlocked = false;
	unsigned long addr;
	int ret;

	if (!lu_fault_again(f))
		return -EFAULT;
	if (mm != current->mm)
		flags |= FAULT_FLAG_REMOTE;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = fixup_user_fault(mm, (unsigned long)f->addr, flags, &unlocked);
	for (addr = PAGE_ALIGN((unsigned long)f->addr + 1);
	     !ret && addr < (unsigned long)f->addr + f->len; addr += PAGE_SIZE) {
		if (fatal_signal_pending(current) ||
		    fixup_user_fault(mm, addr, flags, &unlocked))
			break;
	}
	mmap_read_unlock(mm);
	return ret;
}
