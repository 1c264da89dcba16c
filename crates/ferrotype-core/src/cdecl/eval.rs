//! Constant expressions: enum values, array lengths, bit-field widths and `#define`
//! values, with C's integer types (int, unsigned, long, unsigned long on LP64) so that
//! `~0u`, `1u << 31` and `-1` come out as the compiler has them.

use lang_c::ast::{
    BinaryOperator, Constant, Expression, FloatFormat, IntegerBase, IntegerSize, TypeName,
    UnaryOperator,
};
use lang_c::span::Node;

use super::{Const, Ty};
use crate::typecode::TypeCode;

/// What the evaluator needs from the declarations seen so far.
pub(super) trait Scope {
    /// The value of an enum constant or `#define` name.
    fn constant(&mut self, name: &str) -> Option<Const>;
    /// The type a type name denotes.
    fn type_name(&mut self, t: &Node<TypeName>) -> Result<Ty, String>;
    /// `sizeof` and `_Alignof` of a type.
    fn size_align(&self, t: &Ty) -> Result<(usize, usize), String>;
}

/// An integer with its C type: (bits, signed).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Int {
    v: i128,
    bits: u32,
    signed: bool,
}

impl Int {
    fn new(v: i128, bits: u32, signed: bool) -> Int {
        Int {
            v: wrap(v, bits, signed),
            bits,
            signed,
        }
    }
}

fn wrap(v: i128, bits: u32, signed: bool) -> i128 {
    if bits >= 128 {
        return v;
    }
    let m = (1i128 << bits) - 1;
    let u = v & m;
    if signed && u >> (bits - 1) & 1 == 1 {
        u - (1i128 << bits)
    } else {
        u
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    I(Int),
    F(f64),
    S(Vec<u8>),
}

const LONG_BITS: u32 = (core::mem::size_of::<core::ffi::c_long>() * 8) as u32;

fn int_of(c: &Const) -> Val {
    match c {
        Const::Int(v) => {
            let (bits, signed) = if i32::try_from(*v).is_ok() {
                (32, true)
            } else if u32::try_from(*v).is_ok() {
                (32, false)
            } else if i64::try_from(*v).is_ok() {
                (64, true)
            } else {
                (64, false)
            };
            Val::I(Int::new(*v, bits, signed))
        }
        Const::Float(f) => Val::F(*f),
        Const::Bytes(b) => Val::S(b.clone()),
    }
}

/// Evaluates `e` to a constant.
pub(super) fn eval(scope: &mut dyn Scope, e: &Node<Expression>) -> Result<Const, String> {
    Ok(match value(scope, e, 0)? {
        Val::I(i) => Const::Int(i.v),
        Val::F(f) => Const::Float(f),
        Val::S(s) => Const::Bytes(s),
    })
}

/// Evaluates `e` to an integer.
pub(super) fn eval_int(scope: &mut dyn Scope, e: &Node<Expression>) -> Result<i128, String> {
    match value(scope, e, 0)? {
        Val::I(i) => Ok(i.v),
        _ => Err("not an integer constant expression".into()),
    }
}

fn parse_int(base: &IntegerBase, digits: &str) -> Option<u128> {
    let radix = match base {
        IntegerBase::Decimal => 10,
        IntegerBase::Octal => 8,
        IntegerBase::Hexadecimal => 16,
        IntegerBase::Binary => 2,
    };
    let d = digits.replace('\'', "");
    u128::from_str_radix(&d, radix)
        .ok()
        .or(if d.is_empty() { Some(0) } else { None })
}

fn char_value(s: &str) -> Result<i128, String> {
    let inner = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
    let bytes = inner
        .map(unescape)
        .ok_or_else(|| format!("character constant {s}"))??;
    match bytes.as_slice() {
        [b] => Ok(i128::from(*b as i8)),
        _ => Err(format!("cannot represent: character constant {s}")),
    }
}

/// Decodes a C string or character literal body (without quotes).
pub(super) fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i).ok_or("bad escape")?;
        i += 1;
        let v = match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                v as u8
            }
            b'x' => {
                let n = b[i..].iter().take_while(|d| d.is_ascii_hexdigit()).count();
                let v = u32::from_str_radix(&s[i..i + n], 16).map_err(|_| "bad \\x escape")?;
                i += n;
                v as u8
            }
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'e' => 27,
            other => other,
        };
        out.push(v);
    }
    Ok(out)
}

