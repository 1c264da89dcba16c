//! C declarations to a model of ctypes types (`ferrotype.cdef`).
//!
//! The text is parsed by the `lang-c` crate (a C11 parser with GNU extensions; the
//! choice is recorded in `docs/cdef.md`) after [`scan::prepare`] has taken out what it
//! should not see. [`parse`] then lowers the syntax tree to a [`Unit`]: records (structs
//! and unions) laid out by [`crate::layout`], typedefs, enum and `#define` constants,
//! functions and variables, each type resolved to a [`Ty`] made of ctypes' building
//! blocks. What ctypes cannot represent is listed in [`Unit::refused`] with a reason; it
//! is never dropped silently, and the rest still lowers.

mod eval;
mod lower;
pub mod scan;

use std::fmt;
use std::rc::Rc;

use crate::typecode::TypeCode;

/// A C type as ctypes can build it.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// `void` (a result, or the target of `void *`).
    Void,
    /// A simple type.
    Scalar(TypeCode),
    /// A pointer.
    Pointer(Box<Ty>),
    /// An array of a known length (0 for a flexible array member).
    Array(Box<Ty>, u64),
    /// A struct or union: an index into [`Unit::records`].
    Record(usize),
    /// A function type (a pointer to one is ctypes' `CFUNCTYPE`).
    Function(Rc<Sig>),
}

/// A function's signature.
#[derive(Clone, Debug, PartialEq)]
pub struct Sig {
    /// The result type.
    pub ret: Ty,
    /// The declared parameters (arrays and functions already decayed to pointers).
    pub args: Vec<Ty>,
    /// Ends with `...`.
    pub variadic: bool,
    /// Declared with `()`: the parameters are not known.
    pub unspecified: bool,
}

/// A member of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The name (generated for anonymous members and unnamed bit-fields).
    pub name: String,
    /// The type.
    pub ty: Ty,
    /// The width of a bit-field.
    pub bits: Option<u32>,
}

/// A struct or union.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The class name: the tag, or a typedef name, or a generated one.
    pub name: String,
    /// The tag, when it has one.
    pub tag: Option<String>,
    /// A union.
    pub is_union: bool,
    /// Has a body (an incomplete type otherwise).
    pub complete: bool,
    /// The members.
    pub fields: Vec<Field>,
    /// The generated names of anonymous struct/union members (ctypes' `_anonymous_`).
    pub anonymous: Vec<String>,
    /// `sizeof` (0 if incomplete).
    pub size: usize,
    /// `_Alignof` (1 if incomplete).
    pub align: usize,
    /// Why the body cannot be represented (the type is then left incomplete).
    pub refused: Option<String>,
    /// Declared in a file the caller did not keep (see [`parse_files`]): a dependency.
    pub hidden: bool,
}

/// A constant's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// An integer.
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A string (its bytes, without the terminating NUL).
    Bytes(Vec<u8>),
}

/// A function declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// The name (the symbol, or its `__asm__` label).
    pub name: String,
    /// The symbol to look up (differs from `name` with an `__asm__` label).
    pub symbol: String,
    /// The signature.
    pub sig: Rc<Sig>,
}

/// A variable declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct Global {
    /// The name.
    pub name: String,
    /// The symbol to look up.
    pub symbol: String,
    /// The type.
    pub ty: Ty,
}

/// A declaration that cannot be represented, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The declared name (or a description when it has none).
    pub name: String,
    /// Why: "cannot represent: ..." or a syntax error.
    pub reason: String,
    /// Where it starts.
    pub pos: Position,
}

/// A place in the source: line and column in the text given (1-based), and where line
/// markers (`# 12 "file.h"`) say it came from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Position {
    /// Line in the text given.
    pub line: usize,
    /// Column (in bytes) in that line.
    pub column: usize,
    /// The file named by the last line marker, if any.
    pub file: Option<String>,
    /// The line in that file.
    pub file_line: usize,
}

/// What a C text declares.
#[derive(Clone, Debug, Default)]
pub struct Unit {
    /// Structs and unions, in the order first mentioned.
    pub records: Vec<Record>,
    /// The complete records in an order where each comes after those it holds by value.
    pub record_order: Vec<usize>,
    /// `typedef` names and their types, in order.
    pub typedefs: Vec<(String, Ty)>,
    /// Tagged enums and their integer types.
    pub enums: Vec<(String, TypeCode)>,
    /// Enum constants and `#define` constants, in order.
    pub constants: Vec<(String, Const)>,
    /// Function declarations.
    pub functions: Vec<Function>,
    /// Variable declarations (`extern`, or without storage class).
    pub globals: Vec<Global>,
    /// Declarations that cannot be represented.
    pub refused: Vec<Refusal>,
    /// How many declarations were found (each declarator, record, enum and define).
    pub found: usize,
}

/// A syntax error: the text does not parse as C.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// What was expected, or what went wrong.
    pub message: String,
    /// Where.
    pub pos: Position,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.pos.line, self.pos.column)?;
        if let Some(file) = &self.pos.file {
            write!(f, " ({}:{})", file, self.pos.file_line)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Parses C declarations. With `recover`, a top-level declaration that does not parse is
/// listed in [`Unit::refused`] with its syntax error and the rest still lowers; without,
/// the first syntax error is returned.
pub fn parse(source: &str, recover: bool) -> Result<Unit, SyntaxError> {
    lower::run(source, recover, None)
}

/// [`parse`] of preprocessed text, keeping only the declarations whose line markers name
/// a file for which `keep` is true: the others are lowered too (a kept declaration may
/// need their types) but listed nowhere, and their records are marked hidden.
pub fn parse_files(
    source: &str,
    recover: bool,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Unit, SyntaxError> {
    lower::run(source, recover, Some(keep))
}

/// Maps byte offsets of a text to [`Position`]s.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// For each line: (file, line in it) from the last line marker before it.
    marks: Vec<(Option<Rc<str>>, usize)>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut marks = Vec::with_capacity(starts.len());
        let mut file: Option<Rc<str>> = None;
        let mut fline = 1usize;
        for (k, &s) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(text.len(), |e| e - 1);
            let line = text.get(s..end).unwrap_or("");
            marks.push((file.clone(), fline));
            if let Some((n, f)) = linemarker(line) {
                file = Some(Rc::from(f));
                fline = n;
            } else {
                fline += 1;
            }
        }
        Lines {
            text,
            starts,
            marks,
        }
    }

    pub(crate) fn pos(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let k = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(k).copied().unwrap_or(0);
        let (file, file_line) = self.marks.get(k).cloned().unwrap_or((None, 0));
        Position {
            line: k + 1,
            column: offset - start + 1,
            file_line: if file.is_some() { file_line } else { k + 1 },
            file: file.map(|f| f.to_string()),
        }
    }
}

/// `# 12 "file.h" 1 3` or `#line 12 "file.h"`: (12, "file.h").
fn linemarker(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start().strip_prefix('#')?.trim_start();
    let t = t.strip_prefix("line").unwrap_or(t).trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let n = t.get(..digits)?.parse().ok()?;
    let rest = t.get(digits..)?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some((n, rest.get(..end)?))
}

#[cfg(test)]
mod tests;
