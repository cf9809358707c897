/**
 * Which stack frames say where a bug is, in syzbot's sense (syzkaller pkg/report/linux.go:
 * the first frame of the report after skipping the frames every report of its kind has).
 * Frames are function names as the kernel prints them (`__list_del_entry_valid.cold.1`); the
 * compiler's clone suffixes are taken off before any comparison, so KASLR, offsets, line
 * numbers and GCC's clone numbering never change a title or a hash.
 */

/** GCC/Clang clone suffixes: `.cold`, `.cold.12`, `.isra.0`, `.constprop.3`, `.part.7`, `.llvm.123`, chained. */
const CLONE_SUFFIX = /(?:\.(?:cold|isra|constprop|part|llvm|lto_priv|localalias|str|clone)(?:\.\d+)?)+$/;

export function stripSuffix(name: string): string {
  return name.replace(CLONE_SUFFIX, '');
}

/**
 * The syscall prefixes architectures and kernel versions put on one syscall's functions
 * (`__arm64_sys_write`, `__x64_sys_write`, `__ia32_sys_write`, `__se_sys_write`, `__do_sys_write`,
 * `ksys_write`, 3.x's `SyS_write`/`SYSC_write`): syzkaller's report parser takes one off (the
 * shortest result wins) before a frame names a title, so a syscall frame reads alike on every
 * architecture.
 */
const SYSCALL_PREFIXES = ['__arm64_', '__x64_', '__ia32_', '__se_sys_', '__se_', '__do_sys_', '____sys_', '___sys_', '__sys_', 'ksys_', 'compat_SyS_', 'compat_SYSC_', 'SyS_', 'SYSC_', 'sys_'];

/** A frame's name for titles and hashes: clone suffixes off, then one syscall prefix. */
export function frameName(name: string): string {
  const n = stripSuffix(name);
  let best = n;
  for (const p of SYSCALL_PREFIXES) if (n.startsWith(p) && n.length - p.length < best.length) best = n.slice(p.length);
  return best;
}

/**
 * Frames of the reporting machinery itself: stack dumping, the oops and trap paths, WARN/BUG
 * reporting, page-fault handling, the list-debug checks, the KASAN/UBSAN/KCSAN/lockdep report
 * helpers, printk, and the helpers a report names but the bug is never in (string and copy
 * routines, spinlock slow paths). A frame matches when its stripped name matches one of these.
 */
