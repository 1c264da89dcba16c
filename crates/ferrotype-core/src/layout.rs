//! Struct and union layout: where a C compiler puts every member of a `Structure` or
//! `Union`, including bit-fields, `_pack_`, `_align_`, a base class and swapped byte
//! order. Two rule sets are implemented, chosen like ctypes' `_layout_`:
//!
//! - [`LayoutRule::GccSysV`]: GCC and Clang on System V targets. Fields are placed bit
//!   by bit; a bit-field must fit in one naturally aligned object of its declared type,
//!   else it moves to the next boundary of that type (GCC manual, "Bit Field Packing").
//! - [`LayoutRule::Ms`]: MSVC (and GCC's `ms_struct`). Bit-fields share a storage unit
//!   of their declared type only while consecutive bit-fields have types of the same
//!   size and the unit has room; otherwise a new, aligned unit starts.
//!
//! The invariant this module keeps, and checks in debug builds: the aggregate's `align`
//! is at least 1 and divides `size`, every member's storage unit
//! (`offset .. offset + size`) lies inside `0 .. size`, and a bit-field's bits
//! (`bit_offset .. bit_offset + bit_size`) lie inside its storage unit. Accessors may
//! therefore read and write a field's unit without further bounds checks.
//!
//! The rules were checked against the C compiler: the tests at the bottom generate
//! hundreds of structs per rule, compile them with `cc` and compare sizes,
//! alignments, offsets and the bytes each bit-field occupies.
//!
//! The module is pure arithmetic: it knows sizes and alignments, not C types, so the
//! caller (the Python layer, or a Rust user) decides what a type's size, alignment and
//! bit-field eligibility are.
//!
//! Where this differs from CPython 3.14's `Lib/ctypes/_layout.py`, it is deliberate
//! and in corners no ctypes program can rely on. A derived union is never smaller
//! than its base: ctypes can make it smaller, and then the base's fields run past the
//! buffer. A zero-sized member (an empty struct, a zero-length array) is aligned
//! like any other member, as C does: ctypes' ms path skips the alignment when one
//! follows another zero-sized member. Unnamed and zero-width bit-fields can be
//! described at all (ctypes rejects zero widths), so that C declarations can be.

use crate::error::{Error, Result};
use std::borrow::Cow;

/// Which compiler's rules to follow (ctypes' `_layout_`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayoutRule {
    /// GCC/Clang on System V platforms (ctypes' `'gcc-sysv'`).
    GccSysV,
    /// Microsoft Visual C++ (ctypes' `'ms'`).
    Ms,
}

impl LayoutRule {
    /// The platform's own rule: `Ms` on Windows, `GccSysV` elsewhere, as ctypes chooses
    /// when neither `_layout_` nor `_pack_` is set.
    pub fn native() -> LayoutRule {
        if cfg!(windows) {
            LayoutRule::Ms
        } else {
            LayoutRule::GccSysV
        }
    }

    /// Parses a ctypes `_layout_` value.
    pub fn from_ctypes_name(name: &str) -> Result<LayoutRule> {
        match name {
            "gcc-sysv" => Ok(LayoutRule::GccSysV),
            "ms" => Ok(LayoutRule::Ms),
            _ => Err(Error::UnknownLayout {
                name: name.to_owned(),
            }),
        }
    }

    /// The ctypes `_layout_` spelling of this rule.
    pub fn ctypes_name(self) -> &'static str {
        match self {
            LayoutRule::GccSysV => "gcc-sysv",
            LayoutRule::Ms => "ms",
        }
    }
}

/// The byte order the aggregate's values are stored in. It does not move any field:
/// it only changes which end of a storage unit bit-fields are counted from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// The machine's own order.
    #[default]
    Native,
    /// The other order (ctypes' `_swappedbytes_`, as set by `BigEndianStructure` on a
    /// little-endian machine and `LittleEndianStructure` on a big-endian one).
    Swapped,
}

impl ByteOrder {
    /// Whether storage units in this order are read as big-endian integers.
    pub fn is_big_endian(self) -> bool {
        cfg!(target_endian = "big") == (self == ByteOrder::Native)
    }
}

/// How a bit-field's bits are interpreted. Layout does not depend on it; it is carried
/// so that the accessor knows whether to sign-extend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntKind {
    /// A signed integer type: reads sign-extend.
    Signed,
    /// An unsigned integer type.
    Unsigned,
    /// `_Bool` (ctypes' `c_bool`).
    Bool,
}

/// What a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A whole value: a scalar, pointer, struct, union or array.
    Value,
    /// A named bit-field of `bits` bits (ctypes' `(name, type, bits)` triple).
    /// `1 <= bits <= 8 * size`.
    Bitfield {
        /// The width in bits.
        bits: u32,
        /// How the bits are interpreted.
        int: IntKind,
    },
    /// An unnamed bit-field, C's `int : 3;` or `int : 0;`. It has no accessor. On
    /// gcc-sysv it does not raise the aggregate's alignment, and a zero-width one moves
    /// the next member to a boundary of its type even under `pack`; on ms a zero-width
    /// one only ends a run of bit-fields. ctypes itself cannot declare these (it
    /// rejects zero widths); they are here so that C declarations can be described.
    Unnamed {
        /// The width in bits, `0 <= bits <= 8 * size`.
        bits: u32,
    },
}

/// One member as declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpec<'a> {
    /// The member's name (used in error messages), borrowed or owned.
    pub name: Cow<'a, str>,
    /// `sizeof` the member's type (for a bit-field: of the declared integer type).
    pub size: usize,
    /// The alignment of the member's type; 0 is read as 1, like ctypes does.
    pub align: usize,
    /// Whole value or bit-field.
    pub kind: FieldKind,
}

impl<'a> FieldSpec<'a> {
    /// A whole-value member.
    pub fn value(name: impl Into<Cow<'a, str>>, size: usize, align: usize) -> FieldSpec<'a> {
        FieldSpec {
            name: name.into(),
            size,
            align,
            kind: FieldKind::Value,
        }
    }

    /// A named bit-field. The width is checked when the layout is computed.
    pub fn bitfield(
        name: impl Into<Cow<'a, str>>,
        size: usize,
        align: usize,
        bits: u32,
        int: IntKind,
    ) -> FieldSpec<'a> {
        FieldSpec {
            name: name.into(),
            size,
            align,
            kind: FieldKind::Bitfield { bits, int },
        }
    }

    /// A named bit-field whose width arrives as any integer (a Python int, say):
    /// ctypes: a width that is not in `1..=8 * size` raises
    /// `ValueError("number of bits invalid for bit field 'name'")`.
    pub fn try_bitfield(
        name: impl Into<Cow<'a, str>>,
        size: usize,
        align: usize,
        bits: i64,
        int: IntKind,
    ) -> Result<FieldSpec<'a>> {
        let name = name.into();
        match u32::try_from(bits) {
            Ok(b) if b >= 1 && (b as u128) <= size as u128 * 8 => {
                Ok(FieldSpec::bitfield(name, size, align, b, int))
            }
            _ => Err(Error::BitfieldWidth {
                field: name.into_owned(),
                bits,
            }),
        }
    }

    /// An unnamed bit-field (`type : bits;` in C, including `type : 0;`).
    pub fn unnamed(size: usize, align: usize, bits: u32) -> FieldSpec<'a> {
        FieldSpec {
            name: Cow::Borrowed(""),
            size,
            align,
            kind: FieldKind::Unnamed { bits },
        }
    }
}

/// The base class of a derived `Structure`/`Union`: its fields come first and are not
/// laid out again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BaseSpec {
    /// `sizeof(base)`.
    pub size: usize,
    /// `alignment(base)`.
    pub align: usize,
}

