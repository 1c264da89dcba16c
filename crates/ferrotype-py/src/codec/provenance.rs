//! Strict mode's provenance checks: a pointer made from an object knows the extent of
//! the memory it came from, so reads and writes through it can be kept inside.
//!
//! Nothing is recorded for this: ctypes already records, in a pointer's `_objects` (and
//! ferrotype in its pin, see `CData::pin`), the object it was aimed at, so that the
//! object lives as long as the pointer. In strict mode the checks look there for the
//! object whose memory holds the pointer's address (`pointer`, `POINTER(T)(x)`,
//! `p.contents = x`, `cast`, an array stored in a pointer field, `byref`, `from_buffer`
//! instances, bytes). Creating a pointer costs nothing more, in either mode, and a
//! pointer made before strict mode was turned on is checked as well. An address that lies
//! in none of the kept objects (a C result, a field read from C memory, an int,
//! `from_address`, or memory C has re-aimed since) is trusted, as in ctypes.
//!
//! Two checks, only made when [`ferrotype_core::strict::enabled`]:
//! - bounds: an element, slice, `.contents`, or the bytes of `string_at`/`memmove`/...
//!   must lie inside the object (`IndexError` for indices and slices, `ValueError`
//!   otherwise);
//! - type: reading a pointer (`POINTER(T)`, a function pointer, `c_char_p`, `c_wchar_p`)
//!   or a `py_object`, alone or inside an element, needs that memory to have been typed
//!   so in the object's own layout (`TypeError`). `c_void_p` reads are not checked (they
//!   give an int), nor are writes.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use ferrotype_core::TypeCode;

use crate::codec::param::CArg;
use crate::model::cdata::{as_cdata, CData};
use crate::model::errors;
use crate::model::stginfo::{Kind, StgInfo};

/// The memory an address came from: `len` bytes at `start`, typed by `owner` (none for
/// bytes objects, untyped).
pub struct Extent<'py> {
    pub start: usize,
    pub len: usize,
    pub owner: Option<Bound<'py, CData>>,
}

impl Extent<'_> {
    fn end(&self) -> usize {
        self.start.saturating_add(self.len)
    }

    /// The bytes left from `addr` to the end (0 outside).
    pub fn left(&self, addr: usize) -> usize {
        if addr < self.start {
            0
        } else {
            self.end().saturating_sub(addr)
        }
    }

    /// Whether `[addr, addr + len)` lies inside.
    pub fn covers(&self, addr: usize, len: usize) -> bool {
        addr >= self.start && addr.checked_add(len).is_some_and(|e| e <= self.end())
    }
}

/// Keeps the better of two candidates: the one reaching furthest.
fn consider<'py>(best: &mut Option<Extent<'py>>, cand: Extent<'py>) {
    if best.as_ref().is_none_or(|b| cand.end() > b.end()) {
        *best = Some(cand);
    }
}

/// The extent of a ferrotype instance's own memory.
fn own_extent<'py>(cd: &Bound<'py, CData>) -> Extent<'py> {
    let c = cd.get();
    Extent {
        start: c.ptr() as usize,
        len: c.size(),
        owner: Some(cd.clone()),
    }
}

/// Searches `obj` (an instance, a keep-alive dict or tuple, a `byref` object, bytes) and what it
/// keeps for the memory holding `addr`.
/// `seen` holds the containers already searched: a `cast` result shares its source's
/// dict, which holds the source itself.
fn search<'py>(
    obj: &Bound<'py, PyAny>,
    addr: usize,
    depth: u8,
    seen: &mut Vec<usize>,
    best: &mut Option<Extent<'py>>,
) {
    if depth > 32 {
        return;
    }
    let id = obj.as_ptr() as usize;
    if seen.contains(&id) {
        return;
    }
    seen.push(id);
    if let Some(cd) = as_cdata(obj) {
        let e = own_extent(cd);
        if e.start <= addr && (addr < e.end() || addr == e.start) {
            consider(best, e);
        }
        let c = cd.get();
        if let Some(kept) = c.objects(obj.py()) {
            search(&kept, addr, depth + 1, seen, best);
        }
        if let Some(pinned) = c.pinned(obj.py()) {
            search(&pinned, addr, depth + 1, seen, best);
        }
    } else if let Ok(d) = obj.cast::<PyDict>() {
        for v in d.values() {
            search(&v, addr, depth + 1, seen, best);
        }
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        // ctypes keeps an array stored into a pointer as `(its objects, the array)`.
        for v in t.iter() {
            search(&v, addr, depth + 1, seen, best);
        }
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        let bytes = b.as_bytes();
        let start = bytes.as_ptr() as usize;
        // The terminating NUL CPython keeps after the data is part of the memory.
        if start <= addr && addr <= start + bytes.len() {
            consider(
                best,
                Extent {
                    start,
                    len: bytes.len() + 1,
                    owner: None,
                },
            );
        }
    } else if let Ok(arg) = obj.cast::<CArg>() {
        let a = arg.get();
        if let Some(target) = a.obj.as_ref().map(|o| o.bind(obj.py())) {
            // SAFETY: reading the pointer field of the Copy union reinterprets
            // initialised bits; it is only compared.
            let made_at = unsafe { a.slot.ptr } as usize;
            match as_cdata(target) {
                // `byref(x, offset)` aimed here: x's memory, wherever the offset led.
                Some(cd) if a.tag == 'P' && made_at == addr => consider(best, own_extent(cd)),
                _ => search(target, addr, depth + 1, seen, best),
            }
        }
    }
}

