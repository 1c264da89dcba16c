//! Text preparation before `lang-c` parses: a light token scan (not a grammar) that
//! blanks comments, takes out `#define` lines, replaces function bodies by `;`, renames
//! the GNU spellings lang-c does not know, and finds the top-level declarations a
//! syntax error can be confined to. Every edit keeps byte offsets, so positions in the
//! parsed text are positions in the text the user gave.

/// Deepest nesting of brackets accepted: lang-c's recursive descent would exhaust the
/// stack long before a real header gets near it.
pub const MAX_DEPTH: usize = 256;

/// A `#define` taken out of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDefine {
    /// The macro's name.
    pub name: String,
    /// A function-like macro (`NAME(` with no space).
    pub function_like: bool,
    /// The replacement text, with comments removed.
    pub value: String,
    /// Byte offset of the `#`.
    pub offset: usize,
}

/// What [`prepare`] produced.
#[derive(Debug)]
pub struct Prepared {
    /// The text to parse: same length and line structure as the input.
    pub text: String,
    /// The `#define`s, in order (an `#undef` removes an earlier one).
    pub defines: Vec<RawDefine>,
    /// Byte offsets just past each top-level declaration's final `;` (sorted).
    pub ends: Vec<usize>,
    /// A directive that cannot be honoured (offset, text), such as `#pragma pack`.
    pub bad_directive: Option<(usize, String)>,
    /// Nesting deeper than [`MAX_DEPTH`] at this offset.
    pub too_deep: Option<usize>,
    /// GNU attributes written between `struct`/`union` and the tag or `{` of a definition
    /// (`struct __attribute__((packed)) tag { ... }`), which the parser does not take
    /// there: blanked in `text` and kept here with the offset of their `struct`/`union`
    /// keyword, for the lowering to apply to that record.
    pub tag_attrs: Vec<(usize, String)>,
    /// `#pragma pack` in effect from each offset on (`None`: no packing), in order; what
    /// precedes the first entry is unpacked.
    pub packing: Vec<(usize, Option<u32>)>,
    /// The `#pragma pack` stack while scanning (`push` saves the value in effect).
    pack_stack: Vec<Option<u32>>,
}

impl Prepared {
    fn set_pack(&mut self, at: usize, value: Option<u32>) {
        self.packing.push((at, value));
    }

