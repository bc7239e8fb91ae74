// SPDX-License-Identifier: GPL-2.0-only
/*
 * canary.c - the vma that tells a container its owner's address space is
 * going away (close-on-exit/exec).
 *
 * A canary is one sealed, VM_DONTCOPY, PROT_NONE page of ours in an mm.
 * Its vm_ops->close runs when that mm is torn down (exit, or the old mm at
 * exec) with the mm's mmap_lock held for write.  Our pin and charge paths
 * take lu_iommu.lock and then an mmap_lock, so ->close must never take
 * lu_iommu.lock nor account locked_vm: it only marks the canary fired,
 * under the canary's own spinlock, and queues lu_iommu.owner_gone, which
 * tears the mappings down in the normal lock order (main.c).  Nothing but
 * queue_work()'s internal locks is ever taken inside the spinlock.
 *
 * One canary per container and mm: a container keeps every canary it
 * mapped on lu_iommu.canaries, and an mm that becomes the owner again gets
 * its old canary re-armed rather than a new page, so bouncing ownership
 * between processes never grows their map count.  A canary whose vma is
 * gone (closed) is dropped from the list the next time the list is walked.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/anon_inodes.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "lu.h"

/**
 * struct lu_canary - the canary vma of one container in one mm
 * @kref: one reference for the vma (->mmap to ->close), one for the
 *	container while the canary is on lu_iommu.canaries
 * @lock: protects the fields below; innermost lock, taken in ->close
 * @next: in lu_iommu.canaries (lu_iommu.lock)
 * @mm: the mm it is mapped in; compared, never dereferenced, and
 *	meaningful only while !@closed (the vma keeps the mm alive)
 * @iommu: the container to tell; NULL once the container is going away
 * @armed: ->close fires (the mm is the container's owner)
 * @fired: ->close ran while armed: the owner's address space is dead
 * @closed: ->close ran: the vma, and with it the mm, is gone
 *
 * Refcounted apart from the container: the vma may outlive the container
 * (descriptor closed first, owner exits later) and vice versa.
 */
struct lu_canary {
	struct kref		kref;
	spinlock_t		lock;
	struct list_head	next;
	struct mm_struct	*mm;
	struct lu_iommu		*iommu;
	bool			armed;
	bool			fired;
	bool			closed;
};

static void lu_canary_free(struct kref *kref)
{
	kfree(container_of(kref, struct lu_canary, kref));
}

/* vm_ops->close: the mm is being torn down, its mmap_lock held.  Defer. */
static void lu_canary_close(struct vm_area_struct *vma)
{
	struct lu_canary *c = vma->vm_private_data;

	if (!c)
		return;		/* an inert copy (see lu_canary_open) */
	spin_lock(&c->lock);
	c->closed = true;
	if (c->armed && c->iommu) {
		c->fired = true;
		queue_work(system_unbound_wq, &c->iommu->owner_gone);
	}
	spin_unlock(&c->lock);
	kref_put(&c->kref, lu_canary_free);
}

/* No page ever: an access is a SIGBUS (and PROT_NONE forbids it anyway). */
static vm_fault_t lu_canary_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

/*
 * vm_ops->open: the vma was duplicated.  Sealing forbids split and mremap,
 * VM_IO forbids MADV_DOFORK and VM_DONTCOPY keeps fork away, so this
 * should not happen; if it does, the copy is inert: only the vma we
 * mapped may fire.
 */
static void lu_canary_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
}

static const struct vm_operations_struct lu_canary_vm_ops = {
	.open	= lu_canary_open,
	.close	= lu_canary_close,
	.fault	= lu_canary_fault,
};

/*
 * The canary lu_canary_map() is mapping, and the task doing it, both under
 * lu_canary_map_lock (global: mapping a canary is rare and short, and the
 * file then needs no pointer to a container that may go away).  A canary
 * file is never installed in a file table, and reopening it through
 * /proc/PID/map_files fails (an anonymous inode has no open); should a
 * future kernel hand it out anyway, ->mmap maps only for the task inside
 * lu_canary_map() and refuses anyone else.
 */