/// The extent of the object that a pointer-like instance's address `addr` points into,
/// as the objects it keeps alive tell; `None` when none holds it (trusted).
pub fn of_pointer<'py>(py: Python<'py>, holder: &CData, addr: usize) -> Option<Extent<'py>> {
    let (mut best, mut seen) = (None, Vec::new());
    if let Some(kept) = holder.kept_objects(py) {
        search(kept.bind(py), addr, 0, &mut seen, &mut best);
    }
    if let Some(pinned) = holder.pinned(py) {
        search(&pinned, addr, 0, &mut seen, &mut best);
    }
    best
}

/// The extent that `obj`, converted to the address `addr` as a `c_void_p` argument
/// (`string_at`, `memmove`, ...), points into: an instance's own memory, a pointer's
/// target, a `byref`'s object, a bytes object; `None` for anything else (an int).
pub fn of_argument<'py>(obj: &Bound<'py, PyAny>, addr: usize) -> Option<Extent<'py>> {
    let py = obj.py();
    if let Some(cd) = as_cdata(obj) {
        let c = cd.get();
        let info = c.info();
        let holds_address = match info.kind() {
            Kind::Pointer | Kind::FuncPtr => true,
            Kind::Simple => matches!(
                info.code(),
                Some(TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP)
            ),
            _ => false,
        };
        return if holds_address {
            of_pointer(py, c, addr)
        } else {
            Some(own_extent(cd))
        };
    }
    let (mut best, mut seen) = (None, Vec::new());
    search(obj, addr, 0, &mut seen, &mut best);
    best
}

/// Strict mode, `string_at`/`memmove`/...: `need` bytes at `addr` must lie inside what
/// `obj` points into.
#[cold]
#[inline(never)]
pub fn check_raw(func: &str, obj: &Bound<'_, PyAny>, addr: usize, need: usize) -> PyResult<()> {
    match of_argument(obj, addr) {
        Some(e) if !e.covers(addr, need) => Err(errors::raw_range_error(func, need, e.left(addr))),
        _ => Ok(()),
    }
}

/// Strict mode, `string_at`/`wstring_at` without a size: the number of `unit`-byte
/// characters before the terminator, which must lie inside what `obj` points into;
/// `None` when the extent is unknown (the caller scans unbounded, as ctypes).
pub fn bounded_strlen(
    func: &str,
    obj: &Bound<'_, PyAny>,
    addr: usize,
    unit: usize,
) -> PyResult<Option<usize>> {
    let Some(e) = of_argument(obj, addr) else {
        return Ok(None);
    };
    let have = e.left(addr);
    let units = have / unit;
    let p = addr as *const u8;
    for k in 0..units {
        // SAFETY: the extent is memory of a live object (kept alive by `obj`, which the
        // caller holds), and `k * unit + unit <= have` bytes from `addr` lie inside it.
        let zero = unsafe {
            std::slice::from_raw_parts(p.add(k * unit), unit)
                .iter()
                .all(|&b| b == 0)
        };
        if zero {
            return Ok(Some(k));
        }
    }
    Err(errors::raw_unterminated(func, have))
}

/// What memory at an offset was typed as, for the type check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// An address (pointer, function pointer, `c_void_p`, `c_char_p`, `c_wchar_p`).
    Address,
    /// A `py_object`.
    Object,
}

impl Slot {
    fn describe(self) -> &'static str {
        match self {
            Slot::Address => "a pointer",
            Slot::Object => "a py_object",
        }
    }
}

