// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdev.c - what mediated (emulated IOMMU) devices reach: vfio_pin_pages(),
 * vfio_unpin_pages(), vfio_dma_rw(), and the dma_unmap notification.
 *
 * External pins.  Each mapping keeps the pages devices pinned in an rbtree
 * of struct lu_pfn by IOVA, refcounted per vfio_pin_pages() call.  The
 * first pin of a page pins it once more (independently of the IOMMU path)
 * from the owner's mm; it is charged only while the mapping is not pinned
 * by the IOMMU path (see the rule on struct lu_dma): a page counts once.
 *
 * Devices.  A device that can pin has a dma_unmap callback; it sits on
 * lu_iommu.devices.  Before a range with external pins is unmapped, every
 * device is asked to unpin it.  That callback takes lu_iommu.lock (through
 * vfio_unpin_pages), so it runs with only devices_rwsem held for read.
 *
 * Pins and copies always use the owner's mm, whoever calls: a kernel
 * thread borrows it (kthread_use_mm), another process goes through
 * get_user_pages_remote().  Under lu_iommu.lock they fault nothing in
 * (FOLL_NOFAULT, copies with page faults disabled): a page that is not
 * present (a FUSE file, a userfaultfd region) is faulted in with the lock
 * dropped, and the request starts again.  So they block only on the lock,
 * and no device request holds it while waiting for userspace.  (The
 * owner's own MAP_DMA still pins, and so faults, under the lock:
 * docs/backend.md, "Known limits".)
 */
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lu.h"

/*
 * Forget @p: unpin its page if we hold it, and refund it if it was charged
 * (the mapping is not pinned by the IOMMU path).
 */
static void lu_pfn_free(struct lu_iommu *iommu, struct lu_dma *dma,
			struct lu_pfn *p)
{
	rb_erase(&p->node, &dma->pfns);
	if (p->held) {
		struct page *page = pfn_to_page(p->pfn);

		unpin_user_pages_dirty_lock(&page, 1, dma->prot & IOMMU_WRITE);
		if (!dma->pinned)
			lu_uncharge(iommu, dma, 1);
	}
	kfree(p);
}

/* Drop one reference on the external pin of @iova, if there is one. */
static void lu_pfn_put(struct lu_iommu *iommu, struct lu_dma *dma,
		       dma_addr_t iova)
{
	struct lu_pfn *p = lu_pfn_find(dma, iova);

	if (p && !--p->refs)
		lu_pfn_free(iommu, dma, p);
}

/* Teardown: release every external pin of @dma, whatever its refcount. */
void lu_pfns_release(struct lu_iommu *iommu, struct lu_dma *dma)
{
	struct rb_node *node;

	lockdep_assert_held(&iommu->lock);

	while ((node = rb_first(&dma->pfns)))
		lu_pfn_free(iommu, dma, rb_entry(node, struct lu_pfn, node));
}

/*
 * First pin of one page of @dma for a device.  Return: the new record, or
 * ERR_PTR: -ENOMEM, a pin error (-EFAULT, ...), -EAGAIN if the page is not
 * present (nothing is faulted in under the lock), -EINVAL if the address
 * has no struct page to hand out, the lu_charge() errors.
 */
static struct lu_pfn *lu_pfn_create(struct lu_iommu *iommu,
				    struct lu_dma *dma, struct mm_struct *mm,
				    dma_addr_t iova)
{
	struct lu_pfn *p;
	struct page *page;
	unsigned long pfn;
	bool pfnmap;
	long n;
	int ret;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return ERR_PTR(-ENOMEM);

	n = lu_pin_user(dma, mm, iova, 1, &page, &pfn, &pfnmap, true);
	if (n < 0) {
		ret = n;
		goto err_free;
	}
	if (!pfn_valid(pfn)) {
		ret = -EINVAL;	/* PFNMAP without struct page */
		goto err_free;
	}
	/* Held (and charged) is decided here, once: see pin.c. */
	p->held = !pfnmap && !is_zero_pfn(pfn);
	if (p->held && !dma->pinned) {
		ret = lu_charge(iommu, dma, 1);
		if (ret)
			goto err_unpin;
	}
	p->iova = iova;
	p->pfn = pfn;
	p->refs = 1;
	lu_pfn_link(dma, p);
	return p;

err_unpin:
	if (p->held)
		unpin_user_page(pfn_to_page(pfn));
err_free:
	kfree(p);
	return ERR_PTR(ret);
}


