//! Register calls: on x86-64 System V and AArch64, a signature of scalar arguments
//! that all fit in argument registers (integers and pointers in the integer bank,
//! `float`/`double` in the vector bank) and a scalar or `void` result can skip libffi:
//! [`RegisterCall`] loads every argument register and calls the function directly.
//! Loading registers the callee does not read is harmless for a non-variadic callee, so
//! one call sequence per result class serves every such signature: no JIT, no table of
//! argument counts. On x86-64 the sequence also sets `%al` to the number of vector
//! registers used, as libffi does, so that functions which are variadic in C but called
//! with full `argtypes` (the ctypes idiom for `printf`) still get their floating-point
//! arguments. Everything else (structures by value, `long double`, more arguments,
//! declared variadics, other targets) goes through libffi.
//!
//! A [`RegisterCall`] is prepared once per signature, like a [`crate::call::CallInterface`],
//! and the caller fills a [`Registers`] image per call.

use core::ffi::c_void;

use crate::call::ArgSlot;
use crate::ffi_type::FfiType;
use crate::typecode::{TypeCode, ValueKind};

/// Whether [`RegisterCall`] is available on this target.
pub const REGISTER_CALLS: bool = cfg!(all(
    any(
        all(target_arch = "x86_64", not(windows)),
        target_arch = "aarch64"
    ),
    target_endian = "little"
));

/// Integer argument registers of the C calling convention (x86-64 System V: rdi, rsi,
/// rdx, rcx, r8, r9; AArch64: x0-x7).
pub const INT_REGS: usize = if cfg!(target_arch = "aarch64") { 8 } else { 6 };

/// Floating-point argument registers (xmm0-xmm7, v0-v7).
pub const FLOAT_REGS: usize = 8;

/// The argument registers of a [`RegisterCall`]: 64-bit integer registers and the bit
/// patterns of the low 64 bits of the vector registers.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Registers {
    /// Integer registers, each holding its argument widened to 64 bits.
    pub int: [u64; INT_REGS],
    /// Vector registers: a `double`'s bits, or a `float`'s bits in the low 32.
    pub float: [u64; FLOAT_REGS],
}

/// Where one argument of a [`RegisterCall`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegArg {
    /// An integer register; `code` says how the value is widened.
    Int {
        /// The register's position in the integer bank.
        index: u8,
        /// The argument's C type.
        code: TypeCode,
    },
    /// A vector register.
    Float {
        /// The register's position in the vector bank.
        index: u8,
        /// `double` (else `float`).
        double: bool,
    },
    /// A structure or union of at most 16 bytes passed in registers (x86-64 System V):
    /// each of its `n` eightbytes goes to the register named in `parts`.
    Struct {
        /// The structure's size in bytes.
        size: u8,
        /// The number of eightbytes (1 or 2).
        n: u8,
        /// Per eightbyte: the bank (`true` for vector) and the register's position.
        parts: [(bool, u8); 2],
    },
}

/// Which registers hold a [`RegisterCall`]'s result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegReturn {
    Int,
    Float,
    /// A structure of `size` bytes returned in registers: per eightbyte, whether it
    /// comes from the vector bank (else the integer bank), in order.
    Struct {
        size: u8,
        n: u8,
        sse: [bool; 2],
    },
}

/// The result registers after a [`RegisterCall`]: rax/rdx and the low 64 bits of
/// xmm0/xmm1 (x0 and d0 on AArch64).
#[derive(Clone, Copy, Debug, Default)]
pub struct RegResult {
    int: [u64; 2],
    float: [u64; 2],
}

/// A scalar signature called without libffi (see the module docs).
#[derive(Clone, Debug)]
pub struct RegisterCall {
    args: Box<[RegArg]>,
    nfloat: u8,
    ret: RegReturn,
}

