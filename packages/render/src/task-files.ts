import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory } from './layout.js';

// crash's `files` (filesys.c: cmd_files): the task line, ROOT and CWD, then a
// line per open descriptor (FD, struct file, dentry, inode, TYPE, PATH), or
// "No open files".

const hx = (v: unknown) => hexDigits(parseHex(v) ?? 0n, 16);

function files(r: AnyRecord): string[] {
  const lines = [
    `PID: ${String(r.pid).padEnd(9)}TASK: ${hx(r.task)}  CPU: ${String(r.cpu).padEnd(5)}COMMAND: "${String(r.comm)}"`,
    `ROOT: ${String(r.root)}    CWD: ${String(r.cwd)}`,
  ];
  const list = Array.isArray(r.files) ? (r.files as Record<string, unknown>[]) : [];
  if (list.length === 0) return [...lines, 'No open files'];
  lines.push(' FD       FILE            DENTRY           INODE       TYPE PATH');
  for (const f of list) lines.push(`${String(f.fd).padStart(3)} ${hx(f.file)} ${hx(f.dentry)} ${hx(f.inode)} ${String(f.type).padEnd(4)} ${String(f.path)}`);
  return lines;
}

export const taskFilesLayout: LayoutFactory = () => stateless(true, files);
