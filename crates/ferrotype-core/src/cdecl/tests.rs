use super::*;

fn unit(src: &str) -> Unit {
    parse(src, false).unwrap()
}

fn konst(u: &Unit, name: &str) -> Const {
    u.constants.iter().find(|c| c.0 == name).unwrap().1.clone()
}

fn refusal<'a>(u: &'a Unit, name: &str) -> &'a Refusal {
    u.refused
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not refused: {:?}", u.refused))
}

#[test]
fn records_bitfields_and_anonymous_members() {
    let u = unit(
        "struct s { char c; union { int i; float f; }; unsigned a : 3, : 2, b : 5; long l; };",
    );
    let r = &u.records[0];
    assert_eq!(r.name, "s");
    assert!(r.complete);
    assert_eq!(r.anonymous, ["_anon0"]);
    let names: Vec<_> = r.fields.iter().map(|f| (f.name.as_str(), f.bits)).collect();
    assert_eq!(
        names,
        [
            ("c", None),
            ("_anon0", None),
            ("a", Some(3)),
            ("_pad0", Some(2)),
            ("b", Some(5)),
            ("l", None)
        ]
    );
    assert_eq!((r.size, r.align), (24, 8));
    assert_eq!(u.records[1].name, "_anon_1");
    assert!(u.records[1].is_union);
    // The anonymous union is laid out before the struct that holds it.
    assert_eq!(u.record_order, [1, 0]);
}

#[test]
fn enums_are_evaluated_and_sized() {
    let u = unit(
        "enum e { A, B = 5, C, D = B << 2, E = sizeof(int), F = 'x', G = ~0u };\n\
                  enum n { M = -1 }; enum big { H = 0x100000000 };",
    );
    let vals: Vec<_> = ["A", "B", "C", "D", "E", "F", "G", "M", "H"]
        .iter()
        .map(|n| konst(&u, n))
        .collect();
    let want = [0, 5, 6, 20, 4, 120, 0xffff_ffff, -1, 0x1_0000_0000];
    assert_eq!(vals, want.map(Const::Int));
    assert_eq!(
        u.enums,
        [
            ("e".into(), TypeCode::UInt),
            ("n".into(), TypeCode::Int),
            ("big".into(), TypeCode::ULong)
        ]
    );
}

#[test]
fn typedefs_pointers_arrays_and_functions() {
    let u = unit(
        "typedef struct p { int x; } P; typedef int (*cb)(void *, int[3]);\n\
                  typedef char name_t[2 * 8 + 1]; int printf(const char *, ...);\n\
                  double f(void); void g(); extern P origin; int *(*table)[4];",
    );
    assert_eq!(u.records[0].name, "p");
    let td: HashMap<_, _> = u.typedefs.iter().cloned().collect();
    assert_eq!(td["P"], Ty::Record(0));
    assert_eq!(
        td["name_t"],
        Ty::Array(Box::new(Ty::Scalar(TypeCode::Char)), 17)
    );
    let Ty::Pointer(f) = &td["cb"] else { panic!() };
    let Ty::Function(sig) = &**f else { panic!() };
    assert_eq!(
        sig.args,
        [
            Ty::Pointer(Box::new(Ty::Void)),
            Ty::Pointer(Box::new(Ty::Scalar(TypeCode::Int)))
        ]
    );
    let fns: Vec<_> = u
        .functions
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.sig.variadic,
                f.sig.unspecified,
                f.sig.args.len(),
            )
        })
        .collect();
    assert_eq!(
        fns,
        [
            ("printf", true, false, 1),
            ("f", false, false, 0),
            ("g", false, true, 0)
        ]
    );
    assert_eq!(u.globals[0].ty, Ty::Record(0));
    let int_p = Ty::Pointer(Box::new(Ty::Scalar(TypeCode::Int)));
    assert_eq!(
        u.globals[1].ty,
        Ty::Pointer(Box::new(Ty::Array(Box::new(int_p), 4)))
    );
}

use std::collections::HashMap;

#[test]
fn defines() {
    let u = unit("#define A 3\n#define B (A * 2 + 1)\n#define S \"ab\" \"c\"\n#define F 1.5f\n\
                  #define U ((unsigned char)300)\n#define FN(x) x\n#define EMPTY\n#define BAD extern\n");
    assert_eq!(konst(&u, "B"), Const::Int(7));
    assert_eq!(konst(&u, "S"), Const::Bytes(b"abc".to_vec()));
    assert_eq!(konst(&u, "F"), Const::Float(1.5));
    assert_eq!(konst(&u, "U"), Const::Int(44));
    assert!(refusal(&u, "FN").reason.contains("function-like"));
    assert!(refusal(&u, "EMPTY").reason.contains("no value"));
    assert!(refusal(&u, "BAD").reason.starts_with("cannot represent"));
}