/// The bank a scalar type is passed in, if it can go through a [`RegisterCall`].
fn reg_bank(code: TypeCode) -> Option<bool> {
    match code {
        TypeCode::Float | TypeCode::Double => Some(true),
        TypeCode::LongDouble | TypeCode::Half => None,
        // A complex argument or result: libffi's path (a structure of two of its
        // component inside an aggregate is classified by the leaves, which split it).
        c if c.is_complex() => None,
        _ => Some(false),
    }
}

/// The x86-64 System V classes of an aggregate's eightbytes (`true` for SSE) when it is
/// passed and returned in registers: at most 16 bytes, every scalar naturally aligned
/// within one eightbyte, no `long double`. An eightbyte is SSE when all the scalars in
/// it are `float`/`double`, INTEGER otherwise.
fn sysv_eightbytes(t: &FfiType) -> Option<(u8, u8, [bool; 2])> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let size = t.size();
    if size == 0 || size > 16 {
        return None;
    }
    // At most 16 bytes, so at most 16 leaves (never a walk over a long array).
    let mut leaves = Vec::new();
    if !t.leaves(&mut leaves) {
        return None;
    }
    let n = size.div_ceil(8);
    let mut sse = [true; 2];
    let mut seen = [false; 2];
    for (off, code) in leaves {
        if matches!(code, TypeCode::LongDouble | TypeCode::Half)
            || off % code.align() != 0
            || off / 8 != (off + code.size() - 1) / 8
            || off + code.size() > size
        {
            return None;
        }
        seen[off / 8] = true;
        sse[off / 8] &= matches!(code, TypeCode::Float | TypeCode::Double);
    }
    if seen[..n].contains(&false) {
        return None;
    }
    Some((size as u8, n as u8, sse))
}

impl RegisterCall {
    /// The register plan for a signature, or `None` when it needs libffi: `long double`,
    /// `_Float16`, an aggregate that does not travel in registers (or any aggregate on
    /// AArch64), or more arguments of one bank than it has registers. Variadic functions
    /// must not use it on targets that pass variadic arguments differently (callers use
    /// it only for non-variadic calls).
    pub fn try_new(ret: &FfiType, args: &[FfiType]) -> Option<RegisterCall> {
        if !REGISTER_CALLS {
            return None;
        }
        let ret = match ret {
            FfiType::Void => RegReturn::Int,
            FfiType::Scalar(c) => {
                if reg_bank(*c)? {
                    RegReturn::Float
                } else {
                    RegReturn::Int
                }
            }
            FfiType::Struct(_) => {
                let (size, n, sse) = sysv_eightbytes(ret)?;
                RegReturn::Struct { size, n, sse }
            }
        };
        let (mut ni, mut nf) = (0u8, 0u8);
        let mut take = |float: bool| -> Option<u8> {
            let (next, max) = if float {
                (&mut nf, FLOAT_REGS)
            } else {
                (&mut ni, INT_REGS)
            };
            if usize::from(*next) == max {
                return None;
            }
            *next += 1;
            Some(*next - 1)
        };
        let mut plan = Vec::with_capacity(args.len());
        for a in args {
            plan.push(match a {
                FfiType::Void => return None,
                FfiType::Scalar(code) => {
                    if reg_bank(*code)? {
                        RegArg::Float {
                            index: take(true)?,
                            double: *code == TypeCode::Double,
                        }
                    } else {
                        RegArg::Int {
                            index: take(false)?,
                            code: *code,
                        }
                    }
                }
                FfiType::Struct(_) => {
                    // The ABI passes the whole aggregate in memory when its eightbytes do
                    // not all fit in the registers left; libffi handles that case.
                    let (size, n, sse) = sysv_eightbytes(a)?;
                    let mut parts = [(false, 0u8); 2];
                    for (i, part) in parts.iter_mut().enumerate().take(usize::from(n)) {
                        *part = (sse[i], take(sse[i])?);
                    }
                    RegArg::Struct { size, n, parts }
                }
            });
        }
        Some(RegisterCall {
            args: plan.into(),
            nfloat: nf,
            ret,
        })
    }

    /// Where each argument goes.
    pub fn args(&self) -> &[RegArg] {
        &self.args
    }

