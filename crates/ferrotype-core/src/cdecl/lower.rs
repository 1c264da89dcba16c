//! From lang-c's syntax tree to the [`Unit`] model.

use std::collections::HashMap;
use std::rc::Rc;

use lang_c::ast::{
    ArraySize, Declaration, DeclarationSpecifier, Declarator, DeclaratorKind, DerivedDeclarator,
    Ellipsis, EnumType, Extension, ExternalDeclaration, FunctionDeclarator, SpecifierQualifier,
    StorageClassSpecifier, StructDeclaration, StructKind, StructType, TS18661FloatFormat, TypeName,
    TypeSpecifier,
};
use lang_c::driver::{parse_preprocessed, Config};
use lang_c::span::Node;

use super::eval::{self, Scope};
use super::scan::{self, RawDefine};
use super::{Const, Field, Function, Global, Lines, Record, Refusal, Sig, SyntaxError, Ty, Unit};
use crate::layout::{FieldSpec, IntKind, LayoutRule, StructSpec};
use crate::typecode::TypeCode;

/// Typedef names the scanner substitutes or GCC predefines, declared before the text.
const PRELUDE: &str = "typedef int __fti128, __ftu128, __int128_t, __uint128_t;\n";

const INT128: &str = "cannot represent: __int128 (ctypes has no 128-bit integer)";

pub(super) fn run(
    source: &str,
    recover: bool,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<Unit, SyntaxError> {
    let prep = scan::prepare(source);
    let lines = Lines::new(source);
    if let Some(at) = prep.too_deep {
        return Err(SyntaxError {
            message: "brackets nested too deeply".into(),
            pos: lines.pos(at),
        });
    }
    if let Some((at, d)) = &prep.bad_directive {
        return Err(SyntaxError {
            message: format!(
                "cannot represent: directive {d} (cdef reads declarations and #define only)"
            ),
            pos: lines.pos(*at),
        });
    }
    let mut text = prep.text;
    let mut refused = Vec::new();
    let unit = loop {
        let full = format!("{PRELUDE}{text}");
        let config = Config::with_gcc();
        // lang-c has internal `expect`s; no panic may cross into Python.
        let parsed = std::panic::catch_unwind(move || parse_preprocessed(&config, full));
        let err = match parsed {
            Ok(Ok(p)) => break p.unit,
            Ok(Err(e)) => {
                let at = e.offset.saturating_sub(PRELUDE.len());
                let mut expected: Vec<_> = e.expected.iter().cloned().collect();
                expected.sort();
                (
                    at,
                    format!("syntax error, expected one of: {}", expected.join(" ")),
                )
            }
            Err(_) => (0, "the C parser failed on this text".to_string()),
        };
        if !recover {
            return Err(SyntaxError {
                message: err.1,
                pos: lines.pos(err.0),
            });
        }
        let (from, to) = scan::chunk_at(&prep.ends, err.0, text.len());
        if to <= from || text.get(from..to).is_none_or(|t| t.trim().is_empty()) {
            return Err(SyntaxError {
                message: err.1,
                pos: lines.pos(err.0),
            });
        }
        refused.push(Refusal {
            name: first_word(&text[from..to]),
            reason: err.1,
            pos: lines.pos(err.0),
        });
        scan::blank_range(&mut text, from, to);
    };
    if let Some(k) = keep {
        refused.retain(|r| r.pos.file.as_deref().is_some_and(k));
    }
    let mut cx = Cx {
        unit: Unit {
            refused,
            ..Unit::default()
        },
        lines: &lines,
        typedefs: HashMap::new(),
        tags: HashMap::new(),
        enum_tags: HashMap::new(),
        consts: HashMap::new(),
        pending: prep
            .defines
            .iter()
            .filter(|d| !d.function_like && !d.value.is_empty())
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect(),
        anon: 0,
        visible: true,
        hidden: Unit::default(),
        tag_attrs: prep
            .tag_attrs
            .iter()
            .filter_map(|(at, a)| Some((*at, parse_attribute_group(a)?)))
            .collect(),
        packing: prep.packing.clone(),
    };
    for d in &unit.0 {
        if d.span.start < PRELUDE.len() {
            continue;
        }
        let at = d.span.start.saturating_sub(PRELUDE.len());
        cx.visible = cx.kept(keep, at);
        match &d.node {
            ExternalDeclaration::Declaration(decl) => cx.declaration(decl, at),
            ExternalDeclaration::StaticAssert(_) => {}
            ExternalDeclaration::FunctionDefinition(f) => {
                cx.unit.found += 1;
                let name = declarator_name(&f.node.declarator.node).unwrap_or_default();
                cx.refuse(&name, "cannot represent: K&R-style function definition", at);
            }
        }
    }
    cx.defines(&prep.defines, keep);
    cx.order_records();
    Ok(cx.unit)
}

fn first_word(t: &str) -> String {
    let w: String = t.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    if w.len() > 60 {
        format!(
            "{}...",
            &w[..w.char_indices().nth(57).map_or(w.len(), |c| c.0)]
        )
    } else {
        w
    }
}

type TyResult = Result<Ty, String>;

struct Cx<'a> {
    unit: Unit,
    lines: &'a Lines<'a>,
    typedefs: HashMap<String, TyResult>,
    tags: HashMap<String, usize>,
    enum_tags: HashMap<String, TypeCode>,
    consts: HashMap<String, Const>,
    /// Whether the declaration being lowered comes from a kept file.
    visible: bool,
    /// What hidden declarations would have added (dropped).
    hidden: Unit,
    /// `#define` values not evaluated yet.
    pending: HashMap<String, String>,
    anon: usize,
    /// Attributes written between `struct`/`union` and a tag ([`scan::Prepared::tag_attrs`]),
    /// parsed, by the offset of their keyword in the text.
    tag_attrs: HashMap<usize, Vec<Node<Extension>>>,
    /// `#pragma pack` by offset ([`scan::Prepared::packing`]).
    packing: Vec<(usize, Option<u32>)>,
}