    /// Applies `#pragma pack(args)` found at `at`; false for a form it does not know.
    fn pragma_pack(&mut self, at: usize, args: &str) -> bool {
        let current = self.packing.last().and_then(|p| p.1);
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let value = |t: &str| -> Option<Option<u32>> {
            let n: u32 = t.parse().ok()?;
            matches!(n, 1 | 2 | 4 | 8 | 16).then_some(Some(n))
        };
        match parts.as_slice() {
            [""] => self.set_pack(at, None),
            ["push"] => self.pack_stack.push(current),
            ["pop"] => match self.pack_stack.pop() {
                Some(v) => self.set_pack(at, v),
                None => return false,
            },
            ["push", n] => match value(n) {
                Some(v) => {
                    self.pack_stack.push(current);
                    self.set_pack(at, v);
                }
                None => return false,
            },
            [n] => match value(n) {
                Some(v) => self.set_pack(at, v),
                None => return false,
            },
            _ => return false,
        }
        true
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Ident,
    Punct(u8),
    Other,
}

fn blank(bytes: &mut [u8], from: usize, to: usize) {
    let to = to.min(bytes.len());
    for b in &mut bytes[from.min(to)..to] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// End of a string or character literal starting at `i` (the quote).
fn literal_end(s: &[u8], i: usize) -> usize {
    let q = s[i];
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    s.len()
}

/// Removes comments (replaced by spaces, newlines kept) from `s` in place.
fn strip_comments(s: &mut [u8]) {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' | b'\'' => i = literal_end(s, i),
            b'/' if s.get(i + 1) == Some(&b'/') => {
                let end = s[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(s.len(), |p| i + p);
                blank(s, i, end);
                i = end;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                let end = s[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(s.len(), |p| i + 2 + p + 2);
                blank(s, i, end);
                i = end;
            }
            _ => i += 1,
        }
    }
}

/// Handles one directive line `text` (starting at its `#`, continuations joined), found
/// at byte `start`.
fn directive(text: &[u8], start: usize, out: &mut Prepared) {
    let line = String::from_utf8_lossy(text.get(1..).unwrap_or_default()).into_owned();
    let rest = line.trim_start();
    let word_len = if rest.starts_with(|c: char| c.is_ascii_digit()) {
        0
    } else {
        rest.bytes().take_while(|&b| is_ident(b)).count()
    };
    let (word, after) = rest.split_at(word_len);
    match word {
        // Line markers (`# 12 "file" 1`, `#line 12`) stay: they map offsets to files.
        "" | "line" => {}
        "define" => {
            let after = after.trim_start();
            let n = after.bytes().take_while(|&b| is_ident(b)).count();
            if n == 0 {
                return;
            }
            let (name, tail) = after.split_at(n);
            let function_like = tail.starts_with('(');
            let value = if function_like {
                tail.split_once(')').map_or("", |(_, v)| v)
            } else {
                tail
            };
            out.defines.push(RawDefine {
                name: name.to_string(),
                function_like,
                value: value.trim().to_string(),
                offset: start,
            });
        }
        "undef" => {
            let name = after.trim();
            out.defines.retain(|d| d.name != name);
        }
        "pragma" => {
            let p = after.trim();
            // `#pragma pack` changes the layout of what follows: honoured (`pack(N)`,
            // `pack()`, `pack(push[, N])`, `pack(pop)`), and never ignored: any other form
            // is refused.
            if let Some(rest) = p.strip_prefix("pack") {
                let args = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'));
                let ok = args.is_some_and(|a| out.pragma_pack(start, a));
                if !ok && out.bad_directive.is_none() {
                    out.bad_directive = Some((start, format!("#{}", line.trim())));
                }
            }
        }
        "ident" | "sccs" => {}
        _ => {
            if out.bad_directive.is_none() {
                out.bad_directive = Some((start, format!("#{}", line.trim())));
            }
        }
    }
}

/// Prepares `src` for lang-c (see the module's documentation).
pub fn prepare(src: &str) -> Prepared {
    let mut s = src.as_bytes().to_vec();
    strip_comments(&mut s);
    let mut out = Prepared {
        text: String::new(),
        defines: Vec::new(),
        ends: Vec::new(),
        bad_directive: None,
        too_deep: None,
        tag_attrs: Vec::new(),
        packing: Vec::new(),
        pack_stack: Vec::new(),
    };
    // Tokens at depth 0 and their kinds, for the look-backs below.
    let mut toks: Vec<(usize, usize, Tok)> = Vec::new();
    // Open brackets: (byte, offset, index in toks when opened).
    let mut stack: Vec<(u8, usize, usize)> = Vec::new();
    let mut body: Option<usize> = None; // offset of a function body's `{`
    let mut line_start = true;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if b == b' ' || b == b'\t' || b == b'\r' || b == b'\x0c' {
            i += 1;
            continue;
        }
        if line_start && b == b'#' {
            // A directive runs to the end of the line, continued by backslashes.
            let mut end = i;
            loop {
                end += s[end..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .unwrap_or(s.len() - end);
                if end > 0 && s[end - 1] == b'\\' && end < s.len() {
                    end += 1;
                    continue;
                }
                break;
            }
            let mut line = s[i..end].to_vec();
            for c in &mut line {
                if *c == b'\\' || *c == b'\n' {
                    *c = b' ';
                }
            }
            directive(&line, i, &mut out);
            if !is_linemarker(&line) {
                blank(&mut s, i, end);
            }
            i = end;
            continue;
        }
        line_start = false;
        if is_ident_start(b) {
            let start = i;
            while i < s.len() && is_ident(s[i]) {
                i += 1;
            }
            if body.is_none() {
                let word = &s[start..i];
                if word == b"__int128" {
                    // `unsigned __int128`, `signed __int128`, `__int128`: one reserved
                    // typedef name each, padded to the same length.
                    let prev = toks
                        .last()
                        .filter(|t| t.2 == Tok::Ident)
                        .map(|t| (t.0, &s[t.0..t.1]));
                    match prev {
                        Some((p, b"unsigned")) => {
                            s[p..i].fill(b' ');
                            s[p..p + 8].copy_from_slice(b"__ftu128");
                            toks.pop();
                        }
                        Some((p, b"signed")) => {
                            s[p..i].fill(b' ');
                            s[p..p + 8].copy_from_slice(b"__fti128");
                            toks.pop();
                        }
                        _ => s[start..i].copy_from_slice(b"__fti128"),
                    }
                } else if word == b"__thread" {
                    // lang-c lacks `__thread`; `register` is never valid at file scope,
                    // so it marks a thread-local variable unambiguously.
                    s[start..i].copy_from_slice(b"register");
                }
                if stack.is_empty() {
                    toks.push((start, i, Tok::Ident));
                }
            }
            continue;
        }
        if b == b'"' || b == b'\'' {
            let end = literal_end(&s, i);
            if stack.is_empty() && body.is_none() {
                toks.push((i, end, Tok::Other));
            }
            i = end;
            continue;
        }
        if b.is_ascii_digit() {
            let start = i;
            while i < s.len() && (is_ident(s[i]) || s[i] == b'.') {
                i += 1;
            }
            if stack.is_empty() && body.is_none() {
                toks.push((start, i, Tok::Other));
            }
            continue;
        }
        match b {
            b'(' | b'[' | b'{' => {
                if stack.is_empty() && body.is_none() && b == b'{' && is_function_body(&s, &toks) {
                    body = Some(i);
                }
                stack.push((b, i, toks.len()));
                if stack.len() > MAX_DEPTH && out.too_deep.is_none() {
                    out.too_deep = Some(i);
                }
            }
            b')' | b']' | b'}' => {
                stack.pop();
                if stack.is_empty() {
                    if let (b'}', Some(open)) = (b, body) {
                        // The body becomes `;`: a declaration of the function.
                        blank(&mut s, open, i + 1);
                        s[open] = b';';
                        body = None;
                        toks.clear();
                        out.ends.push(open + 1);
                        i += 1;
                        continue;
                    }
                }
            }
            b';' if stack.is_empty() => {
                toks.clear();
                out.ends.push(i + 1);
                i += 1;
                continue;
            }
            _ => {}
        }
        if stack.len() <= usize::from(b == b'(' || b == b'[' || b == b'{') && body.is_none() {
            toks.push((i, i + 1, Tok::Punct(b)));
        }
        i += 1;
    }
    move_tag_attributes(&mut s, &mut out.tag_attrs);
    out.text = String::from_utf8_lossy(&s).into_owned();
    out
}

/// The end of the identifier or blank run at `i` (`i` itself if there is none).
fn skip(s: &[u8], mut i: usize, ident: bool) -> usize {
    while i < s.len()
        && (if ident {
            is_ident(s[i])
        } else {
            s[i].is_ascii_whitespace()
        })
    {
        i += 1;
    }
    i
}

/// Blanks each `__attribute__((...))` group that sits between `struct`/`union` and the
/// tag (or the `{` of an untagged one) of a definition, recording it with the keyword's
/// offset (see [`Prepared::tag_attrs`]). Literals are skipped; nothing else changes.
fn move_tag_attributes(s: &mut [u8], into: &mut Vec<(usize, String)>) {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'"' || b == b'\'' {
            i = literal_end(s, i);
            continue;
        }
        if !is_ident_start(b) || (i > 0 && is_ident(s[i - 1])) {
            i += 1;
            continue;
        }
        let kw_end = skip(s, i, true);
        if !matches!(&s[i..kw_end], b"struct" | b"union") {
            i = kw_end;
            continue;
        }
        let a = skip(s, kw_end, false);
        let a_end = skip(s, a, true);
        if !matches!(&s[a..a_end], b"__attribute__" | b"__attribute") {
            i = kw_end;
            continue;
        }
        // The balanced parentheses of the group.
        let mut j = skip(s, a_end, false);
        if s.get(j) != Some(&b'(') {
            i = kw_end;
            continue;
        }
        let mut depth = 0usize;
        while j < s.len() {
            match s[j] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b'"' | b'\'' => {
                    j = literal_end(s, j);
                    continue;
                }
                _ => {}
            }
            j += 1;
        }
        if depth != 0 {
            return;
        }
        let group_end = j + 1;
        // Then the tag, if any, and the body's `{`.
        let tag = skip(s, group_end, false);
        let tag_end = skip(s, tag, true);
        let brace = skip(s, tag_end, false);
        let tagged = tag_end > tag && is_ident_start(s[tag]);
        if (tagged || tag_end == tag) && s.get(brace) == Some(&b'{') {
            into.push((i, String::from_utf8_lossy(&s[a..group_end]).into_owned()));
            blank(s, a, group_end);
        }
        i = group_end;
    }
}