    /// Calls `fun` with the arguments in `regs`; read the result with
    /// [`RegisterCall::scalar`] or [`RegisterCall::write_result`].
    ///
    /// # Safety
    /// `fun` must be a function whose C signature is the one this plan was made from,
    /// and every argument register must hold a valid value of its type (pointers valid
    /// for whatever the function does with them).
    #[inline]
    pub unsafe fn call(&self, fun: *const c_void, regs: &Registers) -> RegResult {
        // SAFETY: the caller's contract.
        unsafe { raw_register_call(fun, regs, self.nfloat, self.ret == RegReturn::Float) }
    }

    /// A scalar result's register: the integer register, or the bits of the vector
    /// register for a `float`/`double` result (a `float` in the low 32 bits). Integer
    /// results narrower than 64 bits are in the low bytes; the bits above them are
    /// unspecified.
    #[inline]
    pub fn scalar(&self, r: &RegResult) -> u64 {
        if self.ret == RegReturn::Float {
            r.float[0]
        } else {
            r.int[0]
        }
    }

    /// Writes the result's bytes to `out` as they would lie in memory: a scalar's
    /// register in native order (8 bytes), or an aggregate's eightbytes (its size).
    pub fn write_result(&self, r: &RegResult, out: &mut [u8; 16]) {
        match self.ret {
            RegReturn::Struct { size, n, sse } => {
                let (mut i, mut f) = (0, 0);
                let mut bytes = [0u8; 16];
                for (k, is_sse) in sse.iter().enumerate().take(usize::from(n)) {
                    let v = if *is_sse {
                        f += 1;
                        r.float[f - 1]
                    } else {
                        i += 1;
                        r.int[i - 1]
                    };
                    bytes[k * 8..k * 8 + 8].copy_from_slice(&v.to_ne_bytes());
                }
                out[..usize::from(size)].copy_from_slice(&bytes[..usize::from(size)]);
            }
            _ => out[..8].copy_from_slice(&self.scalar(r).to_ne_bytes()),
        }
    }
}

impl Registers {
    /// Stores integer bits for an argument of type `code`: truncated to the type's width,
    /// then sign- or zero-extended to 64 bits as the C ABI (and libffi) extend narrow
    /// arguments.
    #[inline]
    pub fn set_int(&mut self, index: u8, code: TypeCode, bits: u64) {
        // ctypes passes `char` as a signed char (see `TypeCode::ffi_type`).
        let signed = code == TypeCode::Char || code.kind() == ValueKind::Signed;
        self.int[usize::from(index)] = crate::memory::widen(bits, code.size(), signed);
    }

    /// Stores a scalar argument from an [`ArgSlot`] written for its type (a structure
    /// argument takes [`Registers::set_struct`]).
    #[inline]
    pub fn set_from_slot(&mut self, arg: RegArg, slot: &ArgSlot) {
        // SAFETY: an ArgSlot is plain initialised bytes; the value sits at offset 0 in
        // native (little-endian) order, so the low bits of `u64` are the value.
        let bits = unsafe { slot.u64 };
        match arg {
            RegArg::Int { index, code } => self.set_int(index, code, bits),
            RegArg::Float { index, double } => {
                self.float[usize::from(index)] = if double { bits } else { bits & 0xFFFF_FFFF };
            }
            RegArg::Struct { .. } => {}
        }
    }

    /// Stores a structure argument from its memory.
    ///
    /// # Safety
    /// `arg` must be a [`RegArg::Struct`] (other kinds are ignored) and `mem` valid for
    /// reads of its `size` bytes.
    #[inline]
    pub unsafe fn set_struct(&mut self, arg: RegArg, mem: *const u8) {
        let RegArg::Struct { size, n, parts } = arg else {
            return;
        };
        let size = usize::from(size);
        for (k, (sse, index)) in parts.iter().enumerate().take(usize::from(n)) {
            let len = (size - k * 8).min(8);
            let v = if len == 8 {
                // SAFETY: the caller guarantees `size` readable bytes; this whole
                // eightbyte lies within them.
                unsafe { mem.add(k * 8).cast::<u64>().read_unaligned() }
            } else {
                let mut word = [0u8; 8];
                // SAFETY: as above, for the `len` bytes of a trailing part.
                unsafe { std::ptr::copy_nonoverlapping(mem.add(k * 8), word.as_mut_ptr(), len) };
                u64::from_ne_bytes(word)
            };
            if *sse {
                self.float[usize::from(*index)] = v;
            } else {
                self.int[usize::from(*index)] = v;
            }
        }
    }
}