fn string_value(parts: &[String]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for p in parts {
        let body = p
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(|| format!("cannot represent: string literal {p} (only plain strings)"))?;
        out.extend(unescape(body)?);
    }
    Ok(out)
}

fn promote(a: Int) -> Int {
    if a.bits < 32 {
        Int::new(a.v, 32, true)
    } else {
        a
    }
}

/// C's usual arithmetic conversions for two integers.
fn common(a: Int, b: Int) -> (u32, bool) {
    let (a, b) = (promote(a), promote(b));
    if a.bits == b.bits {
        return (a.bits, a.signed && b.signed);
    }
    let (wide, narrow) = if a.bits > b.bits { (a, b) } else { (b, a) };
    let _ = narrow;
    (wide.bits, wide.signed)
}

fn truth(v: &Val) -> Result<bool, String> {
    match v {
        Val::I(i) => Ok(i.v != 0),
        Val::F(f) => Ok(*f != 0.0),
        Val::S(_) => Err("not a constant expression".into()),
    }
}

fn as_f64(v: &Val) -> Result<f64, String> {
    match v {
        Val::I(i) => Ok(i.v as f64),
        Val::F(f) => Ok(*f),
        Val::S(_) => Err("not a constant expression".into()),
    }
}

fn scalar_int(code: TypeCode) -> Option<(u32, bool)> {
    let bits = (code.size() * 8) as u32;
    match code {
        TypeCode::Bool => Some((8, false)),
        TypeCode::Char | TypeCode::Byte | TypeCode::Short | TypeCode::Int | TypeCode::Long => {
            Some((bits, true))
        }
        TypeCode::LongLong => Some((bits, true)),
        TypeCode::WChar => Some((bits, true)),
        TypeCode::UByte
        | TypeCode::UShort
        | TypeCode::UInt
        | TypeCode::ULong
        | TypeCode::ULongLong => Some((bits, false)),
        _ => None,
    }
}