fn is_linemarker(line: &[u8]) -> bool {
    let t = String::from_utf8_lossy(&line[1..]);
    let t = t.trim_start();
    t.starts_with(|c: char| c.is_ascii_digit()) || t.starts_with("line")
}

/// Whether a `{` at depth 0 opens a function body: the tokens before it, skipping
/// `__attribute__((...))` and `__asm__(...)` groups, end with a parameter list `)`.
fn is_function_body(s: &[u8], toks: &[(usize, usize, Tok)]) -> bool {
    let mut k = toks.len();
    loop {
        let Some(&(_, _, t)) = k.checked_sub(1).and_then(|j| toks.get(j)) else {
            return false;
        };
        if t != Tok::Punct(b')') {
            return false;
        }
        // toks at depth 0 hold only the group's `(` and `)`: the `(` is just before.
        let Some(open) = k.checked_sub(2) else {
            return false;
        };
        if toks[open].2 != Tok::Punct(b'(') {
            return false;
        }
        let name = open
            .checked_sub(1)
            .and_then(|j| toks.get(j))
            .filter(|t| t.2 == Tok::Ident)
            .map(|t| &s[t.0..t.1]);
        match name {
            Some(b"__attribute__" | b"__attribute" | b"__asm__" | b"__asm" | b"asm") => {
                k = open - 1;
            }
            _ => return true,
        }
    }
}