static DEFINE_MUTEX(lu_canary_map_lock);
static struct task_struct *lu_canary_mapper;
static struct lu_canary *lu_canary_mapping;

/* ->mmap of a container's canary file: see lu_canary_map(). */
static int lu_canary_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct lu_canary *c;

	/* Only the mapper (holding the lock) can find itself here. */
	if (READ_ONCE(lu_canary_mapper) != current)
		return -EPERM;
	c = lu_canary_mapping;
	lu_canary_mapping = NULL;
	if (!c)
		return -EPERM;	/* one vma per canary */

	/*
	 * DONTCOPY: a forked child has no canary, its exit fires nothing;
	 * IO: MADV_DOFORK cannot undo that, and GUP stays away.
	 * SEALED: userspace cannot munmap/mremap/mprotect it, so ->close
	 * means the mm is going away.
	 */
	lu_compat_vm_flags_mod(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP |
				    VM_IO | LU_VM_SEALED,
			       VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC);
	vma->vm_ops = &lu_canary_vm_ops;
	vma->vm_private_data = c;
	kref_get(&c->kref);
	return 0;
}

static const struct file_operations lu_canary_fops = {
	.owner	= THIS_MODULE,	/* the vma keeps the module (its vm_ops) */
	.mmap	= lu_canary_mmap,
};

/*
 * Map a new, disarmed canary into current's mm.  Every canary of a
 * container maps the same anon-inode file, created at the first: a file
 * per canary cost as much again as the vm_mmap() itself.
 * Return: it, or ERR_PTR.
 */
static struct lu_canary *lu_canary_map(struct lu_iommu *iommu)
{
	struct lu_canary *c;
	struct file *file;
	unsigned long addr;

	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	kref_init(&c->kref);
	spin_lock_init(&c->lock);
	c->mm = current->mm;
	c->iommu = iommu;

	mutex_lock(&lu_canary_map_lock);
	file = iommu->canary_file;
	if (!file) {
		file = anon_inode_getfile("[vfio_iommu_lu owner]",
					  &lu_canary_fops, NULL, O_RDWR);
		if (IS_ERR(file)) {
			mutex_unlock(&lu_canary_map_lock);
			kfree(c);
			return ERR_CAST(file);
		}
		iommu->canary_file = file;
	}
	lu_canary_mapping = c;
	WRITE_ONCE(lu_canary_mapper, current);
	addr = vm_mmap(file, 0, PAGE_SIZE, PROT_NONE, MAP_SHARED, 0);
	WRITE_ONCE(lu_canary_mapper, NULL);
	lu_canary_mapping = NULL;
	mutex_unlock(&lu_canary_map_lock);
	if (IS_ERR_VALUE(addr)) {
		kref_put(&c->kref, lu_canary_free);
		return ERR_PTR((long)addr);
	}
	return c;
}

/* Unlist @c and drop the container's reference.  Lock held. */
static void lu_canary_unlist(struct lu_canary *c)
{
	list_del(&c->next);
	kref_put(&c->kref, lu_canary_free);
}

/* Has @iommu a canary in current's mm whose vma is still there?  Lock held. */
static bool lu_canary_present(struct lu_iommu *iommu)
{
	struct lu_canary *c;
	bool found = false;

	list_for_each_entry(c, &iommu->canaries, next) {
		spin_lock(&c->lock);
		found = !c->closed && c->mm == current->mm;
		spin_unlock(&c->lock);
		if (found)
			break;
	}
	return found;
}

/**
 * lu_canary_prepare - map current's canary before taking lu_iommu.lock
 * @iommu: the container (lock not held)
 *
 * An owner change needs a canary in the new owner's mm.  Mapping one
 * (anon_inode_getfile, vm_mmap) is the costliest step of a handoff to a
 * new process; done here, a mediated device's pin never waits for it.  The
 * canary is mapped disarmed: until lu_canary_arm() picks it at the commit
 * it fires nothing, so a commit that fails leaves only a harmless page
 * that the container lists and re-arms if this mm becomes the owner later.
 *
 * Return: a disarmed canary to hand to lu_canary_keep() under the lock,
 * or NULL if current needs none (it owns the container, or the container
 * already has a canary in its mm) or mapping failed (lu_canary_arm() then
 * maps under the lock and reports the error).
 */