const GENERIC: RegExp[] = [
  /^(__)?dump_stack(_lvl)?$/,
  /^show_(stack|regs|trace_log_lvl|stack_log_lvl)$/,
  /^(vpanic|panic|nmi_panic|oops_end|oops_begin|die|__die|__die_body|die_body|die_addr)$/,
  /^(do_trap|do_error_trap|do_int3|handle_bug|handle_invalid_op|do_invalid_op|invalid_op|do_general_protection|general_protection|do_divide_error|divide_error)$/,
  /^(asm_)?exc_/,
  /^(__warn|__warn_printk|warn_slowpath_\w+|warn_slowpath|report_bug|__report_bug|__might_sleep|__might_resched|___might_sleep|__might_fault)$/,
  // arm64's fault path (arch/arm64/mm/fault.c, arch/arm64/kernel/entry-common.c), as syzkaller skips it
  /^(do_mem_abort|do_translation_fault|do_bad_area|__do_kernel_fault|die_kernel_fault|do_kernel_fault|el1_abort|el1_undef|el1_dbg|el1_inv|el1h_64_sync(_handler)?|el1h_64_error(_handler)?|arm64_notify_die|do_undefinstr|bug_brk_handler|call_break_hook|brk_handler|do_debug_exception)$/,
  /^(page_fault|async_page_fault|do_page_fault|__do_page_fault|do_user_addr_fault|do_kern_addr_fault|handle_page_fault|page_fault_oops|kernelmode_fixup_or_oops|no_context|__bad_area\w*|bad_area\w*|spurious_kernel_fault|fixup_exception)$/,
  /^(dump_backtrace|unwind_backtrace|show_trace|might_fault)$/,
  /^__list_(add|del)_valid(_or_report)?$/,
  /^__list_del_entry_valid(_or_report)?$/,
  /^(__)?list_(add|del|replace|move|splice)\w*$/,
  /^(__)?(kasan|kmsan|kcsan|kfence)_\w+$/,
  /^__asan_\w+$/,
  /^__tsan_\w+$/,
  /^(check_memory_region\w*|print_address_description\w*|print_report|describe_object\w*|end_report|start_report)$/,
  /^(__)?ubsan_\w+$/,
  /^__ubsan_handle_\w+$/,
  /^(__)?lock_(acquire|release|acquired|contended)\w*$/,
  /^(__)?lockdep_\w+$/,
  /^(print_circular_bug|print_deadlock_bug|print_usage_bug|print_bad_irq_dependency|check_noncircular|check_prev_add|check_prevs_add|validate_chain|mark_lock|mark_usage)$/,
  /^(refcount_warn_saturate|refcount_error_report|__refcount_\w+|refcount_(sub|dec|inc|add)\w*)$/,
  /^(_printk|printk|vprintk\w*|_printk_deferred)$/,
  /^(__)?(memcpy|memset|memmove|memcmp|strlen|strnlen|strcmp|strncmp|strcpy|strncpy|strscpy|strlcpy|memchr)(_\w+)?$/,
  /^(copy_user_\w+|_copy_to_user|_copy_from_user|copy_to_user|copy_from_user|rep_movs_alternative|__copy_user_\w+)$/,
  /^(_raw_spin_lock|_raw_spin_lock_irq|_raw_spin_lock_irqsave|_raw_spin_lock_bh|_raw_spin_unlock|_raw_spin_unlock_irq|_raw_spin_unlock_irqrestore|_raw_spin_unlock_bh|_raw_read_lock|_raw_write_lock)$/,
  /^(native_)?queued_spin_lock_slowpath$/,
  // Locking primitives: the bug is in whoever took the lock (syzbot skips these too).
  /^(__)?mutex_(lock|unlock|trylock)\w*$/,
  /^__mutex_lock_\w+$/,
  /^(__)?(down|up)_(read|write)\w*$/,
  /^_raw_(spin|read|write)_\w+$/,
  /^(do_raw_spin_lock|do_raw_spin_unlock|spin_bug|spin_dump)$/,
  /^(check_preemption_disabled|debug_smp_processor_id|__this_cpu_preempt_check)$/,
  /^(bug_handler|__bug|BUG)$/,
  /^__\w+_cold$/,
  // Entry and thread-start frames at the bottom of every stack, and the padding symbols of
  // -fpatchable-function-entry (`__pfx_foo`) that unwinders print with `?`.
  /^(kthread|ret_from_fork\w*|el0t_64_sync(_handler)?|el0_svc(_common)?|do_el0_svc|invoke_syscall|entry_SYSCALL\w*|do_syscall_64|x64_sys_call|syscall_exit_to_user_mode\w*|start_kernel|secondary_startup_64\w*|cpu_startup_entry|do_idle|srso_\w*return_thunk|__x86_return_thunk)$/,
  /^__pfx_/,
];

export function isGeneric(name: string): boolean {
  const n = stripSuffix(name);
  return GENERIC.some((re) => re.test(n));
}

/**
 * Frames a hung task sits in while it waits (kernel/hung_task.c prints the waiter's stack):
 * the scheduler and the sleeping primitives. syzbot skips these to name what the task waited in.
 */
const WAITING = /^(__)?(schedule|schedule_\w+|io_schedule\w*|context_switch|__switch_to\w*|preempt_schedule\w*|wait_for_completion\w*|wait_for_common\w*|do_wait_for_common|__wait_for_common|(__)?mutex_lock\w*|mutex_lock_nested|rwsem_down_\w+|(__)?down_(read|write)\w*|down|down_\w+|rt_mutex_\w+|rt_spin_lock\w*|bit_wait\w*|out_of_line_wait_on_bit\w*|__wait_on_bit\w*|wait_on_page_bit\w*|folio_wait_\w+|__folio_lock\w*|__lock_page\w*|wait_on_bit\w*|wait_woken|prepare_to_wait\w*|finish_wait|percpu_down_\w+|percpu_rwsem_wait|synchronize_rcu\w*|__synchronize_srcu|synchronize_srcu\w*|wait_rcu_gp|__wait_rcu_gp|flush_work|__flush_work|kthread_stop|msleep|schedule_hrtimeout\w*|do_nanosleep|hrtimer_nanosleep|futex_wait\w*)$/;

export function isWaiting(name: string): boolean {
  return WAITING.test(stripSuffix(name));
}

/** The function and module of a `func+0x12/0x34 [mod]` text anywhere in a line (RIP lines, WARNING lines, KASAN lines). */
export function frameIn(text: string): { function: string; module?: string } | null {
  const m = /([A-Za-z_][\w.$]*)\+0x[0-9a-f]+\/0x[0-9a-f]+(?:\s+\[([^\]\s]+)[^\]]*\])?/.exec(text);
  if (!m) return null;
  return m[2] !== undefined ? { function: m[1]!, module: m[2] } : { function: m[1]! };
}