#[test]
fn refusals_keep_the_rest() {
    let u = unit(
        "__int128 big; unsigned __int128 ubig; _Float128 q; long double ld(long double);\n\
                  struct __attribute__((packed)) pk { char c; int i; }; __thread int tls;\n\
                  struct z { int a : 3, : 0, b : 2; }; static int hidden; int ok(int);",
    );
    for name in ["big", "ubig", "q", "ld", "tls", "z", "hidden"] {
        assert!(
            refusal(&u, name).reason.starts_with("cannot represent"),
            "{name}"
        );
    }
    assert_eq!(u.functions.len(), 1);
    assert_eq!(u.functions[0].name, "ok");
    assert_eq!(refusal(&u, "tls").pos.line, 2);
}

#[test]
fn inline_bodies_and_gnu_extensions() {
    let u = unit("static inline int sq(int x) { switch (x) { case 0: __attribute__((fallthrough)); default: return x; } }\n\
                  __extension__ typedef long long ll; extern int r(int) __asm__(\"\" \"real\");\n\
                  _Static_assert(1, \"x\"); typedef __typeof__(sizeof(int)) sz;");
    assert_eq!(u.functions[0].name, "sq");
    assert_eq!(u.functions[1].symbol, "real");
    assert!(u.typedefs.iter().any(|t| t.0 == "ll"));
}

#[test]
fn syntax_errors_name_line_and_column() {
    let e = parse("int a;\nstruct s { int x }; int b;", false).unwrap_err();
    assert_eq!((e.pos.line, e.pos.column), (2, 18));
    assert!(e.to_string().starts_with("line 2, column 18: syntax error"));
    let e = parse("# 1 \"h.h\"\nint a;\n# 40 \"h.h\"\nint a b;", false).unwrap_err();
    assert_eq!(
        (e.pos.line, e.pos.file.as_deref(), e.pos.file_line),
        (4, Some("h.h"), 40)
    );
    // Recovering: the bad declaration is refused, the others bind.
    let u = parse("int a(int);\nint a b;\nint c(int);", true).unwrap();
    assert_eq!(u.functions.len(), 2);
    assert!(u.refused[0].reason.contains("syntax error"));
    assert!(parse("#pragma pack(3)\nstruct s { int a; };", false).is_err());
}

#[test]
fn real_headers_parse() {
    for h in ["stdio.h", "time.h", "sys/stat.h", "poll.h"] {
        let out = std::process::Command::new("cc")
            .args(["-E", "-x", "c", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(format!("#include <{h}>\n").as_bytes())?;
                c.wait_with_output()
            });
        let Ok(out) = out else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        let u = parse(&text, true).unwrap();
        assert!(!u.functions.is_empty(), "{h}");
        assert!(
            u.refused.iter().all(|r| !r.reason.contains("syntax")),
            "{h}: {:?}",
            u.refused
        );
    }
}

#[test]
fn only_kept_files_are_listed() {
    let src =
        "# 1 \"dep.h\"\ntypedef unsigned long word; struct hidden { int a; }; int dep(void);\n\
               #define DEP 1\n# 1 \"main.h\"\nword f(struct hidden *);\n#define MAIN DEP\n";
    let u = parse_files(src, true, &|f| f == "main.h").unwrap();
    assert_eq!(u.functions.len(), 1);
    assert_eq!(u.functions[0].sig.ret, Ty::Scalar(TypeCode::ULong));
    assert!(u.typedefs.is_empty());
    assert!(u.records[0].hidden);
    assert_eq!(u.constants, [("MAIN".to_string(), Const::Int(1))]);
}

#[test]
fn attributes_between_the_keyword_and_the_tag() {
    let u = unit(
        "struct __attribute__((packed)) pk { char c; int i; };\n\
         union __attribute__ ((__aligned__(16))) al { char c; int i; };\n\
         struct __attribute__((packed)) { char c; long l; } anon;\n\
         struct plain { char c; int i; };",
    );
    assert!(u.refused.is_empty(), "{:?}", u.refused);
    let rec = |n: &str| u.records.iter().find(|r| r.name == n).unwrap();
    assert_eq!((rec("pk").pack, rec("pk").size), (Some(1), 5));
    assert_eq!((rec("al").min_align, rec("al").size), (16, 16));
    assert_eq!((rec("plain").pack, rec("plain").size), (None, 8));
}

#[test]
fn pragma_pack_packs_what_follows() {
    let u = unit(
        "#pragma pack(push, 2)\nstruct p2 { char c; int i; double d; };\n\
         #pragma pack(pop)\nstruct n { char c; int i; };\n\
         #pragma pack(1)\nstruct p1 { char c; short s; };\n\
         struct bits { int a : 3; };\n#pragma pack()\n",
    );
    let rec = |n: &str| u.records.iter().find(|r| r.name == n).unwrap();
    assert_eq!(
        (rec("p2").pack, rec("p2").size, rec("p2").align),
        (Some(2), 14, 2)
    );
    assert_eq!((rec("n").pack, rec("n").size), (None, 8));
    assert_eq!((rec("p1").pack, rec("p1").size), (Some(1), 3));
    assert!(refusal(&u, "bits")
        .reason
        .contains("bit-field in a packed struct"));
}
