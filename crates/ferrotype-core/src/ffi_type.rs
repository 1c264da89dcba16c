//! libffi type descriptions owned by Rust: the `void` and scalar statics, and struct
//! types built from their elements. A struct's `ffi_type` lives in a `Box`, so its
//! address is stable for the call interfaces that point at it.
//!
//! # Structures from a C layout
//!
//! [`FfiType::struct_of`] describes a structure from its members' offsets, size and
//! alignment, or gives [`FfiType::Void`] when libffi would lay the members out otherwise
//! (packed, over-aligned): such a type is refused at the call instead of being passed
//! with the wrong bytes. Bit-fields travel as their storage units
//! ([`FfiType::bitfield_unit`]); unions are described by [`FfiType::union_of`].
//!
//! # Arrays
//!
//! libffi has no array type: an array member is passed as its elements in a row.
//! Listing every element costs memory and time in proportion to the length (a
//! `char[20000000]` member would need twenty million element pointers), so
//! [`FfiType::array`] builds `elem[len]` from O(log len) struct nodes instead: `T1` is
//! the element, `T2 = struct {T1, T1}`, `T4 = struct {T2, T2}`, ..., and `elem[len]` is
//! the struct of the powers of two in the binary decomposition of `len`, largest first
//! (or that power alone when `len` is one). Every node at one level is shared by the
//! level above (`Arc`), so the description of any array has at most
//! `2 * log2(len) + 2` nodes.
//!
//! The nested description is passed exactly as the flat list of elements would be.
//! This was checked against the sources of libffi 3.5 (the version `libffi-sys`
//! builds), `src/prep_cif.c`, `src/x86/ffi64.c` and `src/aarch64/ffi.c`:
//!
//! - **Layout.** Every node gets its size and alignment when it is made (both non-zero),
//!   and libffi computes a struct's layout (`initialize_aggregate`) only for a type
//!   whose size is still 0, so it never walks or rewrites these nodes. The values set
//!   are also the ones libffi would compute: each node's size is a multiple of the
//!   element's size, which is a multiple of the element's alignment, so every node (and
//!   every element inside it) starts at a multiple of that alignment, at the offset
//!   the element has in C.
//! - **x86-64 System V.** `classify_argument` returns "memory" for any struct larger
//!   than 32 bytes before it looks at the elements. For a smaller one it walks them,
//!   recursing into a nested struct with the nested struct's offset modulo 8, and merges
//!   the classes the nested struct returns into the eightbytes from the one the nested
//!   struct starts in. Since every node starts where its first element does, each scalar
//!   is classified with the same offset within the same eightbyte, and merged into the
//!   same eightbyte, whether it is reached directly or through nested structs: the
//!   classes (and so the registers) are those of the flat list.
//! - **AArch64.** `is_vfp_type` (homogeneous floating-point aggregates) returns 0 for a
//!   struct larger than 64 bytes before it looks at the elements. For a smaller one it
//!   takes the first scalar met by descending into nested structs and then checks that
//!   every scalar, descending likewise, has that type: nesting changes neither. Other
//!   aggregates are passed by their size alone (in integer registers up to 16 bytes,
//!   else as a pointer to a copy).
//! - **The register engine** ([`crate::regcall::RegisterCall`]) classifies a struct of at
//!   most 16 bytes from its scalar leaves, which are the same (same offsets, same
//!   types) for the nested and the flat description.
//!
//! # Nothing walks a large type
//!
//! A nested array description shares its children, so walking it element by element
//! would cost the array's length after all. libffi stops before the elements of
//! anything over 64 bytes (see above), and so does this crate: whether a type can cross
//! a call ([`FfiType::is_callable`]) is a flag computed when each node is made, `Debug`
//! shows one level of children, the scalar leaves are listed only for types of at most
//! 64 bytes (the register engine asks for at most 16), and a union larger than 64 bytes
//! is described without looking inside its members ([`FfiType::union_of`]).

use core::ptr;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use libffi::raw::{ffi_type, ffi_type_enum_STRUCT};

use crate::typecode::TypeCode;

/// The largest type whose scalar leaves are ever listed, and the size above which a
/// union is described without looking at its members: structures and unions larger
/// than this are passed in memory on x86-64 System V (above 32 bytes) and AArch64
/// (above 64 bytes, the largest homogeneous floating-point aggregate), whatever their
/// elements.
pub const MAX_CLASSIFIED_SIZE: usize = 64;

/// The libffi description of a C type as it travels through a call.
#[derive(Clone, Debug)]
pub enum FfiType {
    /// `void` (return type only).
    Void,
    /// A simple type.
    Scalar(TypeCode),
    /// An aggregate passed by value.
    Struct(Arc<StructType>),
}

impl PartialEq for FfiType {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FfiType::Void, FfiType::Void) => true,
            (FfiType::Scalar(a), FfiType::Scalar(b)) => a == b,
            (FfiType::Struct(a), FfiType::Struct(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for FfiType {}

impl Hash for FfiType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            FfiType::Void => 0u8.hash(state),
            FfiType::Scalar(c) => {
                1u8.hash(state);
                c.hash(state);
            }
            FfiType::Struct(s) => {
                2u8.hash(state);
                (Arc::as_ptr(s) as usize).hash(state);
            }
        }
    }
}