/// The extensions of an attribute group `attr` (`__attribute__((...))`), parsed by
/// putting it where the parser takes it: after a definition's closing brace. `None` when
/// that does not parse.
fn parse_attribute_group(attr: &str) -> Option<Vec<Node<Extension>>> {
    let probe = format!("struct __ft_attr_probe {{ int a; }} {attr};");
    let config = Config::with_gcc();
    // lang-c has internal `expect`s; no panic may cross into Python.
    let parsed = std::panic::catch_unwind(move || parse_preprocessed(&config, probe)).ok()?;
    let unit = parsed.ok()?.unit;
    let ExternalDeclaration::Declaration(d) = &unit.0.first()?.node else {
        return None;
    };
    let ext: Vec<Node<Extension>> = d
        .node
        .specifiers
        .iter()
        .filter_map(|sp| match &sp.node {
            DeclarationSpecifier::Extension(e) => Some(e.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    (!ext.is_empty()).then_some(ext)
}

/// The attributes that change a layout, which ctypes' `_fields_` cannot say.
fn layout_attribute(ext: &[Node<Extension>]) -> Option<String> {
    ext.iter().find_map(|e| match &e.node {
        Extension::Attribute(a) => {
            let n = a.name.node.trim_matches('_');
            matches!(
                n,
                "packed" | "aligned" | "vector_size" | "mode" | "ms_struct" | "gcc_struct"
            )
            .then(|| format!("cannot represent: __attribute__(({n}))"))
        }
        _ => None,
    })
}

/// What GNU attributes say about the layout of a struct or union.
#[derive(Clone, Debug, Default)]
struct Attrs {
    /// `packed`: every member aligned to 1 (ctypes' `_pack_ = 1`).
    packed: bool,
    /// `#pragma pack(N)` in effect where the record is defined: members aligned to at most
    /// N (ctypes' `_pack_ = N`).
    pragma_pack: Option<u32>,
    /// `aligned(N)`: the least alignment of the whole (ctypes' `_align_`); 0 for none.
    align: usize,
    /// An attribute that cannot be represented.
    refused: Option<String>,
}

impl Attrs {
    /// The packing of the record: `packed`'s 1, else the `#pragma pack` value.
    fn pack(&self) -> Option<usize> {
        if self.packed {
            Some(1)
        } else {
            self.pragma_pack.map(|n| n as usize)
        }
    }
}

/// The alignment of `aligned` without a value: GCC's `__BIGGEST_ALIGNMENT__` on the
/// x86-64 and aarch64 System V ABIs.
const BIGGEST_ALIGNMENT: usize = 16;

/// A member's own attributes: ctypes has no per-field alignment, so only an `aligned(N)`
/// that does not raise the member's natural alignment (a no-op, as in glibc's
/// `max_align_t`) can be honoured.
fn member_attrs_ok(a: &Attrs, natural: usize) -> Result<(), String> {
    if let Some(r) = &a.refused {
        return Err(r.clone());
    }
    if a.packed {
        return Err("cannot represent: __attribute__((packed)) on a member".into());
    }
    if a.align > natural {
        return Err(format!(
            "cannot represent: __attribute__((aligned({}))) on a member (ctypes has no \
             per-field alignment)",
            a.align
        ));
    }
    Ok(())
}

fn asm_label(ext: &[Node<Extension>]) -> Option<String> {
    ext.iter().find_map(|e| match &e.node {
        Extension::AsmLabel(s) => Some(s.node.iter().map(|p| p.trim_matches('"')).collect()),
        _ => None,
    })
}

fn declarator_name(d: &Declarator) -> Option<String> {
    match &d.kind.node {
        DeclaratorKind::Identifier(i) => Some(i.node.name.clone()),
        DeclaratorKind::Declarator(inner) => declarator_name(&inner.node),
        DeclaratorKind::Abstract => None,
    }
}

/// What a list of specifiers says, type aside.
#[derive(Default)]
struct Storage {
    typedef: bool,
    static_: bool,
    thread: bool,
    attrs: Attrs,
}

enum Spec<'s> {
    Type(&'s TypeSpecifier),
    Ext(&'s [Node<Extension>]),
    Other,
}

impl Cx<'_> {
    /// Counts a declaration found in a file the caller keeps.
    fn count(&mut self) {
        if self.visible {
            self.unit.found += 1;
        }
    }

    /// Where a kept declaration goes; one from a file the caller does not keep goes to a
    /// scratch unit (its types still serve the kept ones).
    fn show(&mut self) -> &mut Unit {
        if self.visible {
            &mut self.unit
        } else {
            &mut self.hidden
        }
    }

    fn refuse(&mut self, name: &str, reason: impl Into<String>, at: usize) {
        if !self.visible {
            return;
        }
        self.unit.refused.push(Refusal {
            name: name.to_string(),
            reason: reason.into(),
            pos: self.lines.pos(at),
        });
    }

    fn declaration(&mut self, decl: &Node<Declaration>, at: usize) {
        let specs: Vec<Spec> = decl
            .node
            .specifiers
            .iter()
            .map(|s| match &s.node {
                DeclarationSpecifier::TypeSpecifier(t) => Spec::Type(&t.node),
                DeclarationSpecifier::Extension(e) => Spec::Ext(e),
                _ => Spec::Other,
            })
            .collect();
        let mut st = Storage::default();
        for s in &decl.node.specifiers {
            match &s.node {
                DeclarationSpecifier::StorageClass(c) => match c.node {
                    StorageClassSpecifier::Typedef => st.typedef = true,
                    StorageClassSpecifier::Static => st.static_ = true,
                    StorageClassSpecifier::ThreadLocal | StorageClassSpecifier::Register => {
                        st.thread = true
                    }
                    _ => {}
                },
                DeclarationSpecifier::Extension(e) => self.layout_attrs(e, &mut st.attrs),
                DeclarationSpecifier::Alignment(_) => {
                    st.attrs.refused = Some("cannot represent: _Alignas".into())
                }
                _ => {}
            }
        }
        let base = self.base_type(&specs, at, st.attrs.clone());
        for init in &decl.node.declarators {
            let d = &init.node.declarator;
            let name = declarator_name(&d.node).unwrap_or_default();
            self.count();
            let ty = base.clone().and_then(|b| self.declarator(b, &d.node));
            let at_d = d.span.start.saturating_sub(PRELUDE.len());
            if st.typedef {
                if let Some(reason) = layout_attribute(&d.node.extensions) {
                    self.refuse(&name, reason, at_d);
                    self.typedefs
                        .insert(name.clone(), Err(format!("uses typedef {name}")));
                    continue;
                }
                // A typedef names an anonymous record: the class takes its name.
                if let Ok(Ty::Record(i)) = &ty {
                    if let Some(r) = self.unit.records.get_mut(*i) {
                        if r.tag.is_none() && r.name.starts_with("_anon_") {
                            r.name = name.clone();
                        }
                    }
                }
                let ty = match (name.as_str(), ty) {
                    ("wchar_t", Ok(Ty::Scalar(TypeCode::Int))) => Ok(Ty::Scalar(TypeCode::WChar)),
                    (_, t) => t,
                };
                match &ty {
                    Ok(t) => self.show().typedefs.push((name.clone(), t.clone())),
                    Err(e) => self.refuse(&name, e.clone(), at_d),
                }
                self.typedefs.insert(name, ty);
                continue;
            }
            let symbol = asm_label(&d.node.extensions).unwrap_or_else(|| name.clone());
            match ty {
                Err(e) => self.refuse(&name, e, at_d),
                Ok(Ty::Function(sig)) => match check_sig(&sig, &self.unit.records) {
                    Ok(()) => self.show().functions.push(Function { name, symbol, sig }),
                    Err(e) => self.refuse(&name, e, at_d),
                },
                Ok(_) if st.static_ => self.refuse(
                    &name,
                    "cannot represent: a static variable has no symbol to bind",
                    at_d,
                ),
                Ok(_) if st.thread => self.refuse(
                    &name,
                    "cannot represent: a thread-local variable (in_dll would read another address)",
                    at_d,
                ),
                Ok(ty) => self.show().globals.push(Global { name, symbol, ty }),
            }
        }
        if decl.node.declarators.is_empty() {
            // `struct s {...};`, `enum e {...};`: counted through their records and enums.
            if let Err(e) = base {
                let name = specs
                    .iter()
                    .find_map(|s| match s {
                        Spec::Type(TypeSpecifier::Struct(s)) => {
                            s.node.identifier.as_ref().map(|i| i.node.name.clone())
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                self.refuse(&name, e, at);
            }
        }
    }

    fn base_type(&mut self, specs: &[Spec], at: usize, attr: Attrs) -> TyResult {
        let (
            mut long,
            mut short,
            mut signed,
            mut unsigned,
            mut int,
            mut char_,
            mut double,
            mut complex,
        ) = (0, false, false, false, false, false, false, false);
        let mut other: Option<TyResult> = None;
        let mut float = false;
        let mut bool_ = false;
        let mut void = false;
        for s in specs {
            let Spec::Type(t) = s else { continue };
            match t {
                TypeSpecifier::Void => void = true,
                TypeSpecifier::Char => char_ = true,
                TypeSpecifier::Short => short = true,
                TypeSpecifier::Int => int = true,
                TypeSpecifier::Long => long += 1,
                TypeSpecifier::Float => float = true,
                TypeSpecifier::Double => double = true,
                TypeSpecifier::Signed => signed = true,
                TypeSpecifier::Unsigned => unsigned = true,
                TypeSpecifier::Bool => bool_ = true,
                TypeSpecifier::Complex => complex = true,
                TypeSpecifier::Atomic(_) => other = Some(Err("cannot represent: _Atomic".into())),
                TypeSpecifier::Struct(s) => other = Some(self.record(s, at, attr.clone())),
                TypeSpecifier::Enum(e) => other = Some(self.enumeration(e, at)),
                TypeSpecifier::TypedefName(n) => other = Some(self.typedef_ref(&n.node.name)),
                TypeSpecifier::TypeOf(t) => {
                    other = Some(match &t.node {
                        lang_c::ast::TypeOf::Type(tn) => self.type_name_ty(tn),
                        lang_c::ast::TypeOf::Expression(_) => {
                            Err("cannot represent: __typeof__(expression)".into())
                        }
                    })
                }
                TypeSpecifier::TS18661Float(f) => {
                    other = Some(match (&f.format, f.width) {
                        (TS18661FloatFormat::BinaryInterchange, 16) => {
                            Ok(Ty::Scalar(TypeCode::Half))
                        }
                        (TS18661FloatFormat::BinaryInterchange, 32) => {
                            Ok(Ty::Scalar(TypeCode::Float))
                        }
                        (TS18661FloatFormat::BinaryInterchange, 64) => {
                            Ok(Ty::Scalar(TypeCode::Double))
                        }
                        (_, w) => Err(format!("cannot represent: _Float{w} (no ctypes type)")),
                    })
                }
            }
        }
        if complex {
            return Err("cannot represent: _Complex".into());
        }
        if let Some(o) = other {
            return o;
        }
        use TypeCode as T;
        Ok(Ty::Scalar(if void {
            return Ok(Ty::Void);
        } else if bool_ {
            T::Bool
        } else if char_ {
            if unsigned {
                T::UByte
            } else if signed {
                T::Byte
            } else {
                T::Char
            }
        } else if float {
            T::Float
        } else if double {
            if long > 0 {
                T::LongDouble
            } else {
                T::Double
            }
        } else if short {
            if unsigned {
                T::UShort
            } else {
                T::Short
            }
        } else if long >= 2 {
            if unsigned {
                T::ULongLong
            } else {
                T::LongLong
            }
        } else if long == 1 {
            if unsigned {
                T::ULong
            } else {
                T::Long
            }
        } else if int || signed || unsigned {
            if unsigned {
                T::UInt
            } else {
                T::Int
            }
        } else {
            return Err("no type specifier".into());
        }))
    }

    fn typedef_ref(&self, name: &str) -> TyResult {
        match name {
            "__fti128" | "__ftu128" | "__int128_t" | "__uint128_t" => Err(INT128.into()),
            "__builtin_va_list" => Err("cannot represent: va_list".into()),
            _ => match self.typedefs.get(name) {
                Some(Ok(t)) => Ok(t.clone()),
                Some(Err(e)) if e.starts_with("uses typedef") => Err(e.clone()),
                Some(Err(_)) => Err(format!("uses typedef {name}, which cannot be represented")),
                None => Err(format!("unknown type name {name}")),
            },
        }
    }

    fn type_name_ty(&mut self, tn: &Node<TypeName>) -> TyResult {
        let specs: Vec<Spec> = tn
            .node
            .specifiers
            .iter()
            .map(|s| match &s.node {
                SpecifierQualifier::TypeSpecifier(t) => Spec::Type(&t.node),
                SpecifierQualifier::Extension(e) => Spec::Ext(e),
                SpecifierQualifier::TypeQualifier(_) => Spec::Other,
            })
            .collect();
        let at = tn.span.start.saturating_sub(PRELUDE.len());
        let base = self.base_type(&specs, at, Attrs::default())?;
        match &tn.node.declarator {
            Some(d) => self.declarator(base, &d.node),
            None => Ok(base),
        }
    }

    fn declarator(&mut self, base: Ty, d: &Declarator) -> TyResult {
        let mut ty = base;
        for dd in &d.derived {
            if let DerivedDeclarator::Pointer(_) = dd.node {
                ty = Ty::Pointer(Box::new(ty));
            }
        }
        for dd in d.derived.iter().rev() {
            ty = match &dd.node {
                DerivedDeclarator::Pointer(_) => continue,
                DerivedDeclarator::Array(a) => {
                    let n = match &a.node.size {
                        ArraySize::Unknown => 0,
                        ArraySize::VariableUnknown => {
                            return Err("cannot represent: variable-length array".into())
                        }
                        ArraySize::VariableExpression(e) | ArraySize::StaticExpression(e) => {
                            let n = eval::eval_int(self, e)?;
                            u64::try_from(n).map_err(|_| format!("array size {n} is negative"))?
                        }
                    };
                    if let Ty::Function(_) | Ty::Void = ty {
                        return Err("array of functions or of void".into());
                    }
                    Ty::Array(Box::new(ty), n)
                }
                DerivedDeclarator::Function(f) => {
                    Ty::Function(Rc::new(self.signature(ty, &f.node)?))
                }
                DerivedDeclarator::KRFunction(ids) => {
                    if !ids.is_empty() {
                        return Err("cannot represent: K&R-style parameter list".into());
                    }
                    Ty::Function(Rc::new(Sig {
                        ret: ty,
                        args: vec![],
                        variadic: false,
                        unspecified: true,
                        names: vec![],
                    }))
                }
                DerivedDeclarator::Block(_) => {
                    return Err("cannot represent: a block (^) pointer".into())
                }
            };
        }
        match &d.kind.node {
            DeclaratorKind::Declarator(inner) => self.declarator(ty, &inner.node),
            _ => Ok(ty),
        }
    }

    fn signature(&mut self, ret: Ty, f: &FunctionDeclarator) -> Result<Sig, String> {
        let mut args = Vec::new();
        let mut names = Vec::new();
        for p in &f.parameters {
            let specs: Vec<Spec> = p
                .node
                .specifiers
                .iter()
                .map(|s| match &s.node {
                    DeclarationSpecifier::TypeSpecifier(t) => Spec::Type(&t.node),
                    _ => Spec::Other,
                })
                .collect();
            let at = p.span.start.saturating_sub(PRELUDE.len());
            let base = self.base_type(&specs, at, Attrs::default())?;
            let ty = match &p.node.declarator {
                Some(d) => self.declarator(base, &d.node)?,
                None => base,
            };
            names.push(
                p.node
                    .declarator
                    .as_ref()
                    .and_then(|d| declarator_name(&d.node))
                    .unwrap_or_default(),
            );
            args.push(match ty {
                Ty::Array(t, _) => Ty::Pointer(t),
                Ty::Function(s) => Ty::Pointer(Box::new(Ty::Function(s))),
                t => t,
            });
        }
        if args.len() == 1 && args[0] == Ty::Void {
            args.clear();
            names.clear();
        }
        if args.contains(&Ty::Void) {
            return Err("a parameter of type void".into());
        }
        Ok(Sig {
            ret,
            args,
            variadic: matches!(f.ellipsis, Ellipsis::Some),
            unspecified: false,
            names,
        })
    }

    fn enumeration(&mut self, e: &Node<EnumType>, at: usize) -> TyResult {
        let tag = e.node.identifier.as_ref().map(|i| i.node.name.clone());
        if e.node.enumerators.is_empty() {
            return Ok(Ty::Scalar(
                tag.and_then(|t| self.enum_tags.get(&t).copied())
                    .unwrap_or(TypeCode::UInt),
            ));
        }
        self.count();
        let mut next: i128 = 0;
        let (mut lo, mut hi) = (0i128, 0i128);
        for en in &e.node.enumerators {
            let name = en.node.identifier.node.name.clone();
            self.count();
            if let Some(x) = &en.node.expression {
                match eval::eval_int(self, x) {
                    Ok(v) => next = v,
                    Err(err) => {
                        let at = en.span.start.saturating_sub(PRELUDE.len());
                        self.refuse(&name, err, at);
                        return Err(format!("enum constant {name} cannot be evaluated"));
                    }
                }
            }
            lo = lo.min(next);
            hi = hi.max(next);
            self.consts.insert(name.clone(), Const::Int(next));
            self.show().constants.push((name, Const::Int(next)));
            next += 1;
        }
        let code = if lo >= 0 {
            if hi <= i128::from(u32::MAX) {
                TypeCode::UInt
            } else {
                TypeCode::ULong
            }
        } else if lo >= i128::from(i32::MIN) && hi <= i128::from(i32::MAX) {
            TypeCode::Int
        } else {
            TypeCode::Long
        };
        let _ = at;
        if let Some(t) = tag {
            self.enum_tags.insert(t.clone(), code);
            self.show().enums.push((t, code));
        }
        Ok(Ty::Scalar(code))
    }

    fn record(&mut self, s: &Node<StructType>, at: usize, mut attr: Attrs) -> TyResult {
        // Attributes written between the keyword and the tag (moved out by the scan).
        if let Some(ext) = self
            .tag_attrs
            .get(&s.span.start.saturating_sub(PRELUDE.len()))
            .cloned()
        {
            self.layout_attrs(&ext, &mut attr);
        }
        attr.pragma_pack = self.packing_at(s.span.start.saturating_sub(PRELUDE.len()));
        let is_union = matches!(s.node.kind.node, StructKind::Union);
        let tag = s.node.identifier.as_ref().map(|i| i.node.name.clone());
        let index = match &tag {
            Some(t) => match self.tags.get(t) {
                Some(&i) if s.node.declarations.is_none() || !self.unit.records[i].complete => i,
                Some(_) => {
                    self.count();
                    let what = if is_union { "union" } else { "struct" };
                    self.refuse(
                        t,
                        format!("{what} {t} is defined again (the first definition is kept)"),
                        at,
                    );
                    return Ok(Ty::Record(self.tags[t]));
                }
                None => self.new_record(tag.clone(), is_union),
            },
            None => self.new_record(None, is_union),
        };
        let Some(decls) = &s.node.declarations else {
            return Ok(Ty::Record(index));
        };
        self.count();
        let name = self.unit.records[index].name.clone();
        let (pack, min_align) = (attr.pack(), attr.align);
        match self.record_body(decls, is_union, attr) {
            Ok((fields, anonymous, size, align)) => {
                let r = &mut self.unit.records[index];
                r.pack = pack;
                r.min_align = min_align;
                r.fields = fields;
                r.anonymous = anonymous;
                r.size = size;
                r.align = align;
                r.complete = true;
                r.hidden = !self.visible;
            }
            Err(e) => {
                self.unit.records[index].refused = Some(e.clone());
                self.refuse(&name, e, at);
            }
        }
        Ok(Ty::Record(index))
    }

    /// The `#pragma pack` value in effect at `offset` of the text.
    fn packing_at(&self, offset: usize) -> Option<u32> {
        let i = self.packing.partition_point(|&(at, _)| at <= offset);
        i.checked_sub(1).and_then(|i| self.packing[i].1)
    }

    /// Adds what the GNU attributes in `ext` say about a layout to `into`.
    fn layout_attrs(&mut self, ext: &[Node<Extension>], into: &mut Attrs) {
        for e in ext {
            let Extension::Attribute(a) = &e.node else {
                continue;
            };
            match a.name.node.trim_matches('_') {
                "packed" => into.packed = true,
                "aligned" => {
                    let n = match a.arguments.first() {
                        None => Ok(BIGGEST_ALIGNMENT as i128),
                        Some(arg) => eval::eval_int(self, arg),
                    };
                    match n {
                        Ok(n) if n > 0 && (n & (n - 1)) == 0 && n <= 1 << 28 => {
                            into.align = into.align.max(n as usize)
                        }
                        Ok(n) => into.refused = Some(format!("aligned({n}) is not a power of two")),
                        Err(e) => into.refused = Some(format!("aligned(...): {e}")),
                    }
                }
                n @ ("vector_size" | "mode" | "ms_struct" | "gcc_struct") => {
                    into.refused = Some(format!("cannot represent: __attribute__(({n}))"))
                }
                _ => {}
            }
        }
    }

    fn new_record(&mut self, tag: Option<String>, is_union: bool) -> usize {
        let name = tag.clone().unwrap_or_else(|| {
            self.anon += 1;
            format!("_anon_{}", self.anon)
        });
        if let Some(t) = &tag {
            self.tags.insert(t.clone(), self.unit.records.len());
        }
        self.unit.records.push(Record {
            name,
            tag,
            is_union,
            complete: false,
            fields: vec![],
            anonymous: vec![],
            size: 0,
            align: 1,
            pack: None,
            min_align: 0,
            refused: None,
            hidden: !self.visible,
        });
        self.unit.records.len() - 1
    }

    #[allow(clippy::type_complexity)]
    fn record_body(
        &mut self,
        decls: &[Node<StructDeclaration>],
        is_union: bool,
        attr: Attrs,
    ) -> Result<(Vec<Field>, Vec<String>, usize, usize), String> {
        if let Some(a) = attr.refused {
            return Err(a);
        }
        let mut fields = Vec::new();
        let mut anonymous = Vec::new();
        // The compiler's layout (c_spec: GCC's, with its packing), and the one ctypes will
        // make of the fields (ct_spec: `_pack_` comes with `_layout_ = "ms"`); they must agree.
        let mut c_spec = StructSpec::new(LayoutRule::native());
        c_spec.is_union = is_union;
        c_spec.pack = attr.pack();
        c_spec.align = attr.align;
        let mut ct_spec = c_spec.clone();
        if attr.pack().is_some() {
            ct_spec.rule = LayoutRule::Ms;
        }
        let mut pad = 0;
        for d in decls {
            let StructDeclaration::Field(f) = &d.node else {
                continue;
            };
            let specs: Vec<Spec> = f
                .node
                .specifiers
                .iter()
                .map(|s| match &s.node {
                    SpecifierQualifier::TypeSpecifier(t) => Spec::Type(&t.node),
                    SpecifierQualifier::Extension(e) => Spec::Ext(e),
                    SpecifierQualifier::TypeQualifier(_) => Spec::Other,
                })
                .collect();
            let mut member = Attrs::default();
            for s in &specs {
                if let Spec::Ext(e) = s {
                    self.layout_attrs(e, &mut member);
                }
            }
            let at = f.span.start.saturating_sub(PRELUDE.len());
            let base = self.base_type(&specs, at, Attrs::default())?;
            if f.node.declarators.is_empty() {
                // An anonymous struct or union member.
                let Ty::Record(i) = base else { continue };
                let name = format!("_anon{}", anonymous.len());
                let (size, align) = self.size_align(&base)?;
                member_attrs_ok(&member, align)?;
                c_spec
                    .fields
                    .push(FieldSpec::value(name.clone(), size, align));
                ct_spec
                    .fields
                    .push(FieldSpec::value(name.clone(), size, align));
                let _ = i;
                anonymous.push(name.clone());
                fields.push(Field {
                    name,
                    ty: base,
                    bits: None,
                });
                continue;
            }
            for sd in &f.node.declarators {
                let ty = match &sd.node.declarator {
                    Some(dc) => {
                        let mut own = member.clone();
                        self.layout_attrs(&dc.node.extensions, &mut own);
                        let ty = self.declarator(base.clone(), &dc.node)?;
                        let (_, natural) = self.size_align(&ty)?;
                        member_attrs_ok(&own, natural)?;
                        ty
                    }
                    None => {
                        let (_, natural) = self.size_align(&base)?;
                        member_attrs_ok(&member, natural)?;
                        base.clone()
                    }
                };
                let fname = sd
                    .node
                    .declarator
                    .as_ref()
                    .and_then(|dc| declarator_name(&dc.node));
                let (size, align) = self.size_align(&ty)?;
                match &sd.node.bit_width {
                    None => {
                        let name = fname.unwrap_or_default();
                        if let Ty::Function(_) = ty {
                            return Err(format!("member {name} has a function type"));
                        }
                        c_spec
                            .fields
                            .push(FieldSpec::value(name.clone(), size, align));
                        ct_spec
                            .fields
                            .push(FieldSpec::value(name.clone(), size, align));
                        fields.push(Field {
                            name,
                            ty,
                            bits: None,
                        });
                    }
                    Some(w) => {
                        if attr.pack().is_some() {
                            return Err("cannot represent: a bit-field in a packed struct (GCC \
                                        packs bit-fields bit by bit, ctypes' _pack_ as MSVC)"
                                .into());
                        }
                        let bits = eval::eval_int(self, w)?;
                        let Ty::Scalar(mut code) = ty else {
                            return Err(
                                "cannot represent: a bit-field of a non-integer type".into()
                            );
                        };
                        // ctypes takes no `c_char` bit-field: plain char is the signed or
                        // unsigned byte it is on this platform.
                        if code == TypeCode::Char {
                            code = if core::ffi::c_char::MIN == 0 {
                                TypeCode::UByte
                            } else {
                                TypeCode::Byte
                            };
                        }
                        let ty = Ty::Scalar(code);
                        let int = match code {
                            TypeCode::Bool => IntKind::Bool,
                            TypeCode::UByte
                            | TypeCode::UShort
                            | TypeCode::UInt
                            | TypeCode::ULong
                            | TypeCode::ULongLong => IntKind::Unsigned,
                            TypeCode::Char
                            | TypeCode::Byte
                            | TypeCode::Short
                            | TypeCode::Int
                            | TypeCode::Long
                            | TypeCode::LongLong => IntKind::Signed,
                            _ => {
                                return Err(
                                    "cannot represent: a bit-field of a non-integer type".into()
                                )
                            }
                        };
                        let bits = u32::try_from(bits)
                            .ok()
                            .filter(|&b| (b as usize) <= size * 8)
                            .ok_or_else(|| format!("bit-field width {bits} is out of range"))?;
                        match fname {
                            Some(name) => {
                                if bits == 0 {
                                    return Err(format!("named bit-field {name} has zero width"));
                                }
                                c_spec.fields.push(FieldSpec::bitfield(
                                    name.clone(),
                                    size,
                                    align,
                                    bits,
                                    int,
                                ));
                                ct_spec.fields.push(FieldSpec::bitfield(
                                    name.clone(),
                                    size,
                                    align,
                                    bits,
                                    int,
                                ));
                                fields.push(Field {
                                    name,
                                    ty,
                                    bits: Some(bits),
                                });
                            }
                            None => {
                                if bits == 0 {
                                    return Err("cannot represent: an unnamed zero-width bit-field (ctypes refuses zero widths)".into());
                                }
                                // ctypes has no unnamed bit-field: a named padding one, if
                                // that gives the same layout (checked below).
                                let name = format!("_pad{pad}");
                                pad += 1;
                                c_spec.fields.push(FieldSpec::unnamed(size, align, bits));
                                ct_spec.fields.push(FieldSpec::bitfield(
                                    name.clone(),
                                    size,
                                    align,
                                    bits,
                                    int,
                                ));
                                fields.push(Field {
                                    name,
                                    ty,
                                    bits: Some(bits),
                                });
                            }
                        }
                    }
                }
            }
        }
        let c = c_spec.layout().map_err(|e| e.to_string())?;
        let ct = ct_spec.layout().map_err(|e| e.to_string())?;
        if c != ct {
            return Err(if attr.pack().is_some() {
                "cannot represent: a packed layout that _pack_ does not reproduce".into()
            } else {
                "cannot represent: an unnamed bit-field that changes the alignment".into()
            });
        }
        Ok((fields, anonymous, c.size, c.align))
    }

    fn kept(&self, keep: Option<&dyn Fn(&str) -> bool>, at: usize) -> bool {
        keep.is_none_or(|k| self.lines.pos(at).file.is_some_and(|f| k(&f)))
    }

    fn defines(&mut self, defines: &[RawDefine], keep: Option<&dyn Fn(&str) -> bool>) {
        for d in defines {
            self.visible = self.kept(keep, d.offset);
            self.count();
            if d.function_like {
                self.refuse(&d.name, "cannot represent: a function-like macro", d.offset);
                continue;
            }
            if d.value.is_empty() {
                self.refuse(&d.name, "cannot represent: a macro with no value", d.offset);
                continue;
            }
            self.pending.remove(&d.name);
            let known = self.consts.get(&d.name).cloned();
            match known.map_or_else(|| self.define_value(&d.value), Ok) {
                Ok(c) => {
                    self.consts.insert(d.name.clone(), c.clone());
                    self.show().constants.push((d.name.clone(), c));
                }
                Err(e) => self.refuse(
                    &d.name,
                    format!("cannot represent: #define {} {} ({e})", d.name, d.value),
                    d.offset,
                ),
            }
        }
    }

    fn define_value(&mut self, value: &str) -> Result<Const, String> {
        // The value is parsed as an initializer, with the typedef names it mentions
        // declared first so that casts parse.
        let mut names: Vec<&str> = value
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| self.typedefs.contains_key(*w))
            .collect();
        names.dedup();
        let prelude = if names.is_empty() {
            String::new()
        } else {
            format!("typedef int {};\n", names.join(", "))
        };
        let src = format!("{prelude}{PRELUDE}static const __typeof__(0) __ft_value = ({value}\n);");
        let config = Config::with_gcc();
        let parsed = std::panic::catch_unwind(move || parse_preprocessed(&config, src))
            .map_err(|_| "the C parser failed")?
            .map_err(|_| "not an expression".to_string())?;
        let expr = parsed
            .unit
            .0
            .iter()
            .rev()
            .find_map(|d| match &d.node {
                ExternalDeclaration::Declaration(decl) => {
                    decl.node
                        .declarators
                        .first()
                        .and_then(|i| match &i.node.initializer {
                            Some(Node {
                                node: lang_c::ast::Initializer::Expression(e),
                                ..
                            }) => Some(e.clone()),
                            _ => None,
                        })
                }
                _ => None,
            })
            .ok_or("not an expression")?;
        eval::eval(self, &expr)
    }

    fn order_records(&mut self) {
        let n = self.unit.records.len();
        let mut state = vec![0u8; n];
        let mut order = Vec::new();
        // Iterative DFS over by-value members.
        for start in 0..n {
            let mut stack = vec![(start, false)];
            while let Some((i, done)) = stack.pop() {
                if done {
                    if state[i] == 1 {
                        state[i] = 2;
                        if self.unit.records[i].complete {
                            order.push(i);
                        }
                    }
                    continue;
                }
                if state[i] != 0 {
                    continue;
                }
                state[i] = 1;
                stack.push((i, true));
                for f in &self.unit.records[i].fields {
                    let mut t = &f.ty;
                    while let Ty::Array(inner, _) = t {
                        t = inner;
                    }
                    if let Ty::Record(j) = t {
                        if state[*j] == 0 {
                            stack.push((*j, false));
                        }
                    }
                }
            }
        }
        self.unit.record_order = order;
    }
}

/// Whether a function can be called through ctypes: no `long double` or incomplete
/// record by value.
fn check_sig(sig: &Sig, records: &[Record]) -> Result<(), String> {
    for (k, t) in std::iter::once(&sig.ret).chain(sig.args.iter()).enumerate() {
        let what = if k == 0 {
            "result".to_string()
        } else {
            format!("argument {k}")
        };
        match t {
            Ty::Scalar(TypeCode::LongDouble) => {
                return Err(format!(
                    "cannot represent: long double {what} (not passed by this binding)"
                ))
            }
            Ty::Record(i) if !records.get(*i).is_some_and(|r| r.complete) => {
                return Err(format!(
                    "cannot represent: incomplete struct or union {what} by value"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

impl Scope for Cx<'_> {
    fn constant(&mut self, name: &str) -> Option<Const> {
        if let Some(c) = self.consts.get(name) {
            return Some(c.clone());
        }
        // A `#define` is evaluated when first used (taken out first: no cycles).
        let value = self.pending.remove(name)?;
        let c = self.define_value(&value).ok()?;
        self.consts.insert(name.to_string(), c.clone());
        Some(c)
    }

    fn type_name(&mut self, t: &Node<TypeName>) -> Result<Ty, String> {
        self.type_name_ty(t)
    }

    fn size_align(&self, t: &Ty) -> Result<(usize, usize), String> {
        Ok(match t {
            Ty::Void => return Err("void has no size".into()),
            Ty::Scalar(c) => (c.size(), c.align()),
            Ty::Pointer(_) => (
                core::mem::size_of::<usize>(),
                core::mem::align_of::<usize>(),
            ),
            Ty::Array(inner, n) => {
                let (s, a) = self.size_align(inner)?;
                let total = usize::try_from(*n)
                    .ok()
                    .and_then(|n| n.checked_mul(s))
                    .ok_or("array too large")?;
                (total, a)
            }
            Ty::Record(i) => {
                let r = self.unit.records.get(*i).ok_or("unknown record")?;
                if !r.complete {
                    return Err(format!("incomplete type {}", r.name));
                }
                (r.size, r.align)
            }
            Ty::Function(_) => return Err("a function type has no size".into()),
        })
    }
}