/// The x86-64 System V call: six integer registers, eight vector registers, `%al` the
/// number of vector registers in use (read by variadic callees); the result is read
/// from rax, rdx, xmm0 and xmm1.
///
/// # Safety
/// See [`RegisterCall::call`].
#[cfg(all(target_arch = "x86_64", not(windows), target_endian = "little"))]
#[inline]
unsafe fn raw_register_call(
    fun: *const c_void,
    r: &Registers,
    nfloat: u8,
    _float_ret: bool,
) -> RegResult {
    let (rax, rdx): (u64, u64);
    let (xmm0, xmm1): (f64, f64);
    // Every argument register is loaded and `%al` holds the vector register count; the
    // compiler keeps the stack aligned for a call at the start of an asm block without
    // `nostack`.
    // SAFETY: `fun` follows the C calling convention (caller's contract), and
    // `clobber_abi("C")` tells the compiler every caller-saved register may change.
    unsafe {
        core::arch::asm!(
            "call {fun}",
            fun = in(reg) fun,
            in("rdi") r.int[0],
            in("rsi") r.int[1],
            inout("rdx") r.int[2] => rdx,
            in("rcx") r.int[3],
            in("r8") r.int[4],
            in("r9") r.int[5],
            inout("rax") u64::from(nfloat) => rax,
            inout("xmm0") f64::from_bits(r.float[0]) => xmm0,
            inout("xmm1") f64::from_bits(r.float[1]) => xmm1,
            in("xmm2") f64::from_bits(r.float[2]),
            in("xmm3") f64::from_bits(r.float[3]),
            in("xmm4") f64::from_bits(r.float[4]),
            in("xmm5") f64::from_bits(r.float[5]),
            in("xmm6") f64::from_bits(r.float[6]),
            in("xmm7") f64::from_bits(r.float[7]),
            clobber_abi("C"),
        );
    }
    RegResult {
        int: [rax, rdx],
        float: [xmm0.to_bits(), xmm1.to_bits()],
    }
}

/// The AArch64 call: eight integer and eight vector registers, through function pointer
/// types whose parameters are exactly the argument registers (AAPCS64 assigns the
/// banks independently, and variadic arguments on Linux travel like fixed ones).
///
/// # Safety
/// See [`RegisterCall::call`].
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
#[inline]
unsafe fn raw_register_call(
    fun: *const c_void,
    r: &Registers,
    _nfloat: u8,
    float_ret: bool,
) -> RegResult {
    type IntFn = unsafe extern "C" fn(
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
    ) -> u64;
    type FloatFn = unsafe extern "C" fn(
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
        f64,
    ) -> f64;
    let i = &r.int;
    let f = r.float.map(f64::from_bits);
    // Under AAPCS64 a callee reads only the registers of its own parameters. The result
    // register is x0 for integers and pointers, d0 (s0 in its low bits) for floats.
    // SAFETY: `fun` is a C function (caller's contract); a type that loads all argument
    // registers passes its arguments exactly.
    unsafe {
        if float_ret {
            let g: FloatFn = core::mem::transmute(fun);
            let v = g(
                i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], f[0], f[1], f[2], f[3], f[4], f[5],
                f[6], f[7],
            );
            RegResult {
                int: [0; 2],
                float: [v.to_bits(), 0],
            }
        } else {
            let g: IntFn = core::mem::transmute(fun);
            let v = g(
                i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], f[0], f[1], f[2], f[3], f[4], f[5],
                f[6], f[7],
            );
            RegResult {
                int: [v, 0],
                float: [0; 2],
            }
        }
    }
}