impl FfiType {
    /// The raw descriptor for libffi.
    pub fn as_raw(&self) -> *mut ffi_type {
        match self {
            FfiType::Void => &raw mut libffi::raw::ffi_type_void,
            FfiType::Scalar(code) => code.ffi_type(),
            FfiType::Struct(s) => s.as_raw(),
        }
    }

    /// Whether a value of this type can cross a call: no simple type in it (a struct's
    /// members included) is one libffi cannot describe ([`TypeCode::is_callable`]).
    /// Constant time: a struct computes it from its children when it is made.
    pub fn is_callable(&self) -> bool {
        match self {
            FfiType::Void => true,
            FfiType::Scalar(code) => code.is_callable(),
            FfiType::Struct(s) => s.callable,
        }
    }

    /// The size of a value of this type (0 for void).
    pub fn size(&self) -> usize {
        match self {
            FfiType::Void => 0,
            FfiType::Scalar(code) => code.size(),
            FfiType::Struct(s) => s.size,
        }
    }
}

impl FfiType {
    /// The alignment of a value of this type (1 for void).
    pub fn align(&self) -> usize {
        match self {
            FfiType::Void => 1,
            FfiType::Scalar(code) => code.align(),
            FfiType::Struct(s) => usize::from(s.raw.alignment).max(1),
        }
    }

    /// Appends the scalar leaves of the type with their offsets, laid out as libffi lays
    /// out struct elements (each at the next multiple of its alignment); a complex
    /// number is two leaves, its real and imaginary parts. Only for types
    /// of at most [`MAX_CLASSIFIED_SIZE`] bytes, which have at most that many leaves
    /// (every scalar takes a byte at least and struct elements do not overlap): for a
    /// larger type it appends nothing and returns `false`.
    pub(crate) fn leaves(&self, out: &mut Vec<(usize, TypeCode)>) -> bool {
        if self.size() > MAX_CLASSIFIED_SIZE {
            return false;
        }
        self.push_leaves(0, out);
        true
    }

    fn push_leaves(&self, base: usize, out: &mut Vec<(usize, TypeCode)>) {
        match self {
            FfiType::Void => {}
            // A complex number is classified as the two reals it is laid out as.
            FfiType::Scalar(code) if code.is_complex() => {
                let re = code.component();
                out.push((base, re));
                out.push((base + re.size(), re));
            }
            FfiType::Scalar(code) => out.push((base, *code)),
            FfiType::Struct(s) => {
                let mut off = 0usize;
                for child in &s.children {
                    off = off.next_multiple_of(child.align());
                    child.push_leaves(base + off, out);
                    off += child.size();
                }
            }
        }
    }

    /// The description of the array `elem[len]`, passed as its elements in a row but
    /// made of O(log `len`) shared nodes (see the module docs for the construction and
    /// why libffi passes it as it would pass the flat list of elements). `None` when
    /// `len` is 0: an empty array has no element for libffi (a struct member of that
    /// type is left out). A single element is the element itself. [`FfiType::Void`]
    /// when libffi cannot describe the array: a `void` element, an element whose size is
    /// not a multiple of its alignment, or a size beyond `usize`.
    pub fn array(elem: &FfiType, len: usize) -> Option<FfiType> {
        if len == 0 {
            return None;
        }
        let (size, align) = (elem.size(), elem.align());
        if *elem == FfiType::Void || size % align != 0 || size.checked_mul(len).is_none() {
            return Some(FfiType::Void);
        }
        // `power` describes elem[2^k] at step k; `parts` collects the powers of two
        // present in `len`, smallest first.
        let mut power = elem.clone();
        let mut parts = Vec::new();
        let mut rest = len;
        loop {
            if rest & 1 == 1 {
                parts.push(power.clone());
            }
            rest >>= 1;
            if rest == 0 {
                break;
            }
            let twice = 2 * power.size();
            power = FfiType::Struct(StructType::new(vec![power.clone(), power], twice, align));
        }
        if parts.len() == 1 {
            return parts.pop();
        }
        parts.reverse();
        Some(FfiType::Struct(StructType::new(parts, size * len, align)))
    }