/*
 * lu_pin_pages() under the lock, all or nothing.  Return: as lu_pin_pages,
 * or -EAGAIN with nothing pinned, @f->addr a page to fault in and *@mmp a
 * reference on the owner's mm.
 */
static int lu_pin_pages_locked(struct lu_iommu *iommu,
			       struct iommu_group *iommu_group,
			       dma_addr_t user_iova, int npage, int prot,
			       struct page **pages, struct mm_struct **mmp,
			       struct lu_fault *f)
{
	dma_addr_t iova = ALIGN_DOWN(user_iova, PAGE_SIZE);
	struct lu_group *group;
	struct mm_struct *mm = NULL;
	struct lu_dma *dma;
	int i, ret;

	mutex_lock(&iommu->lock);

	/* Only devices we can notify at unmap may pin. */
	if (list_empty(&iommu->devices)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	/* The owner died: its mappings are going, nothing new holds them. */
	if (lu_owner_dead(iommu)) {
		ret = -ESRCH;
		goto out_unlock;
	}

	for (i = 0; i < npage; i++, iova += PAGE_SIZE) {
		struct lu_pfn *p;

		dma = lu_dma_first(iommu, iova, iova);
		if (!dma) {
			ret = -EINVAL;
			goto err_unwind;
		}
		if ((dma->prot & prot) != prot) {
			ret = -EPERM;
			goto err_unwind;
		}
		p = lu_pfn_find(dma, iova);
		if (p) {
			p->refs++;
		} else {
			if (!mm) {
				mm = lu_owner_mmget(iommu);
				if (!mm) {
					ret = -ESRCH;
					goto err_unwind;
				}
			}
			p = lu_pfn_create(iommu, dma, mm, iova);
			if (IS_ERR(p)) {
				ret = PTR_ERR(p);
				if (ret == -EAGAIN) {
					f->addr = (void __user *)(dma->vaddr +
								 (iova - dma->iova));
					f->len = min_t(u64, (u64)(npage - i) <<
						       PAGE_SHIFT,
						       lu_dma_last(dma) - iova + 1);
				}
				goto err_unwind;
			}
		}
		pages[i] = pfn_to_page(p->pfn);
		/* A pinned page is dirty for as long as it stays pinned. */
		lu_dirty_mark(iommu, dma, iova, PAGE_SIZE);
	}

	/*
	 * A group that pins reports its writes: narrows dirty scope.  What
	 * it may have written before, unreported, is every page: say so.
	 */
	group = lu_group_find(iommu, iommu_group);
	if (group && !group->pinned_scope) {
		lu_dirty_mark_unscoped(iommu);
		group->pinned_scope = true;
		iommu->nr_unscoped_groups--;
	}
	ret = npage;
	goto out_unlock;

err_unwind:
	while (i--) {
		iova -= PAGE_SIZE;
		pages[i] = NULL;
		dma = lu_dma_first(iommu, iova, iova);
		lu_pfn_put(iommu, dma, iova);
	}
out_unlock:
	mutex_unlock(&iommu->lock);
	if (ret == -EAGAIN)
		*mmp = mm;
	else if (mm)
		mmput_async(mm);
	return ret;
}

/**
 * lu_pin_pages - ops->pin_pages: pin pages for a device
 * @iommu_data: the container
 * @iommu_group: the device's group
 * @user_iova: IOVA of the first page (rounded down to a page)
 * @npage: number of pages
 * @prot: IOMMU_READ/IOMMU_WRITE the device needs
 * @pages: receives the pages
 *
 * All or nothing.
 *
 * Return: @npage; -EINVAL (bad arguments, no registered device that could
 * be asked to unpin, IOVA not mapped, page without struct page), -EPERM
 * (@prot exceeds the mapping's), -ESRCH (the owner's address space is
 * gone: no new pin, not even a new reference on a pinned page), -ENOMEM
 * (memory, or the owner's RLIMIT_MEMLOCK), a pin error.
 */
int lu_pin_pages(void *iommu_data, struct iommu_group *iommu_group,
		 dma_addr_t user_iova, int npage, int prot,
		 struct page **pages)
{
	struct lu_iommu *iommu = iommu_data;
	struct lu_fault f = {};
	int ret;

	if (!iommu || !pages || npage <= 0)
		return -EINVAL;
	if (ALIGN_DOWN(user_iova, PAGE_SIZE) + ((u64)npage << PAGE_SHIFT) - 1 <
	    ALIGN_DOWN(user_iova, PAGE_SIZE))
		return -EINVAL;

