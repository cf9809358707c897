/**
 * A task's open files, as crash `files` shows them (include/linux/fdtable.h,
 * fs/d_path.c, fs/mount.h):
 *  - `task->files->fdt` is the `struct fdtable` in use: `fd[0 .. max_fds)` are
 *    `struct file *`, NULL for a closed descriptor;
 *  - a file's path is `f_path { mnt, dentry }`; d_path() climbs `dentry->d_parent`
 *    to the mount's root, then crosses to the parent mount (`struct mount`, which
 *    holds the vfsmount as `mnt`) at `mnt_mountpoint`, up to the root mount;
 *  - a dentry's name is `d_name` (a qstr: `name` pointer, `len` in `hash_len`'s
 *    high half on 64-bit);
 *  - the file's type from its inode's `i_mode` (S_IFMT bits, include/uapi/linux/stat.h).
 */
import { StructLayout } from './struct-view.js';
import type { Program } from './program.js';

export interface OpenFile {
  fd: number;
  file: bigint;
  dentry: bigint;
  inode: bigint;
  /** crash's TYPE: REG, DIR, CHR, BLK, FIFO, SOCK, LNK, or '?' */
  type: string;
  path: string;
}

export interface TaskFiles {
  root: string;
  cwd: string;
  files: OpenFile[];
  notes: string[];
}

const MAX_FDS = 1 << 20;
const MAX_DEPTH = 256;

function fileType(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'REG';
    case 0o040000:
      return 'DIR';
    case 0o020000:
      return 'CHR';
    case 0o060000:
      return 'BLK';
    case 0o010000:
      return 'FIFO';
    case 0o140000:
      return 'SOCK';
    case 0o120000:
      return 'LNK';
    default:
      return '?';
  }
}

interface Layouts {
  dentry: StructLayout;
  mount: StructLayout;
  file: StructLayout;
  inode: StructLayout;
}

/** d_path(): the path of (vfsmount, dentry), crossing mounts up to the root mount. */
export function d_path(prog: Program, vfsmount: bigint, dentry: bigint, l?: Layouts): string {
  const L = l ?? layouts(prog);
  const mntOff = BigInt(L.mount.offset('mnt'));
  let mount = vfsmount - mntOff;
  let d = dentry;
  const parts: string[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const mntRoot = prog.mem.readU64(mount + mntOff + BigInt(StructLayout.of(prog, 'vfsmount').offset('mnt_root')));
    if (d === mntRoot) {
      const parent = prog.mem.readU64(mount + BigInt(L.mount.offset('mnt_parent')));
      if (parent === mount || parent === 0n) break; // the root mount
      d = prog.mem.readU64(mount + BigInt(L.mount.offset('mnt_mountpoint')));
      mount = parent;
      continue;
    }
    const parent = prog.mem.readU64(d + BigInt(L.dentry.offset('d_parent')));
    const nameAt = prog.mem.readU64(d + BigInt(L.dentry.offset('d_name.name')));
    const len = Number(prog.mem.readU64(d + BigInt(L.dentry.offset('d_name.hash_len'))) >> 32n);
    parts.push(Buffer.from(prog.mem.readBytes(nameAt, Math.min(len, 255))).toString('latin1'));
    if (parent === d) break; // a dentry that is its own parent: the root of a filesystem not mounted here
    d = parent;
  }
  return '/' + parts.reverse().join('/');
}

function layouts(prog: Program): Layouts {
  return { dentry: StructLayout.of(prog, 'dentry'), mount: StructLayout.of(prog, 'mount'), file: StructLayout.of(prog, 'file'), inode: StructLayout.of(prog, 'inode') };
}

/** The open files of the task at `task`, with its root and working directory. */
export function task_files(prog: Program, task: bigint): TaskFiles {
  const L = layouts(prog);
  const ts = StructLayout.of(prog, 'task_struct');
  const notes: string[] = [];
  const out: TaskFiles = { root: '', cwd: '', files: [], notes };
  const fsStruct = prog.mem.readU64(task + BigInt(ts.offset('fs')));
  if (fsStruct !== 0n) {
    const fs = StructLayout.of(prog, 'fs_struct').read(prog, fsStruct);
    try {
      out.root = d_path(prog, fs.int('root.mnt'), fs.int('root.dentry'), L);
      out.cwd = d_path(prog, fs.int('pwd.mnt'), fs.int('pwd.dentry'), L);
    } catch (err) {
      notes.push(`root/cwd: ${(err as Error).message}`);
    }
  }
  const filesStruct = prog.mem.readU64(task + BigInt(ts.offset('files')));
  if (filesStruct === 0n) return out;
  const fdt = prog.mem.readU64(filesStruct + BigInt(StructLayout.of(prog, 'files_struct').offset('fdt')));
  const fdtable = StructLayout.of(prog, 'fdtable').read(prog, fdt);
  const max = Math.min(fdtable.num('max_fds'), MAX_FDS);
  const fds = prog.mem.readBytes(fdtable.int('fd'), max * 8);
  const view = new DataView(fds.buffer, fds.byteOffset, fds.byteLength);
  for (let fd = 0; fd < max; fd++) {
    const file = view.getBigUint64(fd * 8, true);
    if (file === 0n) continue;
    try {
      const f = L.file.read(prog, file);
      const dentry = f.int('f_path.dentry');
      const inode = f.int('f_inode');
      const mode = inode !== 0n ? prog.mem.readU16(inode + BigInt(L.inode.offset('i_mode'))) : 0;
      out.files.push({ fd, file, dentry, inode, type: fileType(mode), path: d_path(prog, f.int('f_path.mnt'), dentry, L) });
    } catch (err) {
      notes.push(`fd ${fd}: ${(err as Error).message}`);
    }
  }
  return out;
}