    /// The description of a structure of `size` bytes aligned to `align` whose members,
    /// in order, are `members` (offset, type): an array member is one
    /// [`FfiType::array`], a bit-field its storage unit ([`FfiType::bitfield_unit`]).
    ///
    /// [`FfiType::Void`] when libffi cannot describe the structure as C lays it out: no
    /// members, a `void` member (one libffi cannot describe itself), a member that is
    /// not where libffi would put it (at the next multiple of its alignment after the
    /// one before: packed layouts), or a size that is not where libffi would end (the
    /// end of the last member rounded up to the largest member alignment: `_align_`).
    /// An array member needs checking only at its start: its elements are contiguous
    /// and its stride, the element's size, is a multiple of the element's alignment, so
    /// libffi would put every further element where C does.
    pub fn struct_of(members: &[(usize, FfiType)], size: usize, align: usize) -> FfiType {
        if members.is_empty() {
            return FfiType::Void;
        }
        let mut end = 0usize;
        let mut max_align = 1usize;
        for (offset, t) in members {
            if *t == FfiType::Void {
                return FfiType::Void;
            }
            let at = end.next_multiple_of(t.align());
            if at != *offset {
                return FfiType::Void;
            }
            end = at + t.size();
            max_align = max_align.max(t.align());
        }
        if end.next_multiple_of(max_align) != size {
            return FfiType::Void;
        }
        let elements = members.iter().map(|(_, t)| t.clone()).collect();
        FfiType::Struct(StructType::new(elements, size, align))
    }

    /// The description of a bit-field's storage unit of `size` bytes inside a structure:
    /// the unsigned integer of that size (1, 2 or 4 bytes; 8 for anything else).
    pub fn bitfield_unit(size: usize) -> FfiType {
        FfiType::Scalar(unsigned_of(size))
    }

    /// The libffi description of a union of `members` (all at offset 0; an array member
    /// is one [`FfiType::array`]) of `size` bytes and alignment `align`. libffi has no
    /// union type, so the union becomes a struct of `align`-sized slots (at most 8
    /// bytes each).
    ///
    /// Up to [`MAX_CLASSIFIED_SIZE`] bytes, each slot is an integer if any member has an
    /// integer or pointer overlapping it, else a float of the slot's size: the eightbyte
    /// classification of the x86-64 System V ABI (INTEGER wins over SSE). On AArch64 the
    /// slots follow AAPCS64 instead (`aapcs64_union`): an HFA only when every member is
    /// made of one float type, without padding. `long double` members are
    /// refused (`None`): they are classified apart (x87) and cannot share a slot.
    ///
    /// A larger union is passed in memory on x86-64 and AArch64, whatever its members,
    /// so it is described by its size and alignment alone: integer slots, without
    /// looking at the members (which may be arrays of any length). Any member is
    /// accepted then, a `long double` too, and the description is always callable.
    ///
    /// `None` also for a union of no size, or one whose size is not a multiple of its
    /// slot.
    pub fn union_of(members: &[FfiType], size: usize, align: usize) -> Option<FfiType> {
        if size == 0 {
            return None;
        }
        let slot = align.clamp(1, 8);
        if size % slot != 0 {
            return None;
        }
        if size > MAX_CLASSIFIED_SIZE {
            let slots = FfiType::array(&FfiType::Scalar(unsigned_of(slot)), size / slot)?;
            return Some(FfiType::Struct(StructType::new(vec![slots], size, align)));
        }
        let mut leaves = Vec::new();
        for m in members {
            if !m.leaves(&mut leaves) {
                // A member larger than the union: not a union's member.
                return None;
            }
        }
        if leaves.iter().any(|(_, c)| *c == TypeCode::LongDouble) {
            return None;
        }
        if cfg!(target_arch = "aarch64") {
            return Some(aapcs64_union(&leaves, size, align, slot));
        }
        let mut elems = Vec::with_capacity(size / slot);
        for start in (0..size).step_by(slot) {
            let end = start + slot;
            let overlapping = leaves
                .iter()
                .filter(|(off, c)| *off < end && *off + c.size() > start);
            let mut float = None;
            let mut integer = false;
            for (_, c) in overlapping {
                match c {
                    TypeCode::Float | TypeCode::Double => float = Some(*c),
                    _ => integer = true,
                }
            }
            elems.push(FfiType::Scalar(match (integer, float, slot) {
                (false, Some(_), 4) => TypeCode::Float,
                (false, Some(TypeCode::Double), 8) => TypeCode::Double,
                // Two floats in one eightbyte (or padding next to one) are SSE too.
                (false, Some(_), 8) => TypeCode::Double,
                _ => unsigned_of(slot),
            }));
        }
        Some(FfiType::Struct(StructType::new(elems, size, align)))
    }
}

/// A union of at most [`MAX_CLASSIFIED_SIZE`] bytes for AAPCS64 (the `leaves` of all its
/// members, none a `long double`): a homogeneous floating-point aggregate when every leaf is
/// of one floating type and they leave no padding (a struct of that type filling the union,
/// which libffi passes in v registers when there are at most four), else integer slots (x
/// registers, or memory beyond 16 bytes). The x86-64 per-eightbyte rule would make a union
/// of `float`s and a `double` a `double` HFA, which AArch64 passes in x0.
fn aapcs64_union(leaves: &[(usize, TypeCode)], size: usize, align: usize, slot: usize) -> FfiType {
    let float = match leaves.first() {
        Some((_, c @ (TypeCode::Float | TypeCode::Double)))
            if size % c.size() == 0
                && leaves.iter().all(|(off, l)| l == c && off % c.size() == 0)
                && (0..size)
                    .step_by(c.size())
                    .all(|k| leaves.iter().any(|(off, _)| *off == k)) =>
        {
            Some(*c)
        }
        _ => None,
    };
    let elems = match float {
        Some(c) => vec![FfiType::Scalar(c); size / c.size()],
        None => vec![FfiType::Scalar(unsigned_of(slot)); size / slot],
    };
    FfiType::Struct(StructType::new(elems, size, align))
}