/// A struct or union to lay out (its members' names borrowed for `'a`, or owned).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructSpec<'a> {
    /// The members, in declaration order.
    pub fields: Vec<FieldSpec<'a>>,
    /// A union: every member starts at offset 0.
    pub is_union: bool,
    /// Which compiler's rules apply.
    pub rule: LayoutRule,
    /// Maximum member alignment (`#pragma pack(n)`, ctypes' `_pack_`). `None` and
    /// `Some(0)` mean no packing. Under `GccSysV` this is GCC's `#pragma pack`, which
    /// also lets bit-fields straddle their type's boundaries; ctypes itself refuses
    /// `_pack_` with `'gcc-sysv'` (see [`CtypesAttrs::resolve`]).
    pub pack: Option<usize>,
    /// Minimum alignment of the aggregate (`__attribute__((aligned(n)))`, ctypes'
    /// `_align_`); 0 and 1 mean none. It can raise the alignment, never lower it, and
    /// `pack` does not cap it.
    pub align: usize,
    /// The base class, laid out first (ctypes subclassing a `Structure`).
    pub base: Option<BaseSpec>,
    /// The byte order of the values; decides how bit offsets are counted.
    pub byte_order: ByteOrder,
}

impl<'a> StructSpec<'a> {
    /// An empty struct under `rule`, with no packing, alignment, base or swapping.
    pub fn new(rule: LayoutRule) -> StructSpec<'a> {
        StructSpec {
            fields: Vec::new(),
            is_union: false,
            rule,
            pack: None,
            align: 0,
            base: None,
            byte_order: ByteOrder::Native,
        }
    }

    /// Computes the layout. Fails on a bit-field width outside its type, or when the
    /// aggregate would be larger than `isize::MAX` bytes.
    pub fn layout(&self) -> Result<Layout> {
        compute(self)
    }
}

/// Where one member lives.
///
/// For a bit-field, `offset`/`size` give the storage unit the accessor reads and writes
/// (like ctypes' `CField.byte_offset`/`byte_size`), and `bit_offset` is the shift of the
/// field's lowest bit within that unit once it has been read as an integer in the
/// aggregate's byte order (ctypes' `CField.bit_offset`). The unit is the declared type
/// at a multiple of its alignment, as ctypes has it. Only where that unit would not
/// hold the bits or would run past the end of the aggregate (packed `GccSysV`
/// bit-fields, which may straddle, and unnamed ones, which do not raise the alignment)
/// is the unit instead the smallest run of bytes covering the bits: 1 to 9 bytes, not
/// always a power of two, so accessors should read units of any such size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldLayout {
    /// Byte offset of the value, or of a bit-field's storage unit.
    pub offset: usize,
    /// Size in bytes of the value or storage unit (0 for a zero-width bit-field).
    pub size: usize,
    /// Shift of a bit-field within its unit; `None` for whole values.
    pub bit_offset: Option<u32>,
    /// Width of a bit-field; `None` for whole values.
    pub bit_size: Option<u32>,
}

impl FieldLayout {
    /// Whether this is a bit-field (named or not).
    pub fn is_bitfield(&self) -> bool {
        self.bit_size.is_some()
    }

    /// The mask of the field's bits within its storage unit, after shifting
    /// (`None` for whole values).
    pub fn mask(&self) -> Option<u128> {
        let (shift, bits) = (self.bit_offset?, self.bit_size?);
        let ones = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        Some(ones << shift)
    }
}

/// The computed layout of a struct or union.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// `sizeof`: a multiple of `align`.
    pub size: usize,
    /// `_Alignof`: at least 1.
    pub align: usize,
    /// One entry per [`StructSpec::fields`] entry, in the same order.
    pub fields: Vec<FieldLayout>,
}

/// Converts a bit offset counted from the little end of a `unit_size`-byte unit to one
/// counted from the big end, or back. ctypes: on a big-endian layout, bit-fields start
/// at the big end, so the shift is `8 * unit_size - bit_size - bit_offset`. Arguments
/// that do not describe a field inside its unit give 0 rather than a panic.
pub fn flip_bit_offset(unit_size: usize, bit_offset: u32, bit_size: u32) -> u32 {
    let unit_bits = unit_size as u128 * 8;
    let flipped = unit_bits.saturating_sub(u128::from(bit_size) + u128::from(bit_offset));
    u32::try_from(flipped).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------
// ctypes' class attributes
// ---------------------------------------------------------------------------------

/// The class attributes by which ctypes chooses a layout, as read from the class.
/// Integers arrive as `i64`; a Python int beyond that range can be passed saturated
/// (`i64::MAX`/`i64::MIN`), which gives the same error ctypes raises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtypesAttrs<'a> {
    /// `_layout_`, if set.
    pub layout: Option<&'a str>,
    /// `_pack_`, if set.
    pub pack: Option<i64>,
    /// `_align_`, if set.
    pub align: Option<i64>,
    /// Whether the class has `_swappedbytes_`.
    pub swapped_bytes: bool,
}

/// The layout options ctypes derives from a class's attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtypesOptions {
    /// The rule to use.
    pub rule: LayoutRule,
    /// The packing (`None`: none).
    pub pack: Option<usize>,
    /// The minimum alignment (at least 1).
    pub align: usize,
    /// The byte order.
    pub byte_order: ByteOrder,
    /// Set when `_pack_` chose the `ms` layout because `_layout_` was missing on a
    /// non-Windows platform. CPython 3.14 emits a `DeprecationWarning` then ("Due to
    /// '_pack_', the 'X' Structure will use memory layout compatible with MSVC
    /// (Windows). If this is intended, set _layout_ to 'ms'. ..."), which the Python
    /// layer should repeat.
    pub implicit_ms_deprecated: bool,
}

impl CtypesAttrs<'_> {
    /// ctypes (3.14, `Lib/ctypes/_layout.py`): validates the attributes in ctypes'
    /// order and picks the rule. Without `_layout_`, a truthy `_pack_` selects `ms`
    /// (deprecated off Windows); an explicit `'gcc-sysv'` with any `_pack_`, even 0,
    /// is an error, and so is `_pack_ = 0` alone off Windows, since it leaves the
    /// default gcc-sysv layout in place.
    pub fn resolve(&self) -> Result<CtypesOptions> {
        let (rule, implicit_ms_deprecated) = match self.layout {
            Some(name) => (LayoutRule::from_ctypes_name(name)?, false),
            None if cfg!(windows) => (LayoutRule::Ms, false),
            None if self.pack.is_some_and(|p| p != 0) => (LayoutRule::Ms, true),
            None => (LayoutRule::GccSysV, false),
        };
        let align = match self.align {
            None => 1,
            Some(a) if a < 0 => return Err(Error::NegativeAlign { value: a }),
            // ctypes: `_align_ = 0` means the default alignment.
            Some(a) => usize::try_from(a)
                .map_err(|_| Error::LayoutTooLarge)?
                .max(1),
        };
        let pack = match self.pack {
            None => None,
            Some(p) if p < 0 => return Err(Error::NegativePack { value: p }),
            Some(p) if p > i64::from(i32::MAX) => return Err(Error::PackTooBig { value: p }),
            Some(_) if rule == LayoutRule::GccSysV => return Err(Error::PackWithGccLayout),
            Some(0) => None,
            Some(p) => Some(p as usize),
        };
        let byte_order = if self.swapped_bytes {
            ByteOrder::Swapped
        } else {
            ByteOrder::Native
        };
        Ok(CtypesOptions {
            rule,
            pack,
            align,
            byte_order,
            implicit_ms_deprecated,
        })
    }
}

impl CtypesOptions {
    /// An empty spec with these options.
    pub fn spec<'a>(&self, is_union: bool) -> StructSpec<'a> {
        StructSpec {
            fields: Vec::new(),
            is_union,
            rule: self.rule,
            pack: self.pack,
            align: self.align,
            base: None,
            byte_order: self.byte_order,
        }
    }
}

// ---------------------------------------------------------------------------------
// The computation
// ---------------------------------------------------------------------------------

// Positions are counted in bits as u128: a byte size up to usize::MAX times 8, plus
// rounding, cannot overflow it, and `check_pos` keeps every position below
// 8 * isize::MAX between members.

