/**
 * The sandbox's seccomp filter: a deny list of the system calls an attendee
 * has no use for and that have been a steady source of kernel exploits, as a
 * classic BPF program that bwrap loads with `--seccomp FD`.
 *
 * bwrap(1): "--seccomp FD: Load and use seccomp rules from FD. The rules
 * need to be in the form of a compiled cBPF program". That is an array of
 * `struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }` in host
 * byte order (8 bytes each), which the kernel runs over `struct
 * seccomp_data` at every system call
 * (Documentation/userspace-api/seccomp_filter.rst, "Filter"/"Return values").
 *
 * Invariants of the program built here:
 * - The architecture is checked first: system call numbers only mean
 *   something for one calling convention, and a 32-bit call on a 64-bit
 *   kernel (int 0x80 on x86-64, AArch32 on arm64) reports another `arch`
 *   (seccomp_filter.rst, "Caveats"). Another arch kills the process.
 * - On x86-64 the x32 ABI shares AUDIT_ARCH_X86_64 and is told apart only by
 *   bit 30 of the number (__X32_SYSCALL_BIT), so every number >= 0x40000000
 *   is refused before the table is consulted.
 * - ioctl is filtered on the low 32 bits of its second argument: the kernel
 *   takes the command as an `unsigned int`, so comparing 64 bits would let
 *   `TIOCSTI | 1 << 32` through.
 * - A refused call fails with EPERM (SECCOMP_RET_ERRNO), which programs
 *   treat as "not allowed here" rather than crashing.
 */
import os from 'node:os';

import { BwrapDriverError } from './errors.js';

/** One cBPF instruction (linux/filter.h `struct sock_filter`). */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Opcodes (linux/bpf_common.h): class | size | mode, class | op | src.
export const BPF = {
  LD_W_ABS: 0x00 | 0x00 | 0x20, // BPF_LD | BPF_W | BPF_ABS
  JMP_JEQ_K: 0x05 | 0x10 | 0x00, // BPF_JMP | BPF_JEQ | BPF_K
  JMP_JGE_K: 0x05 | 0x30 | 0x00, // BPF_JMP | BPF_JGE | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

// linux/seccomp.h return values.
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  ERRNO: 0x00050000,
  ALLOW: 0x7fff0000,
} as const;

/** Offsets in `struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }`. */
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  /** Low 32 bits of args[i] on a little-endian machine. */
  argLow: (index: number) => 16 + 8 * index,
} as const;

const EPERM = 1;
const X32_SYSCALL_BIT = 0x40000000;

// linux/audit.h: EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  AARCH64: 0xc00000b7,
} as const;

// asm-generic/ioctls.h (the same numbers on x86-64 and arm64).
export const TIOCSTI = 0x5412; // push a byte into the terminal's input queue
export const TIOCLINUX = 0x541c; // console tricks, including selection paste into input

export type SeccompArch = 'x64' | 'arm64';

export interface SyscallTable {
  readonly auditArch: number;
  /** Whether numbers with __X32_SYSCALL_BIT must be refused (x86-64 only). */
  readonly hasX32: boolean;
  readonly ioctl: number;
  readonly denied: Readonly<Record<string, number>>;
}

/**
 * System call numbers from the kernel's tables: arch/x86/entry/syscalls/
 * syscall_64.tbl for x86-64, include/uapi/asm-generic/unistd.h for arm64.
 * The io_uring calls have the same numbers everywhere (added after the
 * tables were unified).
 */
export const SYSCALL_TABLES: Readonly<Record<SeccompArch, SyscallTable>> = {
  x64: {
    auditArch: AUDIT_ARCH.X86_64,
    hasX32: true,
    ioctl: 16,
    denied: {
      add_key: 248,
      request_key: 249,
      keyctl: 250,
      perf_event_open: 298,
      bpf: 321,
      userfaultfd: 323,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
    },
  },
  arm64: {
    auditArch: AUDIT_ARCH.AARCH64,
    hasX32: false,
    ioctl: 29,
    denied: {
      add_key: 217,
      request_key: 218,
      keyctl: 219,
      perf_event_open: 241,
      bpf: 280,
      userfaultfd: 282,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
    },
  },
};

/** ioctl commands refused whatever the file: both inject input into a terminal. */
export const DENIED_IOCTLS: readonly number[] = [TIOCSTI, TIOCLINUX];