/// The unsigned integer type of `n` bytes (1, 2, 4; 8 for anything else).
fn unsigned_of(n: usize) -> TypeCode {
    match n {
        1 => TypeCode::UByte,
        2 => TypeCode::UShort,
        4 => TypeCode::UInt,
        _ => TypeCode::ULongLong,
    }
}

/// A struct type for libffi (unions are described as structs, see [`FfiType::union_of`];
/// arrays as nested structs, see [`FfiType::array`]).
pub struct StructType {
    raw: Box<ffi_type>,
    _elements: Box<[*mut ffi_type]>,
    children: Vec<FfiType>,
    size: usize,
    /// Whether every child can cross a call ([`FfiType::is_callable`]).
    callable: bool,
}

// SAFETY: the descriptor is immutable after construction (libffi fills in the size and
// alignment of a struct only when its size is 0, and computes them identically every
// time); the children it points to are owned (or static), immutable, and live as long
// as self.
unsafe impl Send for StructType {}
// SAFETY: as above.
unsafe impl Sync for StructType {}

/// One child of a struct in `Debug` output: a nested struct by its size, alignment and
/// number of elements only, so that printing a type never walks a shared array
/// description.
struct Shallow<'a>(&'a FfiType);

impl std::fmt::Debug for Shallow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            FfiType::Struct(s) => f
                .debug_struct("Struct")
                .field("size", &s.size)
                .field("align", &s.raw.alignment)
                .field("elements", &s.children.len())
                .finish(),
            other => other.fmt(f),
        }
    }
}