/// Where the rule put a member, before byte-order and unit adjustments.
#[derive(Clone, Copy, Debug)]
enum Placed {
    /// A whole value of `size` bytes at this byte offset.
    Value { offset: u128, size: usize },
    /// A bit-field whose first bit (counted in allocation order from the start of the
    /// aggregate) is `bit`. `unit` is its natural storage unit (byte offset, size):
    /// the declared type at a multiple of its alignment, which holds the bits unless
    /// the rule let them straddle.
    Bits {
        bit: u128,
        bits: u32,
        unit: Option<(u128, usize)>,
    },
}

/// A member with its size and alignments as numbers, defaults applied.
struct Member<'a> {
    spec: &'a FieldSpec<'a>,
    size: u128,
    /// The type's own alignment in bytes, at least 1.
    align: u128,
    /// The alignment after `pack`.
    packed_align: u128,
}

fn round_up(n: u128, multiple: u128) -> u128 {
    n.div_ceil(multiple) * multiple
}

fn round_down(n: u128, multiple: u128) -> u128 {
    n / multiple * multiple
}

const MAX_BYTES: u128 = isize::MAX as u128;

fn check_pos(bit: u128) -> Result<()> {
    if bit.div_ceil(8) > MAX_BYTES {
        Err(Error::LayoutTooLarge)
    } else {
        Ok(())
    }
}

fn compute(spec: &StructSpec) -> Result<Layout> {
    let pack = spec.pack.filter(|&p| p != 0).map(|p| p as u128);
    let mut members = Vec::with_capacity(spec.fields.len());
    for f in &spec.fields {
        let size = f.size as u128;
        let width = match f.kind {
            FieldKind::Value => None,
            FieldKind::Bitfield { bits, .. } => Some((bits, bits >= 1)),
            FieldKind::Unnamed { bits } => Some((bits, true)),
        };
        if let Some((bits, positive_ok)) = width {
            // ctypes: "number of bits invalid for bit field" for 0 or more bits than
            // the type has; C rejects the same declarations.
            if !positive_ok || u128::from(bits) > size * 8 {
                return Err(Error::BitfieldWidth {
                    field: f.name.to_string(),
                    bits: i64::from(bits),
                });
            }
        }
        let align = (f.align as u128).max(1);
        members.push(Member {
            spec: f,
            size,
            align,
            packed_align: pack.map_or(align, |p| align.min(p)),
        });
    }

    let base = spec
        .base
        .map_or((0, 1), |b| (b.size as u128, (b.align as u128).max(1)));
    // `_align_` and a base's alignment are not capped by `pack` (ctypes; GCC treats an
    // `aligned` attribute on the struct type the same way).
    let min_align = (spec.align as u128).max(1).max(base.1);

    let (placed, end_bits, mut align) = match spec.rule {
        LayoutRule::GccSysV => gcc_sysv(&members, spec.is_union, pack.is_some(), base.0)?,
        LayoutRule::Ms => ms(&members, spec.is_union, base.0)?,
    };
    align = align.max(min_align);
    let size = round_up(end_bits.div_ceil(8), align);
    if size > MAX_BYTES || align > MAX_BYTES {
        return Err(Error::LayoutTooLarge);
    }

    let big_endian = spec.byte_order.is_big_endian();
    let fields = placed
        .into_iter()
        .map(|p| finish_field(p, size, big_endian))
        .collect();
    let layout = Layout {
        size: size as usize,
        align: align as usize,
        fields,
    };
    debug_check(&layout);
    Ok(layout)
}

/// Chooses a bit-field's storage unit and counts its shift in the aggregate's order.
fn finish_field(p: Placed, total: u128, big_endian: bool) -> FieldLayout {
    match p {
        Placed::Value { offset, size } => FieldLayout {
            offset: offset as usize,
            size,
            bit_offset: None,
            bit_size: None,
        },
        Placed::Bits { bit, bits, unit } => {
            // The natural unit is what ctypes exposes. It can only be unusable for
            // packed gcc-sysv bit-fields (which may straddle it, or a packed aggregate
            // may end inside it) and unnamed gcc-sysv ones (which leave the aggregate's
            // alignment, and so its size, short of their type). Then the accessor gets
            // the bytes the bits cover, which keeps every unit inside the aggregate.
            let (offset, unit_size) = match unit {
                Some((o, s))
                    if o * 8 <= bit
                        && bit + u128::from(bits) <= (o + s as u128) * 8
                        && o + s as u128 <= total =>
                {
                    (o, s)
                }
                _ if bits == 0 => (bit / 8, 0),
                _ => {
                    let first = bit / 8;
                    (
                        first,
                        ((bit + u128::from(bits)).div_ceil(8) - first) as usize,
                    )
                }
            };
            let mut shift = (bit - offset * 8) as u32;
            if big_endian && bits > 0 {
                shift = flip_bit_offset(unit_size, shift, bits);
            }
            FieldLayout {
                offset: offset as usize,
                size: unit_size,
                bit_offset: Some(if bits == 0 { 0 } else { shift }),
                bit_size: Some(bits),
            }
        }
    }
}