/// Targets without register calls ([`RegisterCall::try_new`] returns `None` there).
///
/// # Safety
/// Never called.
#[cfg(not(any(
    all(target_arch = "x86_64", not(windows), target_endian = "little"),
    all(target_arch = "aarch64", target_endian = "little")
)))]
unsafe fn raw_register_call(_: *const c_void, _: &Registers, _: u8, _: bool) -> RegResult {
    unreachable!("register calls are not available on this target")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallInterface, RetBuf};
    use crate::library::Library;

    // Register calls against libffi: the same functions, arguments and result reads
    // through both paths.
    extern "C" fn narrow_ints(a: i8, b: u8, c: i16, d: u16, e: i32, f: u32) -> i64 {
        i64::from(a) * 1_000_000
            + i64::from(b) * 10_000
            + i64::from(c) * 100
            + i64::from(d)
            + i64::from(e)
            + i64::from(f)
    }
    extern "C" fn mixed(a: f32, b: i64, c: f64, d: u8, e: f32, f: *const u8) -> f64 {
        // SAFETY: the tests pass a pointer to at least one byte.
        let byte = unsafe { *f };
        f64::from(a) * 2.0 + b as f64 + c * 3.0 + f64::from(d) + f64::from(e) + f64::from(byte)
    }
    #[allow(clippy::too_many_arguments)]
    extern "C" fn all_registers(
        i0: u64,
        i1: u64,
        i2: u64,
        i3: u64,
        i4: u64,
        i5: u64,
        f0: f64,
        f1: f64,
        f2: f64,
        f3: f64,
        f4: f64,
        f5: f64,
        f6: f64,
        f7: f32,
    ) -> f64 {
        (i0 + 2 * i1 + 3 * i2 + 4 * i3 + 5 * i4 + 6 * i5) as f64
            + f0
            + 2.0 * f1
            + 3.0 * f2
            + 4.0 * f3
            + 5.0 * f4
            + 6.0 * f5
            + 7.0 * f6
            + 8.0 * f64::from(f7)
    }
    extern "C" fn half_of(a: f32) -> f32 {
        a / 2.0
    }
    extern "C" fn neg_byte(a: i8) -> i8 {
        a.wrapping_neg()
    }
    extern "C" fn nothing(_a: i32) {}

    fn both_ways(
        fun: *const c_void,
        ret: TypeCode,
        args: &[(TypeCode, ArgSlot)],
    ) -> (Vec<u8>, Vec<u8>) {
        let types: Vec<FfiType> = args.iter().map(|(c, _)| FfiType::Scalar(*c)).collect();
        let rt = if ret == TypeCode::Int && fun == nothing as *const c_void {
            FfiType::Void
        } else {
            FfiType::Scalar(ret)
        };
        let n = ret.size();
        let ci = CallInterface::try_new(rt.clone(), &types, None).unwrap();
        let mut slots: Vec<ArgSlot> = args.iter().map(|(_, s)| *s).collect();
        let mut argv: Vec<*mut c_void> = slots
            .iter_mut()
            .map(|s| std::ptr::from_mut(s).cast())
            .collect();
        let mut rb = RetBuf::default();
        // SAFETY: each test function has exactly the described signature.
        unsafe { ci.call(fun, argv.as_mut_ptr(), rb.as_mut_ptr()) };
        let via_ffi = rb.0[..n].to_vec();
        let rc = RegisterCall::try_new(&rt, &types).expect("a register signature");
        let mut regs = Registers::default();
        for (a, (_, s)) in rc.args().iter().zip(args) {
            regs.set_from_slot(*a, s);
        }
        // SAFETY: as above.
        let r = unsafe { rc.call(fun, &regs) };
        (via_ffi, rc.scalar(&r).to_ne_bytes()[..n].to_vec())
    }

    #[test]
    fn register_calls_match_libffi() {
        if !REGISTER_CALLS {
            return;
        }
        use TypeCode as T;
        let s = |v: u64| ArgSlot { u64: v };
        let byte = 7u8;
        type Case = (*const c_void, TypeCode, Vec<(TypeCode, ArgSlot)>);
        let cases: Vec<Case> = vec![
            (
                narrow_ints as *const c_void,
                T::LongLong,
                vec![
                    (T::Byte, s(0xF6)), // -10 in the low byte, garbage-free above
                    (T::UByte, s(200)),
                    (T::Short, s(0xFFFF_FFFF_FFFF_FF9C)), // -100
                    (T::UShort, s(65535)),
                    (T::Int, s((-5i32) as u32 as u64)),
                    (T::UInt, s(4_000_000_000)),
                ],
            ),
            (
                mixed as *const c_void,
                T::Double,
                vec![
                    (T::Float, ArgSlot { f32: 1.5 }),
                    (T::LongLong, s((-40i64) as u64)),
                    (T::Double, ArgSlot { f64: 0.25 }),
                    (T::UByte, s(3)),
                    (T::Float, ArgSlot { f32: -2.0 }),
                    (
                        T::VoidP,
                        ArgSlot {
                            ptr: (&raw const byte).cast_mut().cast(),
                        },
                    ),
                ],
            ),
            (
                all_registers as *const c_void,
                T::Double,
                (1..=6)
                    .map(|i| (T::ULongLong, s(i)))
                    .chain((1..=7).map(|i| {
                        (
                            T::Double,
                            ArgSlot {
                                f64: f64::from(i) / 4.0,
                            },
                        )
                    }))
                    .chain([(T::Float, ArgSlot { f32: 0.5 })])
                    .collect(),
            ),
            (
                half_of as *const c_void,
                T::Float,
                vec![(T::Float, ArgSlot { f32: 5.0 })],
            ),
            (neg_byte as *const c_void, T::Byte, vec![(T::Byte, s(0x80))]),
            (nothing as *const c_void, T::Int, vec![(T::Int, s(1))]),
        ];
        for (fun, ret, args) in cases {
            let (a, b) = both_ways(fun, ret, &args);
            if fun != nothing as *const c_void {
                assert_eq!(
                    a,
                    b,
                    "{ret:?} {args:?}",
                    args = args.iter().map(|a| a.0).collect::<Vec<_>>()
                );
            }
        }
        let f = both_ways(
            mixed as *const c_void,
            T::Double,
            &[
                (T::Float, ArgSlot { f32: 1.0 }),
                (T::LongLong, s(1)),
                (T::Double, ArgSlot { f64: 1.0 }),
                (T::UByte, s(1)),
                (T::Float, ArgSlot { f32: 1.0 }),
                (
                    T::VoidP,
                    ArgSlot {
                        ptr: (&raw const byte).cast_mut().cast(),
                    },
                ),
            ],
        );
        assert_eq!(
            f64::from_ne_bytes(f.1.try_into().unwrap()),
            2.0 + 1.0 + 3.0 + 1.0 + 1.0 + 7.0
        );
    }

    #[test]
    fn register_plans() {
        use TypeCode as T;
        let sc = FfiType::Scalar;
        if !REGISTER_CALLS {
            assert!(RegisterCall::try_new(&FfiType::Void, &[]).is_none());
            return;
        }
        assert!(RegisterCall::try_new(&sc(T::LongDouble), &[]).is_none());
        assert!(RegisterCall::try_new(&FfiType::Void, &[sc(T::Half)]).is_none());
        assert!(RegisterCall::try_new(&FfiType::Void, &vec![sc(T::Int); INT_REGS + 1]).is_none());
        assert!(
            RegisterCall::try_new(&FfiType::Void, &vec![sc(T::Double); FLOAT_REGS + 1]).is_none()
        );
        let big = FfiType::Struct(crate::StructType::new(vec![sc(T::LongLong); 3], 24, 8));
        assert!(RegisterCall::try_new(&big, &[]).is_none());
        assert!(RegisterCall::try_new(&FfiType::Void, &[big]).is_none());
        let ld = FfiType::Struct(crate::StructType::new(vec![sc(T::LongDouble)], 16, 16));
        assert!(RegisterCall::try_new(&FfiType::Void, &[ld]).is_none());
        let st = FfiType::Struct(crate::StructType::new(vec![sc(T::Int)], 4, 4));
        let rc = RegisterCall::try_new(&st, std::slice::from_ref(&st));
        assert_eq!(rc.is_some(), cfg!(target_arch = "x86_64"));
        // Six integer registers hold five scalars and one eightbyte, not a two-eightbyte
        // aggregate: the whole call falls back to libffi.
        let two = FfiType::Struct(crate::StructType::new(vec![sc(T::LongLong); 2], 16, 8));
        let mut args = vec![sc(T::Int); 5];
        args.push(two);
        assert!(RegisterCall::try_new(&FfiType::Void, &args).is_none());
        let rc = RegisterCall::try_new(
            &sc(T::Int),
            &[sc(T::Double), sc(T::Int), sc(T::Float), sc(T::VoidP)],
        )
        .unwrap();
        assert_eq!(
            rc.args(),
            &[
                RegArg::Float {
                    index: 0,
                    double: true
                },
                RegArg::Int {
                    index: 0,
                    code: T::Int
                },
                RegArg::Float {
                    index: 1,
                    double: false
                },
                RegArg::Int {
                    index: 1,
                    code: T::VoidP
                },
            ]
        );
    }

    #[test]
    fn register_call_sets_the_vector_count_for_variadic_callees() {
        if !REGISTER_CALLS {
            return;
        }
        use TypeCode as T;
        let sc = FfiType::Scalar;
        let snprintf = Library::this().unwrap().symbol("snprintf").unwrap();
        let rc = RegisterCall::try_new(
            &sc(T::Int),
            &[
                sc(T::VoidP),
                sc(T::ULong),
                sc(T::VoidP),
                sc(T::Double),
                sc(T::Int),
                sc(T::Double),
            ],
        )
        .unwrap();
        let mut buf = [0u8; 64];
        let fmt = c"%.2f %d %.1f";
        let mut regs = Registers::default();
        let vals = [
            ArgSlot {
                ptr: buf.as_mut_ptr().cast(),
            },
            ArgSlot { u64: 64 },
            ArgSlot {
                ptr: fmt.as_ptr().cast_mut().cast(),
            },
            ArgSlot { f64: 2.5 },
            ArgSlot { i32: -7 },
            ArgSlot { f64: 0.5 },
        ];
        for (a, v) in rc.args().iter().zip(&vals) {
            regs.set_from_slot(*a, v);
        }
        // SAFETY: snprintf(char*, size_t, const char*, ...) with two doubles and an int.
        let r = unsafe { rc.call(snprintf, &regs) };
        let n = rc.scalar(&r) as u32 as i32;
        assert_eq!(&buf[..n as usize], b"2.50 -7 0.5");
    }

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Pt {
        x: f64,
        y: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Mixed {
        a: i32,
        b: f32,
        c: f64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Small {
        a: u8,
        b: u16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct F3 {
        x: f32,
        y: f32,
        z: f32,
    }
    extern "C" fn pt_add(a: Pt, b: Pt) -> Pt {
        Pt {
            x: a.x + b.x,
            y: a.y + b.y,
        }
    }
    extern "C" fn mixed_swap(k: i64, m: Mixed, d: f64) -> Mixed {
        Mixed {
            a: m.a + k as i32,
            b: m.c as f32,
            c: f64::from(m.b) + d,
        }
    }
    extern "C" fn small_f3(s: Small, f: F3) -> F3 {
        F3 {
            x: f.z + f32::from(s.a),
            y: f.x,
            z: f.y + f32::from(s.b),
        }
    }

    /// Calls `fun` with structure arguments both ways and returns both results.
    fn struct_both_ways<R: Copy>(
        fun: *const c_void,
        ret: &FfiType,
        args: &[(FfiType, *const u8)],
    ) -> (R, R) {
        let types: Vec<FfiType> = args.iter().map(|(t, _)| t.clone()).collect();
        let ci = CallInterface::try_new(ret.clone(), &types, None).unwrap();
        let mut argv: Vec<*mut c_void> = args.iter().map(|(_, p)| p.cast_mut().cast()).collect();
        let mut rb = RetBuf::default();
        // SAFETY: the functions have exactly these signatures; argv points at values.
        unsafe { ci.call(fun, argv.as_mut_ptr(), rb.as_mut_ptr()) };
        // SAFETY: the buffer holds an R.
        let a = unsafe { rb.0.as_ptr().cast::<R>().read_unaligned() };
        let rc = RegisterCall::try_new(ret, &types).expect("a register signature");
        let mut regs = Registers::default();
        for (reg, (t, p)) in rc.args().iter().zip(args) {
            match t {
                // SAFETY: `p` points at a value of the aggregate.
                FfiType::Struct(_) => unsafe { regs.set_struct(*reg, *p) },
                _ => {
                    let mut slot = ArgSlot::default();
                    // SAFETY: `p` points at a scalar of at most 8 bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(*p, (&raw mut slot).cast::<u8>(), t.size())
                    };
                    regs.set_from_slot(*reg, &slot);
                }
            }
        }
        // SAFETY: as above.
        let r = unsafe { rc.call(fun, &regs) };
        let mut out = [0u8; 16];
        rc.write_result(&r, &mut out);
        // SAFETY: `out` holds an R (at most 16 bytes).
        let b = unsafe { out.as_ptr().cast::<R>().read_unaligned() };
        (a, b)
    }

    #[test]
    fn register_calls_pass_small_structs_like_libffi() {
        if !(REGISTER_CALLS && cfg!(target_arch = "x86_64")) {
            return;
        }
        use TypeCode as T;
        let sc = FfiType::Scalar;
        let st =
            |e: Vec<FfiType>, size, align| FfiType::Struct(crate::StructType::new(e, size, align));
        let pt = st(vec![sc(T::Double), sc(T::Double)], 16, 8);
        let mixed = st(vec![sc(T::Int), sc(T::Float), sc(T::Double)], 16, 8);
        let small = st(vec![sc(T::UByte), sc(T::UShort)], 4, 2);
        let f3 = st(vec![sc(T::Float); 3], 12, 4);

        let (a, b) = (Pt { x: 1.5, y: -2.0 }, Pt { x: 0.25, y: 8.0 });
        let r: (Pt, Pt) = struct_both_ways(
            pt_add as *const c_void,
            &pt,
            &[
                (pt.clone(), (&raw const a).cast()),
                (pt.clone(), (&raw const b).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(r.1, Pt { x: 1.75, y: 6.0 });

        let k = 5i64;
        let m = Mixed {
            a: -3,
            b: 0.5,
            c: 10.0,
        };
        let d = 0.125f64;
        let r: (Mixed, Mixed) = struct_both_ways(
            mixed_swap as *const c_void,
            &mixed,
            &[
                (sc(T::LongLong), (&raw const k).cast()),
                (mixed.clone(), (&raw const m).cast()),
                (sc(T::Double), (&raw const d).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(
            r.1,
            Mixed {
                a: 2,
                b: 10.0,
                c: 0.625
            }
        );

        let s = Small { a: 7, b: 300 };
        let f = F3 {
            x: 1.0,
            y: 2.0,
            z: 3.0,
        };
        let r: (F3, F3) = struct_both_ways(
            small_f3 as *const c_void,
            &f3,
            &[
                (small.clone(), (&raw const s).cast()),
                (f3.clone(), (&raw const f).cast()),
            ],
        );
        assert_eq!(r.0, r.1);
        assert_eq!(
            r.1,
            F3 {
                x: 10.0,
                y: 1.0,
                z: 302.0
            }
        );
    }
}