struct lu_canary *lu_canary_prepare(struct lu_iommu *iommu)
{
	struct lu_canary *c;
	bool needed;

	mutex_lock(&iommu->lock);
	needed = iommu->owner.mm != current->mm && !lu_canary_present(iommu);
	mutex_unlock(&iommu->lock);
	if (!needed)
		return NULL;
	c = lu_canary_map(iommu);
	return IS_ERR(c) ? NULL : c;
}

/* List a canary from lu_canary_prepare() (or NULL).  Lock held. */
void lu_canary_keep(struct lu_iommu *iommu, struct lu_canary *spare)
{
	lockdep_assert_held(&iommu->lock);
	if (spare)
		list_add_tail(&spare->next, &iommu->canaries);
}

/**
 * lu_canary_arm - arm the canary of @iommu in current's mm
 * @iommu: the container (lock held)
 *
 * Re-arms the canary this container already has in current's mm (one
 * mapped by lu_canary_prepare() included), or maps a new one (vm_mmap
 * takes the mmap_lock inside lu_iommu.lock: the normal order).  If the mm
 * has two (a prepared one raced with another thread's), only the first
 * is armed: a disarmed one never fires.  Canaries whose mm is gone are
 * dropped on the way, except armed ones: an owner borrows those (the
 * current one, or the former one of a claim in progress,
 * lu_owner_claimed()).
 *
 * Return: the armed canary (borrowed: the container's list holds it);
 * ERR_PTR(-ENOMEM) or another vm_mmap() error.
 */
struct lu_canary *lu_canary_arm(struct lu_iommu *iommu)
{
	struct lu_canary *c, *tmp, *found = NULL;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry_safe(c, tmp, &iommu->canaries, next) {
		bool closed, mine, armed;

		spin_lock(&c->lock);
		closed = c->closed;
		armed = c->armed;
		mine = !found && !closed && c->mm == current->mm;
		if (mine) {
			c->armed = true;
			c->fired = false;
		}
		spin_unlock(&c->lock);
		if (mine)
			found = c;
		else if (closed && !armed)
			lu_canary_unlist(c);
		/*
		 * A closed canary still armed stays: some owner borrows it,
		 * the container's, or the former one a claim in progress
		 * holds (lu_owner_claim() cleared lu_iommu.owner.canary, and
		 * lu_owner_claimed() disarms the old one after arming the
		 * new); both only disarm it once they let go of it.
		 */
	}
	if (found)
		return found;

	c = lu_canary_map(iommu);
	if (IS_ERR(c))
		return c;
	spin_lock(&c->lock);
	c->armed = true;
	spin_unlock(&c->lock);
	list_add(&c->next, &iommu->canaries);
	return c;
}

/* Stop @c from firing; it stays mapped until its mm goes. */
void lu_canary_disarm(struct lu_canary *c)
{
	spin_lock(&c->lock);
	c->armed = false;
	spin_unlock(&c->lock);
}

/* Did @c's mm die while @c was armed? */
bool lu_canary_fired(struct lu_canary *c)
{
	bool fired;

	spin_lock(&c->lock);
	fired = c->fired;
	spin_unlock(&c->lock);
	return fired;
}

/*
 * Container release: no canary may queue work any more, none is kept.
 * Lock held; the caller then waits for work already queued.  The canary
 * file goes with the last vma mapping it.
 */
void lu_canaries_release(struct lu_iommu *iommu)
{
	struct lu_canary *c, *tmp;

	lockdep_assert_held(&iommu->lock);

	list_for_each_entry_safe(c, tmp, &iommu->canaries, next) {
		spin_lock(&c->lock);
		c->iommu = NULL;
		c->armed = false;
		spin_unlock(&c->lock);
		lu_canary_unlist(c);
	}
	if (iommu->canary_file)
		fput(iommu->canary_file);	/* its vmas keep it */
	iommu->canary_file = NULL;
}