/// GCC on System V targets (x86-64, AArch64, ...): members are placed bit by bit.
///
/// - A whole value goes to the next multiple of its (packed) alignment.
/// - A bit-field goes to the next free bit, unless it would then not fit in one
///   naturally aligned object of its type; then it moves to the next boundary of that
///   type. GCC drops this rule entirely under `#pragma pack(n)`, for every `n`: packed
///   bit-fields straddle freely.
/// - Named bit-fields raise the aggregate's alignment to their type's (packed)
///   alignment; unnamed ones do not (x86-64 psABI: "unnamed bit-fields' types do not
///   affect the alignment of a structure or union").
/// - A zero-width bit-field moves the next member to its type's boundary, and GCC does
///   not cap that by `#pragma pack`.
///
/// Returns the placements, the end of the last member in bits and the alignment.
fn gcc_sysv(
    members: &[Member<'_>],
    is_union: bool,
    packed: bool,
    base_size: u128,
) -> Result<(Vec<Placed>, u128, u128)> {
    let mut placed = Vec::with_capacity(members.len());
    let mut pos = base_size * 8;
    let mut end = pos;
    let mut align = 1u128;
    for m in members {
        // ctypes: union members all start at 0, even in a derived union.
        let start = if is_union { 0 } else { pos };
        let type_bits = m.align * 8;
        let p = match m.spec.kind {
            FieldKind::Value => {
                let at = round_up(start, m.packed_align * 8);
                pos = at + m.size * 8;
                align = align.max(m.packed_align);
                Placed::Value {
                    offset: at / 8,
                    size: m.spec.size,
                }
            }
            FieldKind::Unnamed { bits: 0 } => {
                pos = round_up(start, type_bits);
                Placed::Bits {
                    bit: pos,
                    bits: 0,
                    unit: None,
                }
            }
            FieldKind::Bitfield { bits, .. } | FieldKind::Unnamed { bits } => {
                let mut at = start;
                if !packed {
                    let slot_end = round_down(at, type_bits) + m.size * 8;
                    if at + u128::from(bits) > slot_end {
                        at = round_up(at, type_bits);
                    }
                }
                if matches!(m.spec.kind, FieldKind::Bitfield { .. }) {
                    align = align.max(m.packed_align);
                }
                pos = at + u128::from(bits);
                Placed::Bits {
                    bit: at,
                    bits,
                    unit: Some((round_down(at, type_bits) / 8, m.spec.size)),
                }
            }
        };
        check_pos(pos)?;
        end = end.max(pos);
        placed.push(p);
    }
    Ok((placed, end, align))
}

/// The storage unit an `ms` run of bit-fields is filling.
struct Unit {
    /// Byte offset of the unit.
    offset: u128,
    /// Its size: the declared type's size.
    size: u128,
    /// Bits already taken.
    used: u128,
}

/// MSVC, as ctypes describes it and GCC's `ms_struct` implements it.
///
/// - Every member, bit-field or not, is aligned to its type's alignment capped by
///   `pack`, and raises the aggregate's alignment by as much; a bit-field takes a
///   whole storage unit of its declared type.
/// - A bit-field joins the open unit only if its type has the same size as the unit's
///   and the unit has room left; anything else closes the unit.
/// - A zero-width bit-field right after a non-zero-width one closes the unit, aligns
///   the next member to its type (capped by `pack`) and raises the aggregate's
///   alignment; after anything else it is ignored.
///
/// Unions are where the three authorities part ways. A union bit-field takes its
/// whole unit, so the union is at least as large as the bit-field's type (MSVC as
/// Clang emulates it, and ctypes; GCC's `ms_struct` counts only the bytes the bits
/// cover, which shows under `pack`). It raises the union's alignment (ctypes and GCC;
/// Clang says MSVC does not, but ctypes is the behaviour ferrotype users already
/// rely on). A zero-width bit-field right after a bit-field makes the union at least
/// as large as its type without aligning it (MSVC per Clang; GCC ignores it; ctypes
/// cannot declare it).
///
/// Returns the placements, the end in bits and the alignment.
fn ms(
    members: &[Member<'_>],
    is_union: bool,
    base_size: u128,
) -> Result<(Vec<Placed>, u128, u128)> {
    let mut placed = Vec::with_capacity(members.len());
    let mut next = base_size; // first free byte after the last unit or value
    let mut end = next;
    let mut unit: Option<Unit> = None;
    // MSVC's "the last member was a non-zero-width bit-field"; unlike `unit` it
    // survives the restart at offset 0 between union members.
    let mut after_bitfield = false;
    let mut align = 1u128;
    for m in members {
        if is_union {
            next = 0;
            unit = None;
        }
        let p = match m.spec.kind {
            FieldKind::Value => {
                unit = None;
                after_bitfield = false;
                let at = round_up(next, m.packed_align);
                next = at + m.size;
                align = align.max(m.packed_align);
                Placed::Value {
                    offset: at,
                    size: m.spec.size,
                }
            }
            FieldKind::Unnamed { bits: 0 } => {
                unit = None;
                if std::mem::take(&mut after_bitfield) {
                    if is_union {
                        next = m.size;
                    } else {
                        next = round_up(next, m.packed_align);
                        align = align.max(m.packed_align);
                    }
                }
                Placed::Bits {
                    // In a union `next` is now the size, not a position.
                    bit: if is_union { 0 } else { next * 8 },
                    bits: 0,
                    unit: None,
                }
            }
            FieldKind::Bitfield { bits, .. } | FieldKind::Unnamed { bits } => {
                let bits128 = u128::from(bits);
                let joins = unit
                    .as_ref()
                    .is_some_and(|u| u.size == m.size && u.used + bits128 <= u.size * 8);
                let u = match unit.as_mut() {
                    Some(u) if joins => u,
                    _ => {
                        let at = round_up(next, m.packed_align);
                        next = at + m.size;
                        unit.insert(Unit {
                            offset: at,
                            size: m.size,
                            used: 0,
                        })
                    }
                };
                after_bitfield = true;
                align = align.max(m.packed_align);
                let bit = u.offset * 8 + u.used;
                u.used += bits128;
                Placed::Bits {
                    bit,
                    bits,
                    unit: Some((u.offset, m.spec.size)),
                }
            }
        };
        check_pos(next * 8)?;
        end = end.max(next * 8);
        placed.push(p);
    }
    Ok((placed, end, align))
}

/// Debug builds check the module invariant on every layout computed.
fn debug_check(layout: &Layout) {
    debug_assert!(
        layout.align >= 1 && layout.size % layout.align == 0,
        "{layout:?}"
    );
    for f in &layout.fields {
        debug_assert!(f.offset + f.size <= layout.size, "{layout:?}");
        if let (Some(o), Some(b)) = (f.bit_offset, f.bit_size) {
            debug_assert!(
                o as usize + b as usize <= f.size * 8 || b == 0,
                "{layout:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::fmt::Write as _;
    use std::path::PathBuf;
    use std::process::Command;

    // -----------------------------------------------------------------------------
    // C declarations and their specs
    // -----------------------------------------------------------------------------

    /// One member of a C declaration, with the spec it corresponds to.
    #[derive(Clone, Debug)]
    struct CField {
        /// The C type, e.g. `unsigned int` or `struct h8`.
        ctype: &'static str,
        /// `Some(n)` declares `ctype name[n]`.
        array: Option<usize>,
        spec: FieldSpec<'static>,
        /// A `_Bool` bit-field: set to 1 rather than -1 in the dump.
        is_bool: bool,
    }

    /// A C struct or union declaration and everything needed to emit it.
    #[derive(Clone, Debug)]
    struct CDecl {
        fields: Vec<CField>,
        is_union: bool,
        rule: LayoutRule,
        pack: Option<usize>,
        align: Option<usize>,
        /// A base (ctypes subclassing), emitted in C as a leading member `base`.
        base: Option<(&'static str, usize, usize)>,
    }

    impl CDecl {
        fn new(rule: LayoutRule) -> CDecl {
            CDecl {
                fields: Vec::new(),
                is_union: false,
                rule,
                pack: None,
                align: None,
                base: None,
            }
        }
        fn union(mut self) -> CDecl {
            self.is_union = true;
            self
        }
        fn pack(mut self, n: usize) -> CDecl {
            self.pack = Some(n);
            self
        }
        fn align(mut self, n: usize) -> CDecl {
            self.align = Some(n);
            self
        }
        fn base(mut self, ctype: &'static str) -> CDecl {
            let (_, size, align) = *AGGREGATES.iter().find(|a| a.0 == ctype).unwrap();
            self.base = Some((ctype, size, align));
            self
        }
        /// A whole value of a scalar or helper type from the tables.
        fn val(self, ctype: &'static str) -> CDecl {
            self.arr(ctype, None)
        }
        fn arr(mut self, ctype: &'static str, n: Option<usize>) -> CDecl {
            let (size, align) = value_type(ctype);
            let name = format!("f{}", self.fields.len());
            self.fields.push(CField {
                ctype,
                array: n,
                spec: FieldSpec::value(name, size * n.unwrap_or(1), align),
                is_bool: false,
            });
            self
        }
        /// A named bit-field.
        fn bf(mut self, ctype: &'static str, bits: u32) -> CDecl {
            let (_, size, int) = *BITFIELD_TYPES.iter().find(|t| t.0 == ctype).unwrap();
            let name = format!("f{}", self.fields.len());
            self.fields.push(CField {
                ctype,
                array: None,
                spec: FieldSpec::bitfield(name, size, size, bits, int),
                is_bool: int == IntKind::Bool,
            });
            self
        }
        /// An unnamed bit-field.
        fn pad(mut self, ctype: &'static str, bits: u32) -> CDecl {
            let (_, size, _) = *BITFIELD_TYPES.iter().find(|t| t.0 == ctype).unwrap();
            self.fields.push(CField {
                ctype,
                array: None,
                spec: FieldSpec::unnamed(size, size, bits),
                is_bool: false,
            });
            self
        }

        fn spec(&self) -> StructSpec<'static> {
            StructSpec {
                fields: self.fields.iter().map(|f| f.spec.clone()).collect(),
                is_union: self.is_union,
                rule: self.rule,
                pack: self.pack,
                align: self.align.unwrap_or(0),
                base: self.base.map(|(_, size, align)| BaseSpec { size, align }),
                byte_order: ByteOrder::Native,
            }
        }

        fn tag(&self) -> &'static str {
            if self.is_union {
                "union"
            } else {
                "struct"
            }
        }

        /// The declaration of `s{id}` and its dump function `d{id}`.
        fn c_source(&self, id: usize) -> String {
            let mut c = String::new();
            if let Some(n) = self.pack {
                writeln!(c, "#pragma pack(push, {n})").unwrap();
            }
            let mut attrs = vec![match self.rule {
                LayoutRule::GccSysV => "gcc_struct".to_owned(),
                LayoutRule::Ms => "ms_struct".to_owned(),
            }];
            if let Some(a) = self.align {
                attrs.push(format!("aligned({a})"));
            }
            write!(
                c,
                "{} __attribute__(({})) s{id} {{",
                self.tag(),
                attrs.join(", ")
            )
            .unwrap();
            if let Some((ctype, _, _)) = self.base {
                write!(c, " {ctype} base;").unwrap();
            }
            for f in &self.fields {
                match (f.spec.kind, f.array) {
                    (FieldKind::Value, None) => write!(c, " {} {};", f.ctype, f.spec.name),
                    (FieldKind::Value, Some(n)) => {
                        write!(c, " {} {}[{n}];", f.ctype, f.spec.name)
                    }
                    (FieldKind::Bitfield { bits, .. }, _) => {
                        write!(c, " {} {} : {bits};", f.ctype, f.spec.name)
                    }
                    (FieldKind::Unnamed { bits }, _) => write!(c, " {} : {bits};", f.ctype),
                }
                .unwrap();
            }
            writeln!(c, " }};").unwrap();
            if self.pack.is_some() {
                writeln!(c, "#pragma pack(pop)").unwrap();
            }
            let t = format!("{} s{id}", self.tag());
            writeln!(c, "static void d{id}(void) {{").unwrap();
            writeln!(
                c,
                "  printf(\"S {id} %zu %zu\\n\", sizeof({t}), _Alignof({t}));"
            )
            .unwrap();
            for (i, f) in self.fields.iter().enumerate() {
                match f.spec.kind {
                    FieldKind::Value => writeln!(
                        c,
                        "  printf(\"F {id} {i} %zu\\n\", offsetof({t}, {}));",
                        f.spec.name
                    )
                    .unwrap(),
                    FieldKind::Bitfield { .. } => writeln!(
                        c,
                        "  {{ {t} v; memset(&v, 0, sizeof v); v.{} = {}; \
                         dump({id}, {i}, &v, sizeof v); }}",
                        f.spec.name,
                        if f.is_bool { 1 } else { -1 }
                    )
                    .unwrap(),
                    FieldKind::Unnamed { .. } => {}
                }
            }
            writeln!(c, "}}").unwrap();
            c
        }
    }

    /// Whole-value types: (C type, size, alignment) on x86-64 System V.
    const SCALARS: &[(&str, usize, usize)] = &[
        ("char", 1, 1),
        ("unsigned char", 1, 1),
        ("short", 2, 2),
        ("int", 4, 4),
        ("unsigned int", 4, 4),
        ("long", 8, 8),
        ("long long", 8, 8),
        ("float", 4, 4),
        ("double", 8, 8),
        ("long double", 16, 16),
        ("void *", 8, 8),
        ("_Bool", 1, 1),
    ];

    /// Aggregate member types, defined in [`PRELUDE`].
    const AGGREGATES: &[(&str, usize, usize)] = &[
        ("struct h3", 3, 1),
        ("struct h4", 4, 2),
        ("struct h8", 8, 4),
        ("struct h12", 12, 4),
        ("struct h16", 16, 8),
        ("struct ha16", 16, 16),
        ("struct hp5", 5, 1),
        ("struct he", 0, 1),
    ];

    /// Bit-field types: (C type, size, interpretation); alignment equals size.
    const BITFIELD_TYPES: &[(&str, usize, IntKind)] = &[
        ("signed char", 1, IntKind::Signed),
        ("unsigned char", 1, IntKind::Unsigned),
        ("short", 2, IntKind::Signed),
        ("unsigned short", 2, IntKind::Unsigned),
        ("int", 4, IntKind::Signed),
        ("unsigned int", 4, IntKind::Unsigned),
        ("long", 8, IntKind::Signed),
        ("unsigned long long", 8, IntKind::Unsigned),
        ("_Bool", 1, IntKind::Bool),
    ];

    const PRELUDE: &str = r#"
#include <stdio.h>
#include <string.h>
#include <stddef.h>
struct h3 { char c[3]; };
struct h4 { short s; char c; };
struct h8 { int i; char c; };
struct h12 { int a, b, c; };
struct h16 { double d; char c; };
struct __attribute__((aligned(16))) ha16 { char c; };
struct __attribute__((packed)) hp5 { char c; int i; };
struct he { };
static void dump(int s, int f, const void *p, size_t n) {
    const unsigned char *b = p;
    printf("B %d %d ", s, f);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}
#define H(T) printf("H %zu %zu %s\n", sizeof(T), _Alignof(T), #T)
"#;

    fn value_type(ctype: &str) -> (usize, usize) {
        let (_, size, align) = *SCALARS
            .iter()
            .chain(AGGREGATES)
            .find(|t| t.0 == ctype)
            .unwrap_or_else(|| panic!("unknown test type {ctype}"));
        (size, align)
    }

    // -----------------------------------------------------------------------------
    // Random declarations
    // -----------------------------------------------------------------------------

    /// SplitMix64: small, deterministic, good enough to spread test cases.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn percent(&mut self, p: usize) -> bool {
            self.below(100) < p
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    fn random_width(rng: &mut Rng, size: usize, int: IntKind) -> u32 {
        let max = size as u32 * 8;
        if int == IntKind::Bool {
            return 1; // C allows only `_Bool x : 1`
        }
        match rng.below(10) {
            0..=2 => 1 + rng.below(4.min(max as usize)) as u32,
            3..=4 => max,
            _ => 1 + rng.below(max as usize) as u32,
        }
    }

    fn random_decl(rng: &mut Rng, rule: LayoutRule) -> CDecl {
        let mut d = CDecl::new(rule);
        d.is_union = rng.percent(20);
        // Bit-field-heavy structs find more corner cases than mixed ones.
        let bitfield_pct = if rng.percent(50) { 85 } else { 45 };
        if rng.percent(match rule {
            LayoutRule::Ms => 55,
            LayoutRule::GccSysV => 35,
        }) {
            d.pack = Some(rng.pick(&[1, 2, 4, 8, 16]));
        }
        if rng.percent(25) {
            d.align = Some(rng.pick(&[1, 2, 4, 8, 16, 32, 64]));
        }
        if !d.is_union && d.pack.is_none() && rng.percent(10) {
            let (ctype, _, _) = rng.pick(AGGREGATES);
            d = d.base(ctype);
        }
        for _ in 0..1 + rng.below(8) {
            if rng.percent(bitfield_pct) {
                let (ctype, size, int) = rng.pick(BITFIELD_TYPES);
                match rng.below(20) {
                    0..=1 => d = d.pad(ctype, 0),
                    2 => d = d.pad(ctype, random_width(rng, size, int)),
                    _ => d = d.bf(ctype, random_width(rng, size, int)),
                }
            } else {
                let ctype = if rng.percent(75) {
                    rng.pick(SCALARS).0
                } else {
                    rng.pick(AGGREGATES).0
                };
                let n = if rng.percent(15) {
                    Some(rng.below(5))
                } else {
                    None
                };
                d = d.arr(ctype, n);
            }
        }
        d
    }

    // -----------------------------------------------------------------------------
    // The cc oracle
    // -----------------------------------------------------------------------------

    /// What the compiler said about one declaration.
    #[derive(Default, Debug)]
    struct CcFacts {
        size: usize,
        align: usize,
        offsets: HashMap<usize, usize>,
        bytes: HashMap<usize, Vec<u8>>,
    }

    /// Compiles and runs one program for all `decls`; `None` (with a note) when there
    /// is no usable C compiler or the target is not the one the tables describe.
    fn run_cc(decls: &[CDecl], tag: &str) -> Option<Vec<CcFacts>> {
        if !cfg!(all(target_arch = "x86_64", unix)) {
            eprintln!("note: layout cc oracle skipped: the type tables are for x86-64 unix");
            return None;
        }
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
        if Command::new(&cc).arg("--version").output().is_err() {
            eprintln!("note: layout cc oracle skipped: no C compiler `{cc}`");
            return None;
        }
        let mut src = String::from(PRELUDE);
        for (id, d) in decls.iter().enumerate() {
            src.push_str(&d.c_source(id));
        }
        src.push_str("int main(void) {\n");
        for (t, _, _) in SCALARS.iter().chain(AGGREGATES) {
            writeln!(src, "    H({t});").unwrap();
        }
        for id in 0..decls.len() {
            writeln!(src, "    d{id}();").unwrap();
        }
        src.push_str("    return 0;\n}\n");

        let dir: PathBuf =
            std::env::temp_dir().join(format!("ferrotype-layout-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c_path = dir.join("layout.c");
        let exe = dir.join("layout");
        std::fs::write(&c_path, &src).unwrap();
        let out = Command::new(&cc)
            .args(["-std=gnu11", "-O0", "-w", "-o"])
            .arg(&exe)
            .arg(&c_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cc failed on {}:\n{}",
            c_path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(&exe).output().unwrap();
        assert!(run.status.success(), "{} failed", exe.display());
        let stdout = String::from_utf8(run.stdout).unwrap();

        let mut facts: Vec<CcFacts> = decls.iter().map(|_| CcFacts::default()).collect();
        for line in stdout.lines() {
            let w: Vec<&str> = line.splitn(4, ' ').collect();
            let num = |i: usize| w[i].parse::<usize>().unwrap();
            match w[0] {
                "H" => {
                    let (size, align) = value_type(w[3]);
                    assert_eq!((num(1), num(2)), (size, align), "table entry for {}", w[3]);
                }
                "S" => {
                    facts[num(1)].size = num(2);
                    facts[num(1)].align = num(3);
                }
                "F" => {
                    facts[num(1)].offsets.insert(num(2), num(3));
                }
                "B" => {
                    let hex = w[3];
                    let bytes = (0..hex.len() / 2)
                        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                        .collect();
                    facts[num(1)].bytes.insert(num(2), bytes);
                }
                _ => panic!("unexpected line {line:?}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Some(facts)
    }

    /// The bytes of a zeroed aggregate of `size` bytes after setting field `f` to all
    /// ones, as our layout predicts them.
    fn predicted_bytes(f: &FieldLayout, size: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; size];
        let value = f.mask().unwrap();
        let unit: Vec<u8> = if cfg!(target_endian = "big") {
            value.to_be_bytes()[16 - f.size..].to_vec()
        } else {
            value.to_le_bytes()[..f.size].to_vec()
        };
        bytes[f.offset..f.offset + f.size].copy_from_slice(&unit);
        bytes
    }

    /// Compares our layout of `d` with the compiler's; returns what differs.
    fn compare(d: &CDecl, cc: &CcFacts) -> std::result::Result<Layout, String> {
        let ours = d
            .spec()
            .layout()
            .map_err(|e| format!("layout failed: {e}"))?;
        let mut diffs = Vec::new();
        let mut cc_size = ours.size;
        let has_bitfields = d.fields.iter().any(|f| {
            matches!(
                f.spec.kind,
                FieldKind::Bitfield { .. } | FieldKind::Unnamed { .. }
            )
        });
        if d.rule == LayoutRule::Ms && d.is_union && has_bitfields {
            // Known GCC `ms_struct` deviation from MSVC (and ctypes): in a union GCC
            // counts only the bytes a bit-field's bits cover, not its whole unit.
            let widest = d
                .fields
                .iter()
                .map(|f| match f.spec.kind {
                    FieldKind::Value => f.spec.size,
                    FieldKind::Bitfield { bits, .. } | FieldKind::Unnamed { bits } => {
                        (bits as usize).div_ceil(8)
                    }
                })
                .max()
                .unwrap_or(0);
            cc_size = widest.div_ceil(ours.align) * ours.align;
        }
        if (cc.size, cc.align) != (cc_size, ours.align) {
            diffs.push(format!(
                "size/align: cc {}/{}, ours {}/{} (cc expected {cc_size})",
                cc.size, cc.align, ours.size, ours.align
            ));
        }
        for (i, (f, l)) in d.fields.iter().zip(&ours.fields).enumerate() {
            match f.spec.kind {
                FieldKind::Value => {
                    if cc.offsets.get(&i) != Some(&l.offset) {
                        diffs.push(format!(
                            "field {i}: cc offset {:?}, ours {}",
                            cc.offsets.get(&i),
                            l.offset
                        ));
                    }
                }
                FieldKind::Bitfield { .. } => {
                    let predicted = predicted_bytes(l, ours.size);
                    let got = cc.bytes.get(&i).cloned().unwrap_or_default();
                    // Compare the bytes both sizes cover (they differ only in the GCC
                    // ms union case above).
                    let n = got.len().min(predicted.len());
                    if got[..n] != predicted[..n] || predicted[n..].iter().any(|&b| b != 0) {
                        diffs.push(format!(
                            "bit-field {i}: cc bytes {got:02x?}, ours {predicted:02x?} ({l:?})"
                        ));
                    }
                }
                FieldKind::Unnamed { .. } => {}
            }
        }
        if diffs.is_empty() {
            Ok(ours)
        } else {
            Err(diffs.join("; "))
        }
    }

    /// Checks every declaration against cc; panics listing the first mismatches.
    fn check_against_cc(decls: &[CDecl], tag: &str) -> usize {
        let Some(facts) = run_cc(decls, tag) else {
            return 0;
        };
        let mut failures = Vec::new();
        for (id, (d, cc)) in decls.iter().zip(&facts).enumerate() {
            if let Err(e) = compare(d, cc) {
                failures.push(format!(
                    "s{id}: {e}\n    {}",
                    d.c_source(id)
                        .lines()
                        .nth(usize::from(d.pack.is_some()))
                        .unwrap()
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} layouts differ from cc:\n{}",
            failures.len(),
            decls.len(),
            failures
                .iter()
                .take(15)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        decls.len()
    }

    /// What a batch of declarations exercises, for the test log.
    fn coverage(decls: &[CDecl]) -> String {
        let count = |f: &dyn Fn(&CDecl) -> bool| decls.iter().filter(|d| f(d)).count();
        let fields = |f: &dyn Fn(&CField) -> bool| {
            decls
                .iter()
                .flat_map(|d| &d.fields)
                .filter(|x| f(x))
                .count()
        };
        format!(
            "{} decls ({} unions, {} packed, {} with aligned(n), {} with a base); \
             {} fields: {} named bit-fields ({} _Bool), {} zero-width, {} unnamed, \
             {} aggregates/arrays",
            decls.len(),
            count(&|d| d.is_union),
            count(&|d| d.pack.is_some()),
            count(&|d| d.align.is_some()),
            count(&|d| d.base.is_some()),
            fields(&|_| true),
            fields(&|f| matches!(f.spec.kind, FieldKind::Bitfield { .. })),
            fields(&|f| f.is_bool),
            fields(&|f| f.spec.kind == FieldKind::Unnamed { bits: 0 }),
            fields(&|f| matches!(f.spec.kind, FieldKind::Unnamed { bits } if bits > 0)),
            fields(&|f| f.array.is_some() || f.ctype.starts_with("struct")),
        )
    }

    fn random_decls(rule: LayoutRule, seed: u64, n: usize) -> Vec<CDecl> {
        let mut rng = Rng(seed);
        (0..n).map(|_| random_decl(&mut rng, rule)).collect()
    }

    #[test]
    fn gcc_sysv_matches_cc() {
        let decls = random_decls(LayoutRule::GccSysV, 0x5eed_0001, 1200);
        if check_against_cc(&decls, "gcc") > 0 {
            eprintln!("gcc-sysv matched cc: {}", coverage(&decls));
        }
    }

    #[test]
    fn ms_matches_cc() {
        let decls = random_decls(LayoutRule::Ms, 0x5eed_0002, 1200);
        if check_against_cc(&decls, "ms") > 0 {
            eprintln!("ms matched cc (ms_struct): {}", coverage(&decls));
        }
    }

    // -----------------------------------------------------------------------------
    // Hand-written regression cases (x86-64 sizes), each also checked against cc
    // -----------------------------------------------------------------------------

    /// Expected (offset, size, bit offset) of one member.
    type Exp = (usize, usize, Option<u32>);
    fn v(offset: usize, size: usize) -> Exp {
        (offset, size, None)
    }
    fn b(offset: usize, size: usize, shift: u32) -> Exp {
        (offset, size, Some(shift))
    }

    use LayoutRule::{GccSysV as G, Ms as M};

    /// (what, declaration, size, align, members).
    fn regression_cases() -> Vec<(&'static str, CDecl, usize, usize, Vec<Exp>)> {
        vec![
            (
                "int bit-field that would straddle moves to the next int",
                CDecl::new(G).bf("int", 30).bf("int", 4),
                8,
                4,
                vec![b(0, 4, 0), b(4, 4, 0)],
            ),
            (
                "bit-field after a char shares the int when it fits",
                CDecl::new(G).val("char").bf("int", 24),
                4,
                4,
                vec![v(0, 1), b(0, 4, 8)],
            ),
            (
                "bit-field after a char moves when it does not fit",
                CDecl::new(G).val("char").bf("int", 30),
                8,
                4,
                vec![v(0, 1), b(4, 4, 0)],
            ),
            (
                "gcc zero-width aligns the next member but not the struct",
                CDecl::new(G).val("char").pad("int", 0).val("char"),
                5,
                1,
                vec![v(0, 1), b(4, 0, 0), v(4, 1)],
            ),
            (
                "gcc trailing zero-width pads to its type",
                CDecl::new(G).val("char").pad("int", 0),
                4,
                1,
                vec![v(0, 1), b(4, 0, 0)],
            ),
            (
                "gcc zero-width is not capped by pack",
                CDecl::new(G).pack(1).val("char").pad("int", 0).val("char"),
                5,
                1,
                vec![v(0, 1), b(4, 0, 0), v(4, 1)],
            ),
            (
                "gcc char bit-fields after an int bit-field",
                CDecl::new(G)
                    .bf("int", 3)
                    .bf("signed char", 7)
                    .bf("signed char", 7),
                4,
                4,
                vec![b(0, 4, 0), b(1, 1, 0), b(2, 1, 0)],
            ),
            (
                "ms char bit-fields after an int bit-field start new units",
                CDecl::new(M)
                    .bf("int", 3)
                    .bf("signed char", 7)
                    .bf("signed char", 7),
                8,
                4,
                vec![b(0, 4, 0), b(4, 1, 0), b(5, 1, 0)],
            ),
            (
                "gcc bool bit-fields share with an int",
                CDecl::new(G).bf("_Bool", 1).bf("_Bool", 1).bf("int", 3),
                4,
                4,
                vec![b(0, 1, 0), b(0, 1, 1), b(0, 4, 2)],
            ),
            (
                "ms bool bit-fields share a byte, the int gets its own unit",
                CDecl::new(M).bf("_Bool", 1).bf("_Bool", 1).bf("int", 3),
                8,
                4,
                vec![b(0, 1, 0), b(0, 1, 1), b(4, 4, 0)],
            ),
            (
                "long long bit-fields",
                CDecl::new(G).bf("long", 40).bf("long", 30),
                16,
                8,
                vec![b(0, 8, 0), b(8, 8, 0)],
            ),
            (
                "gcc long long bit-field shares with an int bit-field",
                CDecl::new(G).bf("int", 4).bf("long", 60),
                8,
                8,
                vec![b(0, 4, 0), b(0, 8, 4)],
            ),
            (
                "ms long long bit-field after an int bit-field",
                CDecl::new(M).bf("int", 4).bf("long", 60),
                16,
                8,
                vec![b(0, 4, 0), b(8, 8, 0)],
            ),
            (
                "gcc packed bit-fields straddle; units are the bytes they cover",
                CDecl::new(G)
                    .pack(1)
                    .val("char")
                    .bf("int", 30)
                    .bf("signed char", 3)
                    .bf("int", 30),
                9,
                1,
                vec![v(0, 1), b(1, 4, 0), b(4, 2, 6), b(5, 4, 1)],
            ),
            (
                "gcc pack(2) drops the straddle rule too",
                CDecl::new(G)
                    .pack(2)
                    .val("char")
                    .bf("int", 20)
                    .bf("int", 20),
                6,
                2,
                vec![v(0, 1), b(0, 4, 8), b(3, 3, 4)],
            ),
            (
                "ms pack(1) bit-fields keep whole units",
                CDecl::new(M).pack(1).val("char").bf("int", 30).bf("int", 4),
                9,
                1,
                vec![v(0, 1), b(1, 4, 0), b(5, 4, 0)],
            ),
            (
                "gcc union with bit-fields",
                CDecl::new(G)
                    .union()
                    .bf("int", 3)
                    .val("char")
                    .bf("long", 40),
                8,
                8,
                vec![b(0, 4, 0), v(0, 1), b(0, 8, 0)],
            ),
            (
                "ms packed union: a bit-field takes its whole unit (MSVC, ctypes)",
                CDecl::new(M).union().pack(1).bf("int", 3).val("char"),
                4,
                1,
                vec![b(0, 4, 0), v(0, 1)],
            ),
            (
                "nested struct and array under ms pack(2)",
                CDecl::new(M)
                    .pack(2)
                    .val("char")
                    .val("struct h16")
                    .arr("int", Some(3))
                    .val("char"),
                32,
                2,
                vec![v(0, 1), v(2, 16), v(18, 12), v(30, 1)],
            ),
            (
                "over-aligned nested struct is capped by pack",
                CDecl::new(G).pack(4).val("char").val("struct ha16"),
                20,
                4,
                vec![v(0, 1), v(4, 16)],
            ),
            (
                "_align_ above the natural alignment",
                CDecl::new(G).align(16).val("char").val("short"),
                16,
                16,
                vec![v(0, 1), v(2, 2)],
            ),
            (
                "_align_ is not capped by pack",
                CDecl::new(M).pack(1).align(8).val("char").val("int"),
                8,
                8,
                vec![v(0, 1), v(1, 4)],
            ),
            (
                "a base is laid out first; bit-fields do not share its tail",
                CDecl::new(G).base("struct h8").bf("signed char", 3),
                12,
                4,
                vec![b(8, 1, 0)],
            ),
            (
                "ms zero-width after a bit-field aligns the next member (GCC docs t2)",
                CDecl::new(M)
                    .bf("signed char", 4)
                    .pad("short", 0)
                    .val("char"),
                4,
                2,
                vec![b(0, 1, 0), b(2, 0, 0), v(2, 1)],
            ),
            (
                "ms zero-width after a plain member is ignored (GCC docs t5)",
                CDecl::new(M).val("char").pad("long", 0).val("char"),
                2,
                1,
                vec![v(0, 1), b(1, 0, 0), v(1, 1)],
            ),
            (
                "ms zero-width splits a run of same-size bit-fields (GCC docs t1)",
                CDecl::new(M).bf("long", 12).pad("long", 0).bf("long", 12),
                16,
                8,
                vec![b(0, 8, 0), b(8, 0, 0), b(8, 8, 0)],
            ),
            (
                "gcc unnamed bit-fields do not raise the alignment",
                CDecl::new(G).val("char").pad("int", 5),
                2,
                1,
                vec![v(0, 1), b(1, 1, 0)],
            ),
            (
                "ms unnamed bit-fields do",
                CDecl::new(M).val("char").pad("int", 5),
                8,
                4,
                vec![v(0, 1), b(4, 4, 0)],
            ),
            (
                "a full-width bit-field fills its unit",
                CDecl::new(M).bf("unsigned int", 32).bf("unsigned int", 1),
                8,
                4,
                vec![b(0, 4, 0), b(4, 4, 0)],
            ),
            (
                "zero-sized members are aligned like any other (C; not ctypes' ms)",
                CDecl::new(M)
                    .val("char")
                    .arr("char", Some(0))
                    .arr("int", Some(0))
                    .val("char"),
                8,
                4,
                vec![v(0, 1), v(1, 0), v(4, 0), v(4, 1)],
            ),
            ("empty aligned struct", CDecl::new(G).align(8), 0, 8, vec![]),
        ]
    }

    #[test]
    fn regression_cases_match_expectations_and_cc() {
        let cases = regression_cases();
        for (what, d, size, align, exp) in &cases {
            let l = d.spec().layout().unwrap();
            let got: Vec<Exp> = l
                .fields
                .iter()
                .map(|f| (f.offset, f.size, f.bit_offset))
                .collect();
            assert_eq!(
                (l.size, l.align, &got),
                (*size, *align, exp),
                "{what}: {}",
                d.c_source(0).lines().next().unwrap()
            );
        }
        let decls: Vec<CDecl> = cases.into_iter().map(|c| c.1).collect();
        check_against_cc(&decls, "regressions");
    }

    #[test]
    fn ms_union_zero_width_after_bitfield_takes_its_type_size() {
        // MSVC (Clang's emulation): no alignment, but the size of the type.
        let d = CDecl::new(M).union().bf("signed char", 4).pad("long", 0);
        let l = d.spec().layout().unwrap();
        assert_eq!((l.size, l.align), (8, 1));
        // After a plain member it is ignored.
        let d = CDecl::new(M).union().val("char").pad("long", 0);
        assert_eq!(d.spec().layout().unwrap().size, 1);
    }

    // -----------------------------------------------------------------------------
    // API: byte order, validation, ctypes attributes
    // -----------------------------------------------------------------------------

    #[test]
    fn swapped_bit_offsets_count_from_the_big_end() {
        for rule in [G, M] {
            let mut spec = CDecl::new(rule).bf("int", 3).bf("int", 5).spec();
            let native = spec.layout().unwrap();
            spec.byte_order = ByteOrder::Swapped;
            let swapped = spec.layout().unwrap();
            for (n, s) in native.fields.iter().zip(&swapped.fields) {
                assert_eq!(
                    (n.offset, n.size, n.bit_size),
                    (s.offset, s.size, s.bit_size)
                );
                assert_eq!(
                    s.bit_offset.unwrap(),
                    flip_bit_offset(n.size, n.bit_offset.unwrap(), n.bit_size.unwrap())
                );
            }
            if cfg!(target_endian = "little") {
                // ctypes: BigEndianStructure int a:3, b:5 -> bit offsets 29 and 24.
                let offs: Vec<_> = swapped.fields.iter().map(|f| f.bit_offset).collect();
                assert_eq!(offs, [Some(29), Some(24)]);
            }
        }
        assert_eq!(flip_bit_offset(1, 0, 8), 0);
        assert_eq!(flip_bit_offset(8, 4, 60), 0);
        assert_eq!(flip_bit_offset(1, 7, 8), 0);
    }

    #[test]
    fn mask_covers_the_field() {
        let l = CDecl::new(G)
            .bf("int", 3)
            .bf("int", 5)
            .spec()
            .layout()
            .unwrap();
        assert_eq!(l.fields[1].mask(), Some(0b1111_1000));
        let full = CDecl::new(G).bf("long", 64).spec().layout().unwrap();
        assert_eq!(full.fields[0].mask(), Some(u128::from(u64::MAX)));
        assert!(!CDecl::new(G).val("int").spec().layout().unwrap().fields[0].is_bitfield());
    }

    #[test]
    fn invalid_bit_widths_are_rejected_with_ctypes_message() {
        for bits in [0, 33] {
            let mut spec = StructSpec::new(G);
            spec.fields
                .push(FieldSpec::bitfield("x", 4, 4, bits, IntKind::Signed));
            let err = spec.layout().unwrap_err();
            assert_eq!(err.to_string(), "number of bits invalid for bit field 'x'");
            assert_eq!(err.kind(), "BitfieldWidth");
        }
        for bits in [-1, 0, 9, i64::MAX] {
            let err = FieldSpec::try_bitfield("b", 1, 1, bits, IntKind::Bool).unwrap_err();
            assert!(matches!(err, Error::BitfieldWidth { bits: got, .. } if got == bits));
        }
        assert!(FieldSpec::try_bitfield("b", 1, 1, 8, IntKind::Bool).is_ok());
        let mut spec = StructSpec::new(M);
        spec.fields.push(FieldSpec::unnamed(2, 2, 17));
        assert!(matches!(spec.layout(), Err(Error::BitfieldWidth { .. })));
        spec.fields[0] = FieldSpec::unnamed(2, 2, 0);
        assert!(spec.layout().is_ok());
    }

    #[test]
    fn oversized_layouts_fail_cleanly() {
        for rule in [G, M] {
            let mut spec = StructSpec::new(rule);
            spec.fields.push(FieldSpec::value("a", usize::MAX / 2, 1));
            spec.fields.push(FieldSpec::value("b", usize::MAX / 2, 1));
            assert!(
                matches!(spec.layout(), Err(Error::LayoutTooLarge)),
                "{rule:?}"
            );
            let mut spec = StructSpec::new(rule);
            spec.fields.push(FieldSpec::value("a", usize::MAX, 1));
            assert!(
                matches!(spec.layout(), Err(Error::LayoutTooLarge)),
                "{rule:?}"
            );
        }
    }

    #[test]
    fn zero_alignments_read_as_one() {
        let mut spec = StructSpec::new(M);
        spec.fields.push(FieldSpec::value("a", 3, 0));
        spec.pack = Some(0);
        let l = spec.layout().unwrap();
        assert_eq!((l.size, l.align), (3, 1));
    }

    #[test]
    fn ctypes_attributes_resolve_like_ctypes() {
        let resolve = |layout, pack, align| {
            CtypesAttrs {
                layout,
                pack,
                align,
                swapped_bytes: false,
            }
            .resolve()
        };
        let native = resolve(None, None, None).unwrap();
        assert_eq!(
            (native.rule, native.pack, native.align),
            (LayoutRule::native(), None, 1)
        );
        assert!(!native.implicit_ms_deprecated);

        let ms = resolve(Some("ms"), Some(0), Some(0)).unwrap();
        assert_eq!((ms.rule, ms.pack, ms.align), (M, None, 1));
        let ms = resolve(Some("ms"), Some(4), Some(16)).unwrap();
        assert_eq!((ms.pack, ms.align), (Some(4), 16));

        let implicit = resolve(None, Some(2), None).unwrap();
        assert_eq!((implicit.rule, implicit.pack), (M, Some(2)));
        assert_eq!(implicit.implicit_ms_deprecated, !cfg!(windows));

        let msg = |r: Result<CtypesOptions>| r.unwrap_err().to_string();
        assert_eq!(
            msg(resolve(Some("gcc-sysv"), Some(0), None)),
            "_pack_ is not compatible with gcc-sysv layout"
        );
        if !cfg!(windows) {
            // `_pack_ = 0` does not select ms, so it collides with the default.
            assert!(matches!(
                resolve(None, Some(0), None),
                Err(Error::PackWithGccLayout)
            ));
        }
        assert_eq!(
            msg(resolve(Some("ms"), Some(-1), None)),
            "_pack_ must be a non-negative integer"
        );
        assert_eq!(
            msg(resolve(Some("ms"), Some(1 << 31), None)),
            "_pack_ too big"
        );
        assert!(resolve(Some("ms"), Some(i64::from(i32::MAX)), None).is_ok());
        assert_eq!(
            msg(resolve(Some("ms"), None, Some(-8))),
            "_align_ must be a non-negative integer"
        );
        assert_eq!(
            msg(resolve(Some("msvc"), Some(-1), Some(-1))),
            "unknown _layout_: 'msvc'"
        );
        // ctypes checks `_align_` before `_pack_`.
        assert!(matches!(
            resolve(Some("ms"), Some(-1), Some(-1)),
            Err(Error::NegativeAlign { .. })
        ));

        let swapped = CtypesAttrs {
            swapped_bytes: true,
            ..CtypesAttrs::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(swapped.byte_order, ByteOrder::Swapped);
        let spec = swapped.spec(true);
        assert!(spec.is_union && spec.fields.is_empty());
        assert_eq!(
            LayoutRule::from_ctypes_name("gcc-sysv")
                .unwrap()
                .ctypes_name(),
            "gcc-sysv"
        );
    }
}