impl std::fmt::Debug for StructType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructType")
            .field("size", &self.size)
            .field("align", &self.raw.alignment)
            .field(
                "elements",
                &self.children.iter().map(Shallow).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl StructType {
    /// Describes a struct whose members, in order, are `elements` (an array member as
    /// one [`FfiType::array`]), with the C layout's `size` and `align`. Both are stored
    /// in the descriptor as given: libffi recomputes them only when `size` is 0, and
    /// otherwise places each element at the next multiple of its alignment and uses
    /// `align` to place the struct itself. [`FfiType::struct_of`] checks that those
    /// places are the C layout's before it calls this.
    pub fn new(elements: Vec<FfiType>, size: usize, align: usize) -> Arc<StructType> {
        let mut raw_elems: Vec<*mut ffi_type> = elements.iter().map(FfiType::as_raw).collect();
        raw_elems.push(ptr::null_mut());
        let mut elems = raw_elems.into_boxed_slice();
        let raw = Box::new(ffi_type {
            size,
            alignment: u16::try_from(align).unwrap_or(u16::MAX),
            type_: ffi_type_enum_STRUCT,
            elements: elems.as_mut_ptr(),
        });
        Arc::new(StructType {
            raw,
            _elements: elems,
            callable: elements.iter().all(FfiType::is_callable),
            children: elements,
            size,
        })
    }

    fn as_raw(&self) -> *mut ffi_type {
        ptr::from_ref::<ffi_type>(&self.raw).cast_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{ArgSlot, CallInterface};
    use crate::regcall::RegisterCall;
    use core::ffi::c_void;
    use std::collections::HashSet;
    use TypeCode as T;

    fn sc(c: TypeCode) -> FfiType {
        FfiType::Scalar(c)
    }

    fn st(elements: Vec<FfiType>, size: usize, align: usize) -> FfiType {
        FfiType::Struct(StructType::new(elements, size, align))
    }

    fn slots(t: &FfiType) -> Vec<TypeCode> {
        let FfiType::Struct(s) = t else {
            panic!("a union is described as a struct")
        };
        s.children
            .iter()
            .map(|c| match c {
                FfiType::Scalar(code) => *code,
                other => panic!("slot {other:?}"),
            })
            .collect()
    }

    /// All the leaves, whatever the size (tests only, on small types).
    fn all_leaves(t: &FfiType) -> Vec<(usize, TypeCode)> {
        let mut out = Vec::new();
        t.push_leaves(0, &mut out);
        out
    }

    /// The distinct struct nodes reachable from `t`, each counted once.
    fn nodes(t: &FfiType, seen: &mut HashSet<usize>) {
        if let FfiType::Struct(s) = t {
            if seen.insert(Arc::as_ptr(s) as usize) {
                for c in &s.children {
                    nodes(c, seen);
                }
            }
        }
    }

    fn node_count(t: &FfiType) -> usize {
        let mut seen = HashSet::new();
        nodes(t, &mut seen);
        seen.len()
    }

    /// `elem[len]` the old way: one element per array element.
    fn flat_array(elem: &FfiType, len: usize) -> FfiType {
        st(vec![elem.clone(); len], elem.size() * len, elem.align())
    }

    #[test]
    #[cfg(not(target_arch = "aarch64"))]
    fn unions_are_classified_per_slot() {
        let s = |c| FfiType::Scalar(c);
        // int/float: the integer wins (INTEGER over SSE).
        let u = FfiType::union_of(&[s(TypeCode::Int), s(TypeCode::Float)], 4, 4).unwrap();
        assert_eq!(slots(&u), [TypeCode::UInt]);
        // Only floating members: SSE (an HFA on AArch64).
        let u = FfiType::union_of(&[s(TypeCode::Double), s(TypeCode::Float)], 8, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double]);
        // A struct of two floats next to a double: both eightbytes stay SSE.
        let ff = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Float), s(TypeCode::Float)],
            8,
            4,
        ));
        let u = FfiType::union_of(&[ff, s(TypeCode::Double)], 8, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double]);
        // A long member over the second eightbyte only makes that one INTEGER.
        let dl = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Double), s(TypeCode::LongLong)],
            16,
            8,
        ));
        let dd = FfiType::Struct(StructType::new(
            vec![s(TypeCode::Double), s(TypeCode::Double)],
            16,
            8,
        ));
        let u = FfiType::union_of(&[dd, dl], 16, 8).unwrap();
        assert_eq!(slots(&u), [TypeCode::Double, TypeCode::ULongLong]);
        assert_eq!(u.size(), 16);
        // long double members are refused.
        assert!(FfiType::union_of(&[s(TypeCode::LongDouble)], 16, 16).is_none());
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn unions_are_classified_as_aapcs64_does() {
        let s = |c| FfiType::Scalar(c);
        // float/double: no HFA (two floating types), so x0.
        let u = FfiType::union_of(&[s(T::Double), s(T::Float)], 8, 8).unwrap();
        assert_eq!(slots(&u), [T::ULongLong]);
        // union { float f[2]; double d; }: the same.
        let f2 = FfiType::array(&s(T::Float), 2).unwrap();
        let u = FfiType::union_of(&[f2.clone(), s(T::Double)], 8, 8).unwrap();
        assert_eq!(slots(&u), [T::ULongLong]);
        // union { float f[2]; float g; }: an HFA of two floats.
        let u = FfiType::union_of(&[f2, s(T::Float)], 8, 4).unwrap();
        assert_eq!(slots(&u), [T::Float, T::Float]);
        // union { double d[2]; double e; }: an HFA of two doubles.
        let d2 = FfiType::array(&s(T::Double), 2).unwrap();
        let u = FfiType::union_of(&[d2, s(T::Double)], 16, 8).unwrap();
        assert_eq!(slots(&u), [T::Double, T::Double]);
        // a float that leaves padding (an 8-aligned union of one float): integer.
        let u = FfiType::union_of(&[s(T::Float)], 8, 8).unwrap();
        assert_eq!(slots(&u), [T::ULongLong]);
        // int/float: integer.
        let u = FfiType::union_of(&[s(T::Int), s(T::Float)], 4, 4).unwrap();
        assert_eq!(slots(&u), [T::UInt]);
    }

    #[test]
    fn unions_with_array_members_match_the_flat_members() {
        // union { float f[4]; double d[2]; }: all SSE; union { float f[3]; int i[4]; }:
        // all INTEGER; union { char c[24]; double d; }: INTEGER everywhere.
        let cases = [
            (vec![(T::Float, 4), (T::Double, 2)], 16, 8),
            (vec![(T::Float, 3), (T::Int, 4)], 16, 4),
            (vec![(T::Char, 24), (T::Double, 1)], 24, 8),
        ];
        for (members, size, align) in cases {
            let nested: Vec<FfiType> = members
                .iter()
                .map(|&(c, n)| FfiType::array(&sc(c), n).unwrap())
                .collect();
            let flat: Vec<FfiType> = members
                .iter()
                .map(|&(c, n)| flat_array(&sc(c), n))
                .collect();
            let a = FfiType::union_of(&nested, size, align).unwrap();
            let b = FfiType::union_of(&flat, size, align).unwrap();
            assert_eq!(slots(&a), slots(&b));
        }
    }

    #[test]
    fn array_descriptions_have_the_array_layout() {
        let pair = st(vec![sc(T::Char), sc(T::Int)], 8, 4);
        let elems = [
            sc(T::Char),
            sc(T::Short),
            sc(T::Int),
            sc(T::Float),
            sc(T::Double),
            sc(T::LongDouble),
            pair,
        ];
        for elem in &elems {
            assert_eq!(FfiType::array(elem, 0), None);
            assert_eq!(FfiType::array(elem, 1).as_ref(), Some(elem));
            for len in (1..=70).chain([127, 128, 129, 1000, 4097]) {
                let a = FfiType::array(elem, len).unwrap();
                assert_eq!(a.size(), elem.size() * len, "{elem:?}[{len}]");
                assert_eq!(a.align(), elem.align(), "{elem:?}[{len}]");
                assert_eq!(a.is_callable(), elem.is_callable());
                let bits = (usize::BITS - len.leading_zeros()) as usize;
                assert!(node_count(&a) <= 2 * bits + 2, "{elem:?}[{len}]");
                if len <= 70 {
                    // The same scalars at the same offsets as one element per element.
                    assert_eq!(all_leaves(&a), all_leaves(&flat_array(elem, len)));
                }
            }
        }
        // Arrays of arrays.
        let row = FfiType::array(&sc(T::Short), 3).unwrap();
        let grid = FfiType::array(&row, 5).unwrap();
        assert_eq!((grid.size(), grid.align()), (30, 2));
        assert_eq!(
            all_leaves(&grid),
            all_leaves(&flat_array(&sc(T::Short), 15))
        );
        // What libffi cannot describe.
        assert_eq!(FfiType::array(&FfiType::Void, 4), Some(FfiType::Void));
        let odd = st(vec![sc(T::Int)], 6, 4);
        assert_eq!(FfiType::array(&odd, 2), Some(FfiType::Void));
        assert_eq!(FfiType::array(&sc(T::Int), usize::MAX), Some(FfiType::Void));
    }

    /// The members of the small test structures below as (element, length, offset).
    type Shape = (&'static [(TypeCode, usize, usize)], usize, usize);

    const CHARS_SHORT: Shape = (&[(T::Char, 3, 0), (T::Short, 1, 4)], 6, 2);
    const FLOATS_INT: Shape = (&[(T::Float, 2, 0), (T::Int, 1, 8)], 12, 4);
    const DOUBLES: Shape = (&[(T::Double, 2, 0)], 16, 8);
    const FLOATS: Shape = (&[(T::Float, 4, 0)], 16, 4);
    const INT_CHARS_FLOAT: Shape = (&[(T::Int, 1, 0), (T::Char, 3, 4), (T::Float, 1, 8)], 12, 4);
    const SHORTS_DOUBLES_CHARS_LONG: Shape = (
        &[
            (T::Short, 3, 0),
            (T::Double, 2, 8),
            (T::UByte, 5, 24),
            (T::LongLong, 1, 32),
        ],
        40,
        8,
    );

    fn nested(shape: Shape) -> FfiType {
        let (members, size, align) = shape;
        let m: Vec<(usize, FfiType)> = members
            .iter()
            .map(|&(c, n, off)| (off, FfiType::array(&sc(c), n).unwrap()))
            .collect();
        FfiType::struct_of(&m, size, align)
    }

    fn flat(shape: Shape) -> FfiType {
        let (members, size, align) = shape;
        let e = members
            .iter()
            .flat_map(|&(c, n, _)| std::iter::repeat_n(sc(c), n))
            .collect();
        st(e, size, align)
    }

    #[test]
    fn small_structs_with_arrays_classify_as_the_flat_expansion() {
        for shape in [
            CHARS_SHORT,
            FLOATS_INT,
            DOUBLES,
            FLOATS,
            INT_CHARS_FLOAT,
            SHORTS_DOUBLES_CHARS_LONG,
        ] {
            let (n, f) = (nested(shape), flat(shape));
            assert!(matches!(n, FfiType::Struct(_)), "{shape:?}");
            assert_eq!((n.size(), n.align()), (shape.1, shape.2));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            assert!(n.leaves(&mut a) && f.leaves(&mut b));
            assert_eq!(a, b, "{shape:?}");
            // The register engine makes the same plan for both descriptions.
            let rn = RegisterCall::try_new(&n, &[n.clone(), sc(T::Int)]);
            let rf = RegisterCall::try_new(&f, &[f.clone(), sc(T::Int)]);
            assert_eq!(rn.is_some(), rf.is_some());
            if let (Some(rn), Some(rf)) = (rn, rf) {
                assert_eq!(rn.args(), rf.args());
            }
        }
    }

    #[test]
    fn a_twenty_million_char_array_is_cheap() {
        let start = std::time::Instant::now();
        let a = FfiType::array(&sc(T::Char), 20_000_000).unwrap();
        let s = FfiType::struct_of(&[(0, sc(T::Int)), (4, a.clone())], 20_000_004, 4);
        let elapsed = start.elapsed();
        assert!(elapsed.as_millis() < 10, "{elapsed:?}");
        assert_eq!((s.size(), s.align()), (20_000_004, 4));
        // 20_000_000 has 25 bits, 8 of them set: 24 powers above the element, one node
        // for their sum, and the structure.
        assert_eq!(node_count(&a), 25);
        assert_eq!(node_count(&s), 26);
        assert!(s.is_callable());
        assert!(!s.leaves(&mut Vec::new()));
        assert!(format!("{s:?}").len() < 500);
        // Prepared for a call without libffi walking it (it is passed in memory).
        assert!(CallInterface::try_new(FfiType::Void, &[s], None).is_ok());
        // A union with such a member, a long double one too.
        let start = std::time::Instant::now();
        let ints = FfiType::array(&sc(T::Int), 20_000_000).unwrap();
        let u = FfiType::union_of(&[a, ints, sc(T::LongDouble)], 80_000_000, 16).unwrap();
        assert!(start.elapsed().as_millis() < 10);
        assert_eq!((u.size(), u.align()), (80_000_000, 16));
        assert!(u.is_callable());
        assert!(node_count(&u) < 60);
    }

    #[test]
    fn float16_inside_an_array_is_not_callable() {
        let h = FfiType::array(&sc(T::Half), 1000).unwrap();
        assert!(!h.is_callable());
        let s = FfiType::struct_of(&[(0, sc(T::Int)), (4, h)], 2004, 4);
        assert!(!s.is_callable());
        assert!(CallInterface::try_new(FfiType::Void, &[s], None).is_err());
    }

    #[test]
    fn layouts_libffi_would_place_differently_are_void() {
        let chars = FfiType::array(&sc(T::Char), 3).unwrap();
        let ints = FfiType::array(&sc(T::Int), 4).unwrap();
        // Packed: an int right after a char.
        assert_eq!(
            FfiType::struct_of(&[(0, sc(T::Char)), (1, sc(T::Int))], 5, 1),
            FfiType::Void
        );
        assert_eq!(
            FfiType::struct_of(&[(0, sc(T::Char)), (1, ints.clone())], 17, 1),
            FfiType::Void
        );
        // Packed to 2: an array of ints at offset 2.
        assert_eq!(
            FfiType::struct_of(&[(0, sc(T::Short)), (2, ints.clone())], 18, 2),
            FfiType::Void
        );
        // Over-aligned: padded beyond the largest member alignment.
        assert_eq!(
            FfiType::struct_of(&[(0, ints.clone())], 32, 32),
            FfiType::Void
        );
        assert_eq!(
            FfiType::struct_of(&[(0, chars.clone())], 4, 4),
            FfiType::Void
        );
        // A member moved further than its alignment asks.
        assert_eq!(
            FfiType::struct_of(&[(0, sc(T::Char)), (8, sc(T::Int))], 12, 8),
            FfiType::Void
        );
        // Nothing to describe, or a member libffi cannot describe.
        assert_eq!(FfiType::struct_of(&[], 0, 1), FfiType::Void);
        assert_eq!(
            FfiType::struct_of(&[(0, sc(T::Int)), (4, FfiType::Void)], 8, 4),
            FfiType::Void
        );
        // The natural layouts are described.
        let s = FfiType::struct_of(&[(0, chars), (4, sc(T::Int))], 8, 4);
        assert_eq!((s.size(), s.align()), (8, 4));
        let s = FfiType::struct_of(&[(0, ints), (16, FfiType::bitfield_unit(2))], 20, 4);
        assert_eq!(all_leaves(&s).last(), Some(&(16, T::UShort)));
    }

    #[test]
    fn large_unions_are_described_by_size_and_alignment() {
        let big = FfiType::array(&sc(T::Double), 9).unwrap();
        let u = FfiType::union_of(&[big.clone(), sc(T::Int)], 72, 8).unwrap();
        assert_eq!((u.size(), u.align()), (72, 8));
        assert_eq!(
            all_leaves(&u),
            (0..9).map(|k| (8 * k, T::ULongLong)).collect::<Vec<_>>()
        );
        // long double members are accepted above 64 bytes (passed in memory), and
        // refused up to it.
        let ld = FfiType::array(&sc(T::LongDouble), 5).unwrap();
        let u = FfiType::union_of(&[ld, sc(T::Char)], 80, 16).unwrap();
        assert_eq!((u.size(), u.align()), (80, 16));
        let ld = FfiType::array(&sc(T::LongDouble), 4).unwrap();
        assert!(FfiType::union_of(&[ld, sc(T::Char)], 64, 16).is_none());
        // Packed unions keep byte slots.
        let u = FfiType::union_of(&[FfiType::array(&sc(T::Char), 99).unwrap()], 99, 1);
        assert_eq!(u.map(|u| (u.size(), u.align())), Some((99, 1)));
    }

    // Real calls through libffi with the nested descriptions: Rust functions with the C
    // ABI taking and returning the structures by value.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct CharsShort {
        c: [u8; 3],
        s: i16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct FloatsInt {
        f: [f32; 2],
        i: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Doubles {
        d: [f64; 2],
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Floats {
        f: [f32; 4],
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct IntCharsFloat {
        i: i32,
        c: [u8; 3],
        f: f32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Medium {
        a: [i16; 3],
        d: [f64; 2],
        c: [u8; 5],
        l: i64,
    }
    const BIG_LEN: usize = 1000;
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Big {
        n: i32,
        buf: [u8; BIG_LEN],
        tail: i64,
    }

    extern "C" fn chars_short(v: CharsShort, k: i32) -> CharsShort {
        CharsShort {
            c: v.c.map(|b| b.wrapping_add(k as u8)),
            s: v.s * k as i16,
        }
    }
    extern "C" fn floats_int(v: FloatsInt, k: i32) -> FloatsInt {
        FloatsInt {
            f: [v.f[1] + k as f32, v.f[0] * k as f32],
            i: v.i - k,
        }
    }
    extern "C" fn doubles(v: Doubles, k: i32) -> Doubles {
        Doubles {
            d: [v.d[0] * f64::from(k), v.d[0] + v.d[1]],
        }
    }
    extern "C" fn floats(v: Floats, k: i32) -> Floats {
        Floats {
            f: [v.f[3], v.f[2], v.f[1] + k as f32, v.f.iter().sum()],
        }
    }
    extern "C" fn int_chars_float(v: IntCharsFloat, k: i32) -> IntCharsFloat {
        IntCharsFloat {
            i: v.i + i32::from(v.c[2]),
            c: [v.c[0], v.c[1].wrapping_add(k as u8), v.c[2]],
            f: v.f * k as f32,
        }
    }
    extern "C" fn medium(v: Medium, k: i32) -> Medium {
        Medium {
            a: v.a.map(|x| x + k as i16),
            d: [v.d[1], v.d[0] + f64::from(v.a[2])],
            c: v.c.map(|b| b ^ 0x20),
            l: v.l * i64::from(k),
        }
    }
    extern "C" fn big(v: Big, k: i32) -> Big {
        let mut out = v;
        let mut sum = 0i64;
        for b in out.buf.iter_mut() {
            sum += i64::from(*b);
            *b = b.wrapping_add(k as u8);
        }
        out.n = v.n + k;
        out.tail = v.tail + sum;
        out
    }

    /// Calls `fun(s, k)` through libffi with `t` describing `S`, returning the result.
    fn call_by_value<S: Copy>(fun: *const c_void, t: &FfiType, s: &S, k: i32) -> S {
        assert_eq!((t.size(), t.align()), (size_of::<S>(), align_of::<S>()));
        let int = sc(T::Int);
        let ci = CallInterface::try_new(t.clone(), &[t.clone(), int], None).unwrap();
        let mut k = ArgSlot { i32: k };
        let mut argv = [
            ptr::from_ref(s).cast_mut().cast::<c_void>(),
            ptr::from_mut(&mut k).cast(),
        ];
        // 16-aligned and at least ret_size() bytes, as `call` asks.
        let mut ret = vec![0u128; ci.ret_size().div_ceil(16)];
        let rp = ret.as_mut_ptr().cast::<u8>();
        // SAFETY: `fun` has the signature S(S, int), which `t` describes; argv points
        // at an S and an int; `ret` is large and aligned enough.
        unsafe { ci.call(fun, argv.as_mut_ptr(), rp) };
        // SAFETY: the result buffer holds an S.
        unsafe { ci.ret_ptr(rp).cast::<S>().read_unaligned() }
    }

    #[test]
    fn structs_with_arrays_pass_by_value_through_libffi() {
        let v = CharsShort {
            c: *b"abc",
            s: -300,
        };
        let r = call_by_value(chars_short as *const c_void, &nested(CHARS_SHORT), &v, 3);
        assert_eq!(r, chars_short(v, 3));

        let v = FloatsInt {
            f: [1.5, -2.25],
            i: 40,
        };
        let r = call_by_value(floats_int as *const c_void, &nested(FLOATS_INT), &v, 3);
        assert_eq!(r, floats_int(v, 3));

        let v = Doubles { d: [0.5, 1e300] };
        let r = call_by_value(doubles as *const c_void, &nested(DOUBLES), &v, 3);
        assert_eq!(r, doubles(v, 3));

        let v = Floats {
            f: [1.0, 2.5, -4.0, 8.25],
        };
        let r = call_by_value(floats as *const c_void, &nested(FLOATS), &v, 3);
        assert_eq!(r, floats(v, 3));

        let v = IntCharsFloat {
            i: 7,
            c: [1, 2, 250],
            f: 0.75,
        };
        let t = nested(INT_CHARS_FLOAT);
        let r = call_by_value(int_chars_float as *const c_void, &t, &v, 3);
        assert_eq!(r, int_chars_float(v, 3));

        let v = Medium {
            a: [1, -2, 300],
            d: [0.125, -7.5],
            c: *b"HeLLo",
            l: -(1 << 40),
        };
        let t = nested(SHORTS_DOUBLES_CHARS_LONG);
        let r = call_by_value(medium as *const c_void, &t, &v, 3);
        assert_eq!(r, medium(v, 3));

        let mut buf = [0u8; BIG_LEN];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        let v = Big {
            n: 11,
            buf,
            tail: 1 << 50,
        };
        let t = FfiType::struct_of(
            &[
                (0, sc(T::Int)),
                (4, FfiType::array(&sc(T::UByte), BIG_LEN).unwrap()),
                (1008, sc(T::LongLong)),
            ],
            1016,
            8,
        );
        let r = call_by_value(big as *const c_void, &t, &v, 3);
        assert_eq!(r, big(v, 3));
    }
}