fn value(scope: &mut dyn Scope, e: &Node<Expression>, depth: usize) -> Result<Val, String> {
    if depth > super::scan::MAX_DEPTH {
        return Err("expression nested too deeply".into());
    }
    let d = depth + 1;
    Ok(match &e.node {
        Expression::Constant(c) => match &c.node {
            Constant::Integer(i) => {
                let raw = parse_int(&i.base, &i.number)
                    .ok_or_else(|| format!("integer constant {} out of range", i.number))?;
                if i.suffix.imaginary {
                    return Err("cannot represent: imaginary constant".into());
                }
                let decimal = matches!(i.base, IntegerBase::Decimal);
                let min_bits = match i.suffix.size {
                    IntegerSize::Int => 32,
                    _ => 64,
                };
                // The first type of the list (C11 6.4.4.1) that holds the value.
                let mut pick = None;
                for (bits, signed) in [(32, true), (32, false), (64, true), (64, false)] {
                    if bits < min_bits || (signed && i.suffix.unsigned) {
                        continue;
                    }
                    if !signed && decimal && !i.suffix.unsigned {
                        continue;
                    }
                    let max = if signed {
                        (1u128 << (bits - 1)) - 1
                    } else {
                        (1u128 << bits) - 1
                    };
                    if raw <= max {
                        pick = Some((bits, signed));
                        break;
                    }
                }
                let (bits, signed) = match pick {
                    Some(p) => p,
                    None if raw <= u64::MAX as u128 => (64, false),
                    None => return Err(format!("integer constant {} out of range", i.number)),
                };
                let bits = if bits == 64 { LONG_BITS.max(64) } else { bits };
                Val::I(Int::new(raw as i128, bits, signed))
            }
            Constant::Float(f) => {
                if f.suffix.imaginary {
                    return Err("cannot represent: imaginary constant".into());
                }
                let text = f.number.replace('\'', "");
                let v = if matches!(f.base, lang_c::ast::FloatBase::Hexadecimal) {
                    hex_float(&text).ok_or_else(|| format!("float constant 0x{text}"))?
                } else {
                    text.parse::<f64>()
                        .map_err(|_| format!("float constant {text}"))?
                };
                let v = if matches!(f.suffix.format, FloatFormat::Float) {
                    v as f32 as f64
                } else {
                    v
                };
                Val::F(v)
            }
            Constant::Character(s) => Val::I(Int::new(char_value(s)?, 32, true)),
        },
        Expression::StringLiteral(s) => Val::S(string_value(&s.node)?),
        Expression::Identifier(id) => match scope.constant(&id.node.name) {
            Some(c) => int_of(&c),
            None => return Err(format!("'{}' is not a constant", id.node.name)),
        },
        Expression::SizeOfTy(t) => {
            let ty = scope.type_name(&t.node.0)?;
            let (size, _) = scope.size_align(&ty)?;
            Val::I(Int::new(size as i128, LONG_BITS, false))
        }
        Expression::AlignOf(t) => {
            let ty = scope.type_name(&t.node.0)?;
            let (_, align) = scope.size_align(&ty)?;
            Val::I(Int::new(align as i128, LONG_BITS, false))
        }
        Expression::SizeOfVal(v) => match value(scope, &v.node.0, d)? {
            Val::I(i) => Val::I(Int::new(i128::from(promote(i).bits / 8), LONG_BITS, false)),
            Val::F(_) => Val::I(Int::new(8, LONG_BITS, false)),
            Val::S(s) => Val::I(Int::new(s.len() as i128 + 1, LONG_BITS, false)),
        },
        Expression::Cast(c) => {
            let ty = scope.type_name(&c.node.type_name)?;
            let v = value(scope, &c.node.expression, d)?;
            match ty {
                Ty::Scalar(TypeCode::Float) => Val::F(as_f64(&v)? as f32 as f64),
                Ty::Scalar(TypeCode::Double | TypeCode::LongDouble) => Val::F(as_f64(&v)?),
                Ty::Scalar(TypeCode::Bool) => Val::I(Int::new(i128::from(truth(&v)?), 32, true)),
                Ty::Scalar(code) => {
                    let (bits, signed) = scalar_int(code).ok_or("cast to a non-integer type")?;
                    let raw = match v {
                        Val::I(i) => i.v,
                        Val::F(f) => f as i128,
                        Val::S(_) => return Err("not a constant expression".into()),
                    };
                    Val::I(Int::new(raw, bits, signed))
                }
                Ty::Pointer(_) => match v {
                    // `((void *)0)` and friends: an address, as ctypes' c_void_p holds it.
                    Val::I(i) => Val::I(Int::new(i.v, LONG_BITS, false)),
                    _ => return Err("not a constant expression".into()),
                },
                Ty::Void => return Err("cast to void is not a value".into()),
                _ => return Err("cast to a non-scalar type".into()),
            }
        }
        Expression::UnaryOperator(u) => {
            let v = value(scope, &u.node.operand, d)?;
            match (&u.node.operator.node, v) {
                (UnaryOperator::Plus, Val::I(i)) => Val::I(promote(i)),
                (UnaryOperator::Plus, Val::F(f)) => Val::F(f),
                (UnaryOperator::Minus, Val::I(i)) => {
                    let p = promote(i);
                    Val::I(Int::new(-p.v, p.bits, p.signed))
                }
                (UnaryOperator::Minus, Val::F(f)) => Val::F(-f),
                (UnaryOperator::Complement, Val::I(i)) => {
                    let p = promote(i);
                    Val::I(Int::new(!p.v, p.bits, p.signed))
                }
                (UnaryOperator::Negate, v) => Val::I(Int::new(i128::from(!truth(&v)?), 32, true)),
                _ => return Err("not a constant expression".into()),
            }
        }
        Expression::BinaryOperator(b) => {
            use BinaryOperator as B;
            let op = &b.node.operator.node;
            if matches!(op, B::LogicalAnd | B::LogicalOr) {
                let l = truth(&value(scope, &b.node.lhs, d)?)?;
                let r = if (matches!(op, B::LogicalAnd) && !l) || (matches!(op, B::LogicalOr) && l)
                {
                    l
                } else {
                    truth(&value(scope, &b.node.rhs, d)?)?
                };
                return Ok(Val::I(Int::new(i128::from(r), 32, true)));
            }
            let l = value(scope, &b.node.lhs, d)?;
            let r = value(scope, &b.node.rhs, d)?;
            binary(op, l, r)?
        }
        Expression::Conditional(c) => {
            if truth(&value(scope, &c.node.condition, d)?)? {
                value(scope, &c.node.then_expression, d)?
            } else {
                value(scope, &c.node.else_expression, d)?
            }
        }
        Expression::Comma(list) => {
            let mut last = Err("empty expression".to_string());
            for x in list.iter() {
                last = value(scope, x, d);
            }
            last?
        }
        _ => return Err("not a constant expression".into()),
    })
}