	for (;;) {
		struct mm_struct *mm = NULL;

		ret = lu_pin_pages_locked(iommu, iommu_group, user_iova, npage,
					  prot, pages, &mm, &f);
		if (ret != -EAGAIN)
			return ret;
		/* Never fault the owner's memory in under the lock. */
		ret = lu_fault_in_mm(mm, &f, prot & IOMMU_WRITE);
		mmput_async(mm);
		if (ret)
			return ret == -EINTR ? ret : -EFAULT;
	}
}

/**
 * lu_unpin_pages - ops->unpin_pages: drop one device pin reference per page
 * @iommu_data: the container
 * @user_iova: IOVA of the first page (rounded down to a page)
 * @npage: number of pages
 *
 * Pages the devices did not pin are ignored; an unmapped IOVA is a caller
 * bug and is reported.
 */
void lu_unpin_pages(void *iommu_data, dma_addr_t user_iova, int npage)
{
	struct lu_iommu *iommu = iommu_data;
	dma_addr_t iova = ALIGN_DOWN(user_iova, PAGE_SIZE);
	int i;

	mutex_lock(&iommu->lock);
	for (i = 0; i < npage; i++, iova += PAGE_SIZE) {
		struct lu_dma *dma = lu_dma_first(iommu, iova, iova);

		if (WARN_ON_ONCE(!dma))
			break;
		lu_pfn_put(iommu, dma, iova);
	}
	mutex_unlock(&iommu->lock);
}

/*
 * Copy between @buf and the owner's memory at @vaddr through page
 * references, for callers running in another address space, faulting
 * nothing in.  Return: bytes not copied (the first of them is not present
 * or not accessible), or -EINTR.
 */
static long lu_rw_remote(struct mm_struct *mm, unsigned long vaddr,
			 void *buf, size_t count, bool write)
{
	while (count) {
		size_t off = offset_in_page(vaddr);
		size_t n = min_t(size_t, count, PAGE_SIZE - off);
		struct page *page;
		void *kaddr;
		long got;

		if (mmap_read_lock_killable(mm))
			return -EINTR;
		got = lu_compat_get_remote(mm, vaddr, 1, FOLL_NOFAULT |
					   (write ? FOLL_WRITE : 0), &page);
		mmap_read_unlock(mm);
		if (got != 1)
			return count;

		kaddr = kmap_local_page(page);
		if (write) {
			memcpy(kaddr + off, buf, n);
			set_page_dirty_lock(page);
		} else {
			memcpy(buf, kaddr + off, n);
		}
		kunmap_local(kaddr);
		put_page(page);

		vaddr += n;
		buf += n;
		count -= n;
	}
	return 0;
}

/*
 * Copy @count bytes within one mapping, page faults disabled; the caller
 * holds a ref on @mm.  Return: bytes not copied, or -EINTR.
 */
static long lu_rw_chunk(struct mm_struct *mm, unsigned long vaddr, void *buf,
			size_t count, bool write)
{
	bool borrow = (current->flags & PF_KTHREAD) && !current->mm;
	unsigned long left;

	if (current->mm != mm && !borrow)
		return lu_rw_remote(mm, vaddr, buf, count, write);
	if (borrow)
		kthread_use_mm(mm);
	pagefault_disable();
	left = write ? copy_to_user((void __user *)vaddr, buf, count) :
		       copy_from_user(buf, (void __user *)vaddr, count);
	pagefault_enable();
	if (borrow)
		kthread_unuse_mm(mm);
	return left;
}

/*
 * One pass of lu_dma_rw() under the lock, from *@iova on: copies as far as
 * it can without faulting, advancing *@iova, *@data, *@count.  Return: 0
 * (all copied), -EAGAIN with @f->addr to fault in and *@mmp holding a
 * reference on the owner's mm, or another error.
 */
static int lu_dma_rw_locked(struct lu_iommu *iommu, dma_addr_t *iova,
			    void **data, size_t *count, bool write,
			    struct mm_struct **mmp, struct lu_fault *f)
{
	struct mm_struct *mm = NULL;
	int ret = 0;