/// Whether `info`'s layout has a slot of class `need` (or the same type `want`) at
/// byte `off`.
fn owner_allows(info: &StgInfo, off: usize, need: Slot, want: &StgInfo) -> bool {
    if off == 0 && std::ptr::eq(info, want) {
        return true;
    }
    if off >= info.size {
        return false;
    }
    match info.kind() {
        Kind::Simple => {
            off == 0
                && match info.code() {
                    Some(TypeCode::PyObject) => need == Slot::Object,
                    Some(TypeCode::VoidP | TypeCode::CharP | TypeCode::WCharP) => {
                        need == Slot::Address
                    }
                    _ => false,
                }
        }
        Kind::Pointer | Kind::FuncPtr => off == 0 && need == Slot::Address,
        Kind::Array => info.array().is_some_and(|a| {
            let elem = a.elem_info.get();
            elem.size > 0 && owner_allows(elem, off % elem.size, need, want)
        }),
        Kind::Struct | Kind::Union => info.compound().is_some_and(|c| {
            c.address_fields.iter().any(|(o, fi)| {
                let fi = fi.get();
                *o <= off && off < o + fi.size && owner_allows(fi, off - o, need, want)
            })
        }),
    }
}

/// Calls `f` with the offset and class of every slot of `info` that a read must find
/// typed so (relative to `base`). A union's members overlap: a read of a union is not
/// checked.
fn each_required(
    info: &StgInfo,
    base: usize,
    f: &mut dyn FnMut(usize, Slot, &StgInfo) -> PyResult<()>,
) -> PyResult<()> {
    if !info.has_pointer {
        return Ok(());
    }
    match info.kind() {
        Kind::Simple => match info.code() {
            Some(TypeCode::PyObject) => f(base, Slot::Object, info),
            Some(TypeCode::CharP | TypeCode::WCharP) => f(base, Slot::Address, info),
            _ => Ok(()),
        },
        Kind::Pointer | Kind::FuncPtr => f(base, Slot::Address, info),
        Kind::Array => {
            let Some(a) = info.array() else { return Ok(()) };
            let elem = a.elem_info.get();
            for k in 0..a.length {
                each_required(elem, base + k * elem.size, f)?;
            }
            Ok(())
        }
        Kind::Struct => {
            let Some(c) = info.compound() else {
                return Ok(());
            };
            for (o, fi) in &c.address_fields {
                each_required(fi.get(), base + o, f)?;
            }
            Ok(())
        }
        Kind::Union => Ok(()),
    }
}

/// The type check: an element of type `elem` read at `addr` inside `e` must find every
/// pointer and `py_object` it holds typed so in the owner's layout.
fn check_types(e: &Extent<'_>, elem: &StgInfo, addr: usize) -> PyResult<()> {
    if !elem.has_pointer {
        return Ok(());
    }
    let owner_info = e.owner.as_ref().map(|o| o.get().info());
    let owner_name = || match &e.owner {
        Some(o) => o
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".to_owned()),
        None => "bytes".to_owned(),
    };
    let base = addr - e.start;
    each_required(elem, base, &mut |off, need, want| {
        let ok = owner_info.is_some_and(|oi| owner_allows(oi, off, need, want));
        if ok {
            Ok(())
        } else {
            Err(errors::provenance_type_error(
                need.describe(),
                &owner_name(),
                off,
            ))
        }
    })
}

/// Strict mode, a pointer's elements: elements `first`, `first + step`, ... `last` (in
/// either order) of type `elem` at `addr` (the pointer's address) must lie inside the
/// object it points into, and a read (`read`) must find pointers and `py_object`s where
/// the object's layout has them. `contents` words the bounds error for `.contents`.
#[cold]
#[inline(never)]
pub fn check_elements(
    py: Python<'_>,
    holder: &CData,
    addr: usize,
    elem: &StgInfo,
    (first, last, step): (isize, isize, isize),
    read: bool,
    contents: bool,
) -> PyResult<()> {
    let Some(e) = of_pointer(py, holder, addr) else {
        return Ok(());
    };
    let size = elem.size as i128;
    let (lo, hi) = (first.min(last) as i128, first.max(last) as i128);
    let lo_addr = addr as i128 + lo * size;
    let hi_end = addr as i128 + (hi + 1) * size;
    if lo_addr < e.start as i128 || hi_end > e.end() as i128 {
        return Err(if contents {
            errors::contents_out_of_range(elem.size)
        } else {
            errors::pointer_index_out_of_range()
        });
    }
    if read && elem.has_pointer {
        let step = step.unsigned_abs().max(1) as i128;
        let mut k = lo;
        while k <= hi {
            check_types(&e, elem, (addr as i128 + k * size) as usize)?;
            k += step;
        }
    }
    Ok(())
}