fn binary(op: &BinaryOperator, l: Val, r: Val) -> Result<Val, String> {
    use BinaryOperator as B;
    let (a, b) = match (l, r) {
        (Val::I(a), Val::I(b)) => (a, b),
        (Val::S(_), _) | (_, Val::S(_)) => return Err("not a constant expression".into()),
        (l, r) => {
            let (x, y) = (as_f64(&l)?, as_f64(&r)?);
            let cmp = |c: bool| Val::I(Int::new(i128::from(c), 32, true));
            return Ok(match op {
                B::Multiply => Val::F(x * y),
                B::Divide => Val::F(x / y),
                B::Plus => Val::F(x + y),
                B::Minus => Val::F(x - y),
                B::Less => cmp(x < y),
                B::Greater => cmp(x > y),
                B::LessOrEqual => cmp(x <= y),
                B::GreaterOrEqual => cmp(x >= y),
                B::Equals => cmp(x == y),
                B::NotEquals => cmp(x != y),
                _ => return Err("not a constant expression".into()),
            });
        }
    };
    if matches!(op, B::ShiftLeft | B::ShiftRight) {
        let p = promote(a);
        let n = u32::try_from(b.v)
            .ok()
            .filter(|&n| n < p.bits)
            .ok_or("shift count out of range")?;
        let v = if matches!(op, B::ShiftLeft) {
            p.v.wrapping_shl(n)
        } else if p.signed {
            p.v >> n
        } else {
            ((p.v as u128 & ((1u128 << p.bits) - 1)) >> n) as i128
        };
        return Ok(Val::I(Int::new(v, p.bits, p.signed)));
    }
    let (bits, signed) = common(a, b);
    let x = wrap(a.v, bits, signed);
    let y = wrap(b.v, bits, signed);
    let cmp = |c: bool| Val::I(Int::new(i128::from(c), 32, true));
    Ok(match op {
        B::Multiply => Val::I(Int::new(x.wrapping_mul(y), bits, signed)),
        B::Divide | B::Modulo if y == 0 => return Err("division by zero".into()),
        B::Divide => Val::I(Int::new(x / y, bits, signed)),
        B::Modulo => Val::I(Int::new(x % y, bits, signed)),
        B::Plus => Val::I(Int::new(x.wrapping_add(y), bits, signed)),
        B::Minus => Val::I(Int::new(x.wrapping_sub(y), bits, signed)),
        B::Less => cmp(x < y),
        B::Greater => cmp(x > y),
        B::LessOrEqual => cmp(x <= y),
        B::GreaterOrEqual => cmp(x >= y),
        B::Equals => cmp(x == y),
        B::NotEquals => cmp(x != y),
        B::BitwiseAnd => Val::I(Int::new(x & y, bits, signed)),
        B::BitwiseXor => Val::I(Int::new(x ^ y, bits, signed)),
        B::BitwiseOr => Val::I(Int::new(x | y, bits, signed)),
        _ => return Err("not a constant expression".into()),
    })
}

/// `1.8p3`-style hexadecimal float digits (after `0x`).
fn hex_float(t: &str) -> Option<f64> {
    let t = t.trim_start_matches("0x").trim_start_matches("0X");
    let (mant, exp) = t.split_once(['p', 'P']).unwrap_or((t, "0"));
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp.parse().ok()?))
}