/// The top-level declaration holding byte `offset`: from the end of the one before to
/// the end of this one (or of the text).
pub fn chunk_at(ends: &[usize], offset: usize, len: usize) -> (usize, usize) {
    let k = ends.partition_point(|&e| e <= offset);
    let start = if k == 0 { 0 } else { ends[k - 1] };
    let end = ends.get(k).copied().unwrap_or(len);
    (start, end)
}

/// Blanks `text[from..to]`, keeping newlines and line markers.
pub fn blank_range(text: &mut String, from: usize, to: usize) {
    let mut bytes = std::mem::take(text).into_bytes();
    let mut i = from;
    let mut line_start = i == 0 || bytes.get(i - 1) == Some(&b'\n');
    while i < to.min(bytes.len()) {
        if line_start && bytes[i] == b'#' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        line_start = bytes[i] == b'\n';
        if !line_start {
            bytes[i] = b' ';
        }
        i += 1;
    }
    *text = String::from_utf8_lossy(&bytes).into_owned();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_semicolons_and_offsets_hold() {
        let src = "static inline int f(int x) { return x; }\nint g;";
        let p = prepare(src);
        assert_eq!(p.text.len(), src.len());
        assert!(p.text.starts_with("static inline int f(int x) ;"));
        assert!(p.text.ends_with("\nint g;"));
        assert_eq!(p.ends.len(), 2);
    }

    #[test]
    fn struct_braces_are_not_bodies() {
        let src = "struct __attribute__((packed)) { int a; } s; struct T { int b; };";
        let p = prepare(src);
        // (The attribute before the `{` is moved out, for the lowering.)
        let blanked = src.replace("__attribute__((packed))", &" ".repeat(23));
        assert_eq!(p.text, blanked);
        assert_eq!(p.tag_attrs, [(0, "__attribute__((packed))".to_string())]);
        assert_eq!(p.ends.len(), 2);
    }

    #[test]
    fn defines_comments_and_renames() {
        let src = "/* c */ #define A 1\n#define F(x) (x)\n#define B \\\n 2 // two\n\
                   #undef A\nunsigned __int128 u; __thread int t;";
        let p = prepare(src);
        let names: Vec<_> = p
            .defines
            .iter()
            .map(|d| (d.name.as_str(), d.value.as_str()))
            .collect();
        assert_eq!(names, [("F", "(x)"), ("B", "2")]);
        assert!(p.defines[0].function_like);
        assert!(p.text.contains("__ftu128          u;"));
        assert!(p.text.contains("register int t;"));
        assert_eq!(p.text.len(), src.len());
    }

    #[test]
    fn pragma_pack_is_followed_or_reported() {
        let p = prepare(
            "#pragma pack(push, 2)\nstruct a;\n#pragma pack(1)\nstruct b;\n\
             #pragma pack(pop)\nstruct c;\n#pragma pack(4)\n#pragma pack()\nstruct d;",
        );
        assert!(p.bad_directive.is_none());
        let at = |w: &str| p.text.find(w).unwrap();
        let pack_at = |o: usize| {
            let i = p.packing.partition_point(|&(at, _)| at <= o);
            i.checked_sub(1).and_then(|i| p.packing[i].1)
        };
        assert_eq!(pack_at(at("struct a")), Some(2));
        assert_eq!(pack_at(at("struct b")), Some(1));
        assert_eq!(pack_at(at("struct c")), None);
        assert_eq!(pack_at(at("struct d")), None);
        for bad in [
            "#pragma pack(3)",
            "#pragma pack(pop)",
            "#pragma pack(push, x)",
            "#pragma pack",
        ] {
            assert!(prepare(bad).bad_directive.is_some(), "{bad}");
        }
        assert!(prepare("# 1 \"x.h\" 1\nint a;").bad_directive.is_none());
    }

    #[test]
    fn depth_guard() {
        let src = format!("int a[{}1{}];", "(".repeat(300), ")".repeat(300));
        assert!(prepare(&src).too_deep.is_some());
    }
}
