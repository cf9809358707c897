// SPDX-License-Identifier: GPL-2.0
/*
 * crashmod: crashes the kernel the ways investigations start, for vmpipe's
 * fixtures (tools/recipes/scenarios). Debian's kernels have no lkdtm, so this
 * is the project's own. Load with `insmod crashmod.ko mode=<mode>`; the recipe
 * sets the panic_on_* sysctls first so every mode ends in panic() and a dump.
 *
 * Modes (tools/crashmod/README.md; what each console shows: tools/recipes/README.md):
 *   seed        a kthread walks vmpipe_queue (list_for_each_entry_safe, as the
 *               seed's deferred_split_scan did) while another path has poisoned
 *               one entry (LIST_POISON1/2), freed it into vmpipe_item_cache and
 *               left it linked: the walk follows 0xdead000000000100 -> GPF
 *   listdel     a lost update leaves prev->next wrong; list_del() of the entry
 *               trips CONFIG_DEBUG_LIST (BUG_ON_DATA_CORRUPTION) -> BUG
 *   null        NULL pointer dereference in a kthread
 *   bugirq      BUG_ON in a timer callback (softirq on the IRQ stack)
 *   warn        WARN_ON in a kthread (with panic_on_warn)
 *   softlockup  a kthread spins with preemption off (with softlockup_panic)
 *   hardlockup  a kthread spins with interrupts off (needs the NMI watchdog)
 *   hung        a kthread sleeps in D state on a mutex another kthread holds
 *               forever (with hung_task_panic)
 *   longlist    vmpipe_long gets nr_long (200000) entries, then panic()
 *   panic       panic() from a kthread, nothing else (manytasks uses it)
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/poison.h>
#include <linux/delay.h>
#include <linux/timer.h>
#include <linux/mutex.h>
#include <linux/sched.h>

static char *mode = "seed";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "seed|listdel|null|bugirq|warn|softlockup|hardlockup|hung|longlist|panic");
static int nr_items = 16;
module_param(nr_items, int, 0444);
static int nr_long = 200000;
module_param(nr_long, int, 0444);

#define VMPIPE_ITEM_MAGIC 0x766d706970650001UL /* "vmpipe" + 1 */

/* An entry of the queues. node first, like many kernel objects: &item == &item->node. */
struct vmpipe_item {
	struct list_head node;
	unsigned long magic;
	unsigned int seq;
	unsigned int flags;
	char tag[16];
};

/* Global (not static) so crash's `list`/`sym` and drgn find them by name. */
LIST_HEAD(vmpipe_queue);
LIST_HEAD(vmpipe_long);
struct vmpipe_item *vmpipe_victim;
struct kmem_cache *vmpipe_item_cache;
unsigned long vmpipe_walk_sum;
DEFINE_MUTEX(vmpipe_mutex);
static struct timer_list vmpipe_timer;

/*
 * A constructor keeps SLUB's free pointer outside the object, so the freed
 * entry's bytes (its poisoned node, magic, tag) stay as they were until the dump.
 */
static void vmpipe_item_ctor(void *p)
{
	struct vmpipe_item *it = p;

	memset(it, 0, sizeof(*it));
	it->magic = VMPIPE_ITEM_MAGIC;
	strscpy(it->tag, "vmpipe-ctor", sizeof(it->tag));
}

static struct vmpipe_item *vmpipe_item_new(unsigned int seq)
{
	struct vmpipe_item *it = kmem_cache_alloc(vmpipe_item_cache, GFP_KERNEL);

	if (!it)
		return NULL;
	it->magic = VMPIPE_ITEM_MAGIC;
	it->seq = seq;
	it->flags = 0;
	snprintf(it->tag, sizeof(it->tag), "item-%u", seq);
	return it;
}

static noinline int vmpipe_fill(struct list_head *head, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct vmpipe_item *it = vmpipe_item_new(i);

		if (!it)
			return -ENOMEM;
		list_add_tail(&it->node, head);
		if ((i & 4095) == 4095)
			cond_resched();
	}
	return 0;
}

/*
 * The other path: what a racing list_del() leaves when the walker's view of the
 * list was not updated. The entry's own node gets list_del()'s poison, the
 * neighbours keep pointing at it, and it goes back to the cache.
 */
static noinline void vmpipe_retire_racy(struct vmpipe_item *it)
{
	it->node.next = LIST_POISON1;
	it->node.prev = LIST_POISON2;
	it->flags = 0xdead;
	kmem_cache_free(vmpipe_item_cache, it);
}

/* The walker. The _safe walk reads the next entry's node.next before the body runs. */
static noinline unsigned long vmpipe_walk_queue(struct list_head *head)
{
	struct vmpipe_item *it, *tmp;
	unsigned long sum = 0;

	list_for_each_entry_safe(it, tmp, head, node)
		sum += it->seq;
	return sum;
}

static int vmpipe_seed_thread(void *unused)
{
	struct vmpipe_item *it;
	int i = 0;

	/* retire the 6th entry behind the walker's back */
	list_for_each_entry(it, &vmpipe_queue, node)
		if (i++ == 5) {
			vmpipe_victim = it;
			break;
		}
	vmpipe_retire_racy(vmpipe_victim);
	msleep(100);
	WRITE_ONCE(vmpipe_walk_sum, vmpipe_walk_queue(&vmpipe_queue));
	return 0;
}