type Target = string | undefined;

/**
 * A tiny assembler: conditional jumps name labels, resolved to the forward
 * offsets cBPF wants (the kernel rejects backward jumps and offsets over 255).
 */
class Program {
  private readonly items: Array<
    { kind: 'insn'; code: number; k: number; jt?: Target; jf?: Target } | { kind: 'label'; name: string }
  > = [];

  load(offset: number): this {
    this.items.push({ kind: 'insn', code: BPF.LD_W_ABS, k: offset });
    return this;
  }

  /** if (A op k) goto whenTrue else goto whenFalse; an undefined target falls through. */
  jump(code: number, k: number, whenTrue: Target, whenFalse: Target): this {
    this.items.push({ kind: 'insn', code, k, jt: whenTrue, jf: whenFalse });
    return this;
  }

  ret(value: number): this {
    this.items.push({ kind: 'insn', code: BPF.RET_K, k: value });
    return this;
  }

  label(name: string): this {
    this.items.push({ kind: 'label', name });
    return this;
  }

  assemble(): SockFilter[] {
    const positions = new Map<string, number>();
    let count = 0;
    for (const item of this.items) {
      if (item.kind === 'label') positions.set(item.name, count);
      else count += 1;
    }
    const out: SockFilter[] = [];
    for (const item of this.items) {
      if (item.kind === 'label') continue;
      const here = out.length;
      const offset = (target: Target): number => {
        if (target === undefined) return 0;
        const at = positions.get(target);
        if (at === undefined) throw new Error(`seccomp: unknown label ${target}`);
        const distance = at - here - 1;
        if (distance < 0 || distance > 255) throw new Error(`seccomp: jump to ${target} out of range`);
        return distance;
      };
      out.push({ code: item.code, jt: offset(item.jt), jf: offset(item.jf), k: item.k >>> 0 });
    }
    return out;
  }
}

/** The deny-list filter for one architecture. */
export function buildDenyFilter(arch: SeccompArch): SockFilter[] {
  const table = SYSCALL_TABLES[arch];
  const program = new Program()
    .load(SECCOMP_DATA.arch)
    .jump(BPF.JMP_JEQ_K, table.auditArch, undefined, 'kill')
    .load(SECCOMP_DATA.nr);
  if (table.hasX32) program.jump(BPF.JMP_JGE_K, X32_SYSCALL_BIT, 'deny', undefined);
  for (const nr of Object.values(table.denied)) program.jump(BPF.JMP_JEQ_K, nr, 'deny', undefined);
  program.jump(BPF.JMP_JEQ_K, table.ioctl, undefined, 'allow');
  program.load(SECCOMP_DATA.argLow(1));
  for (const command of DENIED_IOCTLS) program.jump(BPF.JMP_JEQ_K, command, 'deny', undefined);
  return program
    .label('allow')
    .ret(SECCOMP_RET.ALLOW)
    .label('deny')
    .ret(SECCOMP_RET.ERRNO | EPERM)
    .label('kill')
    .ret(SECCOMP_RET.KILL_PROCESS)
    .assemble();
}

/** The bytes bwrap reads from its --seccomp fd: each instruction in host byte order. */
export function encodeFilter(
  program: readonly SockFilter[],
  endianness: 'LE' | 'BE' = os.endianness(),
): Buffer {
  const buffer = Buffer.alloc(program.length * 8);
  program.forEach((insn, index) => {
    const at = index * 8;
    if (endianness === 'LE') {
      buffer.writeUInt16LE(insn.code, at);
      buffer.writeUInt32LE(insn.k >>> 0, at + 4);
    } else {
      buffer.writeUInt16BE(insn.code, at);
      buffer.writeUInt32BE(insn.k >>> 0, at + 4);
    }
    buffer.writeUInt8(insn.jt, at + 2);
    buffer.writeUInt8(insn.jf, at + 3);
  });
  return buffer;
}

/** The filter's architecture for this Node's CPU; other CPUs are refused with a clear error. */
export function seccompArchForHost(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x64';
  if (nodeArch === 'arm64') return 'arm64';
  throw new BwrapDriverError(
    'UNSUPPORTED_ARCH',
    `the bwrap sandbox has a seccomp filter for x86-64 and arm64 only, not ${nodeArch}`,
    { suggestion: 'Run the lab server on an x86-64 or arm64 Linux machine.' },
  );
}
