import { describe, expect, it } from 'vitest';

import { BwrapDriverError } from './errors.js';
import type { SeccompArch, SockFilter } from './seccomp.js';
import {
  AUDIT_ARCH,
  BPF,
  SECCOMP_RET,
  SYSCALL_TABLES,
  TIOCLINUX,
  TIOCSTI,
  buildDenyFilter,
  encodeFilter,
  seccompArchForHost,
} from './seccomp.js';

/** A minimal cBPF interpreter for the instructions the filter uses, over a seccomp_data. */
function run(program: readonly SockFilter[], data: { nr: number; arch: number; args?: bigint[] }): number {
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return data.arch >>> 0;
    if (offset >= 16 && offset < 64 && (offset - 16) % 4 === 0) {
      const arg = data.args?.[Math.floor((offset - 16) / 8)] ?? 0n;
      // Little-endian: the first word of an argument is its low half.
      return Number((offset - 16) % 8 === 0 ? arg & 0xffffffffn : arg >> 32n);
    }
    throw new Error(`load from unexpected offset ${offset}`);
  };
  let accumulator = 0;
  for (let pc = 0; pc < program.length;) {
    const insn = program[pc] as SockFilter;
    switch (insn.code) {
      case BPF.LD_W_ABS:
        accumulator = word(insn.k);
        pc += 1;
        break;
      case BPF.JMP_JEQ_K:
        pc += 1 + (accumulator === insn.k ? insn.jt : insn.jf);
        break;
      case BPF.JMP_JGE_K:
        pc += 1 + (accumulator >= insn.k ? insn.jt : insn.jf);
        break;
      case BPF.RET_K:
        return insn.k;
      default:
        throw new Error(`unexpected opcode ${insn.code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const EPERM = SECCOMP_RET.ERRNO | 1;

describe('encodeFilter', () => {
  it('lays out struct sock_filter as u16 code, u8 jt, u8 jf, u32 k in host order', () => {
    const program: SockFilter[] = [
      { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: 4 },
      { code: BPF.JMP_JEQ_K, jt: 1, jf: 2, k: AUDIT_ARCH.X86_64 },
      { code: BPF.RET_K, jt: 0, jf: 0, k: SECCOMP_RET.ALLOW },
    ];
    expect(encodeFilter(program, 'LE').toString('hex')).toBe(
      ['2000000004000000', '150001023e0000c0', '060000000000ff7f'].join(''),
    );
    expect(encodeFilter(program, 'BE').toString('hex')).toBe(
      ['0020000000000004', '00150102c000003e', '000600007fff0000'].join(''),
    );
  });
});

describe('buildDenyFilter', () => {
  const cases: Array<[SeccompArch, number, number]> = [
    ['x64', AUDIT_ARCH.X86_64, 16],
    ['arm64', AUDIT_ARCH.AARCH64, 29],
  ];
  for (const [arch, auditArch, ioctl] of cases) {
    describe(arch, () => {
      const program = buildDenyFilter(arch);
      const table = SYSCALL_TABLES[arch];

      it('starts by checking the architecture and kills on any other', () => {
        expect(program[0]).toEqual({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: 4 });
        expect(run(program, { nr: 0, arch: 0x40000003 /* AUDIT_ARCH_I386 */ })).toBe(
          SECCOMP_RET.KILL_PROCESS,
        );
        expect(run(program, { nr: 0, arch: 0x40000028 /* AUDIT_ARCH_ARM */ })).toBe(SECCOMP_RET.KILL_PROCESS);
      });

      it('refuses every listed system call with EPERM', () => {
        expect(Object.keys(table.denied).sort()).toEqual(
          [
            'add_key',
            'bpf',
            'io_uring_enter',
            'io_uring_register',
            'io_uring_setup',
            'keyctl',
            'perf_event_open',
            'request_key',
            'userfaultfd',
          ].sort(),
        );
        for (const nr of Object.values(table.denied))
          expect(run(program, { nr, arch: auditArch })).toBe(EPERM);
      });

      it('allows everything else, including ordinary ioctls', () => {
        for (const nr of [0, 1, 2, 3, 39, 56, 57, 59, 60, 61, 231, 435]) {
          if (Object.values(table.denied).includes(nr) || nr === ioctl) continue;
          expect(run(program, { nr, arch: auditArch })).toBe(SECCOMP_RET.ALLOW);
        }
        const TIOCGWINSZ = 0x5413n;
        expect(run(program, { nr: ioctl, arch: auditArch, args: [0n, TIOCGWINSZ] })).toBe(SECCOMP_RET.ALLOW);
      });

      it('refuses TIOCSTI and TIOCLINUX on their low 32 bits, whatever the high bits say', () => {
        for (const command of [TIOCSTI, TIOCLINUX]) {
          expect(run(program, { nr: ioctl, arch: auditArch, args: [0n, BigInt(command)] })).toBe(EPERM);
          expect(
            run(program, { nr: ioctl, arch: auditArch, args: [0n, (1n << 32n) | BigInt(command)] }),
          ).toBe(EPERM);
        }
      });
    });
  }

  it('refuses x32 system calls on x86-64 (nr with __X32_SYSCALL_BIT)', () => {
    const program = buildDenyFilter('x64');
    expect(run(program, { nr: 0x40000000 | 39, arch: AUDIT_ARCH.X86_64 })).toBe(EPERM);
    expect(run(program, { nr: 0x40000000 | 16, arch: AUDIT_ARCH.X86_64, args: [0n, 0x5413n] })).toBe(EPERM);
    // arm64 has no x32: a large number there is just an unknown call for the kernel to refuse.
    expect(run(buildDenyFilter('arm64'), { nr: 0x40000000 | 39, arch: AUDIT_ARCH.AARCH64 })).toBe(
      SECCOMP_RET.ALLOW,
    );
  });

  it('is short enough for every jump to fit in a u8', () => {
    const program = buildDenyFilter('x64');
    expect(program.length).toBeLessThan(40);
    for (const insn of program) {
      expect(insn.jt).toBeLessThanOrEqual(255);
      expect(insn.jf).toBeLessThanOrEqual(255);
    }
  });
});

describe('seccompArchForHost', () => {
  it('refuses CPUs without a filter, saying which', () => {
    expect(seccompArchForHost('x64')).toBe('x64');
    expect(seccompArchForHost('arm64')).toBe('arm64');
    expect(() => seccompArchForHost('riscv64')).toThrow(BwrapDriverError);
    expect(() => seccompArchForHost('riscv64')).toThrow(/riscv64/);
  });
});