static int vmpipe_listdel_thread(void *unused)
{
	struct vmpipe_item *a = list_first_entry(&vmpipe_queue, struct vmpipe_item, node);
	struct vmpipe_item *b = list_next_entry(a, node);
	struct vmpipe_item *c = list_next_entry(b, node);

	/* the lost update: a's next was set to c by a path that forgot b */
	WRITE_ONCE(a->node.next, &c->node);
	c->node.prev = &a->node;
	vmpipe_victim = b;
	msleep(100);
	list_del(&b->node);	/* __list_del_entry_valid: prev->next should be b */
	return 0;
}

static noinline unsigned int vmpipe_first_seq(struct list_head *head)
{
	struct vmpipe_item *it = list_first_entry_or_null(head, struct vmpipe_item, node);

	return READ_ONCE(it->seq); /* head is empty: it is NULL */
}

static int vmpipe_null_thread(void *unused)
{
	LIST_HEAD(empty);

	msleep(100);
	WRITE_ONCE(vmpipe_walk_sum, vmpipe_first_seq(&empty));
	return 0;
}

static void vmpipe_timer_fn(struct timer_list *t)
{
	/* runs in softirq context, on the IRQ stack when it comes from irq_exit */
	BUG_ON(READ_ONCE(vmpipe_victim) != NULL);
}

static int vmpipe_warn_thread(void *unused)
{
	msleep(100);
	WARN_ON(READ_ONCE(vmpipe_walk_sum) == 0);
	return 0;
}

static int vmpipe_spin_thread(void *irqs_off)
{
	msleep(100);
	pr_info("crashmod: spinning with %s off on cpu %d\n", irqs_off ? "interrupts" : "preemption",
		raw_smp_processor_id());
	if (irqs_off)
		local_irq_disable();
	else
		preempt_disable();
	for (;;)
		cpu_relax();
	return 0;
}

static int vmpipe_holder_thread(void *unused)
{
	mutex_lock(&vmpipe_mutex);
	for (;;)	/* holds the mutex forever, sleeping interruptibly */
		schedule_timeout_interruptible(MAX_SCHEDULE_TIMEOUT);
	return 0;
}

static int vmpipe_waiter_thread(void *unused)
{
	msleep(100);
	mutex_lock(&vmpipe_mutex);	/* D state: TASK_UNINTERRUPTIBLE */
	mutex_unlock(&vmpipe_mutex);
	return 0;
}

static int vmpipe_panic_thread(void *what)
{
	msleep(100);
	panic("crashmod: %s", (const char *)what);
	return 0;
}

static int __init crashmod_init(void)
{
	int err;

	vmpipe_item_cache = kmem_cache_create("vmpipe_item", sizeof(struct vmpipe_item), 0, 0,
					      vmpipe_item_ctor);
	if (!vmpipe_item_cache)
		return -ENOMEM;
	err = vmpipe_fill(&vmpipe_queue, nr_items);
	if (err)
		return err;
	pr_info("crashmod: mode=%s vmpipe_queue=%px cache=%px\n", mode, &vmpipe_queue, vmpipe_item_cache);

	if (!strcmp(mode, "seed")) {
		kthread_run(vmpipe_seed_thread, NULL, "vmpipe-walker");
	} else if (!strcmp(mode, "listdel")) {
		kthread_run(vmpipe_listdel_thread, NULL, "vmpipe-listdel");
	} else if (!strcmp(mode, "null")) {
		kthread_run(vmpipe_null_thread, NULL, "vmpipe-null");
	} else if (!strcmp(mode, "bugirq")) {
		vmpipe_victim = list_first_entry(&vmpipe_queue, struct vmpipe_item, node);
		timer_setup(&vmpipe_timer, vmpipe_timer_fn, 0);
		mod_timer(&vmpipe_timer, jiffies + HZ / 10);
	} else if (!strcmp(mode, "warn")) {
		kthread_run(vmpipe_warn_thread, NULL, "vmpipe-warn");
	} else if (!strcmp(mode, "softlockup") || !strcmp(mode, "hardlockup")) {
		/* on CPU 1, so the detector (or the panic) comes from the other CPU or an NMI */
		struct task_struct *t = kthread_create(vmpipe_spin_thread,
						       (void *)(unsigned long)!strcmp(mode, "hardlockup"),
						       "vmpipe-spin");
		if (IS_ERR(t))
			return PTR_ERR(t);
		if (num_online_cpus() > 1)
			kthread_bind(t, 1);
		wake_up_process(t);
	} else if (!strcmp(mode, "hung")) {
		kthread_run(vmpipe_holder_thread, NULL, "vmpipe-holder");
		kthread_run(vmpipe_waiter_thread, NULL, "vmpipe-waiter");
	} else if (!strcmp(mode, "longlist")) {
		err = vmpipe_fill(&vmpipe_long, nr_long);
		pr_info("crashmod: vmpipe_long=%px holds %d entries (err %d)\n", &vmpipe_long, nr_long, err);
		kthread_run(vmpipe_panic_thread, "longlist", "vmpipe-panic");
	} else if (!strcmp(mode, "panic")) {
		kthread_run(vmpipe_panic_thread, "panic", "vmpipe-panic");
	} else {
		pr_err("crashmod: unknown mode %s\n", mode);
		return -EINVAL;
	}
	return 0;
}
module_init(crashmod_init);
/* no module_exit: the module is there to crash the machine, it is never unloaded */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmpipe fixture crashes");