	mutex_lock(&iommu->lock);
	while (*count) {
		struct lu_dma *dma = lu_dma_first(iommu, *iova, *iova);
		unsigned long vaddr;
		long left;
		size_t n;

		if (!dma) {
			ret = -EINVAL;
			break;
		}
		/* As type1: any copy needs READ, a write WRITE as well. */
		if (!(dma->prot & IOMMU_READ) ||
		    (write && !(dma->prot & IOMMU_WRITE))) {
			ret = -EPERM;
			break;
		}
		if (!mm) {
			mm = lu_owner_mmget(iommu);
			if (!mm) {
				ret = -ESRCH;
				break;
			}
		}
		n = min_t(u64, *count, lu_dma_last(dma) - *iova + 1);
		/*
		 * Marked before the copy: a copy that fails half way has
		 * written a prefix, and a dirty bit too many is harmless
		 * where one too few corrupts a migration.
		 */
		if (write)
			lu_dirty_mark(iommu, dma, *iova, n);
		vaddr = dma->vaddr + (*iova - dma->iova);
		left = lu_rw_chunk(mm, vaddr, *data, n, write);
		if (left < 0) {
			ret = left;
			break;
		}
		*iova += n - left;
		*data += n - left;
		*count -= n - left;
		if (left) {
			f->addr = (void __user *)(vaddr + n - left);
			f->len = left;
			ret = -EAGAIN;
			break;
		}
	}
	mutex_unlock(&iommu->lock);
	if (ret == -EAGAIN)
		*mmp = mm;
	else if (mm)
		mmput_async(mm);
	return ret;
}

/**
 * lu_dma_rw - ops->dma_rw: the CPU performs a device's DMA
 * @iommu_data: the container
 * @user_iova: IOVA of the first byte
 * @data: kernel buffer
 * @count: bytes to copy
 * @write: copy @data into guest memory (else out of it)
 *
 * Return: 0; -EINVAL (some IOVA not mapped), -EPERM (the mapping is not
 * readable by the device, or not writable for @write), -ESRCH (the
 * owner's address space is gone), -EFAULT (the owner's memory at that
 * address is not accessible), -EINTR.  A failure may leave a prefix
 * copied; with @write, the pages of the chunk that failed are reported
 * dirty anyway.  The owner's memory is never faulted in under the
 * container lock: a page that is not present (a FUSE file, a userfaultfd
 * region) is faulted in with the lock dropped, and the copy goes on from
 * there, the mapping looked up again.
 */
int lu_dma_rw(void *iommu_data, dma_addr_t user_iova, void *data,
	      size_t count, bool write)
{
	struct lu_iommu *iommu = iommu_data;
	struct lu_fault f = {};
	int ret;

	if (!iommu || !data)
		return -EINVAL;
	if (count && user_iova + count - 1 < user_iova)
		return -EINVAL;	/* wraps past the top of the IOVA space */

	for (;;) {
		struct mm_struct *mm = NULL;

		ret = lu_dma_rw_locked(iommu, &user_iova, &data, &count, write,
				       &mm, &f);
		if (ret != -EAGAIN)
			return ret;
		/* Never fault the owner's memory in under the lock. */
		ret = lu_fault_in_mm(mm, &f, write);
		mmput_async(mm);
		if (ret)
			return ret;
	}
}

/* ops->register_device: a device that can pin (has dma_unmap) joins. */
void lu_register_device(void *iommu_data, struct vfio_device *vdev)
{
	struct lu_iommu *iommu = iommu_data;

	if (!vdev->ops->dma_unmap)
		return;
	down_write(&iommu->devices_rwsem);
	mutex_lock(&iommu->lock);
	list_add(&vdev->iommu_entry, &iommu->devices);
	mutex_unlock(&iommu->lock);
	up_write(&iommu->devices_rwsem);
}

/*
 * ops->unregister_device.  Waits for notifications in flight, so the
 * device is never called after this returns.
 */
void lu_unregister_device(void *iommu_data, struct vfio_device *vdev)
{
	struct lu_iommu *iommu = iommu_data;

	if (!vdev->ops->dma_unmap)
		return;
	down_write(&iommu->devices_rwsem);
	mutex_lock(&iommu->lock);
	list_del(&vdev->iommu_entry);
	mutex_unlock(&iommu->lock);
	up_write(&iommu->devices_rwsem);
}

/**
 * lu_notify_dma_unmap - ask every device to unpin [@iova, @iova + @size)
 * @iommu: the container (lock not held)
 * @iova: first IOVA of the mapping
 * @size: its size in bytes
 *
 * Called without lu_iommu.lock: devices unpin from their callback.
 */
void lu_notify_dma_unmap(struct lu_iommu *iommu, dma_addr_t iova,
			 size_t size)
{
	struct vfio_device *vdev;

	lockdep_assert_not_held(&iommu->lock);

	down_read(&iommu->devices_rwsem);
	list_for_each_entry(vdev, &iommu->devices, iommu_entry)
		vdev->ops->dma_unmap(vdev, iova, size);
	up_read(&iommu->devices_rwsem);
}
